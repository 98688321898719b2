"""The blocking facade of the client: :class:`ApiframeClient`, for scripts."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable, Coroutine, Mapping, Sequence
from types import TracebackType
from typing import Any, TypeVar

import httpx

from .._aio import run_sync
from .._public import public
from ..catalog import ModelSpec
from ._actions import AnyRequest
from ._async import SANDBOX_MAX_POLL_INTERVAL, SANDBOX_POLL_INTERVAL, AsyncApiframeClient
from ._download import DownloadedFile
from ._types import Account, Job, JobPage, ModelInfo, SubmittedJob
from ._uploads import Upload

__all__ = ["ApiframeClient"]

_T = TypeVar("_T")


@public
class ApiframeClient:
    """Blocking facade over :class:`AsyncApiframeClient`, for scripts.

    Same constructor and methods (:meth:`sandbox` included), without ``await``. The async
    client runs on a private event loop, nested on the calling thread when that thread already
    runs a loop (a notebook cell), so callbacks such as ``on_progress`` run where the call was
    made.
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
        self.aio = AsyncApiframeClient(
            api_key,
            base_url,
            timeout=timeout,
            max_retries=max_retries,
            poll_interval=poll_interval,
            max_poll_interval=max_poll_interval,
            transport=transport,
        )
        del api_key
        self._loop = asyncio.new_event_loop()
        self._lock = threading.Lock()
        self._closed = False

    @classmethod
    def sandbox(
        cls,
        *,
        timeout: float = 60.0,
        max_retries: int = 2,
        poll_interval: float = SANDBOX_POLL_INTERVAL,
        max_poll_interval: float = SANDBOX_MAX_POLL_INTERVAL,
    ) -> ApiframeClient:
        """A client for the embedded offline sandbox; see :meth:`AsyncApiframeClient.sandbox`.

        >>> with ApiframeClient.sandbox() as client:     # doctest: +SKIP
        ...     done = client.wait(client.submit(MusicRequest("calm piano")).job_id)
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
        client.aio.is_sandbox = True
        return client

    @property
    def base_url(self) -> str:
        return self.aio.base_url

    @property
    def masked_key(self) -> str:
        return self.aio.masked_key

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r}, api_key={self.masked_key!r})"

    def __enter__(self) -> ApiframeClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections and the private event loop. Safe to call twice."""
        if self._closed:
            return
        try:
            self._run(self.aio.aclose())
        finally:
            self._closed = True
            self._loop.close()

    def _run(self, coro: Coroutine[Any, Any, _T]) -> _T:
        """Run ``coro`` to completion on the private loop, blocking (see :func:`run_sync`:
        inside a notebook cell the loop runs nested on the cell's thread). An interrupt cancels
        the work and lets it clean up before it propagates."""
        if self._closed:
            coro.close()
            raise RuntimeError("this ApiframeClient is closed")
        if self._loop.is_running():
            coro.close()
            raise RuntimeError("ApiframeClient cannot be called from inside its own callbacks")
        with self._lock:
            return run_sync(coro, loop=self._loop)

    def run(self, work: Coroutine[Any, Any, _T]) -> _T:
        """Run ``work``, a coroutine using :attr:`aio`, to completion, blocking: how the package's
        blocking forms (``generate(client, ...)`` with this client) run their async code."""
        return self._run(work)

    def submit(self, request: AnyRequest, *, idempotency_key: str | None = None) -> SubmittedJob:
        """See :meth:`AsyncApiframeClient.submit`."""
        return self._run(self.aio.submit(request, idempotency_key=idempotency_key))

    def get_job(self, job_id: str) -> Job:
        """See :meth:`AsyncApiframeClient.get_job`."""
        return self._run(self.aio.get_job(job_id))

    def list_jobs(
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
        """See :meth:`AsyncApiframeClient.list_jobs`."""
        return self._run(self.aio.list_jobs(
            status=status, model=model, limit=limit, cursor=cursor, scope=scope, search=search,
            include_models=include_models))

    def me(self) -> Account:
        """See :meth:`AsyncApiframeClient.me`."""
        return self._run(self.aio.me())

    def models(self, modality: str | None = "music") -> list[ModelInfo]:
        """See :meth:`AsyncApiframeClient.models`."""
        return self._run(self.aio.models(modality))

    def wait(
        self,
        job_id: str,
        *,
        timeout: float | None = 600.0,
        on_progress: Callable[[Job], None] | None = None,
    ) -> Job:
        """See :meth:`AsyncApiframeClient.wait`."""
        return self._run(self.aio.wait(job_id, timeout=timeout, on_progress=on_progress))

    def download(
        self, url: str, dest: str | os.PathLike[str], *, job_id: str | None = None, expired: bool = False
    ) -> DownloadedFile:
        """See :meth:`AsyncApiframeClient.download`."""
        return self._run(self.aio.download(url, dest, job_id=job_id, expired=expired))

    def upload(self, path: str | os.PathLike[str]) -> Upload:
        """See :meth:`AsyncApiframeClient.upload`."""
        return self._run(self.aio.upload(path))

    def resolve_reference_images(self, values: Sequence[str | os.PathLike[str]]) -> list[str]:
        """See :meth:`AsyncApiframeClient.resolve_reference_images`."""
        return self._run(self.aio.resolve_reference_images(values))

    def resolve_files(self, model: str | ModelSpec, params: Mapping[str, Any]) -> dict[str, Any]:
        """See :meth:`AsyncApiframeClient.resolve_files`."""
        return self._run(self.aio.resolve_files(model, params))
