"""The retry policy, on its own and through the client against the sandbox's injected faults.

The waits are observed by wrapping ``asyncio.sleep`` (the real sleep still runs), never by
timing. Two shapes the sandbox cannot produce use ``httpx.MockTransport``: an HTTP-date
``Retry-After`` and a read timeout; those tests say so.
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
import pytest

from apiframe_magic._client import AsyncApiframeClient, SubmittedJob
from apiframe_magic._exceptions import RateLimitError, ServerError, TransportError
from apiframe_magic._models import Job, MusicRequest
from apiframe_magic._retry import DEFAULT_RETRY_AFTER, RetryPolicy, parse_retry_after
from apiframe_magic.sandbox import SandboxServer
from tests.conftest import CANARY_KEY

T = TypeVar("T")
REQUEST = MusicRequest("retry me", music_length_ms=5_000)
FAST: dict[str, Any] = {"poll_interval": 0.05, "max_poll_interval": 0.2}


def run(factory: Callable[[], Awaitable[T]]) -> T:
    async def call() -> T:
        return await factory()

    return asyncio.run(call())


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Every ``asyncio.sleep`` delay, recorded; the real sleep still happens."""
    delays: list[float] = []
    real_sleep = asyncio.sleep

    async def spy(delay: float, result: Any = None) -> Any:
        delays.append(delay)
        return await real_sleep(delay, result)

    monkeypatch.setattr(asyncio, "sleep", spy)
    return delays


async def submit_and_wait(sandbox: SandboxServer) -> Job:
    """One submit, then polling until the job ends: the path the poll faults hit."""
    async with AsyncApiframeClient(CANARY_KEY, sandbox.url, **FAST) as client:
        job = await client.submit(REQUEST)
        return await client.wait(job.job_id)


def posts(server: SandboxServer) -> list[Any]:
    return [r for r in server.recorded_requests() if r.method == "POST"]


# -- the policy ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attempt", "ceiling"), [(0, 0.25), (1, 0.5), (2, 1.0), (3, 2.0), (5, 8.0), (10, 8.0)]
)
def test_full_jitter_ceiling(attempt: int, ceiling: float) -> None:
    assert RetryPolicy(jitter=lambda: 1.0).backoff(attempt) == ceiling
    assert RetryPolicy(jitter=lambda: 0.0).backoff(attempt) == 0.0
    for _ in range(50):
        assert 0.0 <= RetryPolicy().backoff(attempt) <= ceiling


def test_default_policy_matches_the_official_sdk() -> None:
    policy = RetryPolicy()
    assert (policy.max_retries, policy.base_delay, policy.max_delay) == (2, 0.25, 8.0)


@pytest.mark.parametrize(
    ("method", "headers", "safe"),
    [
        ("GET", {}, True),
        ("get", {}, True),
        ("POST", {}, False),
        ("POST", {"Idempotency-Key": "k"}, True),
        ("POST", {"idempotency-key": "k"}, True),
        ("POST", {"Idempotency-Key": ""}, False),
        ("DELETE", {}, False),
    ],
)
def test_replay_safety(method: str, headers: dict[str, str], safe: bool) -> None:
    assert RetryPolicy.is_replay_safe(method, headers) is safe


@pytest.mark.parametrize(
    ("status", "safe", "retried"),
    [
        (429, False, True),
        (429, True, True),
        (500, True, True),
        (502, True, True),
        (503, True, True),
        (504, True, True),
        (501, True, False),
        (503, False, False),
        (400, True, False),
        (404, True, False),
        (409, True, False),
    ],
)
def test_which_statuses_are_retried(status: int, safe: bool, retried: bool) -> None:
    assert RetryPolicy().retries_status(status, replay_safe=safe) is retried


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (None, DEFAULT_RETRY_AFTER),
        ("", DEFAULT_RETRY_AFTER),
        ("soon", DEFAULT_RETRY_AFTER),
        ("nan", DEFAULT_RETRY_AFTER),
        ("2", 2.0),
        (" 0.5 ", 0.5),
        ("0", 0.0),
        ("-3", 0.0),
    ],
)
def test_retry_after_seconds(value: str | None, seconds: float) -> None:
    assert parse_retry_after(value) == seconds


