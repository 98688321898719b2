"""The ledger's SQLite schema, as a list of migrations numbered by ``PRAGMA user_version``.

A file records the version of the last migration applied to it. Opening a file runs the
migrations it lacks, in order, in one write transaction, so an older file is upgraded in place
and two processes opening a new file at once create the schema once. A file from a newer version
of apiframe-magic is refused rather than guessed at.

To change the schema, append a :class:`Migration` with the next version and the statements that
turn the previous schema into the new one (``ALTER TABLE ... ADD COLUMN``, ``CREATE INDEX``, a data
``UPDATE``); never edit a migration that has shipped, since files already carry its result.

``PRAGMA application_id`` marks the file as a ledger, so an unrelated SQLite file given as the
ledger path is refused and left alone.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "APPLICATION_ID",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "Migration",
    "SchemaMismatch",
    "check_schema",
    "migrate",
]

APPLICATION_ID = 0x41464D4C  # "AFML"


@dataclass(frozen=True)
class Migration:
    """The statements that bring a file from ``version - 1`` to ``version``."""

    version: int
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        (
            # One row per request. job_id is NULL until the service answered the POST;
            # params and request are JSON objects; reserved and credits are whole credits.
            """
            CREATE TABLE jobs (
                id              INTEGER PRIMARY KEY AUTOINCREMENT,
                fingerprint     TEXT    NOT NULL,
                backend         TEXT    NOT NULL,
                model           TEXT    NOT NULL,
                prompt          TEXT    NOT NULL,
                params          TEXT    NOT NULL,
                take            INTEGER NOT NULL,
                request         TEXT    NOT NULL,
                idempotency_key TEXT    NOT NULL,
                job_id          TEXT    UNIQUE,
                status          TEXT    NOT NULL,
                progress        INTEGER,
                reserved        INTEGER,
                credits         INTEGER,
                error           TEXT,
                output_dir      TEXT,
                save            TEXT,
                label           TEXT,
                created_at      TEXT    NOT NULL,
                submitted_at    TEXT,
                started_at      TEXT,
                completed_at    TEXT,
                downloaded_at   TEXT,
                updated_at      TEXT    NOT NULL
            )
            """,
            "CREATE INDEX jobs_by_fingerprint ON jobs (fingerprint, id)",
            "CREATE INDEX jobs_by_submission ON jobs (submitted_at)",
            "CREATE INDEX jobs_by_status ON jobs (status)",
            """
            CREATE TABLE tracks (
                job       INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
                idx       INTEGER NOT NULL,
                path      TEXT    NOT NULL,
                size      INTEGER NOT NULL,
                sha256    TEXT    NOT NULL,
                duration  REAL,
                audio_url TEXT,
                title     TEXT,
                PRIMARY KEY (job, idx)
            )
            """,
        ),
    ),
    Migration(
        2,
        (
            # What was measured in a saved track (loudness, peak, tempo, ...): a JSON object
            # whose keys are apiframe_magic.analysis's measurement names; NULL until measured.
            "ALTER TABLE tracks ADD COLUMN measurements TEXT",
            # One row per judgement in a listening test. A rating: score 1 to 5 of one clip. A
            # pair: clip against other_clip, score 1 when the clip was preferred, -1 when the
            # other was, 0 for no preference. Tracks are named by job id and index, not by a
            # row of jobs, so a test of results the ledger never saw is still recorded.
            """
            CREATE TABLE ratings (
                id           INTEGER PRIMARY KEY AUTOINCREMENT,
                session      TEXT    NOT NULL,
                listener     TEXT    NOT NULL,
                kind         TEXT    NOT NULL CHECK (kind IN ('rating', 'pair')),
                clip         TEXT    NOT NULL,
                job_id       TEXT    NOT NULL,
                track        INTEGER NOT NULL,
                score        INTEGER NOT NULL,
                other_clip   TEXT,
                other_job_id TEXT,
                other_track  INTEGER,
                created_at   TEXT    NOT NULL
            )
            """,
            "CREATE INDEX ratings_by_job ON ratings (job_id, track)",
            "CREATE INDEX ratings_by_other ON ratings (other_job_id, other_track)",
            "CREATE INDEX ratings_by_session ON ratings (session, id)",
        ),
    ),
    Migration(
        3,
        (
            # "backend" named two things; a job now names its service ("sandbox" or the API's
            # base URL) and its account (the identity its fingerprint was made with: "sandbox",
            # or the base URL, "#" and a short hash of the key). The old value is the account;
            # the service is what comes before its "#".
            "ALTER TABLE jobs RENAME COLUMN backend TO account",
            "ALTER TABLE jobs ADD COLUMN service TEXT NOT NULL DEFAULT ''",
            """
            UPDATE jobs SET service = CASE WHEN instr(account, '#') > 0
                                           THEN substr(account, 1, instr(account, '#') - 1)
                                           ELSE account END
            """,
            # The service's own times of the job (its createdAt and completedAt), when it gave
            # them: how long a job took on the service, without the client's polling delay.
            "ALTER TABLE jobs ADD COLUMN service_created_at TEXT",
            "ALTER TABLE jobs ADD COLUMN service_completed_at TEXT",
        ),
    ),
    Migration(
        4,
        (
            # Each listener of a blind test hears the clips in an order and under letters of
            # their own: shown_as is the letter this listener saw (other_shown_as for a pair's
            # other clip), position where it came in their order (from 0). role says what the
            # clip was: a clip under test, or a control (a hidden reference, an anchor, a clip
            # heard again to check the listener); controls never count in a job's history.
            "ALTER TABLE ratings ADD COLUMN shown_as TEXT",
            "ALTER TABLE ratings ADD COLUMN other_shown_as TEXT",
            "ALTER TABLE ratings ADD COLUMN position INTEGER",
            "ALTER TABLE ratings ADD COLUMN role TEXT NOT NULL DEFAULT 'test'",
        ),
    ),
    Migration(
        5,
        (
            # A Suno action (extend, cover, add_vocals, stems) works on a track of an earlier
            # job: what it did, to which job and track (from 1), and where an extension starts
            # (seconds). NULL for a generation. Older rows are filled from the body they stored.
            "ALTER TABLE jobs ADD COLUMN action TEXT",
            "ALTER TABLE jobs ADD COLUMN parent_job_id TEXT",
            "ALTER TABLE jobs ADD COLUMN parent_track INTEGER",
            "ALTER TABLE jobs ADD COLUMN continue_at REAL",
            """
            UPDATE jobs SET action = json_extract(request, '$.action'),
                            parent_job_id = json_extract(request, '$.parentJobId'),
                            parent_track = COALESCE(json_extract(request, '$.index'), 1),
                            continue_at = json_extract(request, '$.continueAt')
            WHERE json_valid(request) AND json_type(request, '$.action') = 'text'
            """,
            "CREATE INDEX jobs_by_parent ON jobs (parent_job_id)",
        ),
    ),
)

SCHEMA_VERSION = MIGRATIONS[-1].version


class SchemaMismatch(Exception):
    """The file is not a ledger this code can use; the message says why, in a few words."""


def migrate(connection: sqlite3.Connection, migrations: Sequence[Migration] = MIGRATIONS) -> int:
    """Bring the database of ``connection`` (in autocommit mode) up to the last of ``migrations``;
    return the version it had before.

    Raises :class:`SchemaMismatch` for a file of a newer version or a file that is not a ledger,
    changing nothing. Errors of SQLite itself (a corrupt or locked file) propagate.
    """
    target = migrations[-1].version
    before = check_schema(connection, migrations)
    if before == target:
        return before  # the usual case: no write lock taken
    connection.execute("BEGIN IMMEDIATE")
    try:
        # Read again under the write lock: another process may have migrated in between.
        before = check_schema(connection, migrations)
        for migration in migrations:
            if migration.version > before:
                for statement in migration.statements:
                    connection.execute(statement)
        if before < target:
            connection.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            connection.execute(f"PRAGMA user_version = {target}")
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
    return before


def check_schema(connection: sqlite3.Connection, migrations: Sequence[Migration] = MIGRATIONS) -> int:
    """The file's schema version, after checking, without writing anything, that it is new or a
    ledger of a version ``migrations`` reach; else :class:`SchemaMismatch`."""
    target = migrations[-1].version
    # One statement, so one snapshot: read apart, another process's migration could commit
    # between the version and the tables, and a new ledger would look like someone else's file.
    version, application, tables = connection.execute(
        """
        SELECT (SELECT user_version FROM pragma_user_version),
               (SELECT application_id FROM pragma_application_id),
               (SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%')
        """
    ).fetchone()
    if version == 0:
        if tables or application not in (0, APPLICATION_ID):
            raise SchemaMismatch("an SQLite file, but not an apiframe-magic ledger")
        return 0
    if application != APPLICATION_ID:
        raise SchemaMismatch("an SQLite file, but not an apiframe-magic ledger")
    if version > target:
        raise SchemaMismatch(
            f"schema version {version}, newer than this apiframe-magic reads ({target}): "
            "upgrade apiframe-magic"
        )
    return int(version)
