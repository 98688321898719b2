"""The ledger's storage layer: real SQLite files in a temporary folder, real processes and threads
writing at once, a real sandbox job recorded step by step through the real client.

Nothing here is mocked: locks are held by real connections, corrupt files are real bytes, and
concurrent writers are spawned interpreters.
"""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import sys
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from apiframe_magic._exceptions import ApiframeError
from apiframe_magic.ledger import (
    COMPLETED,
    DEFAULT_LEDGER_NAME,
    FAILED,
    HISTORY_COLUMNS,
    LEDGER_ENV,
    PAIR,
    PROCESSING,
    QUEUED,
    RATING,
    REQUESTED,
    SAVED,
    SCHEMA_VERSION,
    SUBMITTED,
    JobRecord,
    Ledger,
    LedgerUnavailable,
    NewJob,
    RatingRecord,
    TrackRecord,
    fingerprint,
    history_frame,
    history_rows,
    idempotency_key,
    normalize_prompt,
    resolve_ledger_path,
)
from apiframe_magic.ledger._schema import APPLICATION_ID, MIGRATIONS, Migration, migrate

from ..conftest import CANARY_KEY

if TYPE_CHECKING:
    # Not at run time: the spawned writers import this module, and need none of the sandbox.
    from apiframe_magic.sandbox import SandboxServer



@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with Ledger.open(tmp_path / "outputs" / DEFAULT_LEDGER_NAME) as opened:
        yield opened


def begin(
    ledger: Ledger,
    prompt: str,
    *,
    account: str = "sandbox",
    model: str = "elevenlabs-music",
    take: int = 1,
    reserved: int | None = 10,
    output_dir: str | None = None,
    label: str | None = None,
) -> JobRecord:
    """Write a request ahead of its POST, as the job runner does."""
    params = {"music_length_ms": 30_000}
    fp = fingerprint(account=account, model=model, prompt=prompt, params=params, take=take)
    return ledger.begin(NewJob(
        fingerprint=fp,
        account=account,
        model=model,
        prompt=prompt,
        params=params,
        take=take,
        request={"prompt": prompt, "model": model, "elevenlabsParams": params},
        idempotency_key=idempotency_key(fp),
        reserved=reserved,
        output_dir=output_dir,
        label=label,
    ))


def run_job(ledger: Ledger, prompt: str, job_id: str, *, credits: int = 10, **kwargs: Any) -> JobRecord:
    """Every step of a job that ends saved, with one (made-up) track."""
    record = begin(ledger, prompt, **kwargs)
    ledger.submitted(record.id, job_id)
    ledger.status(job_id, QUEUED)
    ledger.status(job_id, PROCESSING, progress=40)
    ledger.status(job_id, COMPLETED, progress=100)
    track = TrackRecord(0, f"/music/{job_id}.mp3", 1234, "0" * 64, 30.0, f"https://cdn/{job_id}.mp3", None)
    ledger.completed(job_id, credits=credits, tracks=[track])
    saved = ledger.get(job_id)
    assert saved is not None
    return saved


def write_jobs(path: str, worker: int, count: int, barrier: Any) -> None:
    """A process of its own writing ``count`` whole jobs (module level, for spawn)."""
    barrier.wait()
    with Ledger.open(path) as ledger:
        for i in range(count):
            run_job(ledger, f"worker {worker} job {i}", f"job-{worker}-{i}")


def utc(text: str | None) -> datetime:
    assert text is not None
    moment = datetime.fromisoformat(text)
    assert moment.utcoffset() == timedelta(0)
    return moment


# --------------------------------------------------------------------------------------------
# Fingerprint and Idempotency-Key
# --------------------------------------------------------------------------------------------


def test_fingerprint_ignores_whitespace_unicode_form_and_param_order() -> None:
    base = fingerprint(account="sandbox", model="m", prompt="café  jazz\n\ttrio", params={"a": 1, "b": 2},
                       take=1)
    same = fingerprint(account="sandbox", model="m", prompt=" cafe\u0301 jazz trio ", params={"b": 2, "a": 1},
                       take=1)
    assert base == same
    assert normalize_prompt("  cafe\u0301\n jazz ") == "café jazz"
    assert len(base) == 64 and int(base, 16) >= 0


