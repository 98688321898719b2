"""A ledger this user can read but not write still answers the jobs it holds, at no cost.

Root ignores file permissions, so each case runs in a subprocess as an unprivileged user
(``setpriv``), on a ledger root wrote in a folder that user may read: the real refusals of the
operating system, not a simulated one.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from apiframe_magic.client import MusicRequest
from apiframe_magic.ledger import (
    DEFAULT_LEDGER_NAME,
    Ledger,
    NewJob,
    TrackRecord,
    fingerprint,
    idempotency_key,
)
from apiframe_magic.ledger._schema import MIGRATIONS

NOBODY = ("--reuid=65534", "--regid=65534", "--clear-groups")
REQUEST = MusicRequest("a short test tune", music_length_ms=5_000)

# Run as the unprivileged user: open the ledger the way a run does, decide about REQUEST, try a write.
PROBE = r"""
import json, sys
from apiframe_magic.client import MusicRequest
from apiframe_magic.jobs._bookkeeping import Bookkeeping, decide
from apiframe_magic.jobs._ledger_access import open_ledger
from apiframe_magic.ledger import LedgerUnavailable

warnings = []
ledger = open_ledger(sys.argv[1], warn=warnings.append)
out = {"opened": ledger is not None, "open_warnings": list(warnings)}
if ledger is not None:
    book = Bookkeeping(ledger, warnings.append)
    request = MusicRequest("a short test tune", music_length_ms=5_000)
    decision = decide(book, request, identity="sandbox")
    out["action"] = decision.action
    out["credits"] = decision.record.credits if decision.record else None
    try:
        ledger.measured("job-1", 0, {"loudness_lufs": -14.0})
        out["write"] = "written"
    except LedgerUnavailable as exc:
        out["write"] = str(exc)
    book.call(lambda l: l.measured("job-1", 0, {}))  # through the bookkeeping: warned, kept
    out["read_only"] = ledger.read_only
    out["still_on"] = book.ledger is ledger and decide(book, request, identity="sandbox").action
    out["warnings"] = warnings
    ledger.close()
print(json.dumps(out))
"""


def run_as_nobody(ledger: Path) -> dict[str, Any]:
    done = subprocess.run(
        ["setpriv", *NOBODY, sys.executable, "-c", PROBE, str(ledger)],
        capture_output=True, text=True, timeout=120, cwd="/",
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.fixture
def shared_folder() -> Iterator[Path]:
    """A folder the unprivileged user can read (pytest's own tmp_path is root's alone)."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to run a check as an unprivileged user")
    probe = subprocess.run(
        ["setpriv", *NOBODY, sys.executable, "-c", "import apiframe_magic"],
        capture_output=True, timeout=60, cwd="/",
    )
    if probe.returncode != 0:
        pytest.skip(f"the unprivileged user cannot import apiframe_magic: {probe.stderr[-200:]!r}")
    folder = Path(tempfile.mkdtemp(prefix="ledger-ro-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder)


def saved_job(path: Path, folder: Path) -> None:
    """Root's ledger holds REQUEST, saved, with its track file intact (and readable to all)."""
    audio = folder / "tune.mp3"
    audio.write_bytes(b"ID3" + bytes(range(256)) * 8)
    audio.chmod(0o644)
    fp = fingerprint(account="sandbox", model=REQUEST.model, prompt=REQUEST.prompt,
                     params=REQUEST.params, take=1)
    with Ledger.open(path) as ledger:
        record = ledger.begin(NewJob(
            fingerprint=fp, account="sandbox", model=REQUEST.model, prompt=REQUEST.prompt,
            params=REQUEST.params, take=1, request=REQUEST.to_json(), idempotency_key=idempotency_key(fp),
        ))
        ledger.submitted(record.id, "job-1")
        ledger.completed("job-1", credits=10, tracks=[TrackRecord.from_file(0, audio, duration=5.0)])
    path.chmod(0o644)


def check_answers_read_only(result: dict[str, Any]) -> None:
    assert result["opened"] and result["open_warnings"] == []
    assert result["action"] == "cached"  # answered from the ledger: never paid again
    assert result["read_only"] is True and result["still_on"] == "cached"
    assert "is read-only" in result["write"] and "\n" not in result["write"]
    assert result["warnings"] and all("read-only" in w for w in result["warnings"])


def test_a_ledger_in_a_folder_this_user_cannot_write_still_answers(shared_folder: Path) -> None:
    path = shared_folder / DEFAULT_LEDGER_NAME
    saved_job(path, shared_folder)
    check_answers_read_only(run_as_nobody(path))
    with Ledger.open(path) as ledger:  # and root's file is as it was
        record = ledger.get("job-1")
        assert record is not None and record.status == "SAVED"


def test_a_ledger_file_this_user_cannot_write_still_answers(shared_folder: Path) -> None:
    """The folder is writable (so SQLite opens the file, read-only, without a word); the first
    write it refuses makes the ledger read-only, and it goes on answering."""
    path = shared_folder / DEFAULT_LEDGER_NAME
    saved_job(path, shared_folder)
    shared_folder.chmod(0o777)
    check_answers_read_only(run_as_nobody(path))


def test_an_older_read_only_ledger_is_read_through_an_upgraded_copy(shared_folder: Path) -> None:
    path = shared_folder / DEFAULT_LEDGER_NAME
    saved_job(path, shared_folder)
    # Turn it back into a schema 2 file, as the previous release left it.
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        for column in ("shown_as", "other_shown_as", "position", "role"):
            connection.execute(f"ALTER TABLE ratings DROP COLUMN {column}")
        connection.execute("DROP INDEX jobs_by_parent")
        for column in ("action", "parent_job_id", "parent_track", "continue_at"):
            connection.execute(f"ALTER TABLE jobs DROP COLUMN {column}")
        connection.execute("ALTER TABLE jobs DROP COLUMN service_created_at")
        connection.execute("ALTER TABLE jobs DROP COLUMN service_completed_at")
        connection.execute("ALTER TABLE jobs DROP COLUMN service")
        connection.execute("ALTER TABLE jobs RENAME COLUMN account TO backend")
        connection.execute(f"PRAGMA user_version = {MIGRATIONS[1].version}")
    finally:
        connection.close()
    before = path.read_bytes()
    check_answers_read_only(run_as_nobody(path))
    assert path.read_bytes() == before  # the copy was upgraded in memory; the file is untouched
