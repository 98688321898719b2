"""Fault injection for the sandbox server: make the next requests or jobs misbehave on purpose."""

from __future__ import annotations

import dataclasses
import math
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, get_args

__all__ = ["FAULT_KINDS", "FAULT_ROUTES", "Fault", "FaultKind", "FaultRoute", "FaultValueError",
           "Faults"]

FaultKind = Literal["rate_limit", "unavailable", "drop", "not_json", "fail_job", "truncate", "slow_job"]
FaultRoute = Literal["submit", "poll", "download", "any"]
FAULT_KINDS: tuple[str, ...] = get_args(FaultKind)
FAULT_ROUTES: tuple[str, ...] = get_args(FaultRoute)

DEFAULT_FAIL_MESSAGE = "Provider returned an error: content policy violation"
DEFAULT_SLOW_SECONDS = 30.0
# Knob bounds: the values end up in JSON bodies and Retry-After headers, which must stay readable.
MAX_TIMES = 1_000_000
MAX_SECONDS = 86_400.0
MAX_MESSAGE_CHARS = 2_000

# Kinds that act on a job when it is created, whatever request created it.
JOB_KINDS = frozenset({"fail_job", "slow_job"})
# Kinds that answer a request in place of the server; with ``seconds`` they last that long.
REQUEST_KINDS = frozenset({"rate_limit", "unavailable", "drop", "not_json"})


