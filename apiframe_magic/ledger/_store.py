"""The ledger file: SQLite in WAL mode, one short write transaction per step of a job.

Every write takes the write lock up front (``BEGIN IMMEDIATE``) and holds it for a few statements,
so writers from several processes queue behind SQLite's busy timeout (``sqlite3.connect``'s
``timeout``, which is ``PRAGMA busy_timeout``) instead of failing, and never hit the upgrade
deadlock of a read transaction that turns into a write. Readers are never blocked
in WAL mode. ``synchronous = NORMAL`` makes a commit durable against a crash of the process (a
killed kernel), which is what the ledger is for, without an ``fsync`` per step; a power cut may
lose the last steps, never the file. WAL needs a local file system (not a network share).

One :class:`Ledger` holds one connection and serialises its use with a lock, so it can be shared
by the threads of a kernel.

A ledger this user may read but not write (another user's file, a read-only folder or mount) is
opened read-only: the jobs it holds still answer, never paid again, and each write raises
:class:`LedgerUnavailable` saying so (:attr:`Ledger.read_only`). A corrupt ledger is moved aside
and what can still be read from it is copied into the new ledger (:mod:`._recover`).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from .._fs import move_aside
from ._errors import LedgerUnavailable
from ._history import Judgements, history_row
from ._paths import LEDGER_ENV
from ._records import (
    CANCELLED,
    COMPLETED,
    FAILED,
    FINISHED_STATUSES,
    PAIR,
    PROCESSING,
    QUEUED,
    REQUESTED,
    SAVED,
    SUBMITTED,
    TEST_ROLE,
    JobRecord,
    NewJob,
    RatingRecord,
    TrackRecord,
    iso_utc,
    service_time,
    utc_now,
)
from ._recover import copy_readable
from ._schema import SCHEMA_VERSION, SchemaMismatch, check_schema, migrate

__all__ = ["DEFAULT_TIMEOUT", "Ledger"]

DEFAULT_TIMEOUT = 10.0
"""Seconds a write waits for another process's write lock before giving up."""

_SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_READONLY, _SQLITE_CORRUPT, _SQLITE_NOTADB = 5, 6, 8, 11, 26
_SQLITE_READONLY_DBMOVED = 1032  # the file was renamed or deleted under the connection
# How far along a job is; a status never moves back (a late poll answer is ignored).
_RANK = {REQUESTED: 0, SUBMITTED: 1, QUEUED: 2, PROCESSING: 3, COMPLETED: 4, FAILED: 5, CANCELLED: 5,
         SAVED: 6}
_SERVER_TERMINAL = frozenset({COMPLETED, FAILED, CANCELLED})
_IN_CHUNK = 500  # ids per IN (...) list, well under SQLite's limit on parameters
# How a read-only ledger is opened: as it is, seeing other processes' writes (needs its -shm file
# to exist or to be creatable), else as an unchanging file (a folder this user cannot write).
_READ_ONLY_MODES = ("mode=ro", "mode=ro&immutable=1")


