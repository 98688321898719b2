"""When a request is retried, and how long to wait first.

This is the policy of Apiframe's official v2 SDK:

* ``429`` is always retried, after the server's ``Retry-After`` (seconds or an HTTP date;
  absent means one second). The request was not processed, so even a plain POST is safe.
* ``5xx`` other than ``501``, timeouts and network errors are retried only when repeating the
  request cannot do harm: a ``GET``, or a ``POST`` carrying an ``Idempotency-Key`` (the server
  then returns the original job instead of creating and charging for a second one).
* The wait before retry ``n`` (counting from 0) is "full jitter":
  ``random(0, min(8 s, 0.25 s * 2**n))``.
* At most ``max_retries`` (2) retries per request.

Waiting for a job is different: it only reads, so
:meth:`~apiframe_magic.AsyncApiframeClient.wait` polls without these per-request retries and
instead outlasts any failure that may pass (5xx, 429, network errors, unreadable answers) with
its own backoff, up to the poll interval cap, until its timeout.

Every such wait is one :class:`Backoff` (base, cap, jitter style, random source): the requests'
full jitter above, a download's and a failed poll's "equal" jitter (half the ceiling plus a
random half, so that a retry is never immediate yet many clients spread out), a batch's submit
retries. A ``Retry-After`` goes through the same object, bounded by its ``max_retry_after``.
"""

from __future__ import annotations

import email.utils
import math
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["DEFAULT_RETRY_AFTER", "Backoff", "Jitter", "RetryPolicy", "parse_retry_after"]

DEFAULT_RETRY_AFTER = 1.0
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def parse_retry_after(value: str | None, *, now: float | None = None) -> float:
    """Seconds to wait according to a ``Retry-After`` header value.

    Accepts delta-seconds (``"2"``, also ``"0.5"``) or an HTTP date
    (``"Wed, 21 Oct 2026 07:28:00 GMT"``). An absent or unreadable value means
    :data:`DEFAULT_RETRY_AFTER`; a date in the past means ``0``.
    """
    if value is None:
        return DEFAULT_RETRY_AFTER
    text = value.strip()
    if not text:
        return DEFAULT_RETRY_AFTER
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else DEFAULT_RETRY_AFTER
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return DEFAULT_RETRY_AFTER
    if when.tzinfo is None:  # RFC 9110 dates are GMT even when the zone is missing
        return DEFAULT_RETRY_AFTER
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


Jitter = Literal["full", "equal", "none"]


@dataclass(frozen=True)
class Backoff:
    """The pause before retry number ``attempt`` (0 for the first): a ceiling that doubles from
    ``base`` up to ``cap``, jittered.

    ``jitter`` is ``"full"`` (uniform on [0, ceiling): the official SDK's request retries),
    ``"equal"`` (uniform on [ceiling/2, ceiling): never immediate, still spread out) or ``"none"``
    (the ceiling itself). ``random`` draws the random fraction, uniform on [0, 1); pass a
    constant to make pauses exact. ``max_retry_after`` bounds how long a server's
    ``Retry-After`` is honoured (see :meth:`honour` and :meth:`at_least`).

    >>> Backoff(base=1.0, cap=8.0, jitter="none").delay(2)
    4.0
    """

    base: float = 0.25
    cap: float = 8.0
    jitter: Jitter = "full"
    random: Callable[[], float] = field(default=random.random, repr=False, compare=False)
    max_retry_after: float = 60.0

    def __post_init__(self) -> None:
        if not (self.base >= 0 and self.cap >= 0 and self.max_retry_after >= 0):
            raise ValueError("base, cap and max_retry_after must be 0 or more")
        if self.jitter not in ("full", "equal", "none"):
            raise ValueError(f"jitter must be 'full', 'equal' or 'none', not {self.jitter!r}")

    def ceiling(self, attempt: int) -> float:
        """``min(cap, base * 2**attempt)``: the longest pause before retry ``attempt``."""
        # min() before the power would overflow: 2.0**1100 is an OverflowError.
        return min(self.cap, self.base * 2.0 ** min(max(0, attempt), 64))

    def delay(self, attempt: int) -> float:
        """The jittered pause before retry number ``attempt`` (0 for the first)."""
        ceiling = self.ceiling(attempt)
        if self.jitter == "full":
            return self.random() * ceiling
        if self.jitter == "equal":
            return ceiling * (0.5 + 0.5 * self.random())
        return ceiling

    def honour(self, retry_after: float) -> float | None:
        """The pause a server's ``Retry-After`` asks for, or ``None`` when it is longer than
        ``max_retry_after``: such a pause is not waited out (the caller gives up and reports it,
        so a notebook cell never hangs for an hour on a server's say-so)."""
        return retry_after if retry_after <= self.max_retry_after else None

    def at_least(self, attempt: int, retry_after: float | None) -> float:
        """:meth:`delay`, lengthened to a ``Retry-After`` (itself cut to ``max_retry_after``): for
        a wait that never gives up, such as polling a job through an outage."""
        pause = self.delay(attempt)
        if retry_after is not None:
            pause = max(pause, min(retry_after, self.max_retry_after))
        return pause


@dataclass(frozen=True)
class RetryPolicy:
    """Which failures are retried and the wait before each retry.

    ``max_retry_after`` bounds how long a ``Retry-After`` may make us wait: a longer one is
    not waited out (the :class:`~apiframe_magic.RateLimitError` is raised instead), so a
    notebook cell never hangs for an hour on a server's say-so. ``jitter`` draws the random
    fraction of the backoff ceiling (uniform on [0, 1)).
    """

    max_retries: int = 2
    base_delay: float = 0.25
    max_delay: float = 8.0
    max_retry_after: float = 60.0
    jitter: Callable[[], float] = field(default=random.random, repr=False, compare=False)

    @property
    def schedule(self) -> Backoff:
        """The requests' :class:`Backoff`: full jitter from ``base_delay`` to ``max_delay``."""
        return Backoff(
            base=self.base_delay, cap=self.max_delay, jitter="full", random=self.jitter,
            max_retry_after=self.max_retry_after,
        )

    def backoff(self, attempt: int) -> float:
        """Full-jitter wait before retry number ``attempt`` (0 for the first retry)."""
        return self.schedule.delay(attempt)

    @staticmethod
    def is_replay_safe(method: str, headers: Mapping[str, str]) -> bool:
        """Whether sending this request twice cannot create or charge anything twice."""
        if method.upper() in _SAFE_METHODS:
            return True
        return any(name.lower() == "idempotency-key" and value for name, value in headers.items())

    def retries_status(self, status_code: int, *, replay_safe: bool) -> bool:
        """Whether an HTTP error status is worth retrying (429 always; 5xx but 501 if safe)."""
        if status_code == 429:
            return True
        return replay_safe and 500 <= status_code <= 599 and status_code != 501
