"""The ledger records the service's own times of a job (its ``createdAt`` and ``completedAt``),
and how long jobs take is learned from them, not from when the client noticed the end."""

from __future__ import annotations

import asyncio
from pathlib import Path

from apiframe_magic.client import AsyncApiframeClient, Job, MusicRequest
from apiframe_magic.jobs._bookkeeping import Bookkeeping
from apiframe_magic.ledger import (
    COMPLETED,
    DEFAULT_LEDGER_NAME,
    Ledger,
    NewJob,
    TrackRecord,
    fingerprint,
    idempotency_key,
    service_time,
)
from apiframe_magic.sandbox import SandboxServer
from tests.conftest import CANARY_KEY

REQUEST = MusicRequest("a short test tune", music_length_ms=5_000)


def begin(ledger: Ledger, job_id: str, request: MusicRequest = REQUEST, take: int = 1) -> None:
    fp = fingerprint(account="sandbox", model=request.model, prompt=request.prompt,
                     params=request.params, take=take)
    record = ledger.begin(NewJob(
        fingerprint=fp, account="sandbox", model=request.model, prompt=request.prompt,
        params=request.params, take=take, request=request.to_json(), idempotency_key=idempotency_key(fp),
    ))
    ledger.submitted(record.id, job_id)


def test_a_finished_job_records_the_services_times(sandbox: SandboxServer, tmp_path: Path) -> None:
    async def finished() -> Job:
        async with AsyncApiframeClient(CANARY_KEY, sandbox.url, poll_interval=0.05,
                                       max_poll_interval=0.2) as client:
            submitted = await client.submit(REQUEST)
            return await client.wait(submitted.job_id, timeout=30)

    job = asyncio.run(finished())
    assert job.created_at and job.completed_at  # the sandbox, like the service, gives both
    with Ledger.open(tmp_path / DEFAULT_LEDGER_NAME) as ledger:
        begin(ledger, job.id)
        Bookkeeping(ledger).status(job)
        record = ledger.get(job.id)
    assert record is not None and record.status == COMPLETED
    assert record.service_created_at == service_time(job.created_at)
    assert record.service_completed_at == service_time(job.completed_at)


def test_how_long_jobs_take_is_learned_from_the_services_times(tmp_path: Path) -> None:
    """The client noticed each end 30 s after submitting it; the service says each took 12 s."""
    track = TrackRecord(0, str(tmp_path / "t.mp3"), 3, "0" * 64, 5.0)
    with Ledger.open(tmp_path / DEFAULT_LEDGER_NAME) as ledger:
        for n in range(3):
            job_id = f"job-{n}"
            begin(ledger, job_id, take=n + 1)
            ledger.completed(
                job_id, credits=10, tracks=[track],
                service_created_at="2026-03-15T10:00:00.000Z",
                service_completed_at="2026-03-15T10:00:12.000Z",
            )
            with ledger._transaction(write=True) as connection:  # the client's own clock
                connection.execute(
                    "UPDATE jobs SET submitted_at = ?, completed_at = ? WHERE job_id = ?",
                    ("2026-03-15T09:59:59.000+00:00", "2026-03-15T10:00:29.000+00:00", job_id),
                )
        record = ledger.get("job-0")
        assert record is not None and record.elapsed == 12.0
        assert Bookkeeping(ledger).typical_seconds(REQUEST) == 12.0


def test_without_the_services_times_the_clients_are_used(tmp_path: Path) -> None:
    track = TrackRecord(0, str(tmp_path / "t.mp3"), 3, "0" * 64, 5.0)
    with Ledger.open(tmp_path / DEFAULT_LEDGER_NAME) as ledger:
        begin(ledger, "job-0")
        ledger.completed("job-0", credits=10, tracks=[track], service_created_at="not a time")
        with ledger._transaction(write=True) as connection:
            connection.execute(
                "UPDATE jobs SET submitted_at = ?, completed_at = ? WHERE job_id = 'job-0'",
                ("2026-03-15T09:59:59.000+00:00", "2026-03-15T10:00:29.000+00:00"),
            )
        record = ledger.get("job-0")
        assert record is not None and record.service_created_at is None
        assert record.elapsed == 30.0 and Bookkeeping(ledger).typical_seconds(REQUEST) == 30.0


def test_service_times_are_read_leniently() -> None:
    assert service_time("2026-03-15T10:00:00.000Z") == "2026-03-15T10:00:00.000+00:00"
    assert service_time("2026-03-15T12:00:00+02:00") == "2026-03-15T10:00:00.000+00:00"
    assert service_time("2026-03-15T10:00:00") == "2026-03-15T10:00:00.000+00:00"  # UTC, as the service's
    for bad in (None, "", "yesterday", 1773568800, {"at": 1}):
        assert service_time(bad) is None
