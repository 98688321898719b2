"""Errors raised by apiframe-magic.

Every error this package raises on purpose is an :class:`ApiframeError`::

    ApiframeError
    ├── RequestValidationError   a request was refused locally; nothing was sent, nothing was charged
    ├── BudgetExceededError      a job would pass the credit budget; nothing was sent
    ├── ConfigurationError       no usable API key / base URL
    ├── TransportError           the network failed and retries were exhausted (no HTTP answer)
    ├── APIStatusError           the API answered with an error status
    │   ├── BadRequestError          400, with ``details`` by JSON path
    │   ├── AuthenticationError      401
    │   ├── InsufficientCreditsError 402, with ``credits_required`` / ``credits_available``
    │   ├── PermissionDeniedError    403
    │   ├── NotFoundError            404
    │   ├── ConflictError            409 (an Idempotency-Key reused with a different body)
    │   ├── RateLimitError           429, with ``retry_after``
    │   └── ServerError              5xx
    ├── JobError                 the job itself did not produce audio; always carries ``job_id``
    │   ├── JobFailedError           status FAILED, with the server's ``error`` text
    │   ├── JobCancelledError        status CANCELLED
    │   └── JobTimeoutError          still running when the wait budget ran out (resumable)
    ├── DownloadError            the audio could not be fetched completely; carries ``job_id`` and ``url``
    └── LedgerUnavailable        the job ledger file cannot be used (or written); jobs go on without it
                                 (defined in :mod:`apiframe_magic.ledger`)

Every error raised once a job exists (by :func:`~apiframe_magic.generate`,
:func:`~apiframe_magic.resume`, :meth:`~apiframe_magic.AsyncApiframeClient.wait` or a
:class:`~apiframe_magic.MusicJob`) carries that job's ``job_id``, whatever its class, so the
job can be looked at or resumed; other errors have ``job_id = None``.

Messages are one line and never contain the API key: they are shown to people in notebooks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ._public import public

__all__ = [
    "APIStatusError",
    "ApiframeError",
    "AuthenticationError",
    "BadRequestError",
    "BudgetExceededError",
    "ConfigurationError",
    "ConflictError",
    "DownloadError",
    "InsufficientCreditsError",
    "JobCancelledError",
    "JobError",
    "JobFailedError",
    "JobTimeoutError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RequestValidationError",
    "ServerError",
    "TransportError",
]


@public
class ApiframeError(Exception):
    """Base class of every error raised by apiframe-magic.

    ``job_id`` is the job the error happened to, when one had been submitted (see the module
    docstring); ``None`` otherwise.
    """

    job_id: str | None = None


@public
class RequestValidationError(ApiframeError, ValueError):
    """A request field is invalid. Raised before any request is sent.

    ``field`` is the JSON path of the offending value (``elevenlabsParams.music_length_ms``),
    ``value`` the value given, ``allowed`` a short description of what is accepted.
    """

    def __init__(self, field: str, value: Any, allowed: str) -> None:
        self.field = field
        self.value = value
        self.allowed = allowed
        shown = repr(value)
        if len(shown) > 60:
            shown = shown[:57] + "..."
        super().__init__(f"{field}={shown} is not valid: {allowed}")


@public
class ConfigurationError(ApiframeError):
    """The client cannot be configured (no API key where one is required, a bad base URL)."""


@public
class TransportError(ApiframeError):
    """The request got no HTTP answer (connection refused or dropped, timeout) after all retries."""


@public
class APIStatusError(ApiframeError):
    """The API answered with an error status.

    Carries what the server said: ``message`` (its ``error`` field), ``status_code``, ``details``
    (validation messages by JSON path), ``request_id`` (the ``x-request-id`` header) and the whole
    decoded ``body``.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        details: Mapping[str, Sequence[str]] | None = None,
        request_id: str | None = None,
        body: Any = None,
    ) -> None:
        self.message = message
        self.status_code = status_code
        self.details: dict[str, list[str]] = {k: list(v) for k, v in (details or {}).items()}
        self.request_id = request_id
        self.body = body
        text = f"HTTP {status_code}: {message}"
        if self.details:
            text += " (" + "; ".join(f"{k}: {', '.join(v)}" for k, v in self.details.items()) + ")"
        if request_id:
            text += f" [request id {request_id}]"
        super().__init__(text)