def test_fingerprint_separates_account_model_prompt_params_and_take() -> None:
    args: dict[str, Any] = {"account": "sandbox", "model": "m", "prompt": "p", "params": {"a": 1}, "take": 1}
    base = fingerprint(**args)
    changes: list[dict[str, Any]] = [
        {"account": "https://api.apiframe.ai acct_1"},
        {"model": "suno"},
        {"prompt": "P"},
        {"params": {"a": 2}},
        {"params": {"a": 1, "nested": {"x": 1}}},
        {"take": 2},
    ]
    prints = {fingerprint(**{**args, **change}) for change in changes}
    assert base not in prints and len(prints) == len(changes)


def test_fingerprint_is_stable_across_versions() -> None:
    """Changing the canonical form silently would make every cached job miss (or worse, match
    another request): a change must bump FINGERPRINT_VERSION and this value."""
    fp = fingerprint(account="sandbox", model="elevenlabs-music", prompt="calm piano",
                     params={"music_length_ms": 30000}, take=1)
    assert fp == "f4e387265b583369e3d300c5d9dfe32cea00e8a20d31c6f600986e3a0de88838"


def test_fingerprint_refuses_what_cannot_be_a_request() -> None:
    for take in (0, -1, True, 1.0):
        with pytest.raises(ValueError, match="take"):
            fingerprint(account="sandbox", model="m", prompt="p", params={}, take=take)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="account"):
        fingerprint(account="", model="m", prompt="p", params={}, take=1)
    with pytest.raises(TypeError):
        fingerprint(account="sandbox", model="m", prompt="p", params={"s": {1, 2}}, take=1)


def test_idempotency_key_is_short_ascii_and_follows_the_fingerprint() -> None:
    fp = fingerprint(account="sandbox", model="m", prompt="p", params={}, take=1)
    key = idempotency_key(fp)
    assert key == "afm-" + fp[:40] and key.isascii() and len(key) <= 255
    assert idempotency_key(fp) == key
    assert idempotency_key(fp, 2) == key + "-2"
    with pytest.raises(ValueError):
        idempotency_key("short")


# --------------------------------------------------------------------------------------------
# A job's life
# --------------------------------------------------------------------------------------------


