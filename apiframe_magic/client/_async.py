"""The HTTP client of the Apiframe v2 music API: :class:`AsyncApiframeClient` and its blocking
facade :class:`ApiframeClient`.

Where the API key goes
    The key is read when the client is made (argument, else ``$APIFRAME_API_KEY``) and kept in
    one private object that adds the ``X-API-Key`` header to requests to ``base_url`` only. API
    calls never follow redirects (a redirect answer is an error), so the key cannot be carried
    to another origin. Downloads use a second HTTP client with no credentials at all. The
    client's ``repr``, and every error it raises, show the masked key at most.

Retries
    See :mod:`apiframe_magic.client._retry`. Every submit carries an ``Idempotency-Key`` (a fresh
    uuid4 unless one is given) that is reused on every retry of that submit, so a submit whose
    answer was lost is retried without creating or charging for a second job. Polling never
    submits again. :meth:`AsyncApiframeClient.wait` only reads, so it outlasts outages: a poll
    that fails for a reason that may pass is tried again until the wait's own ``timeout``.

No key?
    ``ApiframeClient()`` talks to the real API and needs a key: without one (no argument and no
    ``$APIFRAME_API_KEY``) it raises :class:`ConfigurationError` at once, naming both ways on.
    ``ApiframeClient.sandbox()`` (and ``AsyncApiframeClient.sandbox()``) is a client for the
    embedded offline sandbox, which needs none. There is deliberately no silent fallback from
    one to the other: a script should not quietly produce sandbox music because a variable was
    unset.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json as jsonlib
import os
import ssl
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpx

from .._exceptions import (
    ApiframeError,
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    InsufficientCreditsError,
    JobCancelledError,
    JobFailedError,
    JobTimeoutError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RequestValidationError,
    ServerError,
    TransportError,
)
from .._public import public
from .._version import __version__
from ..catalog import ModelSpec, get_spec
from ._actions import AnyRequest
from ._auth import _BAD_KEY, _NO_KEY, _APIKeyAuth, _auth_for, account_of, resolve_api_key, resolve_base_url
from ._download import DownloadedFile, download_file
from ._polling import PollSchedule
from ._retry import Backoff, RetryPolicy, parse_retry_after
from ._types import Account, Job, JobPage, ModelInfo, SubmittedJob
from ._uploads import UPLOAD_PATH, Upload, read_upload, resolve_files, resolve_reference_images

__all__ = ["SANDBOX_MAX_POLL_INTERVAL", "SANDBOX_POLL_INTERVAL", "AsyncApiframeClient"]

_USER_AGENT = f"apiframe-magic/{__version__}"


_IDEMPOTENCY_KEY_MAX = 255


# The embedded sandbox is polled faster than the service's documented 2 to 5 s: a poll there
# costs nothing and its jobs are short.
SANDBOX_POLL_INTERVAL = 0.5


SANDBOX_MAX_POLL_INTERVAL = 1.0


_STATUS_ERRORS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: InsufficientCreditsError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    429: RateLimitError,
}


@public
class AsyncApiframeClient:
    """Async client of the Apiframe v2 music API.

    ``api_key`` and ``base_url`` default to ``$APIFRAME_API_KEY`` and ``$APIFRAME_BASE_URL``
    (read now, not at import). Without a key the client is not made: :class:`ConfigurationError`
    says to set ``$APIFRAME_API_KEY`` or to use :meth:`sandbox`, a client for the embedded
    offline sandbox. The key appears in no error text and no ``repr``, only masked.

    >>> async with AsyncApiframeClient() as client:            # doctest: +SKIP
    ...     job = await client.submit(MusicRequest("calm piano", music_length_ms=30_000))
    ...     done = await client.wait(job.job_id)
    ...     file = await client.download(done.audio_url, "out/")
    """

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        timeout: float = 60.0,
        max_retries: int = 2,
        poll_interval: float = 2.0,
        max_poll_interval: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        # Drop the key from this frame before anything can raise (verbose tracebacks show locals).
        auth, usable = _auth_for(resolve_api_key(api_key))
        del api_key
        if not usable:
            raise ConfigurationError(_BAD_KEY)
        if auth is None:
            raise ConfigurationError(_NO_KEY)
        self._auth: _APIKeyAuth = auth
        self.masked_key = auth.masked
        self.base_url = resolve_base_url(base_url)
        self.retry_policy = RetryPolicy(max_retries=max_retries)
        self.poll_interval = poll_interval
        self.max_poll_interval = max(max_poll_interval, poll_interval)
        headers = {"User-Agent": _USER_AGENT, "Accept": "application/json"}
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            headers=headers,
            timeout=timeout,
            follow_redirects=False,
            transport=transport,
            verify=_tls_context(),
        )
        # A second client, with no credentials, for result files on the CDN.
        self._cdn = httpx.AsyncClient(
            headers={"User-Agent": _USER_AGENT},
            timeout=timeout,
            follow_redirects=True,
            transport=transport,
            verify=_tls_context(),
        )

    @classmethod
    def sandbox(
        cls,
        *,
        timeout: float = 60.0,
        max_retries: int = 2,
        poll_interval: float = SANDBOX_POLL_INTERVAL,
        max_poll_interval: float = SANDBOX_MAX_POLL_INTERVAL,
    ) -> AsyncApiframeClient:
        """A client for the embedded offline sandbox: no key, no network, no credits spent.

        The sandbox (:func:`apiframe_magic.sandbox.embedded_sandbox`) is an Apiframe-compatible
        server on loopback that composes real audio; it starts on first use, is shared by the
        process and stops at exit. The key and base URL in the environment are ignored.

        >>> async with AsyncApiframeClient.sandbox() as client:    # doctest: +SKIP
        ...     done = await client.wait((await client.submit(MusicRequest("calm piano"))).job_id)
        """
        from ..sandbox import SANDBOX_API_KEY, embedded_sandbox  # only here: the client needs no server

        client = cls(
            SANDBOX_API_KEY,
            embedded_sandbox().url,
            timeout=timeout,
            max_retries=max_retries,
            poll_interval=poll_interval,
            max_poll_interval=max_poll_interval,
        )
        client.is_sandbox = True
        return client

    is_sandbox: bool = False
    """Whether this client talks to the offline sandbox (results then record ``"sandbox"``)."""

    def __repr__(self) -> str:
        # Also for a client whose __init__ raised: a verbose traceback shows its half-made self.
        base_url, masked = getattr(self, "base_url", None), getattr(self, "masked_key", "(none)")
        return f"{type(self).__name__}(base_url={base_url!r}, api_key={masked!r})"

    @property
    def account(self) -> str:
        """Which service and account this client talks to, without the key: the base URL and a
        short hash of the key (``https://api.apiframe.ai#3f2a...``). The job ledger keeps jobs
        of different accounts apart by it."""
        return account_of(self.base_url, self._auth)

    async def __aenter__(self) -> AsyncApiframeClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close both HTTP clients and their connections."""
        await self._http.aclose()
        await self._cdn.aclose()

    # -- endpoints -------------------------------------------------------------------------

    async def submit(self, request: AnyRequest, *, idempotency_key: str | None = None) -> SubmittedJob:
        """Start a job; return its id at once: a :class:`MusicRequest` is sent to
        ``POST /v2/music/generate``, an :class:`ActionRequest` (a Suno action) to
        ``POST /v2/music/suno/action``; either is then polled as any job.

        The ``Idempotency-Key`` (a uuid4 unless given) is sent with every retry of this call.
        An action the service will not run on that parent (a ``stems`` result, a parent not
        COMPLETED or of another model) is a :class:`ConflictError` (409) with its one-line reason.
        """
        key = idempotency_key if idempotency_key is not None else str(uuid.uuid4())
        if not key or len(key) > _IDEMPOTENCY_KEY_MAX or not key.isascii():
            raise RequestValidationError(
                "Idempotency-Key", key, f"must be 1 to {_IDEMPOTENCY_KEY_MAX} ASCII characters"
            )
        response = await self._request(
            "POST",
            request.endpoint,
            json=request.to_json(),
            headers={"Idempotency-Key": key},
        )
        data = self._json_object(response)
        job_id = data.get("jobId") or data.get("id")
        if not isinstance(job_id, str) or not job_id:
            raise APIStatusError(
                "the submit answer carried no jobId",
                status_code=response.status_code,
                request_id=response.headers.get("x-request-id"),
                body=data,
            )
        return SubmittedJob(
            job_id=job_id, status=str(data.get("status") or "QUEUED").upper(), idempotency_key=key
        )

    async def get_job(self, job_id: str) -> Job:
        """``GET /v2/jobs/{id}``: one snapshot of a job."""
        return await self._get_job(job_id)

    async def _get_job(self, job_id: str, *, retries: int | None = None) -> Job:
        if not isinstance(job_id, str) or not job_id.strip():
            raise RequestValidationError("job_id", job_id, "must be a job id")
        response = await self._request(
            "GET", f"/v2/jobs/{quote(job_id.strip(), safe='')}", retries=retries
        )
        job = Job.from_json(self._json_object(response))
        return job if job.id else dataclasses.replace(job, id=job_id.strip())

    async def list_jobs(
        self,
        *,
        status: str | None = None,
        model: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        scope: str | None = None,
        search: str | None = None,
        include_models: bool | None = None,
    ) -> JobPage:
        """``GET /v2/jobs``: a page of your jobs, newest first.

        ``scope`` is ``"user"`` (the service's default) or ``"team"`` (every job of the team,
        for team admins); ``search`` a job id, to find that one job; ``include_models=True``
        also returns the model ids the scope used, in :attr:`JobPage.models`.
        """
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 100
        ):
            raise RequestValidationError("limit", limit, "must be an integer from 1 to 100")
        if scope is not None and scope not in ("user", "team"):
            raise RequestValidationError("scope", scope, "must be 'user' or 'team'")
        query = {"status": status, "model": model, "limit": limit, "cursor": cursor,
                 "scope": scope, "search": search,
                 "include_models": None if include_models is None else str(include_models).lower()}
        params = {k: str(v) for k, v in query.items() if v is not None}
        response = await self._request("GET", "/v2/jobs", params=params)
        data = self._json_object(response)
        items = data.get("jobs")
        jobs = (
            tuple(Job.from_json(j) for j in items if isinstance(j, Mapping))
            if isinstance(items, list)
            else ()
        )
        next_cursor = data.get("nextCursor")
        models = data.get("models")
        return JobPage(
            jobs=jobs,
            next_cursor=next_cursor if isinstance(next_cursor, str) and next_cursor else None,
            has_more=bool(data.get("hasMore", False)),
            models=tuple(str(m) for m in models) if isinstance(models, list) else None,
        )

    async def me(self) -> Account:
        """``GET /v2/me``: the account's credits and plan."""
        data = self._json_object(await self._request("GET", "/v2/me"))
        team = data.get("team")
        source: Mapping[str, Any] = team if isinstance(team, Mapping) else data

        def pick(*names: str) -> Any:
            return next((source[n] for n in names if source.get(n) is not None), None)

        plan = pick("plan")
        return Account(
            credits=_as_int(pick("credits")),
            plan=str(plan) if plan is not None else None,
            max_concurrent_jobs=_as_int(pick("maxConcurrentJobs", "max_concurrent_jobs")),
            raw=data,
        )

    async def models(self, modality: str | None = "music") -> list[ModelInfo]:
        """``GET /v2/models``: the models on offer (no API key needed, none is sent).

        Reads the service's ``{"models": [...]}`` and also a bare list, as older answers were."""
        params = {"modality": modality} if modality else {}
        response = await self._request("GET", "/v2/models", params=params, auth=False)
        data = self._json(response)
        if isinstance(data, Mapping):
            data = data.get("models", data.get("data", []))
        if not isinstance(data, list):
            return []
        return [
            ModelInfo(
                id=str(m["id"]),
                label=m.get("label") if isinstance(m.get("label"), str) else None,
                modality=m.get("modality") if isinstance(m.get("modality"), str) else None,
                description=(m.get("description") if isinstance(m.get("description"), str) else None),
                cost_min=_as_int(m.get("costMin")),
                cost_max=_as_int(m.get("costMax")),
                raw=m,
            )
            for m in data
            if isinstance(m, Mapping) and m.get("id")
        ]

    async def wait(
        self,
        job_id: str,
        *,
        timeout: float | None = 600.0,
        on_progress: Callable[[Job], None] | None = None,
        expected_seconds: float | None = None,
        look_first: bool = True,
    ) -> Job:
        """Poll a job until it ends; return it when COMPLETED.

        Polls are scheduled from the job's reported progress (see
        :class:`~apiframe_magic.client._polling.PollSchedule`): most of the way to the expected
        end in one pause, then often. ``expected_seconds`` (how long such jobs took before) is a
        prior: the wait sleeps until shortly before it, looks every half second (at most
        ``poll_interval``) in a window around it, then backs off; it places the first looks, and
        all of them when the service reports no progress. With neither, the interval starts at
        ``poll_interval`` and grows x1.5 up to ``max_poll_interval``. ``look_first=False``
        skips the look at once (a job submitted a moment ago has not moved). ``on_progress``
        sees every snapshot received (and nothing else). Statuses this client does not know are
        treated as still running.

        Waiting only reads, so a poll that fails for a reason that may pass (a 5xx, a 429, a
        dropped connection, a body that is not a JSON object) does not end it: the poll is
        tried again after a pause that starts near ``poll_interval`` and doubles up to
        ``max_poll_interval`` (or the server's ``Retry-After``, if longer), until ``timeout``.

        The wait ends with the job COMPLETED (returned), :class:`JobFailedError` (with the
        server's reason), :class:`JobCancelledError`, :class:`JobTimeoutError` once
        ``timeout`` seconds have passed (the job may still finish: wait on its id again), or an
        error that polling again cannot fix: 401, 403, 404 (or another 4xx) and
        :class:`ConfigurationError`. Every error it raises carries ``job_id``.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        schedule = PollSchedule(
            interval=self.poll_interval, max_interval=self.max_poll_interval,
            min_interval=min(self.poll_interval, 0.25), near_interval=min(self.poll_interval, 0.5),
            expected_seconds=expected_seconds,
        )
        if not look_first:
            first = schedule.next_pause(None)
            if deadline is not None:
                first = min(first, max(0.0, deadline - time.monotonic()))
            await asyncio.sleep(first)
        failures = 0
        last_status: str | None = None
        last_error: str | None = None
        while True:
            try:
                job = await self._get_job(job_id, retries=0)
            except ApiframeError as exc:
                if exc.job_id is None and isinstance(job_id, str) and job_id.strip():
                    exc.job_id = job_id.strip()
                if not _may_pass(exc):
                    raise
                failures += 1
                last_error = str(exc)
                pause = self._failed_poll_pause(failures, exc)
            else:
                failures, last_error, last_status = 0, None, job.status
                if on_progress is not None:
                    on_progress(job)
                if job.status == "COMPLETED":
                    return job
                if job.status == "FAILED":
                    raise JobFailedError(job.error, job_id=job.id)
                if job.status == "CANCELLED":
                    raise JobCancelledError(job_id=job.id)
                pause = schedule.next_pause(job.progress)
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise JobTimeoutError(
                        timeout or 0.0, job_id=job_id.strip(), last_status=last_status,
                        last_error=last_error,
                    )
                pause = min(pause, remaining)
            await asyncio.sleep(pause)

    def _failed_poll_pause(self, failures: int, error: ApiframeError) -> float:
        """The pause after the ``failures``-th poll in a row that failed: from about
        ``poll_interval`` doubling up to ``max_poll_interval`` (jittered by up to half, so that
        many waiting clients spread out), and not shorter than the server's Retry-After (up to
        the policy's ``max_retry_after``: a server's say-so never parks a wait for an hour)."""
        backoff = Backoff(
            base=self.poll_interval, cap=self.max_poll_interval, jitter="equal",
            random=self.retry_policy.jitter, max_retry_after=self.retry_policy.max_retry_after,
        )
        retry_after = error.retry_after if isinstance(error, RateLimitError) else None
        return backoff.at_least(failures - 1, retry_after)

    async def download(
        self, url: str, dest: str | os.PathLike[str], *, job_id: str | None = None, expired: bool = False
    ) -> DownloadedFile:
        """Download a result file to ``dest`` (a file path, or a folder: the name then comes
        from the URL). Atomic: on failure nothing is left and an existing file is untouched;
        raises :class:`DownloadError`. The API key is never sent.

        A file the service has purged (its job says ``expired``: pass ``expired=True``, and
        nothing is sent; or the CDN answers 404 or 410) is a :class:`DownloadError` with
        ``purged`` set, whose one line says so."""
        return await download_file(self._cdn, url, dest, job_id=job_id, expired=expired)

    async def upload(self, path: str | os.PathLike[str]) -> Upload:
        """``POST /v2/uploads``: send a local file (multipart, one ``file`` field); return where
        the service keeps it for a while (:attr:`Upload.url`, about 1 to 2 hours).

        Its type is sniffed from its first bytes (PNG, JPEG, WebP, GIF, MP4, WebM, MOV, MP3, WAV,
        OGG, M4A) and its size checked (25 MB for an image or audio, 50 MB for a video) before
        anything is sent: a file the service would refuse is a one-line
        :class:`RequestValidationError`. Not retried on a 5xx (an upload carries no
        Idempotency-Key); a 429 is waited out as for any call."""
        data, found = read_upload(path)
        name = Path(path).name or f"upload.{found.extension}"
        response = await self._request(
            "POST", UPLOAD_PATH, files={"file": (name, data, found.content_type)},
        )
        upload = Upload.from_json(self._json_object(response))
        if not upload.url:
            raise APIStatusError(
                "the upload answer carried no url",
                status_code=response.status_code,
                request_id=response.headers.get("x-request-id"),
                body=dict(upload.raw),
            )
        return upload

    async def resolve_reference_images(self, values: Sequence[str | os.PathLike[str]]) -> list[str]:
        """Lyria's ``reference_images`` as URLs: URLs kept, local image files uploaded with
        :meth:`upload` (all checked first); see
        :func:`~apiframe_magic.client.resolve_reference_images`."""
        return await resolve_reference_images(self.upload, values)

    async def resolve_files(self, model: str | ModelSpec, params: Mapping[str, Any]) -> dict[str, Any]:
        """``params`` of ``model`` with every local file uploaded with :meth:`upload` and
        replaced by its URL (Lyria's ``reference_images``; all checked first, nothing sent for
        a bad one); the rest as given. See :func:`~apiframe_magic.client.resolve_files`."""
        spec = model if isinstance(model, ModelSpec) else get_spec(model)
        return await resolve_files(self.upload, spec, params)

    # -- plumbing --------------------------------------------------------------------------

    async def _request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
        auth: bool = True,
        retries: int | None = None,
    ) -> httpx.Response:
        """Send one API request with the retry policy; return a 2xx response or raise.

        ``retries`` overrides the policy's ``max_retries`` (:meth:`wait` retries on its own).
        """
        credentials = self._auth if auth else None
        policy = self.retry_policy
        if retries is not None:
            policy = dataclasses.replace(policy, max_retries=retries)
        replay_safe = policy.is_replay_safe(method, headers or {})
        backoff = policy.schedule
        attempt = 0
        while True:
            try:
                response = await self._http.request(
                    method,
                    path,
                    json=json,
                    params=params,
                    headers=headers,
                    files=files,
                    auth=credentials if credentials is not None else httpx.USE_CLIENT_DEFAULT,
                )
            except httpx.RequestError as exc:
                # Transport failures may be retried; a body that cannot be decoded will not improve.
                if isinstance(exc, httpx.TransportError) and replay_safe and attempt < policy.max_retries:
                    await asyncio.sleep(backoff.delay(attempt))
                    attempt += 1
                    continue
                raise TransportError(self._transport_message(method, path, exc, attempt)) from None
            if response.is_success:
                return response
            if response.status_code == 429:
                wait = backoff.honour(parse_retry_after(response.headers.get("retry-after")))
                if attempt < policy.max_retries and wait is not None:
                    await asyncio.sleep(wait)
                    attempt += 1
                    continue
            elif (
                policy.retries_status(response.status_code, replay_safe=replay_safe)
                and attempt < policy.max_retries
            ):
                await asyncio.sleep(backoff.delay(attempt))
                attempt += 1
                continue
            raise self._status_error(response)

    def _scrub(self, text: str) -> str:
        return self._auth.scrub(text)

    def _transport_message(self, method: str, path: str, exc: httpx.RequestError, retries: int) -> str:
        detail = str(exc).splitlines()[0] if str(exc) else ""
        kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "failed"
        tries = f" after {retries} {'retry' if retries == 1 else 'retries'}" if retries else ""
        text = f"{method} {self.base_url}{path} {kind}{tries}: {type(exc).__name__}"
        return self._scrub(f"{text}: {detail}" if detail else text)

    def _status_error(self, response: httpx.Response) -> APIStatusError:
        """The :class:`APIStatusError` subclass for an error answer, with what the server said."""
        status = response.status_code
        text = self._scrub(response.text)
        body: Any = None
        try:
            body = jsonlib.loads(text) if text.strip() else None
        except ValueError:
            body = text
        request_id = response.headers.get("x-request-id")
        kwargs: dict[str, Any] = {
            "status_code": status,
            "request_id": self._scrub(request_id) if request_id else None,
            "body": body,
        }
        message = None
        if isinstance(body, Mapping):
            for name in ("error", "message"):
                if isinstance(body.get(name), str) and body[name].strip():
                    # One line, whatever the service sent (a 409's reason is shown as is).
                    message = " ".join(body[name].split())
                    break
            details = body.get("details")
            if isinstance(details, Mapping):
                kwargs["details"] = {
                    str(k): [str(v)] if isinstance(v, str) else [str(m) for m in v]
                    for k, v in details.items()
                    if isinstance(v, (str, list, tuple))
                }
        if message is None:
            first = text.strip().splitlines()[0] if isinstance(body, str) else ""
            short = first if first and len(first) <= 200 and "<" not in first else ""
            message = short or response.reason_phrase or f"HTTP {status}"
        if 300 <= status < 400:
            location = response.headers.get("location", "")
            message = (
                f"the API answered with a redirect to {location or '(no location)'}; not "
                "followed, so the API key goes only to the base URL (check APIFRAME_BASE_URL)"
            )
            return APIStatusError(message, **kwargs)
        cls = _STATUS_ERRORS.get(status, ServerError if status >= 500 else APIStatusError)
        if cls is InsufficientCreditsError and isinstance(body, Mapping):
            kwargs["credits_required"] = _as_int(body.get("creditsRequired"))
            kwargs["credits_available"] = _as_int(body.get("creditsAvailable"))
        elif cls is RateLimitError:
            kwargs["retry_after"] = parse_retry_after(response.headers.get("retry-after"))
        return cls(message, **kwargs)

    def _json(self, response: httpx.Response) -> Any:
        """The answer's JSON with the key scrubbed from it, as error bodies are: everything the
        service says (a FAILED job's reason, its raw snapshot) reaches output, CSVs, sidecars and
        the ledger only through here."""
        try:
            return self._auth.scrub_json(response.json())
        except ValueError:
            raise APIStatusError(
                "the API answered with something that is not JSON",
                status_code=response.status_code,
                request_id=response.headers.get("x-request-id"),
                body=self._scrub(response.text[:500]),
            ) from None

    def _json_object(self, response: httpx.Response) -> Mapping[str, Any]:
        data = self._json(response)
        if not isinstance(data, Mapping):
            raise APIStatusError(
                "the API answered with JSON that is not an object",
                status_code=response.status_code,
                request_id=response.headers.get("x-request-id"),
                body=data,
            )
        return data


@functools.lru_cache(maxsize=1)
def _tls_context() -> ssl.SSLContext:
    """One TLS context (the system's CA certificates, loaded once) for every client: loading them
    costs tens of milliseconds, which a cell answered from the job ledger should not pay."""
    return httpx.create_ssl_context()


def _may_pass(error: ApiframeError) -> bool:
    """Whether a failed poll is worth repeating: the service or the network had trouble, or
    the answer could not be read (an :class:`APIStatusError` with a 2xx status)."""
    if isinstance(error, TransportError):
        return True
    if isinstance(error, APIStatusError):
        status = error.status_code
        return status < 300 or status >= 500 or status in (408, 429)
    return False


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None