@public
class BadRequestError(APIStatusError):
    """400: the server refused the request body (see ``details``)."""


@public
class AuthenticationError(APIStatusError):
    """401: the API key is missing or invalid."""


@public
class InsufficientCreditsError(APIStatusError):
    """402: the account has too few credits for this request."""

    def __init__(
        self,
        message: str,
        *,
        credits_required: int | None = None,
        credits_available: int | None = None,
        **kwargs: Any,
    ) -> None:
        self.credits_required = credits_required
        self.credits_available = credits_available
        super().__init__(message, **kwargs)


@public
class PermissionDeniedError(APIStatusError):
    """403: the key is inactive or lacks permission."""


@public
class NotFoundError(APIStatusError):
    """404: no such job (or it belongs to someone else)."""


@public
class ConflictError(APIStatusError):
    """409: an Idempotency-Key was replayed with a different body, or a Suno action is not
    available for its parent (a ``stems`` result, a job not COMPLETED or of another model)."""


@public
class RateLimitError(APIStatusError):
    """429: too many requests; ``retry_after`` is the server's wait in seconds."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kwargs)


@public
class ServerError(APIStatusError):
    """5xx: the service is unavailable or failed."""


@public
class JobError(ApiframeError):
    """The job did not produce audio. ``job_id`` is always set so the job can be inspected or resumed."""

    job_id: str

    def __init__(self, message: str, *, job_id: str) -> None:
        self.job_id = job_id
        super().__init__(message)


@public
class JobFailedError(JobError):
    """The job ended FAILED; ``reason`` is the server's error text. Its credits are refunded."""

    def __init__(self, reason: str | None, *, job_id: str) -> None:
        self.reason = reason
        super().__init__(f"job {job_id} failed: {reason or 'no reason given'}", job_id=job_id)


@public
class JobCancelledError(JobError):
    """The job ended CANCELLED."""

    def __init__(self, *, job_id: str) -> None:
        super().__init__(f"job {job_id} was cancelled", job_id=job_id)


@public
class JobTimeoutError(JobError):
    """The job was still running when the wait budget ran out. It may still finish: resume it.

    ``last_status`` is the status of the last snapshot received; ``last_error`` says why the
    last poll got no snapshot, when it failed (an outage or a dropped connection while waiting
    is waited out, not raised).
    """

    def __init__(
        self,
        timeout: float,
        *,
        job_id: str,
        last_status: str | None = None,
        last_error: str | None = None,
    ) -> None:
        self.timeout = timeout
        self.last_status = last_status
        self.last_error = last_error
        notes = [f"last status {last_status}"] if last_status else []
        if last_error:
            notes.append(f"the last poll failed: {last_error}")
        status = f" ({'; '.join(notes)})" if notes else ""
        super().__init__(f"job {job_id} not finished after {timeout:g} s{status}", job_id=job_id)


@public
class BudgetExceededError(ApiframeError):
    """A job was refused before sending because it would take the credits spent past a budget
    (``%config MusicMagics.budget_credits``). Nothing was sent, nothing was charged."""

    def __init__(self, message: str, *, cost: int | None, spent: int, budget: int) -> None:
        self.cost = cost
        self.spent = spent
        self.budget = budget
        super().__init__(message)


@public
class DownloadError(ApiframeError):
    """The audio file could not be downloaded completely. Nothing partial is left on disk.

    ``purged`` is true when the service no longer has the file (its job is ``expired``, or the
    CDN answered 404 or 410): downloading again will not help; a local copy may.
    """

    def __init__(
        self, message: str, *, url: str, job_id: str | None = None, purged: bool = False
    ) -> None:
        self.url = url
        self.job_id = job_id
        self.purged = purged
        super().__init__(message)
