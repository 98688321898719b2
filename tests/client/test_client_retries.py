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

from apiframe_magic._exceptions import (
    AuthenticationError,
    BadRequestError,
    JobTimeoutError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    TransportError,
)
from apiframe_magic.client import (
    DEFAULT_RETRY_AFTER,
    AsyncApiframeClient,
    Job,
    MusicRequest,
    RetryPolicy,
    SubmittedJob,
    parse_retry_after,
)
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


async def submit_and_wait(
    sandbox: SandboxServer,
    on_progress: Callable[[Job], None] | None = None,
    timeout: float | None = 600.0,
    jitter: float | None = None,
) -> Job:
    """One submit, then polling until the job ends: the path the poll faults hit. ``jitter``
    fixes the random fraction of the backoff (for exact pauses)."""
    async with AsyncApiframeClient(CANARY_KEY, sandbox.url, **FAST) as client:
        if jitter is not None:
            client.retry_policy = RetryPolicy(jitter=lambda: jitter)
        job = await client.submit(REQUEST)
        return await client.wait(job.job_id, on_progress=on_progress, timeout=timeout)


def posts(server: SandboxServer) -> list[Any]:
    return [r for r in server.recorded_requests() if r.method == "POST"]


def polls(server: SandboxServer) -> list[Any]:
    return [r for r in server.recorded_requests() if r.method == "GET" and r.path.startswith("/v2/jobs/")]


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


def test_503s_on_poll_beyond_the_request_retries_are_waited_out(sandbox: SandboxServer) -> None:
    """Waiting only reads: six 503s in a row (a request's own retries stop after three) do not
    end it, and nothing is submitted again."""
    sandbox.faults.inject("unavailable", route="poll", times=6)

    assert run(lambda: submit_and_wait(sandbox)).status == "COMPLETED"
    assert len(polls(sandbox)) > 6
    assert len(posts(sandbox)) == 1 and sandbox.jobs_created == 1
    assert sandbox.credits_for(CANARY_KEY) == 990


def test_a_503_outage_of_a_while_is_waited_out(sandbox: SandboxServer) -> None:
    """An outage that lasts a time (the sandbox's ``seconds``), not a number of requests."""
    sandbox.faults.inject("unavailable", route="poll", seconds=1.0)

    assert run(lambda: submit_and_wait(sandbox)).status == "COMPLETED"
    assert sandbox.faults.pending() == [] and sandbox.jobs_created == 1


@pytest.mark.parametrize("kind", ["not_json", "drop", "rate_limit"])
def test_unreadable_dropped_and_rate_limited_polls_are_waited_out(kind: str, sandbox: SandboxServer) -> None:
    sandbox.faults.inject(kind, route="poll", times=4, retry_after=0.1)

    assert run(lambda: submit_and_wait(sandbox)).status == "COMPLETED"
    assert len(polls(sandbox)) > 4 and sandbox.jobs_created == 1


def test_failed_polls_back_off_to_the_poll_interval_cap(sandbox: SandboxServer, sleeps: list[float]) -> None:
    """Economical: one request per pause, the pause doubling from the poll interval to the cap
    (0.05 s to 0.2 s here), never the request-level retries' near-zero jitter."""
    sandbox.faults.inject("unavailable", route="poll", times=6)

    run(lambda: submit_and_wait(sandbox, jitter=1.0))
    assert sleeps[:6] == [0.05, 0.1, 0.2, 0.2, 0.2, 0.2]
    assert len(polls(sandbox)) == len(sleeps) + 1  # every pause is followed by one poll


def test_the_pause_after_a_failed_poll_is_at_least_half_its_ceiling(
    sandbox: SandboxServer, sleeps: list[float]
) -> None:
    sandbox.faults.inject("unavailable", route="poll", times=3)

    run(lambda: submit_and_wait(sandbox, jitter=0.0))
    assert sleeps[:3] == [0.025, 0.05, 0.1]


def test_a_rate_limited_poll_waits_at_least_retry_after(sandbox: SandboxServer, sleeps: list[float]) -> None:
    sandbox.faults.inject("rate_limit", route="poll", times=4, retry_after=0.3)

    run(lambda: submit_and_wait(sandbox, jitter=1.0))
    assert sleeps[:4] == [0.3, 0.3, 0.3, 0.3]