def test_retry_after_http_date() -> None:
    now = 1_800_000_000.0
    assert parse_retry_after(email.utils.formatdate(now + 30, usegmt=True), now=now) == 30.0
    assert parse_retry_after(email.utils.formatdate(now - 30, usegmt=True), now=now) == 0.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=now) == 0.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00", now=now) == DEFAULT_RETRY_AFTER


# -- through the client, against the sandbox ------------------------------------------------


def test_dropped_submit_is_retried_into_one_job_and_one_charge(sandbox: SandboxServer) -> None:
    """The job is created, then the answer is lost: the retry replays the Idempotency-Key."""
    sandbox.faults.inject("drop", route="submit")

    async def go() -> tuple[SubmittedJob, Job]:
        async with AsyncApiframeClient(CANARY_KEY, sandbox.url, **FAST) as client:
            job = await client.submit(REQUEST)
            return job, await client.wait(job.job_id)

    job, done = run(go)
    assert done.status == "COMPLETED" and done.id == job.job_id
    assert sandbox.jobs_created == 1
    assert sandbox.credits_for(CANARY_KEY) == 1000 - 10
    sent = posts(sandbox)
    assert len(sent) == 2
    assert {r.headers["idempotency-key"] for r in sent} == {job.idempotency_key}


def test_dropped_submit_with_a_given_key_reuses_it(sandbox: SandboxServer) -> None:
    sandbox.faults.inject("drop", route="submit", times=2)
    job = run(lambda: AsyncApiframeClient(CANARY_KEY, sandbox.url).submit(REQUEST, idempotency_key="cell-42"))
    assert job.idempotency_key == "cell-42"
    assert [r.headers["idempotency-key"] for r in posts(sandbox)] == ["cell-42"] * 3
    assert sandbox.jobs_created == 1 and sandbox.credits_for(CANARY_KEY) == 990


def test_429_then_success_honours_retry_after(sandbox: SandboxServer, sleeps: list[float]) -> None:
    sandbox.faults.inject("rate_limit", route="submit", retry_after=0.2)
    job = run(lambda: AsyncApiframeClient(CANARY_KEY, sandbox.url).submit(REQUEST))
    assert job.status == "QUEUED"
    assert sleeps == [0.2]
    assert len(posts(sandbox)) == 2 and sandbox.jobs_created == 1


def test_429_twice_then_success(sandbox: SandboxServer, sleeps: list[float]) -> None:
    sandbox.faults.inject("rate_limit", route="poll", times=2, retry_after=0.2)

    async def go() -> Job:
        async with AsyncApiframeClient(CANARY_KEY, sandbox.url) as client:
            job = await client.submit(REQUEST)
            return await client.get_job(job.job_id)

    assert run(go).status in ("QUEUED", "PROCESSING")
    assert sleeps == [0.2, 0.2]


def test_429_with_a_long_retry_after_is_not_waited_out(sandbox: SandboxServer, sleeps: list[float]) -> None:
    sandbox.faults.inject("rate_limit", route="any", retry_after=3600)
    with pytest.raises(RateLimitError) as info:
        run(lambda: AsyncApiframeClient(CANARY_KEY, sandbox.url).me())
    assert info.value.retry_after == 3600
    assert sleeps == [] and len(sandbox.recorded_requests()) == 1


def test_503_on_poll_is_retried_and_never_resubmits(sandbox: SandboxServer, sleeps: list[float]) -> None:
    sandbox.faults.inject("unavailable", route="poll", times=2)

    assert run(lambda: submit_and_wait(sandbox)).status == "COMPLETED"
    assert len(posts(sandbox)) == 1 and sandbox.jobs_created == 1
    backoffs = sleeps[:2]
    assert 0 <= backoffs[0] <= 0.25 and 0 <= backoffs[1] <= 0.5


def test_503_on_poll_beyond_retries_raises_and_never_resubmits(sandbox: SandboxServer) -> None:
    sandbox.faults.inject("unavailable", route="poll", times=3)

    with pytest.raises(ServerError):
        run(lambda: submit_and_wait(sandbox))
    assert len(posts(sandbox)) == 1 and sandbox.jobs_created == 1
    assert sandbox.credits_for(CANARY_KEY) == 990


