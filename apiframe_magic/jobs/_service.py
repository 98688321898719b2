"""Which service a notebook talks to: the real API when a key is set, else the embedded sandbox.

A :class:`Service` is where jobs are sent (a base URL, and whether it is the offline sandbox); the
*account* is whose key pays for them, named by :attr:`Service.account` without the key. This is
the only module of the jobs layer that starts a sandbox."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from .._aio import run_sync
from ..client import account_for_key, mask_key, resolve_api_key, resolve_base_url
from ._files import DEFAULT_OUTPUT_DIR

if TYPE_CHECKING:
    from ..client import AsyncApiframeClient

__all__ = ["Backend", "Service", "resolve_backend", "resolve_service", "uses_sandbox"]

T = TypeVar("T")


@dataclass(frozen=True)
class Service:
    """A service to talk to: its base URL and whether it is the offline sandbox.

    It holds no credentials, so the results and job handles that keep one (a
    :class:`~apiframe_magic.MusicJob` stored with ``%store`` or pickled) never write a key
    anywhere. The key is looked up each time a client is made: ``$APIFRAME_API_KEY`` for the
    API, the sandbox's own key for the sandbox.
    """

    base_url: str
    sandbox: bool

    @property
    def api_key(self) -> str | None:
        """The key a client made now would use (``None``: none is set). Not stored."""
        if self.sandbox:
            from ..sandbox import SANDBOX_API_KEY

            return SANDBOX_API_KEY
        return resolve_api_key()

    @property
    def masked_key(self) -> str:
        return mask_key(self.api_key)

    @property
    def name(self) -> str:
        """How results record where they came from: ``"sandbox"`` or the API's base URL."""
        return "sandbox" if self.sandbox else self.base_url

    @property
    def account(self) -> str:
        """The service and account, without the key, as the job ledger keys jobs by it:
        ``"sandbox"``, or the base URL and a short hash of the key."""
        return "sandbox" if self.sandbox else account_for_key(self.base_url, self.api_key)

    @property
    def label(self) -> str:
        return f"offline sandbox at {self.base_url}" if self.sandbox else self.base_url

    def client(self) -> AsyncApiframeClient:
        """A client for this service, with the key as it is now."""
        from ..client import SANDBOX_MAX_POLL_INTERVAL, SANDBOX_POLL_INTERVAL, AsyncApiframeClient

        if self.sandbox:
            client = AsyncApiframeClient(
                self.api_key, self.base_url, poll_interval=SANDBOX_POLL_INTERVAL,
                max_poll_interval=SANDBOX_MAX_POLL_INTERVAL,
            )
            client.is_sandbox = True
            return client
        # No key argument: the client reads $APIFRAME_API_KEY itself, and keeps it to itself.
        return AsyncApiframeClient(base_url=self.base_url)

    def call(self, use: Callable[[AsyncApiframeClient], Awaitable[T]]) -> T:
        """Open a client, run ``use(client)`` to completion from synchronous code, close it."""

        async def run() -> T:
            async with self.client() as client:
                return await use(client)

        return run_sync(run())


def uses_sandbox() -> bool:
    """Whether :func:`resolve_backend` would pick the sandbox (no key set), without starting it."""
    return resolve_api_key() is None


def resolve_service(
    ledger: str | os.PathLike[str] | None = None,
    output_dir: str | os.PathLike[str] = DEFAULT_OUTPUT_DIR,
    *,
    warn: Callable[[str], None] | None = None,
) -> Backend:
    """``$APIFRAME_BASE_URL`` when ``$APIFRAME_API_KEY`` is set; otherwise start, or reuse, the
    embedded sandbox in this process.

    The embedded sandbox keeps its jobs, credits and idempotency keys in a file next to the job
    ledger (the one ``ledger``, a setting as :func:`open_ledger` reads it, and ``output_dir``
    name), so that a job left on it by a stopped cell, a restarted kernel or an interrupted shell
    run is collected by any later one. With the ledger off, it keeps them in memory only.
    ``warn`` hears, in one line, when that file had to be moved aside."""
    if resolve_api_key() is not None:
        return Service(resolve_base_url(), sandbox=False)
    from ..ledger import resolve_ledger_path
    from ..sandbox import SANDBOX_STATE_NAME, embedded_sandbox

    ledger_path = resolve_ledger_path(ledger, output_dir)
    state = ledger_path.parent / SANDBOX_STATE_NAME if ledger_path is not None else None
    if state is not None:
        state.parent.mkdir(parents=True, exist_ok=True)
    server = embedded_sandbox(state_path=state)
    notice = getattr(server, "notice", None)
    if notice and warn is not None:
        warn(notice)
    return Service(server.url, sandbox=True)


# The names of 0.x, when a service was called a backend; kept so that code written against them
# goes on working.
Backend = Service
resolve_backend = resolve_service
