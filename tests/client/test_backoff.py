"""The one :class:`Backoff`: its ceilings, its three jitter styles, the bounded ``Retry-After``,
and the retries that use it (requests, downloads, failed polls)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from apiframe_magic._exceptions import DownloadError
from apiframe_magic.client import (
    ApiframeClient,
    Backoff,
    DownloadedFile,
    MusicRequest,
    RetryPolicy,
    download_file,
)
from apiframe_magic.client._download import DOWNLOAD_BACKOFF
from apiframe_magic.sandbox import SandboxServer
from tests.conftest import CANARY_KEY


@pytest.mark.parametrize(
    ("attempt", "ceiling"), [(0, 0.5), (1, 1.0), (2, 2.0), (4, 8.0), (9, 8.0), (5000, 8.0)]
)
def test_the_ceiling_doubles_from_base_to_cap(attempt: int, ceiling: float) -> None:
    backoff = Backoff(base=0.5, cap=8.0, jitter="none")
    assert backoff.ceiling(attempt) == ceiling
    assert backoff.delay(attempt) == ceiling


@pytest.mark.parametrize("draw", [0.0, 0.3, 0.999])
def test_full_jitter_draws_from_zero_to_the_ceiling(draw: float) -> None:
    assert Backoff(base=1.0, cap=8.0, jitter="full", random=lambda: draw).delay(2) == draw * 4.0


@pytest.mark.parametrize(("draw", "pause"), [(0.0, 2.0), (0.5, 3.0), (1.0, 4.0)])
def test_equal_jitter_is_never_below_half_the_ceiling(draw: float, pause: float) -> None:
    assert Backoff(base=1.0, cap=8.0, jitter="equal", random=lambda: draw).delay(2) == pause


def test_the_default_random_source_stays_within_the_ceiling() -> None:
    full, equal = Backoff(base=1.0, cap=4.0), Backoff(base=1.0, cap=4.0, jitter="equal")
    for attempt in range(6):
        assert all(0.0 <= full.delay(attempt) <= full.ceiling(attempt) for _ in range(50))
        ceiling = equal.ceiling(attempt)
        assert all(ceiling / 2 <= equal.delay(attempt) <= ceiling for _ in range(50))


def test_a_retry_after_is_honoured_up_to_its_bound_and_refused_beyond() -> None:
    backoff = Backoff(max_retry_after=30.0)
    assert backoff.honour(0.2) == 0.2
    assert backoff.honour(30.0) == 30.0
    assert backoff.honour(31.0) is None


def test_a_wait_that_never_gives_up_takes_the_longer_of_backoff_and_retry_after() -> None:
    backoff = Backoff(base=1.0, cap=4.0, jitter="none", max_retry_after=10.0)
    assert backoff.at_least(1, None) == 2.0
    assert backoff.at_least(1, 0.5) == 2.0  # a short Retry-After does not shorten the backoff
    assert backoff.at_least(1, 7.0) == 7.0
    assert backoff.at_least(1, 3600.0) == 10.0  # a server's say-so never parks a wait for an hour


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="jitter"):
        Backoff(jitter="half")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="0 or more"):
        Backoff(base=-1.0)


def test_the_request_policy_is_the_sdks_full_jitter_backoff() -> None:
    """The retry policy hands out its Backoff: full jitter from 0.25 s to 8 s, its random source
    and its Retry-After bound included."""
    policy = RetryPolicy(jitter=lambda: 1.0, max_retry_after=5.0)
    schedule = policy.schedule
    assert (schedule.base, schedule.cap, schedule.jitter) == (0.25, 8.0, "full")
    assert schedule.max_retry_after == 5.0
    assert [schedule.delay(n) for n in range(6)] == [0.25, 0.5, 1.0, 2.0, 4.0, 8.0]
    assert schedule.honour(6.0) is None


def test_downloads_back_off_with_equal_jitter_up_to_four_seconds() -> None:
    assert (DOWNLOAD_BACKOFF.base, DOWNLOAD_BACKOFF.cap, DOWNLOAD_BACKOFF.jitter) == (0.25, 4.0, "equal")
    assert DOWNLOAD_BACKOFF.honour(30.0) == 30.0 and DOWNLOAD_BACKOFF.honour(31.0) is None


def test_a_backoff_is_frozen_data() -> None:
    backoff = Backoff(base=1.0, cap=8.0, jitter="none")
    with pytest.raises(AttributeError):
        backoff.base = 2.0  # type: ignore[misc]
    assert backoff == Backoff(base=1.0, cap=8.0, jitter="none", random=lambda: 0.5)
    assert "random" not in repr(backoff)


# -- the retries that use it, against the sandbox -----------------------------------------------


def _finished_audio_url(server: SandboxServer) -> str:
    with ApiframeClient(CANARY_KEY, server.url, poll_interval=0.05) as client:
        url = client.wait(client.submit(MusicRequest("x", music_length_ms=5_000)).job_id).audio_url
    assert url is not None
    return url


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Every pause asked of ``asyncio.sleep`` (the pause still happens)."""
    delays: list[float] = []
    real_sleep = asyncio.sleep

    async def spy(delay: float, result: Any = None) -> Any:
        delays.append(delay)
        return await real_sleep(delay, result)

    monkeypatch.setattr(asyncio, "sleep", spy)
    return delays


def test_a_download_retries_with_the_backoff_it_is_given(
    sandbox: SandboxServer, tmp_path: Path, sleeps: list[float]
) -> None:
    url = _finished_audio_url(sandbox)
    sleeps.clear()  # the wait's own pauses
    sandbox.faults.inject("unavailable", route="download", times=3)
    backoff = Backoff(base=0.01, cap=0.02, jitter="none")

    async def go() -> DownloadedFile:
        async with httpx.AsyncClient() as cdn:
            return await download_file(cdn, url, tmp_path, backoff=backoff)

    assert asyncio.run(go()).size > 1000
    assert sleeps == [0.01, 0.02, 0.02]


def test_a_download_gives_up_on_a_retry_after_beyond_its_bound(
    sandbox: SandboxServer, tmp_path: Path, sleeps: list[float]
) -> None:
    url = _finished_audio_url(sandbox)
    sleeps.clear()  # the wait's own pauses
    sandbox.faults.inject("rate_limit", route="download", retry_after=0.5)
    backoff = Backoff(max_retry_after=0.2)

    async def go() -> DownloadedFile:
        async with httpx.AsyncClient() as cdn:
            return await download_file(cdn, url, tmp_path, backoff=backoff)

    with pytest.raises(DownloadError, match="429"):
        asyncio.run(go())
    assert sleeps == [] and list(tmp_path.iterdir()) == []
