"""apiframe-magic: AI music generation as a first-class notebook citizen.

``%load_ext apiframe_magic`` adds the ``%%music`` cell magic. Under it is a plain Python API:
:class:`AsyncApiframeClient` / :class:`ApiframeClient` for the Apiframe v2 music API, the
:class:`MusicRequest` and :class:`Job` models, :func:`generate` / :func:`resume` to run a job end
to end, and :mod:`apiframe_magic.sandbox`, an offline Apiframe-compatible server.

With no API key, ``ApiframeClient.sandbox()`` is a client for that sandbox; ``ApiframeClient()``
never falls back to it on its own.

Importing this package is light: httpx, IPython, ipywidgets, numpy and the sandbox load only when used.
Every public class and function reports ``apiframe_magic`` as its ``__module__`` (set where it
is defined, see ``_public``), so pickles and reprs do not depend on the private module layout.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._exceptions import (
        ApiframeError,
        APIStatusError,
        AuthenticationError,
        BadRequestError,
        BudgetExceededError,
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
    from ._version import __version__
    from ._webhooks import sign_webhook, verify_webhook_signature
    from .catalog import (
        MODELS,
        OUTPUT_FORMATS,
        AudioFormat,
        ModelSpec,
        ParamSpec,
        credit_cost,
        parse_length,
        validate_body,
    )
    from .client import (
        Account,
        ApiframeClient,
        AsyncApiframeClient,
        DownloadedFile,
        Job,
        JobPage,
        ModelInfo,
        MusicRequest,
        SubmittedJob,
        Track,
    )
    from .jobs import (
        Batch,
        BatchEntry,
        BatchItem,
        MusicJob,
        MusicResult,
        SavedTrack,
        expand,
        expand_rows,
        generate,
        history,
        resume,
        run_batch,
        start_batch,
    )
    from .listening import (
        Clip,
        GroupStats,
        ListenerRun,
        ListeningTest,
        PairStats,
        Reveal,
        sign_test,
    )

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
    "Batch",
    "BatchEntry",
    "BatchItem",
    "BudgetExceededError",
    "Clip",
    "ConfigurationError",
    "ConflictError",
    "DownloadError",
    "DownloadedFile",
    "GroupStats",
    "InsufficientCreditsError",
    "Job",
    "JobCancelledError",
    "JobError",
    "JobFailedError",
    "JobPage",
    "JobTimeoutError",
    "ListenerRun",
    "ListeningTest",
    "ModelInfo",
    "ModelSpec",
    "MusicJob",
    "MusicRequest",
    "MusicResult",
    "NotFoundError",
    "PairStats",
    "ParamSpec",
    "PermissionDeniedError",
    "RateLimitError",
    "RequestValidationError",
    "Reveal",
    "SavedTrack",
    "ServerError",
    "SubmittedJob",
    "Track",
    "TransportError",
    "__version__",
    "credit_cost",
    "expand",
    "expand_rows",
    "generate",
    "history",
    "load_ipython_extension",
    "parse_length",
    "resume",
    "run_batch",
    "sign_test",
    "sign_webhook",
    "start_batch",
    "unload_ipython_extension",
    "validate_body",
    "verify_webhook_signature",
]

# Names are imported from their modules on first use, so ``import apiframe_magic`` (and with it
# ``%load_ext``) does not pay for httpx, numpy or the sandbox until they are needed.
_EXPORTS_BY_MODULE: dict[str, tuple[str, ...]] = {
    "._exceptions": (
        "ApiframeError", "APIStatusError", "AuthenticationError", "BadRequestError", "BudgetExceededError",
        "ConfigurationError", "ConflictError", "DownloadError", "InsufficientCreditsError",
        "JobCancelledError", "JobError", "JobFailedError", "JobTimeoutError", "NotFoundError",
        "PermissionDeniedError", "RateLimitError", "RequestValidationError", "ServerError",
        "TransportError",
    ),
    ".catalog": (
        "AudioFormat", "credit_cost", "MODELS", "ModelSpec", "OUTPUT_FORMATS", "ParamSpec",
        "parse_length", "validate_body",
    ),
    ".client": (
        "Account", "ApiframeClient", "AsyncApiframeClient", "DownloadedFile", "Job", "JobPage",
        "ModelInfo", "MusicRequest", "SubmittedJob", "Track",
    ),
    ".jobs": (
        "Batch", "BatchEntry", "BatchItem", "expand", "expand_rows", "generate", "history", "MusicJob",
        "MusicResult", "resume", "run_batch", "SavedTrack", "start_batch",
    ),
    ".listening": (
        "Clip", "GroupStats", "ListenerRun", "ListeningTest", "PairStats", "Reveal", "sign_test",
    ),
    "._webhooks": (
        "sign_webhook", "verify_webhook_signature",
    ),
    "._version": (
        "__version__",
    ),
}
_EXPORTS: dict[str, str] = {name: module for module, names in _EXPORTS_BY_MODULE.items() for name in names}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext apiframe_magic``: register ``%%music`` / ``%music`` (and ``apiframe_music``)."""
    from .magic import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    from .magic import unload_ipython_extension as unload

    unload(ipython)