class FaultValueError(ValueError):
    """A fault knob the sandbox cannot arm; ``field`` names it (``kind``, ``times``, ``route``,
    ``retry_after``, ``seconds`` or ``message``), so an HTTP answer can say which one."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _duration(field: str, value: object) -> float:
    """``value`` as seconds: a finite real number from 0 to :data:`MAX_SECONDS`."""
    if (isinstance(value, bool) or not isinstance(value, (int, float))
            or not math.isfinite(value) or not 0 <= value <= MAX_SECONDS):
        raise FaultValueError(
            field, f"{field} must be a number of seconds from 0 to {MAX_SECONDS:g}, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class Fault:
    """One injected fault and how many more times it will fire (or, with ``until``, until when:
    a :func:`time.monotonic` instant)."""

    kind: str
    times: int
    route: str = "any"
    retry_after: float = 1.0
    seconds: float | None = None
    message: str | None = None
    until: float | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "times": self.times,
            "route": self.route,
            "retry_after": self.retry_after,
            "seconds": self.seconds,
            "message": self.message,
        }


class Faults:
    """The queue of faults a :class:`SandboxServer` will inject, in the order they were added.

    ``inject(kind, times=1, route="any", ...)`` arms a fault that fires on the next ``times``
    matching requests (or jobs), then disarms itself. ``clear()`` disarms everything.

    Kinds:

    ``rate_limit``
        Answer ``429 {"error": "Rate limit exceeded"}`` with ``Retry-After: <retry_after>``
        (seconds, default 1) instead of handling the request.
    ``unavailable``
        Answer ``503 {"error": "Service temporarily unavailable"}`` instead of handling it.
    ``not_json``
        Answer ``200`` with an HTML page instead of JSON (a proxy or a half-started service).
        API routes only: downloads are never hit by it.
    ``drop``
        Handle the request, then close the connection without sending any response. On a
        submit the job IS created (and charged) and only the response is lost, which is how a
        retry with the same ``Idempotency-Key`` is shown to create one job and one charge.
    ``fail_job``
        The next job(s) created end ``FAILED`` with ``message`` (default ``"Provider returned an
        error: content policy violation"``) after their usual run time; credits are refunded.
    ``truncate``
        A download sends the correct ``Content-Length`` but only part of the body, then closes.
    ``slow_job``
        The next job(s) created take ``seconds`` (default 30) instead of the server's
        ``job_seconds``.

    An outage: given ``seconds``, a ``rate_limit``, ``unavailable``, ``drop`` or ``not_json``
    fault hits every matching request for that many seconds after it is armed, whatever
    ``times`` says (``inject("unavailable", route="poll", seconds=3)``).

    Routes say which requests a fault may hit: ``submit`` (``POST /v2/music/generate``),
    ``poll`` (``GET /v2/jobs/{id}``), ``download`` (any request to the CDN origin) or ``any``
    (also the other API endpoints). ``truncate`` only ever hits downloads; ``fail_job`` and
    ``slow_job`` act on job creation and ignore the route. The ``/_sandbox/...`` control
    endpoints are never faulted.

    The same can be done over HTTP on the API origin: ``POST /_sandbox/faults`` with a JSON body
    ``{"kind": "rate_limit", "times": 2, "route": "poll", "retry_after": 1}`` arms one, ``GET``
    lists the armed ones, ``DELETE /_sandbox/faults`` clears them. Thread-safe.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._armed: list[Fault] = []

    def inject(
        self,
        kind: FaultKind | str,
        *,
        times: int = 1,
        route: FaultRoute | str = "any",
        retry_after: float = 1.0,
        seconds: float | None = None,
        message: str | None = None,
    ) -> Fault:
        """Arm a fault; returns it.

        Raises :class:`FaultValueError` (a :class:`ValueError`) naming the knob for an unknown
        kind or route, ``times`` outside 1 to :data:`MAX_TIMES`, ``retry_after`` or ``seconds``
        that is not a finite number from 0 to :data:`MAX_SECONDS`, or a ``message`` that is not
        text of at most :data:`MAX_MESSAGE_CHARS` characters. Values arrive unchecked from
        ``POST /_sandbox/faults``, so nothing here trusts the annotations.
        """
        if not isinstance(kind, str) or kind not in FAULT_KINDS:
            raise FaultValueError(
                "kind", f"unknown fault kind {kind!r}; use one of {', '.join(FAULT_KINDS)}")
        if not isinstance(route, str) or route not in FAULT_ROUTES:
            raise FaultValueError(
                "route", f"unknown fault route {route!r}; use one of {', '.join(FAULT_ROUTES)}")
        if isinstance(times, bool) or not isinstance(times, int) or not 1 <= times <= MAX_TIMES:
            raise FaultValueError(
                "times", f"times must be a whole number from 1 to {MAX_TIMES}, got {times!r}")
        if kind == "truncate" and route not in ("download", "any"):
            raise FaultValueError(
                "route", "a truncate fault only hits downloads: use route 'download' or 'any'")
        if kind == "not_json" and route == "download":
            raise FaultValueError("route", "a not_json fault only hits API routes, never downloads")
        wait = _duration("retry_after", retry_after)
        span = None if seconds is None else _duration("seconds", seconds)
        if message is not None and (not isinstance(message, str)
                                    or len(message) > MAX_MESSAGE_CHARS):
            raise FaultValueError(
                "message", f"message must be text of at most {MAX_MESSAGE_CHARS} characters")
        until = time.monotonic() + span if kind in REQUEST_KINDS and span is not None else None
        fault = Fault(kind, times, route, wait, span, message, until)
        with self._lock:
            self._armed.append(fault)
        return fault

    def clear(self) -> None:
        """Disarm every fault."""
        with self._lock:
            self._armed.clear()

    def pending(self) -> list[Fault]:
        """The faults still armed, oldest first, with their remaining ``times``."""
        now = time.monotonic()
        with self._lock:
            return [f for f in self._armed if f.until is None or f.until > now]

    def take(self, kinds: Iterable[str], route: str | None) -> Fault | None:
        """Fire the oldest armed fault of one of ``kinds`` that may hit ``route``, if any.

        ``route=None`` matches any route (used for job faults). The returned fault has ``times``
        as it was before firing.
        """
        wanted = frozenset(kinds)
        now = time.monotonic()
        with self._lock:
            self._armed = [f for f in self._armed if f.until is None or f.until > now]
            for i, fault in enumerate(self._armed):
                if fault.kind not in wanted:
                    continue
                if route is not None and fault.route not in ("any", route):
                    continue
                if fault.until is not None:
                    pass  # an outage: it lasts until its time is up, not for a number of hits
                elif fault.times <= 1:
                    del self._armed[i]
                else:
                    self._armed[i] = dataclasses.replace(fault, times=fault.times - 1)
                return fault
        return None

    def __repr__(self) -> str:
        return f"Faults({self.pending()!r})"
