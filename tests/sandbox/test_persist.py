"""A sandbox given a state file keeps its jobs, credits and idempotency keys for later processes.

Real servers on loopback, plain httpx. A "later process" is a second :class:`SandboxServer` on
the same file after the first one stopped (and, once, a real ``python -m apiframe_magic.sandbox``
stopped with SIGTERM and started again). Waits poll with a generous deadline; the only sleeps
let a job's run time pass while no server is running.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from apiframe_magic.sandbox import (
    SANDBOX_STATE_NAME,
    SandboxServer,
    _persist,
    _server,
    embedded_sandbox,
)
from apiframe_magic.sandbox.__main__ import build_parser
from tests.conftest import CANARY_KEY

KEY = "afk_persist_0123456789abcdef"
H = {"X-API-Key": KEY}
BODY: dict[str, Any] = {
    "prompt": "calm piano, 5 seconds",
    "model": "elevenlabs-music",
    "elevenlabsParams": {"music_length_ms": 5000, "output_format": "wav_16khz"},
}
COST = 10  # 5 s of ElevenLabs Music


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30.0) as c:
        yield c


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / SANDBOX_STATE_NAME


def wait_for(predicate: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.02)


def submit(c: httpx.Client, s: SandboxServer, *, key: str = KEY, idempotency_key: str | None = None,
           body: dict[str, Any] | None = None) -> httpx.Response:
    headers = {"X-API-Key": key}
    if idempotency_key is not None:
        headers["Idempotency-Key"] = idempotency_key
    return c.post(f"{s.url}/v2/music/generate", json=body or BODY, headers=headers)


def job_id_of(response: httpx.Response) -> str:
    assert response.status_code == 202, response.text
    return str(response.json()["jobId"])


def poll(c: httpx.Client, s: SandboxServer, job_id: str, key: str = KEY) -> dict[str, Any]:
    r = c.get(f"{s.url}/v2/jobs/{job_id}", headers={"X-API-Key": key})
    assert r.status_code == 200, r.text
    return dict(r.json())


def finished(c: httpx.Client, s: SandboxServer, job_id: str, key: str = KEY) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    def ended() -> bool:
        seen.update(poll(c, s, job_id, key))
        return seen["status"] in ("COMPLETED", "FAILED")

    wait_for(ended)
    return seen


def download(c: httpx.Client, job: dict[str, Any]) -> bytes:
    r = c.get(job["result"]["tracks"][0]["audioUrl"])
    assert r.status_code == 200, r.text
    return r.content


def test_a_job_left_running_is_served_completed_with_the_same_audio_by_the_next_server(
    client: httpx.Client, state: Path,
) -> None:
    with SandboxServer(job_seconds=0.3, state_path=state) as first:
        done_id = job_id_of(submit(client, first))
        done = finished(client, first, done_id)
        first_audio = download(client, done)
        left_id = job_id_of(submit(client, first))
        assert poll(client, first, left_id)["status"] != "COMPLETED"
    time.sleep(0.5)  # the left job's run time ends while no server runs

    with SandboxServer(job_seconds=0.3, state_path=state) as second:
        assert second.notice is None
        left = poll(client, second, left_id)
        assert left["status"] == "COMPLETED" and left["progress"] == 100
        assert left["input"] == BODY and left["completedAt"] is not None
        assert download(client, left)[:4] == b"RIFF"
        # Rendered again here from the request and seed: the bytes the first server served.
        again = poll(client, second, done_id)
        assert again["createdAt"] == done["createdAt"]
        assert again["completedAt"] == done["completedAt"]
        assert again["result"]["tracks"][0]["id"] == done["result"]["tracks"][0]["id"]
        assert download(client, again) == first_audio
        listed = client.get(f"{second.url}/v2/jobs", headers=H).json()
        assert [j["id"] for j in listed["jobs"]] == [left_id, done_id]
        assert second.jobs_created == 0


def test_credits_are_charged_once_and_a_failed_jobs_refund_carries_over(
    client: httpx.Client, state: Path,
) -> None:
    with SandboxServer(job_seconds=0.3, state_path=state) as first:
        first.set_credits(500, api_key=KEY)
        kept_id = job_id_of(submit(client, first, idempotency_key="take-1"))
        first.faults.inject("fail_job")
        failed_id = job_id_of(submit(client, first))
        assert first.credits_for(KEY) == 500 - 2 * COST
    time.sleep(0.5)

    with SandboxServer(job_seconds=0.3, state_path=state) as second:
        failed = poll(client, second, failed_id)
        assert failed["status"] == "FAILED" and failed["creditCost"] == 0
        assert "content policy" in failed["error"]
        assert poll(client, second, kept_id)["status"] == "COMPLETED"
        assert second.credits_for(KEY) == 500 - COST
        # The same key and body: the same job, no new charge, no new job.
        replay = submit(client, second, idempotency_key="take-1")
        assert job_id_of(replay) == kept_id and replay.json()["status"] == "COMPLETED"
        other_body = {**BODY, "prompt": "loud drums, 5 seconds"}
        assert submit(client, second, idempotency_key="take-1", body=other_body).status_code == 409
        assert second.credits_for(KEY) == 500 - COST and second.jobs_created == 0

    with SandboxServer(job_seconds=0.3, state_path=state) as third:
        assert poll(client, third, failed_id)["status"] == "FAILED"
        assert third.credits_for(KEY) == 500 - COST  # refunded once, not once per server


def test_a_job_left_waiting_for_a_slot_starts_when_the_one_before_it_ended(
    client: httpx.Client, state: Path,
) -> None:
    with SandboxServer(job_seconds=0.3, max_concurrent_jobs=1, state_path=state) as first:
        ids = [job_id_of(submit(client, first)) for _ in range(2)]
        assert poll(client, first, ids[1])["status"] == "QUEUED"
    time.sleep(0.8)  # both run times end while no server runs

    with SandboxServer(job_seconds=0.3, max_concurrent_jobs=1, state_path=state) as second:
        jobs = [poll(client, second, job_id) for job_id in ids]
        assert [j["status"] for j in jobs] == ["COMPLETED", "COMPLETED"]
        ended = [datetime.fromisoformat(j["completedAt"].replace("Z", "+00:00")) for j in jobs]
        assert (ended[1] - ended[0]).total_seconds() >= 0.3 - 0.002


def test_two_servers_on_one_file_at_once_share_jobs_credits_and_keys(
    client: httpx.Client, state: Path,
) -> None:
    with SandboxServer(job_seconds=0.3, state_path=state) as one, \
            SandboxServer(job_seconds=0.3, state_path=state) as two:
        start = one.credits_for(KEY)
        from_one = job_id_of(submit(client, one, idempotency_key="shared"))
        assert poll(client, two, from_one)["id"] == from_one
        from_two = job_id_of(submit(client, two))
        assert job_id_of(submit(client, two, idempotency_key="shared")) == from_one
        listed = client.get(f"{one.url}/v2/jobs", headers=H).json()["jobs"]
        assert [j["id"] for j in listed] == [from_two, from_one]
        assert one.credits_for(KEY) == two.credits_for(KEY) == start - 2 * COST
        # Each serves the other's audio once the job is done, from its own CDN.
        assert download(client, finished(client, one, from_two)) == download(
            client, finished(client, two, from_two))
        assert one.jobs_created == two.jobs_created == 1
        assert client.get(f"{two.url}/v2/jobs/{from_one}",
                          headers={"X-API-Key": "afk_someone_else_entirely"}).status_code == 404


def test_a_damaged_state_file_is_moved_aside_with_a_notice(
    client: httpx.Client, state: Path,
) -> None:
    garbage = b"this is not a database, whatever its name says " * 200
    state.write_bytes(garbage)
    with SandboxServer(job_seconds=0.3, state_path=state) as server:
        notice = server.notice
        assert notice is not None and "\n" not in notice and "moved it to" in notice
        kept = [p for p in state.parent.iterdir() if p.name.startswith(state.name + ".corrupt-")]
        assert [p.read_bytes() for p in kept] == [garbage]
        assert finished(client, server, job_id_of(submit(client, server)))["status"] == "COMPLETED"
    with SandboxServer(job_seconds=0.3, state_path=state) as again:
        assert again.notice is None


def test_a_foreign_sqlite_file_is_moved_aside_too(client: httpx.Client, state: Path) -> None:
    with sqlite3.connect(state) as other:
        other.execute("CREATE TABLE notes (text TEXT)")
    with SandboxServer(job_seconds=0.3, state_path=state) as server:
        assert server.notice is not None and "not a sandbox state file" in server.notice
        job_id_of(submit(client, server))
    assert len(list(state.parent.glob(state.name + ".corrupt-*"))) == 1


def test_a_file_from_a_newer_version_is_left_alone_and_jobs_kept_in_memory(
    client: httpx.Client, state: Path,
) -> None:
    with SandboxServer(state_path=state):
        pass
    with sqlite3.connect(state) as newer:
        newer.execute("PRAGMA user_version = 99")
    before = state.read_bytes()
    with SandboxServer(job_seconds=0.3, state_path=state) as server:
        assert server.notice is not None and "newer" in server.notice
        assert finished(client, server, job_id_of(submit(client, server)))["status"] == "COMPLETED"
    assert state.read_bytes() == before


def test_a_state_file_locked_too_long_answers_503_and_charges_nothing(
    monkeypatch: pytest.MonkeyPatch, client: httpx.Client, state: Path,
) -> None:
    monkeypatch.setattr(_persist, "BUSY_TIMEOUT_SECONDS", 0.2)
    with SandboxServer(job_seconds=0.3, state_path=state) as server:
        holder = sqlite3.connect(state, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # another process writing, and writing, and writing
        try:
            refused = submit(client, server)
            assert refused.status_code == 503 and "locked" in refused.json()["error"]
        finally:
            holder.rollback()
            holder.close()
        assert finished(client, server, job_id_of(submit(client, server)))["status"] == "COMPLETED"
        assert server.credits_for(KEY) == 1000 - COST and server.jobs_created == 1


def test_the_state_file_never_holds_the_api_key(client: httpx.Client, state: Path) -> None:
    def assert_no_key() -> None:
        files = [p for p in state.parent.iterdir() if p.name.startswith(state.name)]
        assert state in files
        for path in files:
            assert CANARY_KEY.encode() not in path.read_bytes(), path.name

    with SandboxServer(job_seconds=0.3, state_path=state) as server:
        server.set_credits(300, api_key=CANARY_KEY)
        done = job_id_of(submit(client, server, key=CANARY_KEY, idempotency_key="canary-take"))
        server.faults.inject("fail_job")
        failed = job_id_of(submit(client, server, key=CANARY_KEY))
        download(client, finished(client, server, done, CANARY_KEY))
        assert finished(client, server, failed, CANARY_KEY)["status"] == "FAILED"
        assert client.get(f"{server.url}/v2/me", headers={"X-API-Key": CANARY_KEY}).status_code == 200
        assert_no_key()
    with SandboxServer(job_seconds=0.3, state_path=state) as later:
        assert later.credits_for(CANARY_KEY) == 300 - COST
    assert_no_key()


def test_the_embedded_sandbox_is_one_server_per_state_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, client: httpx.Client,
) -> None:
    monkeypatch.setattr(_server, "_embedded_at", {})
    monkeypatch.chdir(tmp_path)
    a = tmp_path / "a" / SANDBOX_STATE_NAME
    servers = [embedded_sandbox(state_path=a),
               embedded_sandbox(state_path=Path("a") / ".." / "a" / SANDBOX_STATE_NAME),
               embedded_sandbox(state_path=str(tmp_path / "b" / SANDBOX_STATE_NAME))]
    try:
        assert servers[0] is servers[1] and servers[2] is not servers[0]
        job_id = job_id_of(submit(client, servers[0]))
        assert a.is_file()
        with SandboxServer(job_seconds=0.3, state_path=a) as later:
            assert poll(client, later, job_id)["id"] == job_id
    finally:
        for server in servers:
            server.stop()


def test_the_shell_sandbox_keeps_its_jobs_with_state(
    client: httpx.Client, state: Path, tmp_path: Path,
) -> None:
    assert build_parser().parse_args([]).state is None

    def start() -> tuple[subprocess.Popen[str], str]:
        process = subprocess.Popen(
            [sys.executable, "-m", "apiframe_magic.sandbox", "--port", "0", "--job-seconds",
             "0.3", "--state", str(state)],
            stdout=subprocess.PIPE, text=True, cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
        assert process.stdout is not None
        banner = process.stdout.readline()
        return process, banner.split(" running at ")[1].split(" ")[0]

    process, url = start()
    try:
        r = client.post(f"{url}/v2/music/generate", json=BODY, headers=H)
        job_id = job_id_of(r)
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=20)
    process, url = start()
    try:
        def completed() -> bool:
            r = client.get(f"{url}/v2/jobs/{job_id}", headers=H)
            assert r.status_code == 200, r.text
            return bool(r.json()["status"] == "COMPLETED")

        wait_for(completed)
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=20)
