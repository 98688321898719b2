"""Which service a notebook talks to: the real API when a key is set, else the embedded sandbox."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from ._aio import run_sync
from ._config import mask_key, resolve_api_key, resolve_base_url

if TYPE_CHECKING:
    from ._client import AsyncApiframeClient

__all__ = ["Backend", "resolve_backend", "uses_sandbox"]

T = TypeVar("T")


@dataclass(frozen=True)
class Backend:
    """A base URL and the key to use there. ``repr`` shows the masked key only."""

    base_url: str
    api_key: str = field(repr=False)
    sandbox: bool

    @property
    def masked_key(self) -> str:
        return mask_key(self.api_key)

    @property
    def name(self) -> str:
        """How results record where they came from: ``"sandbox"`` or the API's base URL."""
        return "sandbox" if self.sandbox else self.base_url

    @property
    def label(self) -> str:
        return f"offline sandbox at {self.base_url}" if self.sandbox else self.base_url

    def client(self, **options: Any) -> AsyncApiframeClient:
        """A client for this backend. The local sandbox is polled faster than the service's
        documented 2 to 5 s, since a poll there costs nothing and its jobs are short."""
        from ._client import AsyncApiframeClient

        if self.sandbox:
            options = {"poll_interval": 0.5, "max_poll_interval": 1.0, **options}
        return AsyncApiframeClient(self.api_key, self.base_url, **options)

    def call(self, use: Callable[[AsyncApiframeClient], Awaitable[T]]) -> T:
        """Open a client, run ``use(client)`` to completion from synchronous code, close it."""

        async def run() -> T:
            async with self.client() as client:
                return await use(client)

        return run_sync(run())


def uses_sandbox() -> bool:
    """Whether :func:`resolve_backend` would pick the sandbox (no key set), without starting it."""
    return resolve_api_key() is None


def resolve_backend() -> Backend:
    """``$APIFRAME_API_KEY`` (with ``$APIFRAME_BASE_URL``) when set; otherwise start, or reuse,
    the embedded sandbox in this process and use its key."""
    key = resolve_api_key()
    if key is not None:
        return Backend(resolve_base_url(), key, sandbox=False)
    from .sandbox import SANDBOX_API_KEY, embedded_sandbox

    return Backend(embedded_sandbox().url, SANDBOX_API_KEY, sandbox=True)
