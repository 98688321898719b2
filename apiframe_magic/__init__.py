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
    from ._exceptions import ApiframeError as ApiframeError
    from ._exceptions import APIStatusError as APIStatusError
    from ._exceptions import AuthenticationError as AuthenticationError
    from ._exceptions import BadRequestError as BadRequestError
    from ._exceptions import BudgetExceededError as BudgetExceededError
    from ._exceptions import ConfigurationError as ConfigurationError
    from ._exceptions import ConflictError as ConflictError
    from ._exceptions import DownloadError as DownloadError
    from ._exceptions import InsufficientCreditsError as InsufficientCreditsError
    from ._exceptions import JobCancelledError as JobCancelledError
    from ._exceptions import JobError as JobError
    from ._exceptions import JobFailedError as JobFailedError
    from ._exceptions import JobTimeoutError as JobTimeoutError
    from ._exceptions import NotFoundError as NotFoundError
    from ._exceptions import PermissionDeniedError as PermissionDeniedError
    from ._exceptions import RateLimitError as RateLimitError
    from ._exceptions import RequestValidationError as RequestValidationError
    from ._exceptions import ServerError as ServerError
    from ._exceptions import TransportError as TransportError
    from ._version import __version__ as __version__
    from ._webhooks import sign_webhook as sign_webhook
    from ._webhooks import verify_webhook_signature as verify_webhook_signature
    from .catalog import MODELS as MODELS
    from .catalog import OUTPUT_FORMATS as OUTPUT_FORMATS
    from .catalog import ActionSpec as ActionSpec
    from .catalog import AudioFormat as AudioFormat
    from .catalog import ModelSpec as ModelSpec
    from .catalog import ParamSpec as ParamSpec
    from .catalog import credit_cost as credit_cost
    from .catalog import parse_length as parse_length
    from .catalog import validate_action_body as validate_action_body
    from .catalog import validate_body as validate_body
    from .client import Account as Account
    from .client import ActionRequest as ActionRequest
    from .client import AddVocalsRequest as AddVocalsRequest
    from .client import ApiframeClient as ApiframeClient
    from .client import AsyncApiframeClient as AsyncApiframeClient
    from .client import CoverRequest as CoverRequest
    from .client import DownloadedFile as DownloadedFile
    from .client import ExtendRequest as ExtendRequest
    from .client import Job as Job
    from .client import JobPage as JobPage
    from .client import ModelInfo as ModelInfo
    from .client import MusicRequest as MusicRequest
    from .client import StemsRequest as StemsRequest
    from .client import SubmittedJob as SubmittedJob
    from .client import Track as Track
    from .client import Upload as Upload
    from .jobs import Batch as Batch
    from .jobs import BatchEntry as BatchEntry
    from .jobs import BatchItem as BatchItem
    from .jobs import Budget as Budget
    from .jobs import MusicJob as MusicJob
    from .jobs import MusicResult as MusicResult
    from .jobs import RunContext as RunContext
    from .jobs import SavedTrack as SavedTrack
    from .jobs import expand as expand
    from .jobs import expand_rows as expand_rows
    from .jobs import generate as generate
    from .jobs import history as history
    from .jobs import resume as resume
    from .jobs import run_batch as run_batch
    from .jobs import start_batch as start_batch
    from .jobs import submit as submit
    from .ledger import LedgerUnavailable as LedgerUnavailable
    from .listening import Clip as Clip
    from .listening import GroupStats as GroupStats
    from .listening import ListenerRun as ListenerRun
    from .listening import ListeningTest as ListeningTest
    from .listening import PairStats as PairStats
    from .listening import Reveal as Reveal
    from .listening import sign_test as sign_test

# The one declaration of the public API: which module each public name comes from. ``__all__``
# and the lazy ``__getattr__`` are derived from it; the ``TYPE_CHECKING`` block above (for type
# checkers, which cannot run this) is checked against it by tests/test_public_api.py. Names are
# imported on first use, so ``import apiframe_magic`` (and with it ``%load_ext``) does not pay for
# httpx, numpy or the sandbox until they are needed.
_EXPORTS_BY_MODULE: dict[str, tuple[str, ...]] = {
    "._exceptions": (
        "ApiframeError", "APIStatusError", "AuthenticationError", "BadRequestError", "BudgetExceededError",
        "ConfigurationError", "ConflictError", "DownloadError", "InsufficientCreditsError",
        "JobCancelledError", "JobError", "JobFailedError", "JobTimeoutError", "NotFoundError",
        "PermissionDeniedError", "RateLimitError", "RequestValidationError", "ServerError",
        "TransportError",
    ),
    ".catalog": (
        "ActionSpec", "AudioFormat", "credit_cost", "MODELS", "ModelSpec", "OUTPUT_FORMATS", "ParamSpec",
        "parse_length", "validate_action_body", "validate_body",
    ),
    ".client": (
        "Account", "ActionRequest", "AddVocalsRequest", "ApiframeClient", "AsyncApiframeClient",
        "CoverRequest", "DownloadedFile", "ExtendRequest", "Job", "JobPage", "ModelInfo",
        "MusicRequest", "StemsRequest", "SubmittedJob", "Track", "Upload",
    ),
    ".jobs": (
        "Batch", "BatchEntry", "BatchItem", "Budget", "expand", "expand_rows", "generate", "history",
        "MusicJob", "MusicResult", "resume", "run_batch", "RunContext", "SavedTrack", "start_batch",
        "submit",
    ),
    ".ledger": (
        "LedgerUnavailable",
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
# Defined in this file, not imported.
_DEFINED_HERE = ("load_ipython_extension", "unload_ipython_extension")

__all__ = sorted([*_EXPORTS, *_DEFINED_HERE])


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
