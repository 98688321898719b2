"""apiframe-magic: AI music generation as a first-class notebook citizen.

``%load_ext apiframe_magic`` adds the ``%%music`` cell magic. Under it is a plain Python API:
:class:`AsyncApiframeClient` / :class:`ApiframeClient` for the Apiframe v2 music API, the
:class:`MusicRequest` and :class:`Job` models, :func:`generate` / :func:`resume` to run a job end
to end, and :mod:`apiframe_magic.sandbox`, an offline Apiframe-compatible server.

Importing this package is light: IPython, ipywidgets, numpy and the sandbox load only when used.
"""

from __future__ import annotations

from typing import Any

from ._client import (
    Account,
    ApiframeClient,
    AsyncApiframeClient,
    DownloadedFile,
    JobPage,
    ModelInfo,
    SubmittedJob,
)
from ._exceptions import (
    ApiframeError,
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    DownloadError,
    InsufficientCreditsError,
    JobCancelledError,
    JobError,
    JobFailedError,
    JobTimeoutError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RequestValidationError,
    ServerError,
    TransportError,
)
from ._generation import MusicJob, MusicResult, generate, resume
from ._models import (
    MODELS,
    OUTPUT_FORMATS,
    AudioFormat,
    Job,
    ModelSpec,
    MusicRequest,
    ParamSpec,
    Track,
    credit_cost,
    parse_length,
    validate_body,
)
from ._version import __version__
from ._webhooks import sign_webhook, verify_webhook_signature

__all__ = [
    "MODELS",
    "OUTPUT_FORMATS",
    "APIStatusError",
    "Account",
    "ApiframeClient",
    "ApiframeError",
    "AsyncApiframeClient",
    "AudioFormat",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "ConflictError",
    "DownloadError",
    "DownloadedFile",
    "InsufficientCreditsError",
    "Job",
    "JobCancelledError",
    "JobError",
    "JobFailedError",
    "JobPage",
    "JobTimeoutError",
    "ModelInfo",
    "ModelSpec",
    "MusicJob",
    "MusicRequest",
    "MusicResult",
    "NotFoundError",
    "ParamSpec",
    "PermissionDeniedError",
    "RateLimitError",
    "RequestValidationError",
    "ServerError",
    "SubmittedJob",
    "Track",
    "TransportError",
    "__version__",
    "credit_cost",
    "generate",
    "load_ipython_extension",
    "parse_length",
    "resume",
    "sign_webhook",
    "unload_ipython_extension",
    "validate_body",
    "verify_webhook_signature",
]


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext apiframe_magic``: register ``%%music`` / ``%music`` (and ``apiframe_music``)."""
    from ._magics import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    from ._magics import unload_ipython_extension as unload

    unload(ipython)
