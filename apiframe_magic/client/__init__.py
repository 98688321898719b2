"""The HTTP client of the Apiframe v2 music API and its wire data.

:class:`AsyncApiframeClient` (and its blocking facade :class:`ApiframeClient`) submit, poll,
list, download and read the account; :class:`MusicRequest`, :class:`Job` and :class:`Track` are
what goes over the wire. Nothing here knows about IPython, the sandbox's internals or how jobs are
saved: :mod:`apiframe_magic.jobs` builds on this.
"""

from __future__ import annotations

from ._async import SANDBOX_MAX_POLL_INTERVAL, SANDBOX_POLL_INTERVAL, AsyncApiframeClient
from ._auth import (
    API_KEY_ENV,
    BASE_URL_ENV,
    DEFAULT_BASE_URL,
    account_for_key,
    mask_key,
    resolve_api_key,
    resolve_base_url,
)
from ._download import DownloadedFile, download_file, sniff_container
from ._retry import DEFAULT_RETRY_AFTER, Backoff, Jitter, RetryPolicy, parse_retry_after
from ._sync import ApiframeClient
from ._types import (
    TERMINAL_STATUSES,
    Account,
    Job,
    JobPage,
    ModelInfo,
    MusicRequest,
    SubmittedJob,
    Track,
)

__all__ = [
    "API_KEY_ENV",
    "BASE_URL_ENV",
    "DEFAULT_BASE_URL",
    "DEFAULT_RETRY_AFTER",
    "SANDBOX_MAX_POLL_INTERVAL",
    "SANDBOX_POLL_INTERVAL",
    "TERMINAL_STATUSES",
    "Account",
    "ApiframeClient",
    "AsyncApiframeClient",
    "Backoff",
    "DownloadedFile",
    "Jitter",
    "Job",
    "JobPage",
    "ModelInfo",
    "MusicRequest",
    "RetryPolicy",
    "SubmittedJob",
    "Track",
    "account_for_key",
    "download_file",
    "mask_key",
    "parse_retry_after",
    "resolve_api_key",
    "resolve_base_url",
    "sniff_container",
]
