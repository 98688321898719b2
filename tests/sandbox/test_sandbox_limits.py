"""The sandbox's concurrency limit (``team.maxConcurrentJobs``), over HTTP as any client sees it.

A job holds one of its account's slots from submit until it is COMPLETED or FAILED. Over the
limit the sandbox either keeps the new job QUEUED until a slot frees ("queue") or answers 429
with a Retry-After ("reject"). Renders are held back by a gate where a test must see jobs that
are certainly still running; every wait polls for a condition, nothing is timed.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from apiframe_magic import RateLimitError
from apiframe_magic.client import AsyncApiframeClient, MusicRequest, RetryPolicy, SubmittedJob
from apiframe_magic.sandbox import MAX_CONCURRENT_JOBS, OVER_LIMIT_MODES, SandboxServer
from apiframe_magic.sandbox.__main__ import build_parser
from tests.integration.test_seed_examples import Standalone

KEY = "afk_limits_0123456789abcdef"
OTHER_KEY = "afk_others_fedcba9876543210"
H = {"X-API-Key": KEY}
BODY: dict[str, Any] = {
    "prompt": "calm piano",
    "model": "elevenlabs-music",
    "elevenlabsParams": {"music_length_ms": 5000},
}
TERMINAL = ("COMPLETED", "FAILED")


def fake_renderer(
    prompt: str, *, length_ms: int, output_format: str, force_instrumental: bool = False,
    variation: int = 0,
) -> bytes:
    """Instant stand-in audio: these tests are about bookkeeping, not music."""
    return b"ID3\x04" + bytes(range(256)) * 8


class Gate:
    """A renderer that holds every render back until :meth:`open`, so the jobs holding the
    slots cannot end before the test says so, however slow the machine."""

    def __init__(self) -> None:
        self.event = threading.Event()

    def __call__(self, prompt: str, *, length_ms: int, output_format: str,
                 force_instrumental: bool = False, variation: int = 0) -> bytes:
        self.event.wait(30)
        return fake_renderer(prompt, length_ms=length_ms, output_format=output_format)

    def open(self) -> None:
        self.event.set()


def wait_for(predicate: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.02)


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30, trust_env=False) as c:
        yield c


def submit(c: httpx.Client, s: SandboxServer, key: str = KEY, **headers: str) -> httpx.Response:
    return c.post(f"{s.url}/v2/music/generate", json=BODY, headers={"X-API-Key": key, **headers})


def poll(c: httpx.Client, s: SandboxServer, job_id: str) -> dict[str, Any]:
    r = c.get(f"{s.url}/v2/jobs/{job_id}", headers=H)
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


def team(c: httpx.Client, s: SandboxServer, key: str = KEY) -> dict[str, Any]:
    r = c.get(f"{s.url}/v2/me", headers={"X-API-Key": key})
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()["team"]
    return data


def run_out(c: httpx.Client, s: SandboxServer, job_id: str) -> list[dict[str, Any]]:
    """Every snapshot of a job until it ends."""
    seen = [poll(c, s, job_id)]
    while seen[-1]["status"] not in TERMINAL:
        time.sleep(0.02)
        seen.append(poll(c, s, job_id))
        assert len(seen) < 3000
    return seen


def completed_at(job: dict[str, Any]) -> float:
    return datetime.fromisoformat(job["completedAt"].replace("Z", "+00:00")).timestamp()


# -- what the account reports -----------------------------------------------------------------

def test_me_reports_the_default_limit(client: httpx.Client) -> None:
    with SandboxServer(job_seconds=0.3, renderer=fake_renderer) as s:
        assert team(client, s)["maxConcurrentJobs"] == MAX_CONCURRENT_JOBS == 10
        assert client.get(f"{s.url}/_sandbox/limits").json() == {
            "maxConcurrentJobs": 10, "overLimit": "queue"}


def test_me_reports_the_limit_given_and_our_client_reads_it(client: httpx.Client) -> None:
    with SandboxServer(job_seconds=0.3, renderer=fake_renderer, max_concurrent_jobs=4) as s:
        assert team(client, s)["maxConcurrentJobs"] == 4

        async def me() -> int | None:
            async with AsyncApiframeClient(KEY, s.url) as api:
                return (await api.me()).max_concurrent_jobs

        assert asyncio.run(me()) == 4


@pytest.mark.parametrize(("limit", "mode"), [(0, "queue"), (-1, "queue"), (True, "queue"),
                                             (2.5, "queue"), (3, "wait"), (3, "QUEUE")])
def test_bad_limits_are_refused(limit: Any, mode: Any) -> None:
    with pytest.raises(ValueError):
        SandboxServer(max_concurrent_jobs=limit, over_limit=mode)
    server = SandboxServer()
    with pytest.raises(ValueError):
        server.set_limits(max_concurrent_jobs=limit, over_limit=mode)


def test_the_command_line_sets_the_limits() -> None:
    args = build_parser().parse_args(["--max-concurrent-jobs", "3", "--over-limit", "reject"])
    assert (args.max_concurrent_jobs, args.over_limit) == (3, "reject")
    args = build_parser().parse_args([])
    assert (args.max_concurrent_jobs, args.over_limit) == (MAX_CONCURRENT_JOBS, "queue")
    assert OVER_LIMIT_MODES == ("queue", "reject")
    for bad in (["--max-concurrent-jobs", "0"], ["--max-concurrent-jobs", "x"],
                ["--over-limit", "wait"]):
        with pytest.raises(SystemExit):
            build_parser().parse_args(bad)


def test_the_standalone_sandbox_takes_the_limits_from_its_command_line() -> None:
    server = Standalone("--max-concurrent-jobs", "1", "--over-limit", "reject")
    try:
        with httpx.Client(timeout=30, trust_env=False) as c:
            assert c.get(f"{server.url}/_sandbox/limits").json() == {
                "maxConcurrentJobs": 1, "overLimit": "reject"}
            r = c.get(f"{server.url}/v2/me", headers=H)
            assert r.json()["team"]["maxConcurrentJobs"] == 1
    finally:
        server.stop()


# -- queue --------------------------------------------------------------------------------------

def test_over_the_limit_jobs_wait_queued_then_all_complete(client: httpx.Client) -> None:
    """N + 2 submits: N run, 2 wait QUEUED at progress 0 (even once their own run time has
    passed) and start only as slots free; then all complete, the waiting ones last."""
    gate = Gate()
    limit = 3
    with SandboxServer(job_seconds=0.3, renderer=gate, max_concurrent_jobs=limit) as s:
        ids = []
        for _ in range(limit + 2):
            r = submit(client, s)
            assert r.status_code == 202 and r.json()["status"] == "QUEUED"
            ids.append(r.json()["jobId"])
        assert s.jobs_created == limit + 2 and s.credits_for(KEY) == 1000 - 10 * (limit + 2)
        assert (team(client, s)["runningJobs"], team(client, s)["queuedJobs"]) == (limit, 2)
        # The first N ran their whole run time (progress 99: only the held render is missing).
        wait_for(lambda: all(poll(client, s, i)["progress"] == 99 for i in ids[:limit]))
        waiting = {i: [poll(client, s, i)] for i in ids[limit:]}
        for (job,) in waiting.values():
            assert (job["status"], job["progress"], job["completedAt"]) == ("QUEUED", 0, None)
        listed = client.get(f"{s.url}/v2/jobs", params={"status": "QUEUED"}, headers=H).json()
        assert {j["id"] for j in listed["jobs"]} == set(ids[limit:])

        gate.open()
        while any(seen[-1]["status"] not in TERMINAL for seen in waiting.values()):
            for job_id, seen in waiting.items():
                seen.append(poll(client, s, job_id))
            assert len(seen) < 3000
            time.sleep(0.02)
        ends = [run_out(client, s, i)[-1] for i in ids]
    assert [j["status"] for j in ends] == ["COMPLETED"] * (limit + 2)
    for seen in waiting.values():
        # QUEUED at 0 until a slot frees, then a run of its own, then COMPLETED.
        statuses = [snap["status"] for snap in seen]
        assert statuses[-1] == "COMPLETED"
        assert statuses == sorted(statuses, key=["QUEUED", "PROCESSING", "COMPLETED"].index)
        assert all(snap["progress"] == 0 for snap in seen if snap["status"] == "QUEUED")
        progress = [snap["progress"] for snap in seen if snap["status"] == "PROCESSING"]
        assert progress == sorted(progress)
    # Each waiting job started when a running one ended and then ran its full job_seconds.
    first_end = min(completed_at(j) for j in ends[:limit])
    assert all(completed_at(j) >= first_end + 0.3 - 0.002 for j in ends[limit:])
    assert s.credits_for(KEY) == 1000 - 10 * (limit + 2)


def test_a_queued_job_starts_only_once_a_slot_frees(client: httpx.Client) -> None:
    """Whenever the waiting job is seen running, the job holding the only slot has ended."""
    with SandboxServer(job_seconds=0.3, renderer=fake_renderer, max_concurrent_jobs=1) as s:
        first = submit(client, s).json()["jobId"]
        second = submit(client, s).json()["jobId"]
        seen = run_out(client, s, second)
        assert [snap["status"] for snap in seen][-1] == "COMPLETED"
        assert any(snap["status"] == "QUEUED" for snap in seen)
        assert poll(client, s, first)["status"] == "COMPLETED"
        assert completed_at(poll(client, s, second)) >= completed_at(poll(client, s, first)) + 0.298


def test_each_account_has_its_own_slots(client: httpx.Client) -> None:
    gate = Gate()
    with SandboxServer(job_seconds=0.3, renderer=gate, max_concurrent_jobs=1,
                       over_limit="reject") as s:
        assert submit(client, s).status_code == 202
        assert submit(client, s).status_code == 429
        assert submit(client, s, key=OTHER_KEY).status_code == 202
        gate.open()


def test_webhooks_of_a_queued_job_follow_its_own_run(client: httpx.Client) -> None:
    """Every event of the waiting job comes after the job ahead of it has completed."""
    gate = Gate()
    with SandboxServer(job_seconds=0.6, renderer=gate, max_concurrent_jobs=1) as s:
        ahead = submit(client, s).json()["jobId"]
        calls: list[tuple[str, dict[str, Any], str]] = []

        class Hook(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                data = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with httpx.Client(timeout=30, trust_env=False) as c:
                    status_ahead = poll(c, s, ahead)["status"]
                calls.append((self.headers["X-Webhook-Event"], data, status_ahead))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        hook = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
        threading.Thread(target=hook.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        try:
            url = f"http://127.0.0.1:{hook.server_address[1]}/hook"
            r = client.post(f"{s.url}/v2/music/generate", json={**BODY, "webhookUrl": url},
                            headers=H)
            queued = r.json()["jobId"]
            assert poll(client, s, queued)["status"] == "QUEUED"
            gate.open()
            wait_for(lambda: poll(client, s, queued)["webhookStatus"] == "delivered")
        finally:
            hook.shutdown()
            hook.server_close()
    events = [event for event, _, _ in calls]
    assert events[-1] == "completed" and "progress" in events
    assert all(data["jobId"] == queued for _, data, _ in calls)
    assert all(ahead_status == "COMPLETED" for _, _, ahead_status in calls)
    assert all(data["status"] == "PROCESSING" for event, data, _ in calls if event == "progress")


# -- reject -------------------------------------------------------------------------------------

def test_reject_answers_429_with_retry_after_and_charges_nothing(client: httpx.Client) -> None:
    gate = Gate()
    with SandboxServer(job_seconds=3, renderer=gate, max_concurrent_jobs=2,
                       over_limit="reject") as s:
        first = submit(client, s, **{"Idempotency-Key": "first"})
        assert first.status_code == 202
        assert submit(client, s).status_code == 202
        r = submit(client, s, **{"Idempotency-Key": "third"})
        assert r.status_code == 429
        assert r.json() == {"error": "Too many concurrent jobs", "maxConcurrentJobs": 2,
                            "runningJobs": 2}
        # Seconds until the earliest job should end (3 s jobs, just started), at least 1.
        assert r.headers["Retry-After"].isdigit() and 1 <= int(r.headers["Retry-After"]) <= 3
        assert r.headers["x-request-id"]
        assert s.jobs_created == 2 and s.credits_for(KEY) == 980
        # A replay of an existing job is never rejected, and charges nothing either.
        replay = submit(client, s, **{"Idempotency-Key": "first"})
        assert replay.status_code == 202 and replay.json()["jobId"] == first.json()["jobId"]
        assert s.jobs_created == 2 and s.credits_for(KEY) == 980
        # The rejected key was not remembered: once a slot frees, it makes a job.
        s.set_limits(max_concurrent_jobs=3)
        third = submit(client, s, **{"Idempotency-Key": "third"})
        assert third.status_code == 202 and third.json()["jobId"] != first.json()["jobId"]
        assert s.jobs_created == 3 and s.credits_for(KEY) == 970
        gate.open()


def test_retry_after_is_at_least_one_second_when_a_job_is_overdue(client: httpx.Client) -> None:
    """Run time over, render still going: the job is expected any moment, so 1 s."""
    gate = Gate()
    with SandboxServer(job_seconds=0.3, renderer=gate, max_concurrent_jobs=1,
                       over_limit="reject") as s:
        job_id = submit(client, s).json()["jobId"]
        wait_for(lambda: poll(client, s, job_id)["progress"] == 99)
        r = submit(client, s)
        assert (r.status_code, r.headers["Retry-After"]) == (429, "1")
        gate.open()
        assert run_out(client, s, job_id)[-1]["status"] == "COMPLETED"
        assert submit(client, s).status_code == 202
        assert s.jobs_created == 2


def test_a_failed_job_frees_its_slot(client: httpx.Client) -> None:
    with SandboxServer(job_seconds=0.3, renderer=fake_renderer, max_concurrent_jobs=1,
                       over_limit="reject") as s:
        s.faults.inject("fail_job")
        job_id = submit(client, s).json()["jobId"]
        assert submit(client, s).status_code == 429
        assert run_out(client, s, job_id)[-1]["status"] == "FAILED"
        assert submit(client, s).status_code == 202
        assert s.credits_for(KEY) == 990


# -- changing the limits at run time ----------------------------------------------------------

def test_the_limits_route_reads_and_changes_both(client: httpx.Client) -> None:
    gate = Gate()
    with SandboxServer(job_seconds=0.3, renderer=gate) as s:
        url = f"{s.url}/_sandbox/limits"
        r = client.post(url, json={"maxConcurrentJobs": 3, "overLimit": "reject"})
        assert r.status_code == 200
        assert r.json() == {"maxConcurrentJobs": 3, "overLimit": "reject"}
        assert client.get(url).json() == {"maxConcurrentJobs": 3, "overLimit": "reject"}
        assert team(client, s)["maxConcurrentJobs"] == 3
        assert (s.max_concurrent_jobs, s.over_limit) == (3, "reject")
        assert [submit(client, s).status_code for _ in range(4)] == [202, 202, 202, 429]
        # Either key alone changes only itself.
        assert client.post(url, json={"overLimit": "queue"}).json() == {
            "maxConcurrentJobs": 3, "overLimit": "queue"}
        assert submit(client, s).status_code == 202
        assert team(client, s)["queuedJobs"] == 1
        assert client.post(url, json={"maxConcurrentJobs": 1}).json() == {
            "maxConcurrentJobs": 1, "overLimit": "queue"}
        gate.open()


def test_raising_the_limit_starts_waiting_jobs_at_once(client: httpx.Client) -> None:
    gate = Gate()
    with SandboxServer(job_seconds=0.3, renderer=gate, max_concurrent_jobs=1) as s:
        submit(client, s)
        waiting = submit(client, s).json()["jobId"]
        assert (team(client, s)["runningJobs"], team(client, s)["queuedJobs"]) == (1, 1)
        r = client.post(f"{s.url}/_sandbox/limits", json={"maxConcurrentJobs": 2})
        assert r.status_code == 200
        assert (team(client, s)["runningJobs"], team(client, s)["queuedJobs"]) == (2, 0)
        # It runs though the first job still holds its slot (its render is held back).
        wait_for(lambda: poll(client, s, waiting)["progress"] == 99)
        gate.open()


def test_lowering_the_limit_keeps_running_jobs(client: httpx.Client) -> None:
    gate = Gate()
    with SandboxServer(job_seconds=0.3, renderer=gate, max_concurrent_jobs=3) as s:
        ids = [submit(client, s).json()["jobId"] for _ in range(3)]
        s.set_limits(max_concurrent_jobs=1, over_limit="reject")
        assert team(client, s)["runningJobs"] == 3
        assert submit(client, s).status_code == 429
        gate.open()
        assert [run_out(client, s, i)[-1]["status"] for i in ids] == ["COMPLETED"] * 3
        assert submit(client, s).status_code == 202


def test_limits_set_before_start_apply() -> None:
    s = SandboxServer(job_seconds=0.3, renderer=fake_renderer)
    s.set_limits(max_concurrent_jobs=2, over_limit="reject")
    with s, httpx.Client(timeout=30, trust_env=False) as c:
        assert team(c, s)["maxConcurrentJobs"] == 2
        assert c.get(f"{s.url}/_sandbox/limits").json()["overLimit"] == "reject"


@pytest.mark.parametrize("bad", [
    {"maxConcurrentJobs": 0},
    {"maxConcurrentJobs": True},
    {"maxConcurrentJobs": "3"},
    {"overLimit": "wait"},
    {"maxConcurrentJobs": 3, "extra": 1},
    ["not", "an", "object"],
])
def test_the_limits_route_refuses_bad_bodies(client: httpx.Client, bad: Any) -> None:
    with SandboxServer(job_seconds=0.3, renderer=fake_renderer) as s:
        r = client.post(f"{s.url}/_sandbox/limits", json=bad)
        assert r.status_code == 400 and r.json()["error"] == "Validation failed"
        assert client.get(f"{s.url}/_sandbox/limits").json() == {
            "maxConcurrentJobs": 10, "overLimit": "queue"}


def test_the_limits_route_refuses_other_methods_and_bad_json(client: httpx.Client) -> None:
    with SandboxServer(job_seconds=0.3, renderer=fake_renderer) as s:
        r = client.delete(f"{s.url}/_sandbox/limits")
        assert r.status_code == 405 and r.headers["Allow"] == "GET, POST"
        r = client.post(f"{s.url}/_sandbox/limits", content=b"{nope",
                        headers={"Content-Type": "application/json"})
        assert r.status_code == 400


# -- our own client --------------------------------------------------------------------------

def test_our_client_retries_a_rejected_submit_after_retry_after(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The 429 is waited out for its Retry-After; by then the slot has freed and the retry
    (same Idempotency-Key) makes the job."""
    delays: list[float] = []
    real_sleep = asyncio.sleep

    async def spy(delay: float, result: Any = None) -> Any:
        delays.append(delay)
        return await real_sleep(delay, result)

    monkeypatch.setattr(asyncio, "sleep", spy)
    with SandboxServer(job_seconds=0.5, renderer=fake_renderer, max_concurrent_jobs=1,
                       over_limit="reject") as s:

        async def go() -> tuple[SubmittedJob, SubmittedJob]:
            async with AsyncApiframeClient(KEY, s.url, max_retries=4) as api:
                first = await api.submit(MusicRequest("first", music_length_ms=5_000))
                second = await api.submit(MusicRequest("second", music_length_ms=5_000))
                return first, second

        first, second = asyncio.run(go())
        posts = [r for r in s.recorded_requests() if r.method == "POST"]
        with httpx.Client(timeout=30, trust_env=False) as c:
            assert poll(c, s, first.job_id)["status"] == "COMPLETED"
    assert first.job_id != second.job_id
    # Retry-After: ceil(0.5 s left of the first job) = 1 s, waited in full, at least once.
    assert delays and delays[0] == 1.0 and set(delays) == {1.0}
    assert len(posts) == 2 + len(delays)
    assert {p.headers["idempotency-key"] for p in posts[1:]} == {second.idempotency_key}
    assert s.jobs_created == 2 and s.credits_for(KEY) == 980


def test_our_client_does_not_wait_out_a_retry_after_beyond_its_cap(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    delays: list[float] = []
    real_sleep = asyncio.sleep

    async def spy(delay: float, result: Any = None) -> Any:
        delays.append(delay)
        return await real_sleep(delay, result)

    monkeypatch.setattr(asyncio, "sleep", spy)
    with SandboxServer(job_seconds=120, renderer=fake_renderer, max_concurrent_jobs=1,
                       over_limit="reject") as s:

        async def go() -> None:
            async with AsyncApiframeClient(KEY, s.url) as api:
                api.retry_policy = RetryPolicy(max_retry_after=5)
                await api.submit(MusicRequest("first", music_length_ms=5_000))
                await api.submit(MusicRequest("second", music_length_ms=5_000))

        with pytest.raises(RateLimitError) as info:
            asyncio.run(go())
    assert 5 < (info.value.retry_after or 0) <= 120
    assert delays == [] and s.jobs_created == 1 and s.credits_for(KEY) == 990