class Ledger:
    """A durable record of every job: written ahead of each step, read to avoid paying twice.

    Open one with :meth:`Ledger.open`; use it as a context manager or :meth:`close` it. Methods
    that change a job by ``job_id`` do nothing for a job id the ledger never saw. Every method
    raises :class:`LedgerUnavailable` when the file cannot be used (locked longer than
    ``timeout``, a full disk, corruption found mid-way, which moves the file aside as
    :meth:`open` does); the caller warns and goes on without the ledger.

    The ledger stores what it is given: callers pass request bodies and params, never the API
    key, which stays with the client's auth.

    A job is named by its ``account`` (whose account pays: ``"sandbox"``, or the API's base URL
    with a short hash of the key, the identity of its :func:`fingerprint`) and its ``service``
    (``"sandbox"`` or the base URL). The methods' old ``backend=`` argument still means
    ``account=`` for one release, with a :class:`DeprecationWarning`.
    """

    path: Path
    timeout: float

    def __init__(
        self, path: Path, connection: sqlite3.Connection, *, timeout: float, read_only: bool = False
    ) -> None:
        """Wrap an open, migrated connection; use :meth:`open`."""
        self.path = path
        self.timeout = timeout
        self._connection: sqlite3.Connection | None = connection
        self._lock = threading.Lock()
        self._read_only = read_only

    @property
    def read_only(self) -> bool:
        """The file can be read but not written (by this user, or on this mount): jobs it holds
        still answer, and every write raises :class:`LedgerUnavailable`. Known from the open, or
        from the first write the file refused."""
        return self._read_only

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, timeout: float = DEFAULT_TIMEOUT) -> Ledger:
        """Open the ledger at ``path``, creating its folder and file and upgrading an older schema.

        A corrupt file is moved aside as ``<name>.corrupt-<UTC time>`` (with its ``-wal`` and
        ``-shm`` files), never deleted; a new ledger is made at ``path`` with every job, track and
        rating that could still be read from it, and :class:`LedgerUnavailable` says where the
        file was kept and how many jobs were recovered (``kept_as``, ``recovered``): open again to
        use the new ledger. A file this user can read but not write opens :attr:`read_only` (an
        older schema is then upgraded in a copy held in memory). An unreadable file, a folder, an
        SQLite file that is not a ledger, or a ledger from a newer version is refused and left as
        it is.
        """
        target = Path(os.path.abspath(Path(path).expanduser()))
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LedgerUnavailable(
                f"the ledger {target} cannot be created: {exc.strerror or exc}", path=target
            ) from exc
        if target.exists() and not target.is_file():
            raise LedgerUnavailable(
                f"the ledger {target} is not a file: set {LEDGER_ENV} to a file path or to off",
                path=target,
            )
        try:
            connection = sqlite3.connect(
                target, timeout=timeout, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise _unavailable(target, exc, timeout) from exc
        try:
            _prepare(connection, deadline=time.monotonic() + timeout)
        except SchemaMismatch as exc:
            connection.close()
            raise _mismatch(target, exc) from exc
        except sqlite3.Error as exc:
            connection.close()
            if _is_corruption(exc):
                raise _quarantine(target, exc, timeout) from exc
            if _is_read_only(exc) and target.is_file():
                return cls._open_read_only(target, timeout, exc)
            raise _unavailable(target, exc, timeout) from exc
        except BaseException:
            connection.close()
            raise
        return cls(target, connection, timeout=timeout)

    @classmethod
    def _open_read_only(cls, target: Path, timeout: float, refused: sqlite3.Error) -> Ledger:
        """The ledger at ``target`` opened for reading only, after a write to it was refused."""
        error = refused
        for mode in _READ_ONLY_MODES:
            try:
                connection = sqlite3.connect(
                    f"{target.as_uri()}?{mode}", uri=True, timeout=timeout, isolation_level=None,
                    check_same_thread=False,
                )
            except sqlite3.Error as exc:
                error = exc
                continue
            try:
                _configure(connection)
                if check_schema(connection) < SCHEMA_VERSION:
                    connection = _migrated_copy(connection)
            except SchemaMismatch as exc:
                connection.close()
                raise _mismatch(target, exc) from exc
            except sqlite3.Error as exc:
                connection.close()
                error = exc
                if _is_corruption(exc):
                    break
                continue
            return cls(target, connection, timeout=timeout, read_only=True)
        if _is_corruption(error):
            raise LedgerUnavailable(
                f"the ledger {target} is corrupt ({error}) and read-only, so it was left where it "
                f"is: set {LEDGER_ENV} to another file or to off",
                path=target,
            ) from error
        raise _unavailable(target, error, timeout) from error

    # ----------------------------------------------------------------------------------------
    # Writes, in the order of a job's life
    # ----------------------------------------------------------------------------------------

    def begin(self, job: NewJob | None = None, /, **fields: Any) -> JobRecord:
        """Record ``job``, a request about to be sent (its fields are the columns of the new row),
        with status ``REQUESTED``; return its record.

        Raises :class:`TypeError` when its ``params`` or ``request`` are not JSON data.

        ``begin(fingerprint=..., account=..., ...)``, the fields of a :class:`NewJob` given as
        keywords (and ``backend=`` for ``account=``), is deprecated but still works for one
        release, with a :class:`DeprecationWarning`.
        """
        if job is None:
            job = _new_job(fields)
        elif fields:
            raise TypeError("Ledger.begin takes a NewJob, not keywords besides it")
        params_json = _to_json(job.params, "params")
        request_json = _to_json(job.request, "request")
        now = utc_now()
        with self._transaction(write=True) as connection:
            cursor = connection.execute(
                """
                INSERT INTO jobs (fingerprint, account, service, model, prompt, params, take,
                                  request, idempotency_key, status, reserved, output_dir, save,
                                  label, created_at, updated_at, action, parent_job_id,
                                  parent_track, continue_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
                (
                    job.fingerprint, job.account, job.service, job.model, job.prompt,
                    params_json, job.take, request_json,
                    job.idempotency_key, REQUESTED, job.reserved, _fspath(job.output_dir),
                    _fspath(job.save), job.label, now, now, job.action, job.parent_job_id,
                    job.parent_track, job.continue_at,
                ),
            )
            (record,) = _select(connection, "WHERE id = ?", (cursor.lastrowid,))
        return record

    def submitted(self, record_id: int, job_id: str) -> None:
        """Record the job id the service answered the request of row ``record_id`` with.

        When another row already holds ``job_id`` (the service replayed an earlier request with
        the same Idempotency-Key), that row is the job: it takes this row's ``output_dir``,
        ``save`` and ``label`` where they are set, and this row is removed, so one job is one row.
        Raises :class:`KeyError` for an unknown row and :class:`ValueError` for a row that already
        has another job id.
        """
        if not job_id:
            raise ValueError("job_id must not be empty")
        now = utc_now()
        with self._transaction(write=True) as connection:
            row = connection.execute(
                "SELECT job_id, output_dir, save, label FROM jobs WHERE id = ?", (record_id,)
            ).fetchone()
            if row is None:
                raise KeyError(f"no ledger row {record_id}")
            if row["job_id"] not in (None, job_id):
                raise ValueError(f"ledger row {record_id} is already job {row['job_id']}, not {job_id}")
            earlier = connection.execute(
                "SELECT id FROM jobs WHERE job_id = ? AND id != ?", (job_id, record_id)
            ).fetchone()
            if earlier is not None:
                connection.execute(
                    """
                    UPDATE jobs SET output_dir = COALESCE(?, output_dir), save = COALESCE(?, save),
                                    label = COALESCE(?, label), updated_at = ?
                    WHERE id = ?
                    """,
                    (row["output_dir"], row["save"], row["label"], now, earlier["id"]),
                )
                connection.execute("DELETE FROM jobs WHERE id = ?", (record_id,))
                return
            connection.execute(
                """
                UPDATE jobs SET job_id = ?, submitted_at = COALESCE(submitted_at, ?), updated_at = ?,
                                status = CASE status WHEN ? THEN ? ELSE status END
                WHERE id = ?
                """,
                (job_id, now, now, REQUESTED, SUBMITTED, record_id),
            )

    def status(
        self,
        job_id: str,
        status: str,
        *,
        progress: int | None = None,
        service_created_at: str | None = None,
        service_completed_at: str | None = None,
    ) -> None:
        """Record a status the service reported (``QUEUED``, ``PROCESSING``, ``COMPLETED``, ...).

        The first ``PROCESSING`` sets ``started_at``; the first of ``COMPLETED``, ``FAILED`` or
        ``CANCELLED`` sets ``completed_at``. A status never moves back: an answer older than what
        is recorded, or any status after the job was saved or ended, is ignored. A status the
        contract does not list counts as still running. ``service_created_at`` and
        ``service_completed_at`` are the job's ``createdAt`` and ``completedAt`` as the service
        sent them (ISO 8601; anything else, or ``None``, keeps what was recorded).
        """
        if not status:
            raise ValueError("status must not be empty")
        now = utc_now()
        with self._transaction(write=True) as connection:
            row = connection.execute("SELECT id, status FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
            if row is None or not _advances(row["status"], status):
                return
            connection.execute(
                """
                UPDATE jobs SET status = ?, progress = COALESCE(?, progress), updated_at = ?,
                                started_at = CASE WHEN ? AND started_at IS NULL THEN ? ELSE started_at END,
                                completed_at = CASE WHEN ? AND completed_at IS NULL THEN ?
                                                    ELSE completed_at END,
                                service_created_at = COALESCE(?, service_created_at),
                                service_completed_at = COALESCE(?, service_completed_at)
                WHERE id = ?
                """,
                (
                    status, progress, now,
                    status == PROCESSING, now,
                    status in _SERVER_TERMINAL, now,
                    service_time(service_created_at), service_time(service_completed_at),
                    row["id"],
                ),
            )

    def completed(
        self,
        job_id: str,
        *,
        credits: int | None,
        tracks: Sequence[TrackRecord],
        service_created_at: str | None = None,
        service_completed_at: str | None = None,
    ) -> None:
        """Record a job whose every track is saved: status ``SAVED``, its tracks (replacing any
        recorded before), the credits it cost, ``downloaded_at`` now and ``completed_at`` if the
        completion was not seen before; the service's own times as for :meth:`status`."""
        indexes = [track.index for track in tracks]
        if len(set(indexes)) != len(indexes):
            raise ValueError(f"track indexes must be distinct, not {indexes}")
        now = utc_now()
        with self._transaction(write=True) as connection:
            row = connection.execute("SELECT id FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
            if row is None:
                return
            connection.execute(
                """
                UPDATE jobs SET status = ?, credits = COALESCE(?, credits), error = NULL,
                                completed_at = COALESCE(completed_at, ?), downloaded_at = ?,
                                updated_at = ?,
                                service_created_at = COALESCE(?, service_created_at),
                                service_completed_at = COALESCE(?, service_completed_at)
                WHERE id = ?
                """,
                (
                    SAVED, credits, now, now, now,
                    service_time(service_created_at), service_time(service_completed_at), row["id"],
                ),
            )
            connection.execute("DELETE FROM tracks WHERE job = ?", (row["id"],))
            connection.executemany(
                """
                INSERT INTO tracks (job, idx, path, size, sha256, duration, audio_url, title,
                                    measurements)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
                [
                    (
                        row["id"], t.index, t.path, t.size, t.sha256, t.duration, t.audio_url,
                        t.title,
                        None if t.measurements is None else _to_json(t.measurements, "measurements"),
                    )
                    for t in tracks
                ],
            )

    def measured(self, job_id: str, index: int, measurements: Mapping[str, Any]) -> None:
        """Record what was measured in track ``index`` of a saved job (replacing what was recorded
        before); nothing for a track the ledger does not hold."""
        text = _to_json(measurements, "measurements")
        with self._transaction(write=True) as connection:
            connection.execute(
                """
                UPDATE tracks SET measurements = ?
                WHERE idx = ? AND job = (SELECT id FROM jobs WHERE job_id = ?)
                """,
                (text, index, job_id),
            )

    def rate(self, ratings: Sequence[RatingRecord]) -> None:
        """Record the judgements of a listening test, all in one transaction."""
        now = utc_now()
        with self._transaction(write=True) as connection:
            connection.executemany(
                """
                INSERT INTO ratings (session, listener, kind, clip, job_id, track, score,
                                     other_clip, other_job_id, other_track, created_at,
                                     shown_as, other_shown_as, position, role)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
                [
                    (
                        r.session, r.listener, r.kind, r.clip, r.job_id, r.track, r.score,
                        r.other_clip, r.other_job_id, r.other_track, r.created_at or now,
                        r.shown_as, r.other_shown_as, r.position, r.role,
                    )
                    for r in ratings
                ],
            )

    def failed(self, job_id: str, *, status: str = FAILED, error: str | None) -> None:
        """Record a job that ended without audio (``FAILED`` or ``CANCELLED``), with the reason.
        Its credits are refunded, so :meth:`spent` stops counting it. A saved job stays saved."""
        if status not in (FAILED, CANCELLED):
            raise ValueError(f"status must be {FAILED} or {CANCELLED}, not {status!r}")
        now = utc_now()
        with self._transaction(write=True) as connection:
            connection.execute(
                """
                UPDATE jobs SET status = ?, error = ?, completed_at = COALESCE(completed_at, ?),
                                updated_at = ?
                WHERE job_id = ? AND status != ?
                """,
                (status, error, now, now, job_id, SAVED),
            )

    def refused(self, record_id: int, *, error: str | None) -> None:
        """Record that the request of row ``record_id`` was refused before any job existed (an
        HTTP error answer, a budget): status ``FAILED`` with the reason, no job id, no cost.

        Only for a definite refusal: when the POST got no answer, leave the row ``REQUESTED`` and
        send it again with the same Idempotency-Key, since the service may have started the job.
        """
        now = utc_now()
        with self._transaction(write=True) as connection:
            connection.execute(
                """
                UPDATE jobs SET status = ?, error = ?, completed_at = COALESCE(completed_at, ?),
                                updated_at = ?
                WHERE id = ? AND job_id IS NULL
                """,
                (FAILED, error, now, now, record_id),
            )

    # ----------------------------------------------------------------------------------------
    # Reads
    # ----------------------------------------------------------------------------------------

    def lookup(self, fingerprint: str) -> JobRecord | None:
        """The newest record of a request with this fingerprint, whatever its status, or ``None``.

        The caller decides: saved with :meth:`JobRecord.intact` tracks, answer from the ledger;
        saved with files gone, download again; :attr:`JobRecord.pending`, resume; else submit.
        """
        with self._transaction(write=False) as connection:
            found = _select(connection, "WHERE fingerprint = ?", (fingerprint,), limit=1)
        return found[0] if found else None

    def get(self, job_id: str) -> JobRecord | None:
        """The record of the job with this id, or ``None``."""
        with self._transaction(write=False) as connection:
            found = _select(connection, "WHERE job_id = ?", (job_id,), limit=1)
        return found[0] if found else None

    def pending(self, *, account: str | None = None, backend: str | None = None) -> list[JobRecord]:
        """Jobs submitted (with a job id) and neither saved nor ended, oldest first, from any
        process that used this ledger, of ``account`` (all when ``None``): what to resume.
        ``backend`` is the deprecated name of ``account``."""
        account = _account_argument(account, backend, "pending")
        where = f"WHERE job_id IS NOT NULL AND status NOT IN ({_marks(len(FINISHED_STATUSES))})"
        args: list[Any] = sorted(FINISHED_STATUSES)
        if account is not None:
            where += " AND account = ?"
            args.append(account)
        with self._transaction(write=False) as connection:
            return _select(connection, where, args, order="id")

    def history(
        self,
        *,
        limit: int | None = 50,
        model: str | None = None,
        text: str | None = None,
        account: str | None = None,
        backend: str | None = None,
    ) -> list[JobRecord]:
        """Records, newest first: at most ``limit`` (``None``: all), of ``model``, whose prompt
        contains ``text`` (ignoring case, any script), of ``account`` (``backend``: its
        deprecated name)."""
        where, args = _history_filter(model, text, _account_argument(account, backend, "history"))
        with self._transaction(write=False) as connection:
            return _select(connection, where, args, limit=limit)

    def history_rows(
        self,
        *,
        limit: int | None = 50,
        model: str | None = None,
        text: str | None = None,
        account: str | None = None,
    ) -> list[dict[str, Any]]:
        """The rows of :func:`~apiframe_magic.ledger.history_rows` for the records
        :meth:`history` selects and the judgements :meth:`ratings` holds about them, the same
        rows in the same order, read in three queries (jobs, their tracks, their ratings) in one
        snapshot instead of record by record: what ``apiframe_magic.history()`` shows."""
        where, args = _history_filter(model, text, account)
        chosen = f"SELECT {{}} FROM jobs {where} ORDER BY id DESC LIMIT ?"
        chosen_args = [*args, -1 if limit is None else limit]
        with self._transaction(write=False) as connection:
            jobs = connection.execute(
                chosen.format(
                    "id, prompt, model, take, status, credits, COALESCE(submitted_at, created_at), "
                    "job_id, label, params, action, parent_job_id, parent_track"
                ),
                chosen_args,
            ).fetchall()
            tracks = connection.execute(
                f"SELECT job, path, duration, measurements FROM tracks "
                f"WHERE job IN ({chosen.format('id')}) ORDER BY job, idx",
                chosen_args,
            ).fetchall()
            judged = Judgements()
            ids = chosen.format("job_id")
            for kind, job_id, other_job_id, score in connection.execute(
                f"SELECT kind, job_id, other_job_id, score FROM ratings WHERE role = '{TEST_ROLE}' "
                f"AND (job_id IN ({ids}) OR other_job_id IN ({ids})) ORDER BY id",
                [*chosen_args, *chosen_args],
            ):
                judged.add(kind, job_id, other_job_id, score)
        files: dict[int, list[str]] = {}
        first: dict[int, tuple[float | None, str | None]] = {}
        for job, path, duration, measurements in tracks:
            files.setdefault(job, []).append(path)
            first.setdefault(job, (duration, measurements))
        rows = []
        for (row_id, prompt, model_, take, status, credits, when, job_id, label, params, action,
             parent_job_id, parent_track) in jobs:
            length, measured = first.get(row_id, (None, None))
            rows.append(history_row(
                {
                    "prompt": prompt, "model": model_, "take": take, "status": status,
                    "credits": credits, "length": length, "files": files.get(row_id, ()),
                    "when": when, "job_id": job_id, "label": label, "params": json.loads(params),
                    "measured": None if measured is None else json.loads(measured),
                    "action": action, "parent_job_id": parent_job_id, "parent_track": parent_track,
                },
                judged,
            ))
        return rows

    def ratings(
        self, *, session: str | None = None, job_ids: Sequence[str] | None = None
    ) -> list[RatingRecord]:
        """Judgements in the order they were made: of one ``session`` (all when ``None``), about
        the jobs ``job_ids`` (a pair counts for both of its jobs; all when ``None``)."""
        clauses: list[str] = []
        args: list[Any] = []
        if session is not None:
            clauses.append("session = ?")
            args.append(session)
        found: dict[int, RatingRecord] = {}
        with self._transaction(write=False) as connection:
            if job_ids is None:
                chunks: list[Sequence[str] | None] = [None]
            else:
                ids = sorted(set(job_ids))
                chunks = [ids[start : start + _IN_CHUNK] for start in range(0, len(ids), _IN_CHUNK)]
            for chunk in chunks:
                where = list(clauses)
                chunk_args = list(args)
                if chunk is not None:
                    marks = _marks(len(chunk))
                    where.append(f"(job_id IN ({marks}) OR other_job_id IN ({marks}))")
                    chunk_args += [*chunk, *chunk]
                sql = "SELECT * FROM ratings"
                if where:
                    sql += " WHERE " + " AND ".join(where)
                for row in connection.execute(sql, chunk_args):
                    found[row["id"]] = _rating(row)
        return [found[key] for key in sorted(found)]

    def spent(
        self,
        *,
        account: str | None = None,
        since: datetime | None = None,
        backend: str | None = None,
    ) -> int:
        """Credits of the jobs submitted at or after ``since`` (all time when ``None``; a naive
        datetime is local time), of ``account`` (all when ``None``; ``backend`` is its deprecated
        name): the real cost of the jobs the service reported one for, the reserved cost of the
        others, nothing for jobs that failed or were cancelled (refunded) or were never
        submitted."""
        account = _account_argument(account, backend, "spent")
        where = f"submitted_at IS NOT NULL AND status NOT IN ({_marks(2)})"
        args: list[Any] = [FAILED, CANCELLED]
        if account is not None:
            where += " AND account = ?"
            args.append(account)
        if since is not None:
            where += " AND submitted_at >= ?"
            args.append(iso_utc(since))
        with self._transaction(write=False) as connection:
            total = connection.execute(
                f"SELECT COALESCE(SUM(COALESCE(credits, reserved, 0)), 0) FROM jobs WHERE {where}", args
            ).fetchone()[0]
        return int(total)

    # ----------------------------------------------------------------------------------------
    # Lifetime
    # ----------------------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._connection is None

    def close(self) -> None:
        """Close the connection (the last one to close folds the WAL back into the file)."""
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    def __enter__(self) -> Ledger:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = " closed" if self.closed else ""
        return f"<Ledger {str(self.path)!r}{state}>"

    @contextmanager
    def _transaction(self, *, write: bool) -> Iterator[sqlite3.Connection]:
        """One transaction on the connection, under the lock; SQLite's failures become
        :class:`LedgerUnavailable` (a corrupt file is moved aside)."""
        with self._lock:
            connection = self._connection
            if connection is None:
                raise LedgerUnavailable(f"the ledger {self.path} is closed", path=self.path)
            if write and self._read_only:
                raise _read_only_error(self.path)
            try:
                # IMMEDIATE: take the write lock now, waiting for it, rather than failing at
                # the first write when a read turns into a write.
                connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                try:
                    yield connection
                    connection.execute("COMMIT")
                except BaseException:
                    if connection.in_transaction:
                        # The error that got us here is the one to report.
                        with suppress(sqlite3.Error):
                            connection.execute("ROLLBACK")
                    raise
            except sqlite3.DatabaseError as exc:
                if type(exc) not in (sqlite3.OperationalError, sqlite3.DatabaseError):
                    raise  # IntegrityError and the like: a bug here, not a bad file
                if _is_corruption(exc):
                    connection.close()
                    self._connection = None
                    if self._read_only:  # not ours to move; and an unchanging file may just have changed
                        raise LedgerUnavailable(
                            f"the ledger {self.path} is corrupt ({exc}) and read-only, so it was "
                            f"left where it is: set {LEDGER_ENV} to another file or to off",
                            path=self.path,
                        ) from exc
                    raise _quarantine(self.path, exc, self.timeout) from exc
                if write and _is_read_only(exc):
                    self._read_only = True
                    raise _read_only_error(self.path) from exc
                raise _unavailable(self.path, exc, self.timeout) from exc


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _configure(connection: sqlite3.Connection) -> None:
    connection.row_factory = sqlite3.Row
    connection.create_function("afm_contains", 2, _contains, deterministic=True)


def _prepare(connection: sqlite3.Connection, *, deadline: float) -> None:
    """Set the connection up and migrate the schema, retrying while another process holds a lock
    that SQLite reports at once instead of waiting (switching a new file to WAL)."""
    _configure(connection)
    while True:
        try:
            check_schema(connection)  # before switching to WAL: someone else's file stays as it is
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA synchronous = NORMAL")
            connection.execute("PRAGMA foreign_keys = ON")
            migrate(connection)
            return
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.05)


def _migrated_copy(connection: sqlite3.Connection) -> sqlite3.Connection:
    """A copy in memory of the read-only ledger of ``connection`` (which is closed), upgraded to
    this version's schema: an older file that cannot be written is still read."""
    memory = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
    try:
        connection.backup(memory)
        _configure(memory)
        migrate(memory)
    except BaseException:
        memory.close()
        raise
    finally:
        connection.close()
    return memory


def _account_argument(
    account: str | None, backend: str | None, method: str, *, stacklevel: int = 3
) -> str | None:
    """``account``, or the deprecated ``backend`` given in its place (for one release); the
    warning is about the frame ``stacklevel`` up (3: the caller of ``Ledger.<method>``)."""
    if backend is None:
        return account
    warnings.warn(
        f"Ledger.{method}(backend=...) is deprecated: the argument is now account=",
        DeprecationWarning, stacklevel=stacklevel,
    )
    if account is not None and account != backend:
        raise TypeError(f"Ledger.{method} got both account={account!r} and backend={backend!r}")
    return backend


def _new_job(fields: dict[str, Any]) -> NewJob:
    """The :class:`NewJob` of the deprecated keywords of ``Ledger.begin(fingerprint=..., ...)``."""
    warnings.warn(
        "Ledger.begin(fingerprint=..., ...) is deprecated: pass the job as one value, "
        "Ledger.begin(NewJob(fingerprint=..., ...))",
        DeprecationWarning, stacklevel=3,
    )
    account = _account_argument(fields.pop("account", None), fields.pop("backend", None), "begin",
                                stacklevel=4)
    return NewJob(account=account or "", **fields)


def _history_filter(
    model: str | None, text: str | None, account: str | None
) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    args: list[Any] = []
    if model is not None:
        clauses.append("model = ?")
        args.append(model)
    if account is not None:
        clauses.append("account = ?")
        args.append(account)
    if text:
        clauses.append("afm_contains(prompt, ?)")
        args.append(text)
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", args


def _contains(haystack: str | None, needle: str | None) -> bool:
    if haystack is None or needle is None:
        return False
    return needle.casefold() in haystack.casefold()


def _error_code(exc: sqlite3.Error) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)  # Python 3.11+
    return code & 0xFF if isinstance(code, int) else None


def _is_corruption(exc: sqlite3.Error) -> bool:
    code = _error_code(exc)
    if code is not None:
        return code in (_SQLITE_CORRUPT, _SQLITE_NOTADB)
    # Python 3.10 has no error code: SQLite's corruption errors are plain DatabaseErrors.
    return type(exc) is sqlite3.DatabaseError


def _is_read_only(exc: sqlite3.Error) -> bool:
    """The file (or its folder, or its mount) cannot be written, though it may be read."""
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF == _SQLITE_READONLY and code != _SQLITE_READONLY_DBMOVED
    return "readonly database" in str(exc)


def _read_only_error(path: Path) -> LedgerUnavailable:
    return LedgerUnavailable(
        f"the ledger {path} is read-only: the jobs it holds are still answered from it, "
        "new ones are not recorded",
        path=path,
    )


def _is_busy(exc: sqlite3.Error) -> bool:
    code = _error_code(exc)
    if code is not None:
        return code in (_SQLITE_BUSY, _SQLITE_LOCKED)
    return "locked" in str(exc) or "busy" in str(exc)


def _unavailable(path: Path, exc: sqlite3.Error, timeout: float) -> LedgerUnavailable:
    if _is_busy(exc):
        return LedgerUnavailable(
            f"the ledger {path} stayed locked by another process for more than {timeout:g} s",
            path=path,
        )
    return LedgerUnavailable(f"the ledger {path} cannot be used: {exc}", path=path)


def _mismatch(path: Path, exc: SchemaMismatch) -> LedgerUnavailable:
    """A file that is not a ledger of this version: left as it is, and said so."""
    return LedgerUnavailable(
        f"the ledger {path} is {exc}; set {LEDGER_ENV} to another file or to off", path=path
    )


def _quarantine(path: Path, exc: sqlite3.Error, timeout: float) -> LedgerUnavailable:
    """Move a corrupt ledger aside (never delete it), make a new one at ``path`` holding what
    could be read from it, and say where it went and how many jobs were recovered."""
    try:
        kept = move_aside(path)
    except FileNotFoundError:
        return LedgerUnavailable(
            f"the ledger {path} was corrupt ({exc}) and another process moved it aside", path=path
        )
    except OSError as move:
        return LedgerUnavailable(
            f"the ledger {path} is corrupt ({exc}) and could not be moved aside "
            f"({move.strerror or move}): move it away, or set {LEDGER_ENV} to another file or to off",
            path=path,
        )
    recovered = _recover(path, kept, timeout)
    if recovered is None:
        return LedgerUnavailable(
            f"the ledger {path} was corrupt ({exc}); it is kept as {kept} and a new ledger starts "
            "next time",
            path=path,
            kept_as=kept,
        )
    return LedgerUnavailable(
        f"the ledger {path} was corrupt ({exc}); it is kept as {kept}, and a new ledger holds what "
        f"could be read from it: {recovered} {'job' if recovered == 1 else 'jobs'} recovered",
        path=path,
        kept_as=kept,
        recovered=recovered,
    )


def _recover(path: Path, kept: Path, timeout: float) -> int | None:
    """Make the new ledger at ``path`` and copy into it what can be read from ``kept``; the
    number of jobs copied, or ``None`` when the new ledger could not be made."""
    try:
        connection = sqlite3.connect(path, timeout=timeout, isolation_level=None)
    except sqlite3.Error:
        return None
    try:
        _prepare(connection, deadline=time.monotonic() + timeout)
        return copy_readable(kept, connection)
    except (sqlite3.Error, SchemaMismatch):
        return None
    finally:
        connection.close()


def _advances(current: str, new: str) -> bool:
    if current in FINISHED_STATUSES:
        return False
    return _RANK.get(new, _RANK[PROCESSING]) >= _RANK.get(current, _RANK[PROCESSING])


def _marks(count: int) -> str:
    """``?, ?, ?``: ``count`` parameter marks for an ``IN (...)`` list."""
    return ", ".join("?" * count)


def _fspath(value: str | os.PathLike[str] | None) -> str | None:
    return None if value is None else os.fspath(value)


def _to_json(value: Mapping[str, Any], name: str) -> str:
    try:
        return json.dumps(dict(value), sort_keys=True, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be JSON data: {exc}") from exc


def _select(
    connection: sqlite3.Connection,
    where: str,
    args: Sequence[Any],
    *,
    order: str = "id DESC",
    limit: int | None = None,
) -> list[JobRecord]:
    chosen = f"SELECT {{}} FROM jobs {where} ORDER BY {order} LIMIT ?"
    params = [*args, -1 if limit is None else limit]
    rows = connection.execute(chosen.format("*"), params).fetchall()
    # The tracks of the same rows in one query (one snapshot: same transaction).
    found: dict[int, list[TrackRecord]] = {}
    for row in connection.execute(
        f"SELECT * FROM tracks WHERE job IN ({chosen.format('id')}) ORDER BY job, idx", params
    ):
        found.setdefault(row["job"], []).append(
            TrackRecord(
                index=row["idx"],
                path=row["path"],
                size=row["size"],
                sha256=row["sha256"],
                duration=row["duration"],
                audio_url=row["audio_url"],
                title=row["title"],
                measurements=(
                    None if row["measurements"] is None else json.loads(row["measurements"])
                ),
            )
        )
    return [_record(row, tuple(found.get(row["id"], ()))) for row in rows]


def _rating(row: sqlite3.Row) -> RatingRecord:
    return RatingRecord(
        session=row["session"],
        listener=row["listener"],
        kind=row["kind"],
        clip=row["clip"],
        job_id=row["job_id"],
        track=row["track"],
        score=row["score"],
        other_clip=row["other_clip"] if row["kind"] == PAIR else None,
        other_job_id=row["other_job_id"],
        other_track=row["other_track"],
        created_at=row["created_at"],
        shown_as=row["shown_as"],
        other_shown_as=row["other_shown_as"],
        position=row["position"],
        role=row["role"],
    )


def _record(row: sqlite3.Row, tracks: tuple[TrackRecord, ...]) -> JobRecord:
    return JobRecord(
        id=row["id"],
        fingerprint=row["fingerprint"],
        account=row["account"],
        model=row["model"],
        prompt=row["prompt"],
        params=json.loads(row["params"]),
        take=row["take"],
        request=json.loads(row["request"]),
        idempotency_key=row["idempotency_key"],
        job_id=row["job_id"],
        status=row["status"],
        credits=row["credits"],
        error=row["error"],
        output_dir=row["output_dir"],
        save=row["save"],
        label=row["label"],
        tracks=tracks,
        submitted_at=row["submitted_at"],
        started_at=row["started_at"],
        completed_at=row["completed_at"],
        downloaded_at=row["downloaded_at"],
        created_at=row["created_at"],
        reserved=row["reserved"],
        progress=row["progress"],
        updated_at=row["updated_at"],
        service=row["service"],
        service_created_at=row["service_created_at"],
        service_completed_at=row["service_completed_at"],
        action=row["action"],
        parent_job_id=row["parent_job_id"],
        parent_track=row["parent_track"],
        continue_at=row["continue_at"],
    )
