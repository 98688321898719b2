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
"""

from __future__ import annotations

import email.utils
import math
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

__all__ = ["DEFAULT_RETRY_AFTER", "RetryPolicy", "parse_retry_after"]

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

    def backoff(self, attempt: int) -> float:
        """Full-jitter wait before retry number ``attempt`` (0 for the first retry)."""
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** max(0, attempt))
        return self.jitter() * ceiling

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