def test_503_on_submit_is_retried_with_the_same_key(sandbox: SandboxServer) -> None:
    sandbox.faults.inject("unavailable", route="submit", times=2)
    job = run(lambda: AsyncApiframeClient(CANARY_KEY, sandbox.url).submit(REQUEST))
    assert [r.headers["idempotency-key"] for r in posts(sandbox)] == [job.idempotency_key] * 3
    assert sandbox.jobs_created == 1


def test_dropped_poll_is_retried(sandbox: SandboxServer) -> None:
    sandbox.faults.inject("drop", route="poll", times=2)

    assert run(lambda: submit_and_wait(sandbox)).status == "COMPLETED"
    assert sandbox.jobs_created == 1


def test_max_retries_zero_disables_retries(sandbox: SandboxServer) -> None:
    sandbox.faults.inject("drop", route="submit")
    with pytest.raises(TransportError) as info:
        run(lambda: AsyncApiframeClient(CANARY_KEY, sandbox.url, max_retries=0).submit(REQUEST))
    assert "retr" not in str(info.value)
    assert len(posts(sandbox)) == 1
    assert sandbox.jobs_created == 1  # created, answer lost: resubmit with the same key is safe
    assert CANARY_KEY not in str(info.value)


def test_polls_back_off_from_poll_interval_to_max(sandbox: SandboxServer, sleeps: list[float]) -> None:
    sandbox.faults.inject("slow_job", seconds=1.0)

    async def go() -> Job:
        async with AsyncApiframeClient(
            CANARY_KEY, sandbox.url, poll_interval=0.1, max_poll_interval=0.2
        ) as client:
            job = await client.submit(REQUEST)
            return await client.wait(job.job_id)

    run(go)
    assert sleeps[:3] == [0.1, pytest.approx(0.15), 0.2]
    assert set(sleeps[2:-1]) <= {0.2}


# -- shapes the sandbox cannot produce (httpx.MockTransport) --------------------------------


def test_http_date_retry_after(sleeps: list[float]) -> None:
    """MockTransport: the sandbox sends Retry-After in seconds only."""
    answers = iter(
        [
            httpx.Response(
                429,
                json={"error": "Rate limit exceeded"},
                headers={"Retry-After": email.utils.formatdate(time.time() - 60, usegmt=True)},
            ),
            httpx.Response(429, json={"error": "Rate limit exceeded"}),
            httpx.Response(200, json={"team": {"credits": 7}}),
        ]
    )
    transport = httpx.MockTransport(lambda request: next(answers))
    client = AsyncApiframeClient(CANARY_KEY, "https://api.test", transport=transport)
    assert run(client.me).credits == 7
    assert sleeps == [0.0, DEFAULT_RETRY_AFTER]


def test_read_timeouts_are_retried_for_gets_then_reported() -> None:
    """MockTransport: the sandbox cannot hang a response."""
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        raise httpx.ReadTimeout("timed out", request=request)

    client = AsyncApiframeClient(CANARY_KEY, "https://api.test", transport=httpx.MockTransport(handler))
    with pytest.raises(TransportError, match="timed out after 2 retries") as info:
        run(lambda: client.get_job("j"))
    assert calls == ["GET"] * 3
    assert CANARY_KEY not in str(info.value) and CANARY_KEY not in repr(info.value.args)


def test_501_is_not_retried() -> None:
    """MockTransport: the sandbox never answers 501."""
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        return httpx.Response(501, json={"error": "Not implemented"})

    client = AsyncApiframeClient(CANARY_KEY, "https://api.test", transport=httpx.MockTransport(handler))
    with pytest.raises(ServerError, match="Not implemented"):
        run(client.me)
    assert calls == ["GET"]


def test_undecodable_body_is_a_transport_error_and_not_retried() -> None:
    """MockTransport: a body claiming gzip that is not."""
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        return httpx.Response(200, stream=httpx.ByteStream(b"not gzip"), headers={"content-encoding": "gzip"})

    client = AsyncApiframeClient(CANARY_KEY, "https://api.test", transport=httpx.MockTransport(handler))
    with pytest.raises(TransportError, match="DecodingError") as info:
        run(client.me)
    assert calls == ["GET"] and CANARY_KEY not in str(info.value)