def test_a_sandbox_job_is_written_ahead_of_every_step_and_the_key_is_never_stored(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    """The sequence the job runner will follow, through the real client and the real sandbox,
    with the canary key: fingerprint, begin, POST, submitted, statuses, download, completed."""
    from apiframe_magic.client import ApiframeClient, MusicRequest

    path = tmp_path / "out" / DEFAULT_LEDGER_NAME
    request = MusicRequest("calm piano, rain on the window", music_length_ms=5_000)
    body = request.to_json()
    fp = fingerprint(account="sandbox", model=request.model, prompt=request.prompt,
                     params=dict(request.params), take=1)
    key = idempotency_key(fp)
    with Ledger.open(path) as ledger, ApiframeClient(
        CANARY_KEY, sandbox.url, poll_interval=0.05, max_poll_interval=0.2
    ) as client:
        record = ledger.begin(NewJob(fingerprint=fp, account="sandbox", model=request.model,
                                     prompt=request.prompt, params=dict(request.params), take=1,
                                     request=body, idempotency_key=key,
                                     output_dir=str(tmp_path / "out"), reserved=10))
        assert (record.status, record.job_id) == (REQUESTED, None)
        assert ledger.lookup(fp) == record  # on disk before anything was sent

        job = client.submit(request, idempotency_key=key)
        ledger.submitted(record.id, job.job_id)
        assert [r.job_id for r in ledger.pending()] == [job.job_id]

        seen: list[str] = []

        def on_progress(snapshot: Any) -> None:
            seen.append(snapshot.status)
            ledger.status(snapshot.id, snapshot.status, progress=snapshot.progress)

        done = client.wait(job.job_id, on_progress=on_progress)
        ledger.status(done.id, done.status, progress=done.progress)
        audio = client.download(done.tracks[0].audio_url, tmp_path / "out" / "calm.mp3", job_id=done.id)
        track = TrackRecord.from_file(0, audio.path, duration=done.tracks[0].duration,
                                      audio_url=done.tracks[0].audio_url, title=done.tracks[0].title)
        ledger.completed(done.id, credits=done.credit_cost, tracks=[track])

        # The same request again, with the same key: the sandbox replays the job, no new charge.
        again = client.submit(request, idempotency_key=key)
        assert again.job_id == job.job_id
        posts = [r for r in sandbox.recorded_requests() if r.method == "POST"]
        assert {r.headers.get("idempotency-key") for r in posts} == {key}

        saved = ledger.lookup(fp)
        assert saved is not None and saved.job_id == job.job_id and saved.id == record.id
        assert saved.saved and not saved.pending and saved.intact()
        assert saved.request == body and saved.credits == done.credit_cost == 10
        assert saved.tracks == (track,) and track.size == audio.path.stat().st_size
        assert utc(saved.submitted_at) <= utc(saved.completed_at) <= utc(saved.downloaded_at)
        assert utc(saved.created_at) <= utc(saved.submitted_at)
        if PROCESSING in seen:
            assert utc(saved.submitted_at) <= utc(saved.started_at) <= utc(saved.completed_at)
        assert ledger.pending() == [] and ledger.spent() == 10
        written = [p.read_bytes() for p in path.parent.iterdir() if p.name.startswith(path.name)]
        assert all(CANARY_KEY.encode() not in data for data in written)
    assert CANARY_KEY.encode() not in path.read_bytes()


def test_a_reopened_ledger_lists_the_jobs_an_earlier_kernel_left_pending(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    with Ledger.open(path) as first:
        running = begin(first, "left running", output_dir="/out/a", label="intro")
        first.submitted(running.id, "job-running")
        first.status("job-running", PROCESSING, progress=30)
        never_answered = begin(first, "posted, no answer")  # no job id: not resumable by id
        failed = begin(first, "failed")
        first.submitted(failed.id, "job-failed")
        first.failed("job-failed", error="boom")
        run_job(first, "saved", "job-saved")
    with Ledger.open(path) as second:
        (pending,) = second.pending()
        assert (pending.job_id, pending.status, pending.progress) == ("job-running", PROCESSING, 30)
        assert (pending.output_dir, pending.label) == ("/out/a", "intro")
        assert pending.pending and not pending.saved
        assert second.pending(account="https://api.apiframe.ai acct") == []
        assert second.lookup(never_answered.fingerprint) == never_answered
        failed_now = second.get("job-failed")
        assert failed_now is not None and (failed_now.status, failed_now.error) == (FAILED, "boom")
        second.completed("job-running", credits=10, tracks=[])
        assert second.pending() == []


def test_a_status_never_moves_back(ledger: Ledger) -> None:
    record = begin(ledger, "late answers")
    ledger.submitted(record.id, "job-1")
    assert ledger.get("job-1").status == SUBMITTED  # type: ignore[union-attr]
    ledger.status("job-1", PROCESSING, progress=20)
    first_start = ledger.get("job-1").started_at  # type: ignore[union-attr]
    ledger.status("job-1", QUEUED)  # an older poll answer arriving late
    ledger.status("job-1", PROCESSING, progress=60)
    now = ledger.get("job-1")
    assert now is not None and (now.status, now.progress, now.started_at) == (PROCESSING, 60, first_start)
    ledger.completed("job-1", credits=10, tracks=[])
    ledger.status("job-1", PROCESSING)
    ledger.failed("job-1", error="too late")
    after = ledger.get("job-1")
    assert after is not None and (after.status, after.error) == (SAVED, None)
    ledger.status("job-unknown", PROCESSING)  # a job this ledger never saw: nothing to do
    assert ledger.get("job-unknown") is None


def test_a_replayed_job_id_stays_one_row_with_the_newest_destination(ledger: Ledger) -> None:
    """A second request with the same Idempotency-Key gets the same job id back from the
    service: the ledger keeps the earlier row (its tracks, its credits) and the new cell's
    destination."""
    first = run_job(ledger, "same cell", "job-1", output_dir="/out/old")
    second = begin(ledger, "same cell", output_dir="/out/new", label="rerun")
    assert ledger.lookup(second.fingerprint) == second
    ledger.submitted(second.id, "job-1")
    (only,) = ledger.history(limit=None)
    assert (only.id, only.job_id, only.status, only.tracks) == (first.id, "job-1", SAVED, first.tracks)
    assert (only.output_dir, only.label) == ("/out/new", "rerun")
    with pytest.raises(KeyError):
        ledger.submitted(second.id, "job-1")
    third = begin(ledger, "another")
    ledger.submitted(third.id, "job-3")
    with pytest.raises(ValueError, match="already job job-3"):
        ledger.submitted(third.id, "job-4")


def test_a_refused_request_is_failed_and_costs_nothing(ledger: Ledger) -> None:
    record = begin(ledger, "402", reserved=30)
    ledger.refused(record.id, error="HTTP 402: Insufficient credits")
    refused = ledger.lookup(record.fingerprint)
    assert refused is not None and (refused.status, refused.job_id) == (FAILED, None)
    assert not refused.pending and ledger.spent() == 0


def test_spent_counts_real_costs_reserved_costs_and_not_refunds(ledger: Ledger) -> None:
    before = datetime.now(timezone.utc) - timedelta(seconds=1)
    run_job(ledger, "saved", "job-saved", credits=10)
    pending = begin(ledger, "pending", reserved=20)
    ledger.submitted(pending.id, "job-pending")
    failed = begin(ledger, "failed", reserved=20)
    ledger.submitted(failed.id, "job-failed")
    ledger.failed("job-failed", error="x")
    begin(ledger, "never sent", reserved=30)
    run_job(ledger, "real service", "job-real", credits=20, account="https://api.apiframe.ai acct")
    assert ledger.spent() == 50
    assert ledger.spent(account="sandbox") == 30
    assert ledger.spent(since=before) == 50
    assert ledger.spent(since=before.replace(tzinfo=None) + timedelta(days=2)) == 0  # naive: local time
    assert ledger.spent(since=datetime.now(timezone.utc) + timedelta(hours=1)) == 0


def test_history_is_newest_first_and_filters(ledger: Ledger) -> None:
    run_job(ledger, "Café jazz trio", "job-1")
    run_job(ledger, "dark techno", "job-2", model="suno")
    run_job(ledger, "CAFÉ ambience", "job-3", account="https://api.apiframe.ai acct")
    assert [r.job_id for r in ledger.history()] == ["job-3", "job-2", "job-1"]
    assert [r.job_id for r in ledger.history(limit=1)] == ["job-3"]
    assert [r.job_id for r in ledger.history(model="suno")] == ["job-2"]
    assert [r.job_id for r in ledger.history(text="café")] == ["job-3", "job-1"]
    assert [r.job_id for r in ledger.history(text="100%")] == []
    assert [r.job_id for r in ledger.history(account="sandbox", text="jazz")] == ["job-1"]


def test_history_rows_are_the_table_history_shows(ledger: Ledger) -> None:
    run_job(ledger, "calm piano", "job-1", label="intro")
    begin(ledger, "never sent")
    rows = history_rows(ledger.history())
    assert [list(row) for row in rows] == [list(HISTORY_COLUMNS)] * 2
    unsent, saved = rows
    assert (unsent["status"], unsent["file"], unsent["length"]) == (REQUESTED, None, None)
    assert unsent["job_id"] is None
    assert saved["prompt"] == "calm piano" and saved["status"] == SAVED and saved["take"] == 1
    assert (saved["credits"], saved["length"], saved["label"]) == (10, 30.0, "intro")
    assert saved["file"] == "/music/job-1.mp3" and saved["params"] == {"music_length_ms": 30_000}
    utc(saved["when"])


def test_history_frame_without_pandas_is_the_list_of_dicts(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)  # as if the extra were not installed
    run_job(ledger, "calm piano", "job-1")
    assert history_frame(ledger.history()) == history_rows(ledger.history())


def test_history_frame_with_pandas_is_a_dataframe(ledger: Ledger) -> None:
    pandas = pytest.importorskip("pandas")
    run_job(ledger, "calm piano", "job-1")
    frame = history_frame(ledger.history())
    assert isinstance(frame, pandas.DataFrame)
    assert list(frame.columns) == list(HISTORY_COLUMNS) and frame["job_id"].tolist() == ["job-1"]


def test_begin_refuses_what_is_not_a_request(ledger: Ledger) -> None:
    args: dict[str, Any] = {"fingerprint": "f" * 64, "account": "sandbox", "model": "m", "prompt": "p",
                            "params": {}, "take": 1, "request": {}, "idempotency_key": "afm-x"}
    for bad in ({"take": 0}, {"take": True}, {"idempotency_key": "k" * 256}, {"idempotency_key": "clé"},
                {"fingerprint": ""}, {"account": ""}, {"model": ""}):
        with pytest.raises(ValueError):
            NewJob(**{**args, **bad})
    with pytest.raises(TypeError, match="params"):
        ledger.begin(NewJob(**{**args, "params": {"x": object()}}))
    with pytest.raises(TypeError, match="request"):
        ledger.begin(NewJob(**{**args, "request": {"x": float("nan")}}))
    with pytest.raises(TypeError, match="NewJob"):
        ledger.begin(NewJob(**args), label="extra")
    with pytest.raises(ValueError, match="FAILED or CANCELLED"):
        ledger.failed("job", status="SAVED", error=None)
    assert ledger.history() == []


# --------------------------------------------------------------------------------------------
# Track files
# --------------------------------------------------------------------------------------------


def test_a_track_is_intact_only_while_its_file_is_exactly_what_was_saved(tmp_path: Path) -> None:
    audio = tmp_path / "take.mp3"
    audio.write_bytes(b"ID3" + bytes(range(256)) * 40)
    track = TrackRecord.from_file(0, audio, duration=30.0)
    assert track.path == str(audio) and track.size == audio.stat().st_size and track.intact()
    data = audio.read_bytes()
    audio.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))  # same size, one bit changed
    assert not track.intact()
    audio.write_bytes(data[:-10])
    assert not track.intact()
    audio.write_bytes(data)
    assert track.intact()
    audio.unlink()
    assert not track.intact()
    audio.mkdir()
    assert not track.intact()


