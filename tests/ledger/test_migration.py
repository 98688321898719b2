"""Schema 3: a job names its service and its account (the old ``backend`` column, split in
two), migrated in place; the old ``backend=`` arguments, and ``Ledger.begin``'s old keywords, still
work, with a DeprecationWarning."""

from __future__ import annotations

import sqlite3
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from apiframe_magic.ledger import (
    DEFAULT_LEDGER_NAME,
    SCHEMA_VERSION,
    Ledger,
    NewJob,
    fingerprint,
    idempotency_key,
)
from apiframe_magic.ledger._schema import MIGRATIONS, migrate

REAL = "https://api.apiframe.ai#1a2b3c4d"


def schema_two_ledger(path: Path) -> None:
    """A ledger file as the previous release wrote it: schema 2, with a ``backend`` column."""
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        assert migrate(connection, MIGRATIONS[:2]) == 0
        for n, backend in enumerate(("sandbox", REAL), start=1):
            fp = fingerprint(account=backend, model="m", prompt=f"take {n}", params={}, take=1)
            connection.execute(
                """
                INSERT INTO jobs (fingerprint, backend, model, prompt, params, take, request,
                                  idempotency_key, job_id, status, credits, created_at,
                                  submitted_at, updated_at)
                VALUES (?, ?, 'm', ?, '{}', 1, '{}', ?, ?, 'PROCESSING', 10,
                        '2026-05-01T10:00:00.000+00:00', '2026-05-01T10:00:01.000+00:00',
                        '2026-05-01T10:00:02.000+00:00')
                """,
                (fp, backend, f"take {n}", idempotency_key(fp), f"job-{n}"),
            )
        connection.execute(
            "INSERT INTO tracks (job, idx, path, size, sha256) VALUES (1, 0, '/elsewhere/a.mp3', 3, 'x')"
        )
    finally:
        connection.close()


def test_an_older_file_is_migrated_in_place_keeping_every_row(tmp_path: Path) -> None:
    path = tmp_path / DEFAULT_LEDGER_NAME
    schema_two_ledger(path)
    with Ledger.open(path) as ledger:
        records = {record.job_id: record for record in ledger.history(limit=None)}
        assert set(records) == {"job-1", "job-2"}
        assert (records["job-1"].service, records["job-1"].account) == ("sandbox", "sandbox")
        assert (records["job-2"].service, records["job-2"].account) == ("https://api.apiframe.ai", REAL)
        assert len(records["job-1"].tracks) == 1 and records["job-2"].credits == 10
        # The fingerprints made before still find their jobs: nothing is paid for again.
        fp = fingerprint(account=REAL, model="m", prompt="take 2", params={}, take=1)
        found = ledger.lookup(fp)
        assert found is not None and found.job_id == "job-2"
        assert [r.job_id for r in ledger.pending(account=REAL)] == ["job-2"]
        assert ledger.spent(account="sandbox") == 10
    connection = sqlite3.connect(path)
    try:
        assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        columns = {row[1] for row in connection.execute("PRAGMA table_info(jobs)")}
    finally:
        connection.close()
    assert {"service", "account", "service_created_at", "service_completed_at"} <= columns
    assert "backend" not in columns


def test_the_old_backend_argument_still_works_with_a_deprecation_warning(tmp_path: Path) -> None:
    with Ledger.open(tmp_path / DEFAULT_LEDGER_NAME) as ledger:
        with pytest.warns(DeprecationWarning, match="account="):
            fp = fingerprint(backend=REAL, model="m", prompt="p", params={}, take=1)
        assert fp == fingerprint(account=REAL, model="m", prompt="p", params={}, take=1)
        with pytest.warns(DeprecationWarning) as caught:
            record = ledger.begin(
                fingerprint=fp, backend=REAL, model="m", prompt="p", params={}, take=1, request={},
                idempotency_key=idempotency_key(fp), reserved=20,
            )
        assert any("Ledger.begin(backend=...)" in str(w.message) for w in caught)
        assert {w.filename for w in caught} == {__file__}  # each warning points at the caller
        assert (record.account, record.service) == (REAL, "https://api.apiframe.ai")
        with pytest.warns(DeprecationWarning), pytest.raises(TypeError, match="both"):
            ledger.begin(
                fingerprint=fp, account="sandbox", backend=REAL, model="m", prompt="p", params={},
                take=1, request={}, idempotency_key=idempotency_key(fp),
            )
        ledger.submitted(record.id, "job-1")
        with pytest.warns(DeprecationWarning):
            assert [r.job_id for r in ledger.pending(backend=REAL)] == ["job-1"]
        with pytest.warns(DeprecationWarning):
            assert ledger.spent(backend=REAL) == 20
        with pytest.warns(DeprecationWarning):
            assert [r.job_id for r in ledger.history(backend="sandbox")] == []
        with pytest.warns(DeprecationWarning):
            assert record.backend == REAL
        with pytest.warns(DeprecationWarning), pytest.raises(TypeError, match="both"):
            ledger.spent(account="sandbox", backend=REAL)


def test_begin_records_the_service_given(tmp_path: Path) -> None:
    with Ledger.open(tmp_path / DEFAULT_LEDGER_NAME) as ledger:
        fp = fingerprint(account="acct", model="m", prompt="p", params={}, take=1)
        record = ledger.begin(NewJob(
            fingerprint=fp, account="acct", service="https://eu.example", model="m", prompt="p",
            params={}, take=1, request={}, idempotency_key=idempotency_key(fp),
        ))
        assert (record.account, record.service) == ("acct", "https://eu.example")
        assert ledger.lookup(fp) == record
    job = NewJob(fingerprint=fp, account=REAL, model="m", prompt="p", params={}, take=1, request={},
                 idempotency_key=idempotency_key(fp))
    assert job.service == "https://api.apiframe.ai"  # by default, the account's base URL


def test_the_old_keywords_of_begin_still_work_with_a_deprecation_warning(tmp_path: Path) -> None:
    fp = fingerprint(account="acct", model="m", prompt="p", params={"n": 1}, take=2)
    fields: dict[str, Any] = {
        "fingerprint": fp, "account": "acct", "service": None, "model": "m", "prompt": "p",
        "params": {"n": 1}, "take": 2, "request": {"prompt": "p"}, "idempotency_key": idempotency_key(fp),
        "output_dir": Path("out"), "save": "tune.mp3", "label": "intro", "reserved": 20,
    }
    with Ledger.open(tmp_path / DEFAULT_LEDGER_NAME) as ledger:
        with pytest.warns(DeprecationWarning, match=r"NewJob") as caught:
            old = ledger.begin(**fields)
        assert [w.filename for w in caught] == [__file__]
        new = ledger.begin(NewJob(**fields))
        with pytest.warns(DeprecationWarning), pytest.raises(ValueError, match="account"):
            ledger.begin(**{**fields, "account": None})
    moments = ("id", "created_at", "updated_at")
    assert {k: v for k, v in asdict(old).items() if k not in moments} \
        == {k: v for k, v in asdict(new).items() if k not in moments}
    assert (new.service, new.output_dir, new.save, new.reserved) == ("acct", "out", "tune.mp3", 20)
