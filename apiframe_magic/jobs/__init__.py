"""Running a job end to end: submit, wait, download every track, save, reported to an observer.

This is the part of a ``%%music`` run that has nothing to do with display, so one observer (a
progress bar, a line of text, a card of a grid) can follow each job while the job logic stays
here. :func:`generate` runs a request; :func:`resume` picks up a job by its id; a
:class:`MusicJob` is a handle on one not collected yet. :class:`Service` says which service (the
API, or the embedded sandbox) and holds no credentials.
"""

from __future__ import annotations

from ._actions import STEM_NAMES, join_whole_song, lineage_text, parent_job_of, whole_song_path
from ._batch import DONE, FAILED, RUNNING, STOPPED, WAITING, Batch, BatchEntry, run_batch, start_batch
from ._bookkeeping import Bookkeeping
from ._budget import Budget
from ._context import RunContext
from ._expand import BatchItem, expand, expand_rows, folded_note
from ._files import (
    DEFAULT_OUTPUT_DIR,
    UPLOAD_PLACEHOLDER,
    SaveTarget,
    slugify,
    track_duration,
    with_local_files,
    write_sidecar,
)
from ._ledger_access import history, open_ledger
from ._measure import measure_result, measuring_executor, rest_between_measurements
from ._results import JobObserver, MusicResult, SavedTrack
from ._run import MusicJob, generate, resume, submit
from ._service import Backend, Service, resolve_backend, resolve_service, uses_sandbox

__all__ = [
    "DEFAULT_OUTPUT_DIR",
    "DONE",
    "FAILED",
    "RUNNING",
    "STEM_NAMES",
    "STOPPED",
    "UPLOAD_PLACEHOLDER",
    "WAITING",
    "Backend",
    "Batch",
    "BatchEntry",
    "BatchItem",
    "Bookkeeping",
    "Budget",
    "JobObserver",
    "MusicJob",
    "MusicResult",
    "RunContext",
    "SaveTarget",
    "SavedTrack",
    "Service",
    "expand",
    "expand_rows",
    "folded_note",
    "generate",
    "history",
    "join_whole_song",
    "lineage_text",
    "measure_result",
    "measuring_executor",
    "open_ledger",
    "parent_job_of",
    "resolve_backend",
    "resolve_service",
    "rest_between_measurements",
    "resume",
    "run_batch",
    "slugify",
    "start_batch",
    "submit",
    "track_duration",
    "uses_sandbox",
    "whole_song_path",
    "with_local_files",
    "write_sidecar",
]
