"""The HTTP client of the Apiframe v2 music API and its wire data.

:class:`AsyncApiframeClient` (and its blocking facade :class:`ApiframeClient`) submit, poll,
list, download, upload and read the account; :class:`MusicRequest`, :class:`ActionRequest` (a
follow-up action on a Suno track: :class:`ExtendRequest`, :class:`CoverRequest`,
:class:`AddVocalsRequest`, :class:`StemsRequest`), :class:`Job`, :class:`Track` and
:class:`Upload` are what goes over the wire. Nothing here knows about IPython, the sandbox's
internals or how jobs are saved: :mod:`apiframe_magic.jobs` builds on this.
"""

from __future__ import annotations

from ._actions import (
    ActionRequest,
    AddVocalsRequest,
    AnyRequest,
    CoverRequest,
    ExtendRequest,
    StemsRequest,
    request_from_json,
)
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
from ._download import DownloadedFile, download_file, purged_error, sniff_container
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
from ._uploads import (
    UPLOAD_PATH,
    Upload,
    check_files,
    check_upload,
    resolve_files,
    resolve_reference_images,
)

__all__ = [
    "API_KEY_ENV",
    "BASE_URL_ENV",
    "DEFAULT_BASE_URL",
    "DEFAULT_RETRY_AFTER",
    "SANDBOX_MAX_POLL_INTERVAL",
    "SANDBOX_POLL_INTERVAL",
    "TERMINAL_STATUSES",
    "UPLOAD_PATH",
    "Account",
    "ActionRequest",
    "AddVocalsRequest",
    "AnyRequest",
    "ApiframeClient",
    "AsyncApiframeClient",
    "Backoff",
    "CoverRequest",
    "DownloadedFile",
    "ExtendRequest",
    "Jitter",
    "Job",
    "JobPage",
    "ModelInfo",
    "MusicRequest",
    "RetryPolicy",
    "StemsRequest",
    "SubmittedJob",
    "Track",
    "Upload",
    "account_for_key",
    "check_files",
    "check_upload",
    "download_file",
    "mask_key",
    "parse_retry_after",
    "purged_error",
    "request_from_json",
    "resolve_api_key",
    "resolve_base_url",
    "resolve_files",
    "resolve_reference_images",
    "sniff_container",
]
