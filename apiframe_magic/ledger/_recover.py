"""Reading back what a corrupt ledger still holds, into the new one that replaces it.

SQLite's own ``.recover`` is a shell command, not part of Python's :mod:`sqlite3`, so the rows are
read here table by table, in rowid order: a read that fails (a damaged page, a value that is not
UTF-8) is skipped past by probing for the next rowid that reads, and every row is checked before
it is copied, so the new ledger only ever holds rows it can answer from. The kept file is never
written to: its copy (with its WAL, whose committed frames hold the latest steps) is read in a
temporary folder.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ._records import STATUSES, RatingRecord, service_of

__all__ = ["copy_readable"]

_MAX_ROWID = (1 << 63) - 1
# Columns renamed by a migration since: a row of an older file is read under the new name.
_RENAMED = {"backend": "account"}
_JOB_REQUIRED = ("fingerprint", "account", "model", "prompt", "params", "take", "request",
                 "idempotency_key", "status", "created_at", "updated_at")


def copy_readable(kept: Path, into: sqlite3.Connection) -> int:
    """Copy the jobs (with their tracks) and the ratings that can still be read from the corrupt
    ledger ``kept`` into the ledger of ``into`` (an open, migrated connection in autocommit mode),
    in one transaction; return how many jobs were copied.

    A job the new ledger already holds (by job id: another process may have written it since)
    is not copied again. Rows get new row ids, in their old order, so the newest request for a
    fingerprint stays the newest. Nothing readable, or no file at all, copies nothing.
    """
    with tempfile.TemporaryDirectory(prefix="apiframe-ledger-recover-") as folder:
        copy = Path(folder) / "ledger.sqlite3"
        try:
            shutil.copyfile(kept, copy)
            wal = kept.with_name(kept.name + "-wal")
            if wal.is_file():
                shutil.copyfile(wal, copy.with_name(copy.name + "-wal"))
            source = sqlite3.connect(copy, isolation_level=None)
        except (OSError, sqlite3.Error):
            return 0
        try:
            jobs = _readable_rows(source, "jobs")
            tracks = _readable_rows(source, "tracks")
            ratings = _readable_rows(source, "ratings")
        finally:
            source.close()
    return _insert(into, jobs, tracks, ratings)


def _readable_rows(source: sqlite3.Connection, table: str) -> list[dict[str, Any]]:
    """Every row of ``table`` that can be read, as ``{column: value}``, in rowid order."""
    try:
        columns = [row[1] for row in source.execute(f"PRAGMA table_info({table})")]
    except sqlite3.Error:
        return []
    if not columns:
        return []
    names = ", ".join(f'"{name}"' for name in columns)
    sql = f"SELECT rowid, {names} FROM {table} WHERE rowid > ? ORDER BY rowid"
    rows: list[dict[str, Any]] = []
    after = 0
    while True:
        try:
            for values in source.execute(sql, (after,)):
                after = values[0]
                named = zip(columns, values[1:], strict=True)
                rows.append({_RENAMED.get(name, name): value for name, value in named})
            return rows
        except sqlite3.Error:
            following = _next_readable(source, sql, after)
            if following is None:
                return rows
            after = following


def _next_readable(source: sqlite3.Connection, sql: str, after: int) -> int | None:
    """The smallest ``start > after`` from which the rows (``rowid > start``) read again, found
    by doubling the jump past the damage and then halving back; ``None`` when none does."""

    def reads(start: int) -> bool:
        try:
            source.execute(sql + " LIMIT 1", (start,)).fetchall()
        except sqlite3.Error:
            return False
        return True

    step = 1
    while not reads(after + step):
        step *= 2
        if after + step >= _MAX_ROWID:
            return None
    failing, readable = after + step // 2 if step > 1 else after, after + step
    while readable - failing > 1:
        middle = (failing + readable) // 2
        if reads(middle):
            readable = middle
        else:
            failing = middle
    return readable


def _insert(
    into: sqlite3.Connection,
    jobs: Sequence[Mapping[str, Any]],
    tracks: Sequence[Mapping[str, Any]],
    ratings: Sequence[Mapping[str, Any]],
) -> int:
    job_columns = _columns(into, "jobs") - {"id"}
    track_columns = _columns(into, "tracks")
    rating_columns = _columns(into, "ratings") - {"id"}
    copied = 0
    into.execute("BEGIN IMMEDIATE")
    try:
        new_ids: dict[Any, int] = {}
        for job in jobs:
            row = _job(job)
            if row is None:
                continue
            if row.get("job_id") is not None and into.execute(
                "SELECT 1 FROM jobs WHERE job_id = ?", (row["job_id"],)
            ).fetchone():
                continue
            cursor = _insert_row(into, "jobs", row, job_columns)
            if cursor is not None and cursor.lastrowid is not None:
                new_ids[job.get("id")] = cursor.lastrowid
                copied += 1
        for track in tracks:
            row = _track(track)
            if row is not None and track.get("job") in new_ids:
                _insert_row(into, "tracks", {**row, "job": new_ids[track["job"]]}, track_columns,
                            verb="INSERT OR IGNORE")
        for rating in ratings:
            row = _rating(rating)
            if row is not None:
                _insert_row(into, "ratings", row, rating_columns)
        into.execute("COMMIT")
    except BaseException:
        if into.in_transaction:
            into.execute("ROLLBACK")
        raise
    return copied


def _columns(connection: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in connection.execute(f"PRAGMA table_info({table})")}


def _insert_row(
    into: sqlite3.Connection, table: str, row: Mapping[str, Any], columns: set[str], *,
    verb: str = "INSERT",
) -> sqlite3.Cursor | None:
    names = [name for name in row if name in columns]
    try:
        return into.execute(
            f"{verb} INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
            [row[name] for name in names],
        )
    except (sqlite3.IntegrityError, sqlite3.InterfaceError):
        return None  # a damaged value that slipped past the checks: leave that row out


def _job(row: Mapping[str, Any]) -> dict[str, Any] | None:
    """The job ``row`` as the new ledger can read it, or ``None`` when it cannot be trusted."""
    if any(row.get(name) is None for name in _JOB_REQUIRED):
        return None
    if not all(_is_json_object(row[name]) for name in ("params", "request")):
        return None
    take = row["take"]
    if not isinstance(take, int) or take < 1 or row["status"] not in STATUSES:
        return None
    account = row["account"]
    if not isinstance(account, str):
        return None
    return {**row, "service": row.get("service") or service_of(account)}


def _track(row: Mapping[str, Any]) -> dict[str, Any] | None:
    if not isinstance(row.get("idx"), int) or not isinstance(row.get("size"), int):
        return None
    if not isinstance(row.get("path"), str) or not isinstance(row.get("sha256"), str):
        return None
    measurements = row.get("measurements")
    if measurements is not None and not _is_json_object(measurements):
        return {**row, "measurements": None}  # measured again when needed
    return dict(row)


def _rating(row: Mapping[str, Any]) -> dict[str, Any] | None:
    try:
        RatingRecord(
            session=row["session"], listener=row["listener"], kind=row["kind"], clip=row["clip"],
            job_id=row["job_id"], track=row["track"], score=row["score"],
            other_clip=row.get("other_clip"), other_job_id=row.get("other_job_id"),
            other_track=row.get("other_track"),
        )
    except (KeyError, ValueError, TypeError):
        return None
    return dict(row)


def _is_json_object(text: object) -> bool:
    if not isinstance(text, str):
        return False
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False
