"""The ledger: a durable local record of every music job, so none is paid for twice or lost.

Our users pay real credits for every job, and a notebook is re-run all the time: a cell run
twice, "Run All", a kernel restarted in the middle of a job. The ledger is one SQLite file (by
default :data:`DEFAULT_LEDGER_NAME` in the output folder; ``APIFRAME_LEDGER`` names another, or
``off``) in which every job is written ahead of each step:

* **before the POST**, the request: its :func:`fingerprint` (account: which service and whose
  key, model, normalised prompt, params, take), the whole body and the ``Idempotency-Key`` derived from the
  fingerprint, as one :class:`NewJob` (:meth:`Ledger.begin`). A request whose answer was lost is
  sent again with the same key, and the service replays the job rather than charging for a new one;
* **as soon as the 202 arrives**, the job id (:meth:`Ledger.submitted`), so a job survives a
  kernel restart and :meth:`Ledger.pending` lists it for resuming, from any process;
* **each status change**, with the times it was submitted, started and completed, and the
  service's own ``createdAt`` and ``completedAt`` (:meth:`Ledger.status`, :meth:`Ledger.failed`);
* **once saved**, every track (path, size, SHA-256, duration, audio URL) and the credits spent
  (:meth:`Ledger.completed`); then what was measured in each (:meth:`Ledger.measured`).

Listening tests add their judgements (:class:`RatingRecord`, :meth:`Ledger.rate`), read back by
:meth:`Ledger.ratings` and shown by :func:`history_frame`.

Before submitting, :meth:`Ledger.lookup` finds an earlier job for the same fingerprint: when its
files are still exactly what was saved (:meth:`TrackRecord.intact`, checksummed) it answers at no
cost; when it is pending it is resumed, not submitted again. A new take is a new ``take`` number.
:meth:`Ledger.history` and :func:`history_frame` show what was generated (:meth:`Ledger.history_rows`
and :func:`rows_frame` the same table read in one go); :meth:`Ledger.spent` counts the credits
for a budget.

The ledger never holds the API key: callers give it request bodies and params, never headers.
Several kernels and scripts can write to one file at once (WAL mode, short transactions, a busy
timeout). A corrupt file is moved aside, never deleted, and what can still be read from it is
copied into a new ledger (:class:`LedgerUnavailable` says where it was kept and how many jobs were
recovered). A file that can be read but not written opens :attr:`Ledger.read_only`: its jobs still
answer. Every failure of the file is a :class:`LedgerUnavailable`, after which a caller goes on
without the ledger (or, read-only, without recording). This package uses the standard library
only and knows nothing of IPython, the client or how files are saved: it stores
:class:`JobRecord` objects.
"""

from __future__ import annotations

from ._errors import LedgerUnavailable
from ._fingerprint import FINGERPRINT_VERSION, fingerprint, idempotency_key, normalize_prompt
from ._history import (
    HISTORY_COLUMNS,
    MEASUREMENT_COLUMNS,
    clock,
    history_frame,
    history_rows,
    lineage_tree,
    rows_frame,
)
from ._paths import DEFAULT_LEDGER_NAME, LEDGER_ENV, LEDGER_OFF, resolve_ledger_path
from ._records import (
    CANCELLED,
    COMPLETED,
    FAILED,
    FINISHED_STATUSES,
    PAIR,
    PROCESSING,
    QUEUED,
    RATING,
    REQUESTED,
    ROLES,
    SAVED,
    STATUSES,
    SUBMITTED,
    TEST_ROLE,
    JobRecord,
    NewJob,
    RatingRecord,
    TrackRecord,
    file_sha256,
    service_of,
    service_time,
)
from ._schema import SCHEMA_VERSION
from ._store import DEFAULT_TIMEOUT, Ledger

__all__ = [
    "CANCELLED",
    "COMPLETED",
    "DEFAULT_LEDGER_NAME",
    "DEFAULT_TIMEOUT",
    "FAILED",
    "FINGERPRINT_VERSION",
    "FINISHED_STATUSES",
    "HISTORY_COLUMNS",
    "LEDGER_ENV",
    "LEDGER_OFF",
    "MEASUREMENT_COLUMNS",
    "PAIR",
    "PROCESSING",
    "QUEUED",
    "RATING",
    "REQUESTED",
    "ROLES",
    "SAVED",
    "SCHEMA_VERSION",
    "STATUSES",
    "SUBMITTED",
    "TEST_ROLE",
    "JobRecord",
    "Ledger",
    "LedgerUnavailable",
    "NewJob",
    "RatingRecord",
    "TrackRecord",
    "clock",
    "file_sha256",
    "fingerprint",
    "history_frame",
    "history_rows",
    "idempotency_key",
    "lineage_tree",
    "normalize_prompt",
    "resolve_ledger_path",
    "rows_frame",
    "service_of",
    "service_time",
]
