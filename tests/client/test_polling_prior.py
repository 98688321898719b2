"""The poll schedule with a prior (how long such jobs took before) and a service that reports
no progress (ElevenLabs may jump from 0 to 100), on a simulated clock: the pauses themselves,
and how many looks a job costs and how late its end is noticed against the seed's fixed 2 s
loop. Exact counts of simulated seconds, no timing; real timings are in
``benchmarks/bench_polling.py``."""

from __future__ import annotations

import asyncio
import statistics
from typing import Any

import pytest

from apiframe_magic.client import AsyncApiframeClient, MusicRequest
from apiframe_magic.client._polling import PollSchedule
from apiframe_magic.sandbox import SandboxServer
from tests.conftest import CANARY_KEY

# Jobs end at these offsets after their nominal length; the prior is their middle (as a ledger's
# median would be), so it is early for some and late for others.
PHASES = (0.0, 0.5, 1.0, 1.5)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def no_progress(t: float, end: float) -> int | None:
    """A service that reports 0 until the job is done (``None``: seen done)."""
    return None if t >= end else 0


def rising_progress(t: float, end: float) -> int | None:
    """The sandbox's progress: 0 while queued (the first tenth), then rising evenly."""
    if t >= end:
        return None
    queued = end * 0.1
    return 0 if t < queued else int(100 * (t - queued) / (end - queued))


def fixed_loop(end: float) -> tuple[int, float]:
    """The seed's loop: sleep 2 s, look, until done."""
    t, looks = 2.0, 1
    while t < end:
        t, looks = t + 2.0, looks + 1
    return looks, t - end


def wait(end: float, schedule: PollSchedule, report: Any) -> tuple[int, float]:
    """The client's wait with ``look_first=False``: a pause, then a look after every pause."""
    clock = schedule.clock
    assert isinstance(clock, Clock)
    clock.now = 0.0
    clock.now += schedule.next_pause(None)
    looks = 0
    while True:
        looks += 1
        progress = report(clock.now, end)
        if progress is None:
            return looks, clock.now - end
        clock.now += schedule.next_pause(progress)
        assert looks < 1000


def pauses(schedule: PollSchedule, until: float) -> list[tuple[float, float]]:
    """``(time, pause)`` of a schedule whose job never ends and never reports progress."""
    clock = schedule.clock
    assert isinstance(clock, Clock)
    out = []
    pause = schedule.next_pause(None)
    while clock.now < until:
        out.append((clock.now, pause))
        clock.now += pause
        pause = schedule.next_pause(0)
    return out


def test_with_a_prior_the_wait_sleeps_to_a_window_then_looks_densely_then_backs_off() -> None:
    schedule = PollSchedule(clock=Clock(), expected_seconds=40.0)
    assert schedule.window() == (38.0, 42.0)  # 5% of the expected time on either side
    seen = pauses(schedule, until=60.0)
    assert seen[0] == (0.0, 30.0) and seen[1] == (30.0, 8.0)  # at most max_far, then to the window
    dense = [p for t, p in seen if 38.0 <= t < 42.0]
    assert dense and set(dense) == {0.5}
    after = [p for t, p in seen if t >= 42.0]
    assert after[:4] == [0.5, 0.75, 1.125, 1.6875] and max(after) == 5.0  # growing to max_interval


def test_a_short_job_has_a_window_of_at_least_a_second() -> None:
    assert PollSchedule(clock=Clock(), expected_seconds=8.0).window() == (7.0, 9.0)


def test_the_dense_pause_is_never_below_min_interval() -> None:
    schedule = PollSchedule(clock=Clock(), expected_seconds=10.0, min_interval=0.25, near_interval=0.1)
    assert {p for t, p in pauses(schedule, until=11.0) if t >= 9.0} == {0.25}


@pytest.mark.parametrize("report", [no_progress, rising_progress], ids=["progress off", "progress on"])
@pytest.mark.parametrize("seconds", [20.0, 60.0])
def test_with_a_prior_half_the_looks_and_half_the_delay_of_the_fixed_loop(
    seconds: float, report: Any
) -> None:
    """The issue's target, with and without progress: at most 0.5x the loop's GETs and its delay
    (means over jobs ending at several phases of the loop, the prior in their middle)."""
    ends = [seconds + phase for phase in PHASES]
    prior = seconds + statistics.mean(PHASES)
    loop = [fixed_loop(end) for end in ends]
    ours = [wait(end, PollSchedule(clock=Clock(), expected_seconds=prior), report) for end in ends]
    loop_looks, loop_delay = statistics.mean(r[0] for r in loop), statistics.mean(r[1] for r in loop)
    looks, delay = statistics.mean(r[0] for r in ours), statistics.mean(r[1] for r in ours)
    assert looks <= 0.5 * loop_looks
    assert delay <= 0.5 * loop_delay


@pytest.mark.parametrize("error", [-0.05, -0.03, 0.0, 0.03, 0.05])
def test_a_job_within_the_window_is_noticed_within_the_dense_pause(error: float) -> None:
    """A prior a few percent early or late still catches the end within ``near_interval``."""
    end = 60.0 * (1 + error)
    _, delay = wait(end, PollSchedule(clock=Clock(), expected_seconds=60.0), no_progress)
    assert delay <= 0.5


def test_progress_still_steers_the_wait_when_there_is_a_prior() -> None:
    """A prior far off (120 s for a job that moves 5 points a second) does not hold the wait
    back once progress moves: the rate of progress places the next look."""
    schedule = PollSchedule(clock=Clock(), expected_seconds=120.0)
    schedule.clock.now = 0.0  # type: ignore[attr-defined]
    schedule.next_pause(None)
    schedule.clock.now = 10.0  # type: ignore[attr-defined]
    schedule.next_pause(50)
    schedule.clock.now = 12.0  # type: ignore[attr-defined]
    assert schedule.next_pause(60) == pytest.approx(0.85 * 8.0)  # 40 points left at 5 per second


# -- through the client, against the sandbox ---------------------------------------------------


def test_the_client_sleeps_to_the_window_then_looks_every_poll_interval(
    sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``wait(expected_seconds=1.5, look_first=False)``: the first pause opens the window (1 s
    before the expected end), then the pause is the client's ``poll_interval`` (0.05 s here,
    under the half second a real client uses)."""
    sleeps: list[float] = []
    real_sleep = asyncio.sleep

    async def spy(delay: float, result: Any = None) -> Any:
        sleeps.append(delay)
        return await real_sleep(delay, result)

    monkeypatch.setattr(asyncio, "sleep", spy)

    async def go() -> str:
        async with AsyncApiframeClient(CANARY_KEY, sandbox.url, poll_interval=0.05) as client:
            job = await client.submit(MusicRequest("x", music_length_ms=5_000))
            done = await client.wait(job.job_id, expected_seconds=1.5, look_first=False)
            return done.status

    assert asyncio.run(go()) == "COMPLETED"
    assert sleeps[0] == 0.5
    assert all(p == 0.05 for p in sleeps[1:])
