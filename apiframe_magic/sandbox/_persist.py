"""Where the sandbox keeps its accounts' credits, its jobs and its idempotency keys: one SQLite file.

Without a path the store lives in memory and ends with its server (tests, ``python -m
apiframe_magic.sandbox``). With one (the embedded sandbox keeps ``.apiframe-sandbox.sqlite3``
next to the job ledger) it outlives the process: a later server on the same file serves the same
jobs, balances and keys, so a job submitted before a kernel restart or a Ctrl-C is collected
afterwards. Several processes may hold the file at once (WAL, a busy timeout, and every
check-then-write in one ``BEGIN IMMEDIATE`` transaction); each sees the others' jobs by
reading the rows whose revision is newer than the last it saw (:meth:`SandboxStore.jobs_since`).

What is stored: accounts by a hash of their API key (never the key), each job's request and
everything needed to show it and render its audio again (``facts``, a JSON object), its
timeline as wall-clock UTC seconds (so another process can tell where it is), and idempotency
records (key, request fingerprint, job id, time). Audio is not stored: the composer makes the
same bytes again from the job's request and seed.

A damaged or foreign file is moved aside as ``<name>.corrupt-<UTC time>`` (with its ``-wal`` and
``-shm``), never deleted, and a fresh one started; a file from a newer version, or one that
cannot be opened at all, is left alone and the store lives in memory. Either way
:attr:`SandboxStore.notice` says so in one line, and nothing raises.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._fs import move_aside

__all__ = [
    "APPLICATION_ID", "SANDBOX_STATE_NAME", "SCHEMA_VERSION", "SandboxStore", "StoreUnavailable",
    "StoredJob", "account_of",
]

# The embedded sandbox's file, kept next to the job ledger's.
SANDBOX_STATE_NAME = ".apiframe-sandbox.sqlite3"
APPLICATION_ID = 0x41465342  # "AFSB"
SCHEMA_VERSION = 1
BUSY_TIMEOUT_SECONDS = 10.0

_SCHEMA = (
    # One row per account: a hash of its API key, and its balance.
    "CREATE TABLE accounts (account TEXT PRIMARY KEY, credits INTEGER NOT NULL)",
    # seq orders jobs across processes (newest first in listings, cursors); rev is bumped by
    # every write, so a process reads only the rows changed since it last looked. Times are
    # wall-clock UTC seconds; facts is the JSON of what never changes after the submit.
    """
    CREATE TABLE jobs (
        seq            INTEGER PRIMARY KEY AUTOINCREMENT,
        id             TEXT    NOT NULL UNIQUE,
        account        TEXT    NOT NULL,
        created        REAL    NOT NULL,
        facts          TEXT    NOT NULL,
        started        REAL,
        render_done    REAL,
        render_error   TEXT,
        final_status   TEXT,
        finished       REAL,
        webhook_status TEXT,
        rev            INTEGER NOT NULL
    )
    """,
    "CREATE INDEX jobs_by_rev ON jobs (rev)",
    """
    CREATE TABLE idempotency (
        account     TEXT NOT NULL,
        key         TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        job_id      TEXT NOT NULL,
        created     REAL NOT NULL,
        PRIMARY KEY (account, key)
    )
    """,
)
_JOB_COLUMNS = ("seq, id, account, created, facts, started, render_done, render_error, "
                "final_status, finished, webhook_status, rev")
_NEXT_REV = "(SELECT COALESCE(MAX(rev), 0) + 1 FROM jobs)"
_SQLITE_CORRUPT, _SQLITE_NOTADB = 11, 26


def account_of(api_key: str) -> str:
    """The account an API key stands for, as stored: a hash, so the file never holds the key."""
    return hashlib.sha256(f"apiframe-sandbox-account:{api_key}".encode()).hexdigest()


@dataclass(frozen=True)
class StoredJob:
    """One row of ``jobs``; times are wall-clock UTC seconds (``None`` until they happen)."""

    seq: int
    id: str
    account: str
    created: float
    facts: dict[str, Any]
    started: float | None = None
    render_done: float | None = None
    render_error: str | None = None
    final_status: str | None = None
    finished: float | None = None
    webhook_status: str | None = None
    rev: int = 0


class StoreUnavailable(Exception):
    """The state file failed mid-way (locked by another process for too long, a full disk):
    the sandbox's database is down, and the request gets the service's ``503``."""


class _Unusable(Exception):
    """The file cannot serve as it is; the message is the notice's reason."""


