"""When to look at a running job again: economical polling informed by the job's own progress.

A fixed interval either wastes requests on a long job or notices the end late. Instead the wait
estimates when the job will end, sleeps most of the way there, and then looks often:

* from two snapshots whose ``progress`` differ, the rate of progress gives the expected end (a
  line through the first and the latest snapshot, so the estimate sharpens as the job runs);
* before that, ``expected_seconds`` (how long earlier jobs of the same model and length took, as
  the job ledger knows) places the first looks;
* with neither (no progress reported, a first job), the interval grows x1.5 from
  ``interval`` to ``max_interval``, as the service's own SDK does.

Near the expected end the pause is ``min_interval``; a job that overruns its estimate falls back
to the growing interval from there. No pause is ever longer than ``max_far`` seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["PollSchedule"]

# Sleep this share of the time the estimate says is left, then look: an estimate is a guess.
_SHARE_OF_REMAINING = 0.85


@dataclass
class PollSchedule:
    """The pauses between the polls of one wait. Call :meth:`next_pause` after each snapshot."""

    interval: float = 2.0
    max_interval: float = 5.0
    min_interval: float = 0.25
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
        remaining = self._remaining(now, progress)
        if remaining is None:
            return self._grow()
        if remaining > self.min_interval:
            self._growing = None
            return max(self.min_interval, min(self.max_far, remaining * _SHARE_OF_REMAINING))
        # At or past the estimated end: look often for a while, then back off if it overruns.
        if remaining > -2 * self.interval:
            return self.min_interval
        return self._grow(start=self.min_interval)

    def _remaining(self, now: float, progress: int | None) -> float | None:
        """Seconds until the estimated end, or ``None`` when nothing supports an estimate."""
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
        if self.expected_seconds is not None and self._started is not None:
            return self.expected_seconds - (now - self._started)
        return None

    def _grow(self, start: float | None = None) -> float:
        if self._growing is None:
            self._growing = start if start is not None else self.interval
            return self._growing
        self._growing = min(self._growing * 1.5, self.max_interval)
        return self._growing