def test_on_progress_sees_only_real_snapshots_during_an_outage(sandbox: SandboxServer) -> None:
    sandbox.faults.inject("unavailable", route="poll", times=3)
    sandbox.faults.inject("not_json", route="poll", times=2)
    seen: list[Job] = []

    done = run(lambda: submit_and_wait(sandbox, on_progress=seen.append))
    assert len(seen) == len(polls(sandbox)) - 5  # one per answered poll, none per failure
    assert all(j.id == done.id and j.status in ("QUEUED", "PROCESSING", "COMPLETED") for j in seen)
    assert seen[-1] == done


def test_an_outage_longer_than_the_timeout_ends_with_a_resumable_timeout(sandbox: SandboxServer) -> None:
    sandbox.faults.inject("unavailable", route="poll", seconds=60)

    with pytest.raises(JobTimeoutError) as info:
        run(lambda: submit_and_wait(sandbox, timeout=0.5))
    job_id = polls(sandbox)[0].path.rsplit("/", 1)[-1]
    assert info.value.job_id == job_id and info.value.last_status is None
    assert info.value.last_error is not None and "503" in info.value.last_error
    assert "503" in str(info.value) and "\n" not in str(info.value)
    assert sandbox.jobs_created == 1


def test_404_while_polling_ends_the_wait_at_once(sandbox: SandboxServer) -> None:
    unknown = "00000000-0000-4000-8000-000000000000"
    with pytest.raises(NotFoundError) as info:
        run(lambda: AsyncApiframeClient(CANARY_KEY, sandbox.url, **FAST).wait(unknown))
    assert info.value.job_id == unknown
    assert len(polls(sandbox)) == 1


@pytest.mark.parametrize(
    ("status", "error"),
    [(401, AuthenticationError), (403, PermissionDeniedError), (404, NotFoundError), (400, BadRequestError)],
)
def test_errors_polling_again_cannot_fix_end_the_wait(status: int, error: type[Exception]) -> None:
    """MockTransport: the sandbox cannot answer 403, nor 401 to a key it accepted a moment ago."""
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        return httpx.Response(status, json={"error": "no"})

    transport = httpx.MockTransport(handler)
    client = AsyncApiframeClient(CANARY_KEY, "https://api.test", transport=transport, **FAST)
    with pytest.raises(error) as info:
        run(lambda: client.wait("job-1"))
    assert getattr(info.value, "job_id", None) == "job-1"
    assert calls == ["/v2/jobs/job-1"]


def test_any_5xx_while_polling_is_waited_out_like_a_503() -> None:
    """MockTransport: the sandbox's faults answer 503 only; any 5xx while waiting may pass."""
    answers = iter(
        [httpx.Response(status, text="oops") for status in (500, 502, 504, 500, 501)]
        + [httpx.Response(200, json={"id": "j", "status": "COMPLETED", "result": "https://cdn.test/a.mp3"})]
    )
    client = AsyncApiframeClient(
        CANARY_KEY, "https://api.test", transport=httpx.MockTransport(lambda r: next(answers)), **FAST
    )
    assert run(lambda: client.wait("j")).status == "COMPLETED"


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


def test_polls_back_off_from_poll_interval_to_max_until_progress_tells_more(
    sandbox: SandboxServer, sleeps: list[float]
) -> None:
    """Before two snapshots show progress, the interval grows x1.5 from poll_interval; once they
    do, the wait sleeps most of the way to the estimated end (see tests/client/test_polling.py)."""
    sandbox.faults.inject("slow_job", seconds=1.0)

    async def go() -> Job:
        async with AsyncApiframeClient(
            CANARY_KEY, sandbox.url, poll_interval=0.1, max_poll_interval=0.2
        ) as client:
            job = await client.submit(REQUEST)
            return await client.wait(job.job_id)

    assert run(go).status == "COMPLETED"
    assert sleeps[:2] == [0.1, pytest.approx(0.15)]


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