class SandboxStore:
    """The sandbox's durable bookkeeping: credits, jobs and idempotency records.

    ``SandboxStore(None)`` keeps everything in memory; ``SandboxStore(path)`` in the SQLite file
    at ``path`` (created with its folder when missing). Not thread-safe on its own: the caller
    (:class:`~apiframe_magic.sandbox._state.SandboxState`) holds its lock around every call.
    The connection closes with the store (or :meth:`close`); after :meth:`close` reads find
    nothing and writes do nothing.
    """

    path: Path | None
    notice: str | None

    def __init__(self, path: str | os.PathLike[str] | None) -> None:
        self.path = None if path is None else Path(os.path.abspath(Path(path).expanduser()))
        self.notice = None
        self._transaction_lock = threading.RLock()
        self._connection: sqlite3.Connection | None = self._open()

    # -- opening ------------------------------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        if self.path is None:
            return _prepared(_connect(":memory:"))
        try:
            return self._open_file(self.path)
        except _Unusable as exc:
            self.notice = (f"apiframe sandbox: {exc}; its jobs are kept in memory and end with "
                           "this process")
            self.path = None
            return _prepared(_connect(":memory:"))

    def _open_file(self, path: Path) -> sqlite3.Connection:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _Unusable(f"cannot create the folder of {path} ({exc.strerror or exc})") from exc
        if path.exists() and not path.is_file():
            raise _Unusable(f"the state file {path} is not a file")
        identity = _identity(path)
        try:
            connection = _connect(path)
        except sqlite3.Error as exc:
            raise _Unusable(f"cannot open the state file {path} ({exc})") from exc
        try:
            return _prepared(connection, check=True)
        except _Foreign as exc:
            connection.close()
            damaged = str(exc)
        except _Newer as exc:
            connection.close()
            raise _Unusable(f"the state file {path} is {exc}") from exc
        except sqlite3.Error as exc:
            connection.close()
            if not _is_corruption(exc):
                raise _Unusable(f"cannot use the state file {path} ({exc})") from exc
            damaged = f"damaged ({exc})"
        except BaseException:
            connection.close()
            raise
        try:
            kept = _move_aside(path, identity)
        except OSError as exc:
            raise _Unusable(f"the state file {path} is {damaged} and cannot be moved aside "
                            f"({exc.strerror or exc})") from exc
        where = f"moved it to {kept.name}" if kept is not None else "another process moved it aside"
        self.notice = f"apiframe sandbox: the state file {path} was {damaged}; {where} and started afresh"
        try:
            return _prepared(_connect(path), check=True)
        except (sqlite3.Error, _Foreign, _Newer) as exc:
            raise _Unusable(f"cannot start a new state file {path} ({exc})") from exc

    def close(self) -> None:
        with self._transaction_lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    # -- transactions -------------------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """One write transaction (``BEGIN IMMEDIATE``: other processes' writers wait); nested
        uses join the outer one."""
        with self._transaction_lock:
            connection = self._connection
            if connection is None or connection.in_transaction:
                yield
                return
            with _failing():
                connection.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                if connection.in_transaction:
                    connection.rollback()
                raise
            with _failing():
                connection.commit()

    def _execute(self, sql: str, parameters: tuple[Any, ...] = ()) -> sqlite3.Cursor | None:
        if self._connection is None:
            return None
        with _failing():
            return self._connection.execute(sql, parameters)

    def _rows(self, sql: str, parameters: tuple[Any, ...] = ()) -> list[Any]:
        cursor = self._execute(sql, parameters)
        if cursor is None:
            return []
        with _failing():
            return cursor.fetchall()

    # -- accounts -----------------------------------------------------------------------------

    def credits(self, account: str) -> int | None:
        """The account's balance, ``None`` for an account never charged or set."""
        rows = self._rows("SELECT credits FROM accounts WHERE account = ?", (account,))
        return int(rows[0][0]) if rows else None

    def set_credits(self, account: str, credits: int) -> None:
        self._execute(
            "INSERT INTO accounts (account, credits) VALUES (?, ?) "
            "ON CONFLICT (account) DO UPDATE SET credits = excluded.credits", (account, credits))

    def set_every_balance(self, credits: int) -> None:
        self._execute("UPDATE accounts SET credits = ?", (credits,))

    def add_credits(self, account: str, amount: int, *, starting: int) -> None:
        """Add ``amount`` to the balance (which is ``starting`` for an account not seen yet)."""
        self._execute(
            "INSERT INTO accounts (account, credits) VALUES (?, ?) "
            "ON CONFLICT (account) DO UPDATE SET credits = credits + ?",
            (account, starting + amount, amount))

    # -- jobs ---------------------------------------------------------------------------------

    def add_job(self, job: StoredJob) -> int:
        """Store a new job; returns its ``seq`` (``job.seq`` is ignored)."""
        cursor = self._execute(
            f"INSERT INTO jobs (id, account, created, facts, started, render_done, render_error, "
            f"final_status, finished, webhook_status, rev) "
            f"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, {_NEXT_REV})",
            (job.id, job.account, job.created, json.dumps(job.facts, ensure_ascii=False),
             job.started, job.render_done, job.render_error, job.final_status, job.finished,
             job.webhook_status))
        return 0 if cursor is None or cursor.lastrowid is None else int(cursor.lastrowid)

    def jobs_since(self, rev: int) -> list[StoredJob]:
        """Jobs written (by any process) after revision ``rev``, oldest revision first."""
        rows = self._rows(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE rev > ? ORDER BY rev", (rev,))
        return [_job_of(row) for row in rows]

    def job(self, job_id: str) -> StoredJob | None:
        rows = self._rows(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE id = ?", (job_id,))
        return _job_of(rows[0]) if rows else None

    def start_job(self, job_id: str, started: float) -> bool:
        """Record when a waiting job took its slot; ``False`` if another process already did."""
        return self._changed(
            f"UPDATE jobs SET started = ?, rev = {_NEXT_REV} WHERE id = ? AND started IS NULL",
            (started, job_id))

    def finish_job(self, job_id: str, status: str, finished: float) -> bool:
        """Record how and when a job ended; ``False`` if another process already did (then
        that process also gave any refund)."""
        return self._changed(
            f"UPDATE jobs SET final_status = ?, finished = ?, rev = {_NEXT_REV} "
            "WHERE id = ? AND final_status IS NULL", (status, finished, job_id))

    def rendered(self, job_id: str, done: float, problem: str | None) -> None:
        """Record when the job's audio was ready, or why it could not be made. Best effort (it
        runs on a worker thread, with nobody to answer): without it, other processes count the
        audio ready at the job's deadline."""
        with contextlib.suppress(StoreUnavailable):
            self._changed(f"UPDATE jobs SET render_done = ?, render_error = ?, rev = {_NEXT_REV} "
                          "WHERE id = ?", (done, problem, job_id))

    def set_webhook_status(self, job_id: str, status: str | None) -> None:
        """Record how the job's webhooks went; best effort, as :meth:`rendered`."""
        with contextlib.suppress(StoreUnavailable):
            self._changed(f"UPDATE jobs SET webhook_status = ?, rev = {_NEXT_REV} WHERE id = ?",
                          (status, job_id))

    def _changed(self, sql: str, parameters: tuple[Any, ...]) -> bool:
        cursor = self._execute(sql, parameters)
        return cursor is None or cursor.rowcount > 0

    # -- idempotency --------------------------------------------------------------------------

    def recall(self, account: str, key: str) -> tuple[str, str] | None:
        """``(fingerprint, job_id)`` stored under the account's key."""
        rows = self._rows(
            "SELECT fingerprint, job_id FROM idempotency WHERE account = ? AND key = ?",
            (account, key))
        return (str(rows[0][0]), str(rows[0][1])) if rows else None

    def remember(self, account: str, key: str, fingerprint: str, job_id: str,
                 created: float) -> None:
        self._execute(
            "INSERT OR REPLACE INTO idempotency (account, key, fingerprint, job_id, created) "
            "VALUES (?, ?, ?, ?, ?)", (account, key, fingerprint, job_id, created))

    def forget_before(self, created: float) -> None:
        """Drop idempotency records older than ``created`` (their keys may be used again)."""
        self._execute("DELETE FROM idempotency WHERE created < ?", (created,))


class _Foreign(Exception):
    """An SQLite file, but not the sandbox's."""


class _Newer(Exception):
    """The sandbox's file, from a newer version of apiframe-magic."""


def _job_of(row: Any) -> StoredJob:
    """A row as a :class:`StoredJob`; unreadable facts come back empty (the reader skips it)."""
    seq, id_, account, created, facts, *rest = row
    try:
        loaded = json.loads(facts)
    except (TypeError, ValueError):
        loaded = {}
    return StoredJob(seq, id_, account, created, loaded if isinstance(loaded, dict) else {}, *rest)


@contextlib.contextmanager
def _failing() -> Iterator[None]:
    """SQLite's errors mid-way, as :class:`StoreUnavailable`."""
    try:
        yield
    except sqlite3.Error as exc:
        raise StoreUnavailable(f"the sandbox's state file cannot be used just now ({exc})") from exc


def _connect(target: str | Path) -> sqlite3.Connection:
    return sqlite3.connect(target, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None,
                           check_same_thread=False)


def _prepared(connection: sqlite3.Connection, *, check: bool = False) -> sqlite3.Connection:
    """The connection with WAL on and the schema in place (made once, even by two processes
    at once). ``check`` also reads the whole file, so damage shows now rather than mid-request.
    Raises :class:`_Foreign`, :class:`_Newer` or :class:`sqlite3.Error`."""
    if check:
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = NORMAL")
        problems = [row[0] for row in connection.execute("PRAGMA quick_check").fetchall()]
        if problems != ["ok"]:
            raise sqlite3.DatabaseError("; ".join(str(p) for p in problems[:3]))
    connection.execute("BEGIN IMMEDIATE")
    try:
        application_id = connection.execute("PRAGMA application_id").fetchone()[0]
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        tables = connection.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        if application_id != APPLICATION_ID and (application_id != 0 or tables):
            raise _Foreign("not a sandbox state file")
        if version > SCHEMA_VERSION:
            raise _Newer(f"from a newer apiframe-magic (schema {version}, this one reads "
                         f"{SCHEMA_VERSION})")
        if version < SCHEMA_VERSION:
            for statement in _SCHEMA:
                connection.execute(statement)
            connection.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        connection.commit()
    except BaseException:
        connection.rollback()
        raise
    return connection


def _is_corruption(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)  # Python 3.11+
    if isinstance(code, int):
        return code & 0xFF in (_SQLITE_CORRUPT, _SQLITE_NOTADB)
    # Older Pythons carry no code: SQLite's corruption errors are plain DatabaseErrors.
    return type(exc) is sqlite3.DatabaseError


def _identity(path: Path) -> tuple[int, int] | None:
    """Which file is at ``path`` (device and inode), ``None`` when there is none."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


def _move_aside(path: Path, identity: tuple[int, int] | None) -> Path | None:
    """Rename ``path`` (and its ``-wal``, ``-shm``) to ``<name>.corrupt-<UTC time>``; ``None``
    when the file found bad is no longer there (another process moved it first, and what is
    there now may be the new file it started)."""
    if identity is None or _identity(path) != identity:
        return None
    try:
        return move_aside(path)
    except FileNotFoundError:
        return None
