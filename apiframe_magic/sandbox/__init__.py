"""An offline emulation of Apiframe's v2 music API: jobs, credits, idempotency, webhooks, a CDN.

Start one in-process with :class:`SandboxServer` (or share the lazily started
:func:`embedded_sandbox`), or from a shell with ``python -m apiframe_magic.sandbox``. Use
:data:`SANDBOX_API_KEY` (any ``afk_...`` key works unless the server is given ``api_keys``).
Inject failures with :class:`Faults`. Each account runs at most
:data:`MAX_CONCURRENT_JOBS` jobs at once unless told otherwise (``max_concurrent_jobs``,
``over_limit``: one of :data:`OVER_LIMIT_MODES`). The embedded sandbox's accounts start with
``$APIFRAME_SANDBOX_CREDITS`` (:data:`CREDITS_ENV`) credits, default 1,000,000. Audio is
synthesised locally; nothing leaves the machine.

Given a ``state_path`` (``embedded_sandbox(state_path=...)``, ``SandboxServer(state_path=...)``,
``--state PATH``), a sandbox keeps its credits, jobs and idempotency keys in that SQLite file, so
jobs left on it are collected by a later process; the magic keeps it next to the job ledger as
:data:`SANDBOX_STATE_NAME`.
"""

from __future__ import annotations

from ._faults import FAULT_KINDS, FAULT_ROUTES, Fault, Faults
from ._persist import SANDBOX_STATE_NAME
from ._server import (
    CREDITS_ENV,
    JOB_SECONDS_ENV,
    MAX_CONCURRENT_JOBS,
    OVER_LIMIT_MODES,
    SANDBOX_API_KEY,
    RecordedRequest,
    SandboxServer,
    embedded_sandbox,
)
from ._state import length_from_prompt

__all__ = [
    "CREDITS_ENV",
    "FAULT_KINDS",
    "FAULT_ROUTES",
    "JOB_SECONDS_ENV",
    "MAX_CONCURRENT_JOBS",
    "OVER_LIMIT_MODES",
    "SANDBOX_API_KEY",
    "SANDBOX_STATE_NAME",
    "Fault",
    "Faults",
    "RecordedRequest",
    "SandboxServer",
    "embedded_sandbox",
    "length_from_prompt",
]