def test_a_record_is_intact_when_saved_with_every_track_intact(ledger: Ledger, tmp_path: Path) -> None:
    files = [tmp_path / "a.mp3", tmp_path / "b.mp3"]
    for i, f in enumerate(files):
        f.write_bytes(bytes([i]) * 1000)
    record = begin(ledger, "two tracks")
    ledger.submitted(record.id, "job-2")
    assert not ledger.get("job-2").intact()  # type: ignore[union-attr]
    ledger.completed("job-2", credits=10, tracks=[TrackRecord.from_file(i, f) for i, f in enumerate(files)])
    assert ledger.get("job-2").intact()  # type: ignore[union-attr]
    files[1].unlink()
    assert not ledger.get("job-2").intact()  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="distinct"):
        ledger.completed("job-2", credits=10, tracks=[TrackRecord.from_file(0, files[0])] * 2)


# --------------------------------------------------------------------------------------------
# Several writers
# --------------------------------------------------------------------------------------------


def test_processes_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    """Three interpreters (as two kernels and a script would) open a new ledger at the same
    moment and write whole jobs into it concurrently."""
    path = tmp_path / DEFAULT_LEDGER_NAME
    workers, jobs = 3, 15
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(workers)
    processes = [
        context.Process(target=write_jobs, args=(str(path), worker, jobs, barrier))
        for worker in range(workers)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
    assert [p.exitcode for p in processes] == [0] * workers
    with Ledger.open(path) as ledger:
        records = ledger.history(limit=None)
    assert sorted(r.job_id for r in records if r.job_id) == sorted(
        f"job-{w}-{i}" for w in range(workers) for i in range(jobs)
    )
    assert all(r.status == SAVED and len(r.tracks) == 1 and r.credits == 10 for r in records)


def test_threads_sharing_one_ledger_lose_nothing(ledger: Ledger) -> None:
    def work(worker: int) -> None:
        for i in range(20):
            record = begin(ledger, f"thread {worker} job {i}")
            ledger.submitted(record.id, f"job-{worker}-{i}")

    threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(ledger.pending()) == 80


def hold_write_lock(path: Path, locked: threading.Event, release: threading.Event,
                    releasing: threading.Event) -> None:
    """Another writer: take the write lock, hold it until told, then commit."""
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN EXCLUSIVE")
        other.execute("UPDATE jobs SET label = label")
        locked.set()
        release.wait(timeout=30)
        releasing.set()
        other.execute("COMMIT")
    finally:
        other.close()


def test_a_write_waits_for_another_writers_lock(tmp_path: Path) -> None:
    path = tmp_path / DEFAULT_LEDGER_NAME
    locked, release, releasing = threading.Event(), threading.Event(), threading.Event()
    with Ledger.open(path) as ledger:
        holder = threading.Thread(target=hold_write_lock, args=(path, locked, release, releasing))
        holder.start()
        assert locked.wait(timeout=30)
        threading.Timer(0.3, release.set).start()
        record = begin(ledger, "waited")  # blocks until the other writer commits
        assert releasing.is_set()
        holder.join()
        assert ledger.lookup(record.fingerprint) == record


def test_a_lock_held_too_long_is_unavailable_then_the_ledger_goes_on(tmp_path: Path) -> None:
    path = tmp_path / DEFAULT_LEDGER_NAME
    locked, release, releasing = threading.Event(), threading.Event(), threading.Event()
    with Ledger.open(path, timeout=0.2) as ledger:
        holder = threading.Thread(target=hold_write_lock, args=(path, locked, release, releasing))
        holder.start()
        assert locked.wait(timeout=30)
        try:
            with pytest.raises(LedgerUnavailable, match="locked by another process") as caught:
                begin(ledger, "in a hurry")
        finally:
            release.set()
            holder.join()
        assert isinstance(caught.value, ApiframeError) and caught.value.kept_as is None
        assert "\n" not in str(caught.value)
        record = begin(ledger, "after the lock")
        assert ledger.history() == [record]


# --------------------------------------------------------------------------------------------
# Bad files
# --------------------------------------------------------------------------------------------


def test_a_corrupt_file_is_moved_aside_and_never_deleted(tmp_path: Path) -> None:
    path = tmp_path / DEFAULT_LEDGER_NAME
    with Ledger.open(path) as ledger:
        run_job(ledger, "kept", "job-1")
    garbage = os.urandom(16_384)
    path.write_bytes(garbage)
    with pytest.raises(LedgerUnavailable) as caught:
        Ledger.open(path)
    error = caught.value
    assert error.kept_as is not None and error.kept_as.read_bytes() == garbage
    assert error.kept_as.parent == path.parent and error.kept_as.name.startswith(path.name + ".corrupt-")
    assert str(error.kept_as) in str(error) and "\n" not in str(error)
    assert error.recovered == 0 and "0 jobs recovered" in str(error)  # random bytes: nothing to read
    with Ledger.open(path) as fresh:  # the next open finds the new ledger beside the kept file
        assert fresh.history() == []
    assert error.kept_as.read_bytes() == garbage


def test_corruption_found_after_opening_moves_the_file_aside(tmp_path: Path) -> None:
    """Pages past the header overwritten: the file opens, and the first read that reaches a
    bad page moves it aside."""
    path = tmp_path / DEFAULT_LEDGER_NAME
    with Ledger.open(path) as ledger:
        for i in range(300):
            run_job(ledger, f"job {i} " + "x" * 200, f"job-{i}")
    connection = sqlite3.connect(path)
    page = connection.execute("PRAGMA page_size").fetchone()[0]
    connection.close()
    data = bytearray(path.read_bytes())
    data[2 * page :] = os.urandom(len(data) - 2 * page)
    path.write_bytes(bytes(data))
    # Opening reads the header only; the first read of the jobs table notices.
    with pytest.raises(LedgerUnavailable) as caught, Ledger.open(path) as ledger:
        ledger.history(limit=None)
    assert caught.value.kept_as is not None and caught.value.kept_as.read_bytes() == bytes(data)
    assert caught.value.recovered is not None  # and a new ledger holds what could be read back


def test_files_that_are_not_a_usable_ledger_are_refused_and_left_alone(tmp_path: Path) -> None:
    folder = tmp_path / "a-folder"
    folder.mkdir()
    with pytest.raises(LedgerUnavailable, match="not a file"):
        Ledger.open(folder)
    assert folder.is_dir()

    other = tmp_path / "someone-elses.sqlite3"
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE notes (text TEXT)")
    before = other.read_bytes()
    with pytest.raises(LedgerUnavailable, match="not an apiframe-magic ledger") as caught:
        Ledger.open(other)
    assert caught.value.kept_as is None and other.read_bytes() == before


def test_opening_twice_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / DEFAULT_LEDGER_NAME
    with Ledger.open(path) as ledger:
        saved = run_job(ledger, "kept", "job-1")
    with Ledger.open(path) as again, Ledger.open(path) as third:
        assert again.history() == third.history() == [saved]
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert connection.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_an_older_file_is_upgraded_in_place_and_a_newer_one_is_refused(tmp_path: Path) -> None:
    """A file of this version, upgraded by the next one (a migration that adds a table and a
    column), keeps its rows; this version then refuses the upgraded file instead of guessing."""
    path = tmp_path / DEFAULT_LEDGER_NAME
    with Ledger.open(path) as ledger:
        saved = run_job(ledger, "kept", "job-1")
    following = Migration(
        SCHEMA_VERSION + 1,
        (
            "CREATE TABLE remarks (job TEXT NOT NULL, remark TEXT NOT NULL)",
            "ALTER TABLE jobs ADD COLUMN seed INTEGER",
            "UPDATE jobs SET seed = 7",
        ),
    )
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        assert migrate(connection, (*MIGRATIONS, following)) == SCHEMA_VERSION
        assert migrate(connection, (*MIGRATIONS, following)) == SCHEMA_VERSION + 1  # a no-op now
        assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1
        assert connection.execute("SELECT job_id, seed FROM jobs").fetchall() == [("job-1", 7)]
        assert connection.execute("SELECT count(*) FROM tracks").fetchone()[0] == 1
    finally:
        connection.close()
    before = path.read_bytes()
    with pytest.raises(LedgerUnavailable, match=rf"schema version {SCHEMA_VERSION + 1}, newer") as caught:
        Ledger.open(path)
    assert caught.value.kept_as is None and path.read_bytes() == before
    assert LEDGER_ENV in str(caught.value) and saved.job_id == "job-1"


def test_a_first_version_file_gains_measurements_and_ratings(tmp_path: Path) -> None:
    """A ledger written before measurements and listening tests existed is upgraded in place:
    its jobs stay, unmeasured, and can then be measured and rated."""
    path = tmp_path / DEFAULT_LEDGER_NAME
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        migrate(connection, MIGRATIONS[:1])
    finally:
        connection.close()
    with Ledger.open(path) as ledger:
        saved = run_job(ledger, "kept", "job-1")
        assert saved.tracks[0].measurements is None
        ledger.measured("job-1", 0, {"loudness_lufs": -14.2, "peak_dbfs": -1.0, "clipped_samples": 0})
        ledger.measured("job-unknown", 0, {"loudness_lufs": -3.0})  # nothing to update
        (measured,) = ledger.history()
        assert measured.tracks[0].measurements == {
            "loudness_lufs": -14.2, "peak_dbfs": -1.0, "clipped_samples": 0,
        }
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_ratings_are_stored_and_shown_by_history(ledger: Ledger) -> None:
    run_job(ledger, "first", "job-1")
    run_job(ledger, "second", "job-2")
    ledger.rate([
        RatingRecord("s1", "ana", RATING, "A", "job-1", 0, 4),
        RatingRecord("s1", "ana", RATING, "B", "job-2", 0, 2),
        RatingRecord("s2", "ben", RATING, "B", "job-1", 0, 5),
        RatingRecord("s3", "ben", PAIR, "A", "job-2", 0, -1, "B", "job-1", 0),
        RatingRecord("s3", "ben", PAIR, "A", "job-1", 0, 0, "B", "job-2", 0),
    ])
    assert [r.session for r in ledger.ratings()] == ["s1", "s1", "s2", "s3", "s3"]
    assert [r.listener for r in ledger.ratings(session="s2")] == ["ben"]
    assert len(ledger.ratings(job_ids=["job-2"])) == 3  # its rating and both pairs
    assert all(r.created_at for r in ledger.ratings())
    rows = {row["job_id"]: row for row in history_rows(ledger.history(), ledger.ratings())}
    assert (rows["job-1"]["rating"], rows["job-1"]["ratings"]) == (4.5, 2)
    assert (rows["job-1"]["wins"], rows["job-1"]["pairs"]) == (1, 2)
    assert (rows["job-2"]["rating"], rows["job-2"]["wins"], rows["job-2"]["pairs"]) == (2.0, 0, 2)


@pytest.mark.parametrize(
    "bad",
    [
        {"kind": RATING, "score": 6},
        {"kind": RATING, "score": 0},
        {"kind": PAIR, "score": 1},  # no other clip
        {"kind": "stars", "score": 3},
    ],
)
def test_a_malformed_rating_is_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        RatingRecord("s", "ana", bad["kind"], "A", "job-1", 0, bad["score"])


def test_a_closed_ledger_says_so(tmp_path: Path) -> None:
    with Ledger.open(tmp_path / DEFAULT_LEDGER_NAME) as ledger:
        pass
    assert ledger.closed and "closed" in repr(ledger)
    with pytest.raises(LedgerUnavailable, match="closed"):
        ledger.history()
    ledger.close()  # twice is fine


# --------------------------------------------------------------------------------------------
# Where the file is
# --------------------------------------------------------------------------------------------


def test_the_ledger_path_comes_from_the_setting_then_the_environment_then_the_outputs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    outputs = tmp_path / "apiframe_outputs"
    assert resolve_ledger_path(None, "apiframe_outputs", environ={}) == outputs / DEFAULT_LEDGER_NAME
    assert resolve_ledger_path("", outputs, environ={LEDGER_ENV: " "}) == outputs / DEFAULT_LEDGER_NAME
    assert resolve_ledger_path(None, outputs, environ={LEDGER_ENV: "shared.db"}) == tmp_path / "shared.db"
    assert resolve_ledger_path("mine.db", outputs, environ={LEDGER_ENV: "shared.db"}) == tmp_path / "mine.db"
    assert resolve_ledger_path(None, outputs, environ={LEDGER_ENV: "OFF"}) is None
    assert resolve_ledger_path("off", outputs, environ={LEDGER_ENV: "shared.db"}) is None
    assert resolve_ledger_path(tmp_path, outputs, environ={}) == tmp_path / DEFAULT_LEDGER_NAME
    assert resolve_ledger_path("later/", outputs, environ={}) == tmp_path / "later" / DEFAULT_LEDGER_NAME
    monkeypatch.setenv(LEDGER_ENV, "from-env.db")
    assert resolve_ledger_path(None, outputs) == tmp_path / "from-env.db"
