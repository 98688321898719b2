"""The client against the real sandbox server over loopback: every endpoint, every error status,
the sync facade, and the API key never leaking.

A few shapes the sandbox cannot produce (a 403, non-JSON 5xx bodies, a 501, a server echoing
the key) use ``httpx.MockTransport``; those tests say so.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import traceback
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from apiframe_magic._exceptions import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    InsufficientCreditsError,
    JobFailedError,
    JobTimeoutError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RequestValidationError,
    ServerError,
    TransportError,
)
from apiframe_magic.client import (
    Account,
    ApiframeClient,
    AsyncApiframeClient,
    Job,
    JobPage,
    MusicRequest,
    SubmittedJob,
)
from apiframe_magic.sandbox import SandboxServer
from tests.conftest import CANARY_KEY

T = TypeVar("T")
REQUEST = MusicRequest("calm piano, rain on the window", music_length_ms=5_000)
FAST: dict[str, Any] = {"poll_interval": 0.05, "max_poll_interval": 0.2}


def make(server: SandboxServer, key: str | None = CANARY_KEY, **kwargs: Any) -> AsyncApiframeClient:
    """An async client on the sandbox holding the canary key, polling fast."""
    return AsyncApiframeClient(key, server.url, **{**FAST, **kwargs})


def run(factory: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(_call(factory))


async def _call(factory: Callable[[], Awaitable[T]]) -> T:
    return await factory()


def capture(factory: Callable[[], Awaitable[Any]]) -> BaseException:
    """Run ``factory`` expecting an error; return it (the key is not a local of this frame)."""
    try:
        run(factory)
    except BaseException as exc:
        return exc
    raise AssertionError("no error was raised")


def assert_no_key(exc: BaseException, key: str = CANARY_KEY) -> None:
    """The key is in no text that an error could show, traceback locals included."""
    texts = [str(exc), repr(exc), repr(exc.args)]
    texts += [repr(v) for v in vars(exc).values()]
    texts += traceback.format_exception(exc)
    texts += traceback.TracebackException.from_exception(exc, capture_locals=True).format()
    for text in texts:
        assert key not in text
    assert "\n" not in str(exc)


@pytest.fixture
def restricted() -> Iterator[SandboxServer]:
    """A sandbox that knows one key only (so the canary key is invalid), and few credits."""
    with SandboxServer(job_seconds=0.3, credits=5, api_keys=["afk_the_only_valid_key"]) as server:
        yield server


# -- the happy path ------------------------------------------------------------------------


def test_async_submit_wait_download(sandbox: SandboxServer, tmp_path: Path) -> None:
    snapshots: list[Job] = []

    async def go() -> tuple[SubmittedJob, Job, Any]:
        async with make(sandbox) as client:
            submitted = await client.submit(REQUEST)
            done = await client.wait(submitted.job_id, on_progress=snapshots.append)
            assert done.audio_url is not None
            file = await client.download(done.audio_url, tmp_path, job_id=done.id)
            return submitted, done, file

    submitted, done, file = run(go)
    assert submitted.status == "QUEUED" and len(submitted.idempotency_key) == 36
    assert done.status == "COMPLETED" and done.id == submitted.job_id
    assert snapshots[-1] == done and all(s.id == done.id for s in snapshots)
    assert done.tracks[0].duration == 5.0
    assert file.container == "mp3" and file.size == file.path.stat().st_size > 0
    assert file.path.parent == tmp_path and file.path.name.endswith(".mp3")
    assert sandbox.jobs_created == 1

    api = [r for r in sandbox.recorded_requests() if r.origin == "api"]
    cdn = [r for r in sandbox.recorded_requests() if r.origin == "cdn"]
    assert api and all(r.headers.get("x-api-key") == CANARY_KEY for r in api)
    assert len(cdn) == 1 and "x-api-key" not in cdn[0].headers
    assert all(CANARY_KEY not in str(r.headers.values()) for r in cdn)
    post = next(r for r in api if r.method == "POST")
    assert post.headers["idempotency-key"] == submitted.idempotency_key
    assert post.headers["content-type"] == "application/json"


def test_sync_facade_in_a_plain_script(sandbox: SandboxServer, tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        from apiframe_magic.client import ApiframeClient
        from apiframe_magic.client import MusicRequest

        with ApiframeClient(base_url={sandbox.url!r}, poll_interval=0.05) as client:
            job = client.submit(MusicRequest("a plain script", music_length_ms=5000))
            done = client.wait(job.job_id)
            file = client.download(done.audio_url, {str(tmp_path)!r})
            print(done.status, file.container, file.path.name, client.me().credits)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        env={
            "APIFRAME_API_KEY": CANARY_KEY,
            "PATH": "",
            "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
        },
        check=False,
    )
    assert result.returncode == 0, result.stderr
    status, container, name, credits = result.stdout.split()
    assert (status, container, credits) == ("COMPLETED", "mp3", "990")
    assert (tmp_path / name).stat().st_size > 0
    assert CANARY_KEY not in result.stdout + result.stderr


def test_sync_facade_in_process(sandbox: SandboxServer) -> None:
    with ApiframeClient(CANARY_KEY, sandbox.url, **FAST) as client:
        assert "afk_" in repr(client) and CANARY_KEY not in repr(client)
        job = client.submit(REQUEST)
        assert client.get_job(job.job_id).id == job.job_id
        assert client.wait(job.job_id).status == "COMPLETED"
        assert client.list_jobs().jobs[0].id == job.job_id
        assert "elevenlabs-music" in [m.id for m in client.models()]
    client.close()  # twice is fine
    with pytest.raises(RuntimeError, match="closed"):
        client.me()


def test_sync_facade_inside_a_running_event_loop(sandbox: SandboxServer) -> None:
    """As in a notebook cell, where a loop is already running in this thread: the call blocks
    and its callbacks run on the calling thread. A subprocess, because nest_asyncio (applied
    here, as in a kernel) patches asyncio for the whole process."""
    script = textwrap.dedent(
        f"""
        import asyncio, threading
        from apiframe_magic.client import ApiframeClient
        from apiframe_magic.client import MusicRequest

        async def notebook_cell():
            threads = set()
            with ApiframeClient(base_url={sandbox.url!r}, poll_interval=0.05) as client:
                job = client.submit(MusicRequest("in a cell", music_length_ms=5000))
                done = client.wait(job.job_id, on_progress=lambda j: threads.add(threading.get_ident()))
            return done.status, threads == {{threading.get_ident()}}

        print(*asyncio.run(notebook_cell()))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        env={"APIFRAME_API_KEY": CANARY_KEY, "PATH": "",
             "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["COMPLETED", "True"]


def test_wav_output_format(sandbox: SandboxServer, tmp_path: Path) -> None:
    async def go() -> Any:
        async with make(sandbox) as client:
            job = await client.submit(MusicRequest("x", music_length_ms=5_000, output_format="wav_16khz"))
            done = await client.wait(job.job_id)
            assert done.audio_url is not None
            return await client.download(done.audio_url, tmp_path / "song.audio")

    file = run(go)
    assert file.container == "wav" and file.path.read_bytes()[:4] == b"RIFF"


def test_me_reports_credits_and_charges(sandbox: SandboxServer) -> None:
    async def go() -> tuple[Account, Account]:
        async with make(sandbox) as client:
            before = await client.me()
            await client.submit(REQUEST)
            return before, await client.me()

    before, after = run(go)
    assert before.credits == 1000 and after.credits == 990
    assert before.plan is not None and isinstance(before.max_concurrent_jobs, int)
    assert "team" in before.raw
    assert sandbox.credits_for(CANARY_KEY) == 990


def test_list_jobs_pages(sandbox: SandboxServer) -> None:
    async def go() -> tuple[JobPage, JobPage, set[str]]:
        async with make(sandbox) as client:
            ids = {(await client.submit(REQUEST)).job_id for _ in range(3)}
            first = await client.list_jobs(limit=2)
            assert first.next_cursor is not None
            second = await client.list_jobs(limit=2, cursor=first.next_cursor)
            return first, second, ids

    first, second, ids = run(go)
    assert len(first.jobs) == 2 and first.has_more
    assert len(second.jobs) == 1 and not second.has_more and second.next_cursor is None
    assert {j.id for j in first.jobs + second.jobs} == ids


def test_list_jobs_limit_is_checked_locally() -> None:
    client = AsyncApiframeClient(CANARY_KEY, "http://127.0.0.1:9")
    for limit in (0, 101):
        with pytest.raises(RequestValidationError, match="limit"):
            run(lambda limit=limit: client.list_jobs(limit=limit))  # type: ignore[misc]


def test_models_sends_no_key(sandbox: SandboxServer) -> None:
    async def go() -> Any:
        async with make(sandbox) as client:
            return await client.models()

    models = {m.id: m for m in run(go)}
    music = models["elevenlabs-music"]
    assert music.label and music.modality == "music"
    assert (music.cost_min, music.cost_max) == (10, 30)
    (request,) = sandbox.recorded_requests()
    assert request.path == "/v2/models" and request.query == "modality=music"
    assert "x-api-key" not in request.headers


def test_models_sends_no_key_even_when_the_client_has_one(sandbox: SandboxServer) -> None:
    run(lambda: make(sandbox).models())
    assert "x-api-key" not in sandbox.recorded_requests()[0].headers


def test_missing_key_is_a_one_line_configuration_error(
    sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("APIFRAME_API_KEY", raising=False)
    with pytest.raises(ConfigurationError) as info:  # at construction, not at the first call
        make(sandbox, key=None)
    # Both ways forward: a key for the API, or the offline sandbox.
    assert "APIFRAME_API_KEY" in str(info.value) and "ApiframeClient.sandbox()" in str(info.value)
    assert "\n" not in str(info.value)
    assert sandbox.recorded_requests() == []


def test_sandbox_client_needs_no_key_and_ignores_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``ApiframeClient.sandbox()``: the embedded sandbox, whatever the variables say."""
    from apiframe_magic.sandbox import embedded_sandbox

    monkeypatch.setenv("APIFRAME_SANDBOX_JOB_SECONDS", "0.3")  # if this process starts it now
    monkeypatch.delenv("APIFRAME_API_KEY", raising=False)
    monkeypatch.setenv("APIFRAME_BASE_URL", "http://127.0.0.1:9")
    with ApiframeClient.sandbox(poll_interval=0.05) as client:
        assert client.base_url == embedded_sandbox().url
        done = client.wait(client.submit(REQUEST).job_id)
        file = client.download(done.audio_url or "", tmp_path)
    assert done.status == "COMPLETED" and file.container == "mp3"

    monkeypatch.setenv("APIFRAME_API_KEY", CANARY_KEY)

    async def go() -> Job:
        async with AsyncApiframeClient.sandbox(poll_interval=0.05) as client:
            assert client.base_url == embedded_sandbox().url and CANARY_KEY not in repr(client)
            return await client.wait((await client.submit(REQUEST)).job_id)

    assert run(go).status == "COMPLETED"
    assert all(r.headers.get("x-api-key") != CANARY_KEY for r in embedded_sandbox().recorded_requests())


def test_the_default_client_never_falls_back_to_the_sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("APIFRAME_API_KEY", raising=False)
    monkeypatch.delenv("APIFRAME_BASE_URL", raising=False)
    with pytest.raises(ConfigurationError, match=r"ApiframeClient\.sandbox\(\)"):
        ApiframeClient()


def test_key_and_base_url_are_read_from_the_environment_at_call_time(
    sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APIFRAME_API_KEY", CANARY_KEY)
    monkeypatch.setenv("APIFRAME_BASE_URL", sandbox.url + "/")
    client = AsyncApiframeClient()
    assert client.base_url == sandbox.url
    assert client.masked_key != CANARY_KEY and client.masked_key.startswith("afk_")
    assert CANARY_KEY not in repr(client) and sandbox.url in repr(client)
    assert run(client.me).credits == 1000


def test_key_set_before_the_client_is_made(sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APIFRAME_API_KEY", CANARY_KEY)
    client = make(sandbox, key=None)
    assert run(client.me).credits == 1000


def test_unencodable_key_is_refused_without_showing_it() -> None:
    with pytest.raises(ConfigurationError) as info:
        AsyncApiframeClient("afk_é_secret_value", "http://127.0.0.1:9")
    assert "secret_value" not in str(info.value)


# -- every error status ------------------------------------------------------------------


def test_400_carries_details_and_request_id(sandbox: SandboxServer) -> None:
    exc = capture(lambda: make(sandbox).get_job("not-a-uuid"))
    assert isinstance(exc, BadRequestError)
    assert exc.status_code == 400 and exc.message == "Validation failed"
    assert exc.details == {"id": ["must be a UUID"]}
    assert exc.request_id and exc.request_id in str(exc)
    assert exc.body["error"] == "Validation failed"
    assert_no_key(exc)


def test_401_invalid_key(restricted: SandboxServer) -> None:
    exc = capture(lambda: make(restricted).me())
    assert isinstance(exc, AuthenticationError)
    assert exc.status_code == 401 and exc.message == "Invalid API key"
    assert_no_key(exc)


def test_402_insufficient_credits(restricted: SandboxServer) -> None:
    exc = capture(lambda: make(restricted, key="afk_the_only_valid_key").submit(REQUEST))
    assert isinstance(exc, InsufficientCreditsError)
    assert (exc.credits_required, exc.credits_available) == (10, 5)
    assert exc.message == "Insufficient credits"
    assert restricted.jobs_created == 0
    assert_no_key(exc, "afk_the_only_valid_key")


def test_404_unknown_job(sandbox: SandboxServer) -> None:
    exc = capture(lambda: make(sandbox).get_job("00000000-0000-4000-8000-000000000000"))
    assert isinstance(exc, NotFoundError) and exc.message == "Job not found"
    assert_no_key(exc)


def test_404_is_not_retried(sandbox: SandboxServer) -> None:
    capture(lambda: make(sandbox).get_job("00000000-0000-4000-8000-000000000000"))
    assert len(sandbox.recorded_requests()) == 1


def test_409_idempotency_key_reused_with_another_body(sandbox: SandboxServer) -> None:
    async def go() -> None:
        async with make(sandbox) as client:
            await client.submit(REQUEST, idempotency_key="same-key")
            await client.submit(MusicRequest("something else"), idempotency_key="same-key")

    exc = capture(go)
    assert isinstance(exc, ConflictError) and exc.status_code == 409
    assert "Idempotency-Key" in exc.message
    assert sandbox.jobs_created == 1
    assert_no_key(exc)


def test_idempotent_replay_returns_the_same_job(sandbox: SandboxServer) -> None:
    async def go() -> tuple[SubmittedJob, SubmittedJob]:
        async with make(sandbox) as client:
            first = await client.submit(REQUEST, idempotency_key="replay-me")
            return first, await client.submit(REQUEST, idempotency_key="replay-me")

    first, again = run(go)
    assert first.job_id == again.job_id and again.idempotency_key == "replay-me"
    assert sandbox.jobs_created == 1 and sandbox.credits_for(CANARY_KEY) == 990


def test_idempotency_key_length_is_checked_locally(sandbox: SandboxServer) -> None:
    exc = capture(lambda: make(sandbox).submit(REQUEST, idempotency_key="k" * 256))
    assert isinstance(exc, RequestValidationError)
    assert sandbox.recorded_requests() == []


def test_429_after_retries_carries_retry_after(sandbox: SandboxServer) -> None:
    sandbox.faults.inject("rate_limit", times=3, route="any", retry_after=0.2)
    exc = capture(lambda: make(sandbox).me())
    assert isinstance(exc, RateLimitError) and exc.retry_after == 0.2
    assert len(sandbox.recorded_requests()) == 3  # the call and its 2 retries
    assert_no_key(exc)


def test_503_after_retries_is_a_server_error(sandbox: SandboxServer) -> None:
    sandbox.faults.inject("unavailable", times=3, route="any")
    exc = capture(lambda: make(sandbox).me())
    assert isinstance(exc, ServerError) and exc.status_code == 503
    assert exc.message == "Service temporarily unavailable"
    assert len(sandbox.recorded_requests()) == 3
    assert_no_key(exc)


def test_failed_job_raises_with_the_server_text(sandbox: SandboxServer) -> None:
    sandbox.faults.inject("fail_job", message="Provider returned an error: content policy")

    async def go() -> None:
        async with make(sandbox) as client:
            job = await client.submit(REQUEST)
            await client.wait(job.job_id)

    exc = capture(go)
    assert isinstance(exc, JobFailedError)
    assert exc.reason == "Provider returned an error: content policy"
    assert exc.reason in str(exc)
    job_id = sandbox.recorded_requests()[-1].path.rsplit("/", 1)[-1]
    assert exc.job_id == job_id and job_id in str(exc)
    assert sandbox.credits_for(CANARY_KEY) == 1000  # refunded
    assert_no_key(exc)


def test_wait_timeout_keeps_the_job_id_and_can_resume(sandbox: SandboxServer) -> None:
    sandbox.faults.inject("slow_job", seconds=1.5)

    async def go() -> tuple[BaseException, Job]:
        async with make(sandbox) as client:
            job = await client.submit(REQUEST)
            try:
                await client.wait(job.job_id, timeout=0.2)
            except JobTimeoutError as exc:
                return exc, await client.wait(exc.job_id)  # resume
            raise AssertionError("the job finished within the budget")

    exc, done = run(go)
    assert isinstance(exc, JobTimeoutError)
    assert exc.job_id == done.id and exc.job_id in str(exc)
    assert exc.last_status in ("QUEUED", "PROCESSING")
    assert done.status == "COMPLETED" and sandbox.jobs_created == 1
    assert_no_key(exc)


def test_connection_refused_is_a_transport_error_without_the_key() -> None:
    with SandboxServer() as gone:
        url = gone.url
    exc = capture(lambda: AsyncApiframeClient(CANARY_KEY, url, **FAST).me())
    assert isinstance(exc, TransportError)
    assert url in str(exc) and "after 2 retries" in str(exc)
    assert exc.__cause__ is None and exc.__suppress_context__
    assert_no_key(exc)


# -- shapes the sandbox cannot produce (httpx.MockTransport) ------------------------------


def _echoing(status: int, **extra: Any) -> httpx.MockTransport:
    """A server answering ``status`` and echoing the key it was sent into every field."""

    def handler(request: httpx.Request) -> httpx.Response:
        key = request.headers.get("x-api-key", "")
        body = {"error": f"bad key {key}", "details": {"key": [key]}, **extra}
        return httpx.Response(status, json=body, headers={"x-request-id": f"req-{key}"})

    return httpx.MockTransport(handler)


ERRORS = {
    400: BadRequestError,
    401: AuthenticationError,
    402: InsufficientCreditsError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: APIStatusError,
    429: RateLimitError,
    500: ServerError,
    501: ServerError,
    502: ServerError,
    503: ServerError,
    504: ServerError,
}


@pytest.mark.parametrize("status", sorted(ERRORS))
def test_every_status_maps_to_its_error_and_never_shows_the_key(status: int) -> None:
    """MockTransport: a server that echoes the key back (the sandbox never does)."""
    transport = _echoing(status, creditsRequired=20, creditsAvailable=3)
    exc = capture(
        lambda: AsyncApiframeClient(
            CANARY_KEY, "https://api.test", transport=transport, max_retries=0
        ).submit(REQUEST)
    )
    assert type(exc) is ERRORS[status]
    assert isinstance(exc, APIStatusError) and exc.status_code == status
    assert exc.message.startswith("bad key afk_")
    if isinstance(exc, InsufficientCreditsError):
        assert (exc.credits_required, exc.credits_available) == (20, 3)
    if isinstance(exc, RateLimitError):
        assert exc.retry_after == 1.0  # no Retry-After header: one second
    assert_no_key(exc)


def test_403_permission_denied() -> None:
    """MockTransport: the sandbox has no inactive keys."""
    transport = httpx.MockTransport(lambda r: httpx.Response(403, json={"error": "API key is inactive"}))
    exc = capture(lambda: AsyncApiframeClient(CANARY_KEY, "https://api.test", transport=transport).me())
    assert isinstance(exc, PermissionDeniedError) and exc.message == "API key is inactive"


@pytest.mark.parametrize(
    ("content", "content_type", "message"),
    [
        (b"<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html", "Bad Gateway"),
        (b"upstream connect error", "text/plain", "upstream connect error"),
        (b"", "text/plain", "Bad Gateway"),
        (b'["not", "an", "object"]', "application/json", "Bad Gateway"),
    ],
)
def test_non_json_error_bodies_are_tolerated(content: bytes, content_type: str, message: str) -> None:
    """MockTransport: the sandbox always answers JSON."""
    transport = httpx.MockTransport(
        lambda r: httpx.Response(502, content=content, headers={"content-type": content_type})
    )
    exc = capture(
        lambda: AsyncApiframeClient(CANARY_KEY, "https://api.test", transport=transport, max_retries=0).me()
    )
    assert isinstance(exc, ServerError) and exc.message == message


def test_a_2xx_without_job_id_is_an_error() -> None:
    """MockTransport: a malformed success answer."""
    transport = httpx.MockTransport(lambda r: httpx.Response(202, json={"status": "QUEUED"}))
    exc = capture(
        lambda: AsyncApiframeClient(CANARY_KEY, "https://api.test", transport=transport).submit(REQUEST)
    )
    assert isinstance(exc, APIStatusError) and "jobId" in str(exc)


def test_200_replay_with_current_status_is_accepted() -> None:
    """MockTransport: an idempotent replay answered 200 with the job's current status."""
    transport = httpx.MockTransport(
        lambda r: httpx.Response(200, json={"jobId": "j-1", "status": "processing"})
    )
    job = run(
        lambda: AsyncApiframeClient(CANARY_KEY, "https://api.test", transport=transport).submit(
            REQUEST, idempotency_key="mine"
        )
    )
    assert job == SubmittedJob(job_id="j-1", status="PROCESSING", idempotency_key="mine")


@pytest.mark.parametrize(
    "result",
    [
        "https://cdn.test/a.mp3",
        ["https://cdn.test/a.mp3"],
        {"tracks": [{"audioUrl": "https://cdn.test/a.mp3"}]},
    ],
)
def test_wait_accepts_every_result_shape(result: Any) -> None:
    """MockTransport: the sandbox only produces the documented object shape."""
    polls = iter(
        [{"id": "j", "status": "RENDERING"}, {"jobId": "j", "status": "COMPLETED", "result": result}]
    )
    transport = httpx.MockTransport(lambda r: httpx.Response(200, json=next(polls)))
    seen: list[str] = []
    client = AsyncApiframeClient(CANARY_KEY, "https://api.test", transport=transport, **FAST)
    done = run(lambda: client.wait("j", on_progress=lambda j: seen.append(j.status)))
    assert seen == ["RENDERING", "COMPLETED"]  # an unknown status is not terminal
    assert done.audio_url == "https://cdn.test/a.mp3" and done.id == "j"


def test_cancelled_job() -> None:
    """MockTransport: there is no cancel endpoint, so the sandbox never cancels."""
    from apiframe_magic._exceptions import JobCancelledError

    transport = httpx.MockTransport(lambda r: httpx.Response(200, json={"id": "j", "status": "CANCELLED"}))
    exc = capture(lambda: AsyncApiframeClient(CANARY_KEY, "https://api.test", transport=transport).wait("j"))
    assert isinstance(exc, JobCancelledError) and exc.job_id == "j"


def test_api_redirect_to_another_origin_is_not_followed() -> None:
    """MockTransport: the sandbox never redirects. The key must not travel to evil.test."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(307, headers={"location": "https://evil.test/v2/me"})

    exc = capture(
        lambda: AsyncApiframeClient(
            CANARY_KEY, "https://api.test", transport=httpx.MockTransport(handler)
        ).me()
    )
    assert isinstance(exc, APIStatusError) and "evil.test" in str(exc)
    assert [r.url.host for r in seen] == ["api.test"]
    assert_no_key(exc)
