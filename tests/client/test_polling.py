"""The poll schedule against simulated jobs, on a simulated clock: how many looks a job costs and
how late its end is noticed, compared with a fixed 2 s loop (the seed's own example).

These count looks and seconds of simulated time, so they are exact; real timings are in
``benchmarks/bench_polling.py``.
"""

from __future__ import annotations

import pytest

from apiframe_magic.client._polling import PollSchedule


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def sandbox_progress(t: float, duration: float) -> int | None:
    """The sandbox's progress: 0 while queued (the first tenth), then rising evenly; None once done."""
    if t >= duration:
        return None
    queued = duration * 0.1
    return 0 if t < queued else int(100 * (t - queued) / (duration - queued))


def simulate(duration: float, schedule: PollSchedule | None, *, first_at: float = 0.0) -> tuple[int, float]:
    """Looks until the job is seen done, and how late after its end; ``None``: a fixed 2 s loop."""
    clock = schedule.clock if schedule is not None else Clock()
    assert isinstance(clock, Clock)
    clock.now = first_at
    looks = 0
    while True:
        looks += 1
        progress = sandbox_progress(clock.now, duration)
        if progress is None:
            return looks, clock.now - duration
        clock.now += schedule.next_pause(progress) if schedule is not None else 2.0
        assert looks < 1000


@pytest.mark.parametrize("duration", [20.0, 60.0])
def test_progress_lets_the_wait_look_less_and_notice_sooner(duration: float) -> None:
    fixed_looks, _ = simulate(duration, None, first_at=2.0)
    looks, delay = simulate(duration, PollSchedule(clock=Clock()), first_at=2.0)
    assert looks <= 0.7 * fixed_looks
    assert delay <= 0.5


@pytest.mark.parametrize("duration", [20.0, 60.0])
def test_a_prior_from_earlier_jobs_halves_the_looks(duration: float) -> None:
    fixed_looks, _ = simulate(duration, None, first_at=2.0)
    schedule = PollSchedule(clock=Clock(), expected_seconds=duration)
    schedule.clock.now = 0.0  # type: ignore[attr-defined]
    first = schedule.next_pause(None)  # the wait's first pause, before any look
    looks, delay = simulate(duration, schedule, first_at=first)
    assert looks <= 0.5 * fixed_looks
    assert delay <= 0.5


def test_without_progress_the_interval_grows_to_its_ceiling() -> None:
    schedule = PollSchedule(interval=2.0, max_interval=5.0, clock=Clock())
    assert [schedule.next_pause(None) for _ in range(5)] == [2.0, 3.0, 4.5, 5.0, 5.0]


def test_a_job_that_overruns_its_estimate_is_not_hammered() -> None:
    clock = Clock()
    schedule = PollSchedule(clock=clock, expected_seconds=10.0)
    pauses = []
    for _ in range(40):
        pause = schedule.next_pause(None)
        pauses.append(pause)
        clock.now += pause
    late = [p for t, p in zip(_times(pauses), pauses, strict=True) if t > 20]
    assert late and min(late) >= 2.0, "well past the estimate it backs off to the growing interval"
    assert max(pauses) <= schedule.max_far


def _times(pauses: list[float]) -> list[float]:
    total, out = 0.0, []
    for pause in pauses:
        out.append(total)
        total += pause
    return out
