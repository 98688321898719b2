"""When to look at a running job again: economical polling informed by the job's own progress
and by how long such jobs took before.

A fixed interval either wastes requests on a long job or notices the end late. Instead the wait
estimates when the job will end, sleeps most of the way there, and then looks often:

* from two snapshots whose ``progress`` differ, the rate of progress gives the expected end (a
  line through the first and the latest snapshot, so the estimate sharpens as the job runs);
  the wait sleeps a share of the time left, then looks every ``min_interval`` near the end;
* before that, or when the service reports no progress at all (ElevenLabs may jump from 0 to
  100), ``expected_seconds`` (how long earlier jobs of the same model and length took, as the
  job ledger knows) is a prior: the wait sleeps until a window opens shortly before it (5% of
  the expected time, at least 1 s), looks every ``near_interval`` through the window (as far
  past the expected end as it opened before it), and from there backs off growing;
* with neither (no progress reported, a first job), the interval grows x1.5 from
  ``interval`` to ``max_interval``, as the service's own SDK does.

A job that overruns its estimate falls back to the growing interval. No pause is ever longer
than ``max_far`` seconds.

Why no prior from the catalog's ``average_seconds`` for a first job: the documented averages
are one number per model against a spread of "30 seconds to 2 minutes", and the sandbox's jobs
last whatever the sandbox is told (3 s embedded); a window placed on that number would notice a
job that ends elsewhere later than the growing interval does. The ledger's prior, measured on
this account's own jobs of that model and length, is the first trustworthy one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["PollSchedule"]

# Sleep this share of the time the progress estimate says is left, then look: it is a guess.
_SHARE_OF_REMAINING = 0.85
# The window around a prior's expected end: this share of the expected time on either side,
# and at least _WINDOW_MIN seconds. Jobs of one model and length vary by a few percent.
_WINDOW_SHARE = 0.05
_WINDOW_MIN = 1.0


@dataclass
class PollSchedule:
    """The pauses between the polls of one wait. Call :meth:`next_pause` after each snapshot
    (with ``None`` for the pause before the first look)."""

    interval: float = 2.0
    max_interval: float = 5.0
    min_interval: float = 0.25
    near_interval: float = 0.5
    max_far: float = 30.0
    expected_seconds: float | None = None
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)
    _started: float | None = field(default=None, init=False, repr=False)
    _first: tuple[float, int] | None = field(default=None, init=False, repr=False)
    _growing: float | None = field(default=None, init=False, repr=False)

    def next_pause(self, progress: int | None) -> float:
        """The pause before the next poll, given the ``progress`` (0 to 100, or ``None``) of the
        snapshot just received."""
        now = self.clock()
        if self._started is None:
            self._started = now
        remaining = self._from_progress(now, progress)
        if remaining is not None:
            if remaining > self.min_interval:
                self._growing = None
                return max(self.min_interval, min(self.max_far, remaining * _SHARE_OF_REMAINING))
            # At or past the estimated end: look often for a while, then back off if it overruns.
            if remaining > -2 * self.interval:
                return self.min_interval
            return self._grow(start=self.min_interval)
        if self.expected_seconds is not None:
            return self._around_prior(self.expected_seconds, now - self._started)
        return self._grow()

    def window(self) -> tuple[float, float] | None:
        """Seconds after the start of the wait between which a prior-only schedule looks every
        ``near_interval``; ``None`` without ``expected_seconds``."""
        if self.expected_seconds is None:
            return None
        half = max(_WINDOW_MIN, _WINDOW_SHARE * self.expected_seconds)
        return self.expected_seconds - half, self.expected_seconds + half

    def _around_prior(self, expected: float, elapsed: float) -> float:
        """Sleep until the window before ``expected`` opens, look densely through it, then grow."""
        opens, closes = self.window() or (expected, expected)
        if elapsed < opens:
            self._growing = None
            return max(self.min_interval, min(self.max_far, opens - elapsed))
        near = max(self.min_interval, self.near_interval)
        if elapsed < closes:
            return near
        return self._grow(start=near)

    def _from_progress(self, now: float, progress: int | None) -> float | None:
        """Seconds until the end the rate of progress points at, or ``None`` until two snapshots
        with different progress support one."""
        if progress is not None and 0 < progress < 100:
            if self._first is None:
                self._first = (now, progress)
            else:
                t0, p0 = self._first
                if progress > p0 and now > t0:
                    rate = (progress - p0) / (now - t0)
                    return (100 - progress) / rate
        elif progress is not None and progress <= 0 and self._first is not None:
            self._first = None  # progress went back to 0: start measuring again
        return None

    def _grow(self, start: float | None = None) -> float:
        if self._growing is None:
            self._growing = start if start is not None else self.interval
            return self._growing
        self._growing = min(self._growing * 1.5, self.max_interval)
        return self._growing
