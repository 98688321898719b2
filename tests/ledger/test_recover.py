"""A corrupt ledger is moved aside (never deleted) and what can still be read from it is copied
into the new ledger, so the jobs it held are not paid for again. Corruption here is real bytes
overwritten in the file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from apiframe_magic.jobs._ledger_access import open_ledger
from apiframe_magic.ledger import (
    DEFAULT_LEDGER_NAME,
    Ledger,
    LedgerUnavailable,
    NewJob,
    RatingRecord,
    TrackRecord,
    fingerprint,
    idempotency_key,
)

JOBS = 400


def fp_of(n: int) -> str:
    return fingerprint(account="sandbox", model="m", prompt=f"job {n} " + "x" * 200, params={}, take=1)


def fill(path: Path) -> None:
    with Ledger.open(path) as ledger:
        for n in range(JOBS):
            fp = fp_of(n)
            record = ledger.begin(NewJob(
                fingerprint=fp, account="sandbox", model="m", prompt=f"job {n} " + "x" * 200, params={},
                take=1, request={"n": n}, idempotency_key=idempotency_key(fp),
            ))
            ledger.submitted(record.id, f"job-{n}")
            track = TrackRecord(0, f"/nowhere/{n}.mp3", 3, "0" * 64, 5.0, None, None, {"peak_dbfs": -1.0})
            ledger.completed(f"job-{n}", credits=10, tracks=[track])
        ledger.rate([RatingRecord("s", "me", "rating", "A", "job-1", 0, 4)])


def damage_jobs_pages(path: Path) -> set[int]:
    """Overwrite a few leaf pages of the jobs table in the middle of the file; the page numbers."""
    connection = sqlite3.connect(path)
    try:
        page_size = connection.execute("PRAGMA page_size").fetchone()[0]
        pages = [row[0] for row in connection.execute(
            "SELECT pageno FROM dbstat WHERE name = 'jobs' AND pagetype = 'leaf' ORDER BY pageno"
        )]
    except sqlite3.OperationalError:
        pytest.skip("this SQLite has no dbstat table to find the pages of a table")
    finally:
        connection.close()
    chosen = set(pages[len(pages) // 3 : len(pages) // 3 + 3])
    data = bytearray(path.read_bytes())
    for page in chosen:
        start = (page - 1) * page_size
        data[start : start + page_size] = b"\xa5" * page_size
    path.write_bytes(bytes(data))
    return chosen


def test_the_readable_jobs_of_a_corrupt_ledger_are_recovered(tmp_path: Path) -> None:
    path = tmp_path / DEFAULT_LEDGER_NAME
    fill(path)
    damage_jobs_pages(path)
    damaged = path.read_bytes()
    with pytest.raises(LedgerUnavailable) as caught, Ledger.open(path) as ledger:
        ledger.history(limit=None)  # reaches a damaged page
    error = caught.value
    assert error.kept_as is not None and error.kept_as.read_bytes() == damaged  # kept, untouched
    assert error.recovered is not None and 0 < error.recovered < JOBS
    assert f"{error.recovered} jobs recovered" in str(error) and "\n" not in str(error)
    with Ledger.open(path) as ledger:
        records = ledger.history(limit=None)
        assert len(records) == error.recovered
        assert all(r.status == "SAVED" and len(r.tracks) == 1 for r in records)
        assert records[0].tracks[0].measurements == {"peak_dbfs": -1.0}
        # A recovered job answers its request again: found by its fingerprint, not paid again.
        newest_id = records[0].job_id
        assert newest_id is not None
        newest = int(newest_id.split("-")[1])
        found = ledger.lookup(fp_of(newest))
        assert found is not None and found.job_id == f"job-{newest}" and found.credits == 10
        assert [r.job_id for r in ledger.ratings()] == ["job-1"]
        # Oldest first in the old file, oldest first in the new one.
        numbers = [int(str(r.job_id).split("-")[1]) for r in records]
        assert numbers == sorted(numbers, reverse=True)


def test_open_ledger_goes_on_with_the_recovered_ledger(tmp_path: Path) -> None:
    """Found corrupt when opened: the run uses the new ledger at once, told in one line."""
    path = tmp_path / DEFAULT_LEDGER_NAME
    fill(path)
    data = bytearray(path.read_bytes())
    data[:16] = b"not a database!!"  # the header: SQLite calls the whole file "not a database"
    path.write_bytes(bytes(data))
    warnings: list[str] = []
    ledger = open_ledger(path, warn=warnings.append)
    assert ledger is not None and not ledger.read_only
    with ledger:
        assert ledger.history() == []  # nothing readable without the header: a new, empty ledger
    assert len(warnings) == 1 and "0 jobs recovered" in warnings[0]
    kept = [p for p in tmp_path.iterdir() if p.name.startswith(DEFAULT_LEDGER_NAME + ".corrupt-")]
    assert [p.read_bytes() for p in kept if not p.name.endswith(("-wal", "-shm"))] == [bytes(data)]
