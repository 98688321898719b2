"""Where the API key and base URL come from, and the one object that holds the key.

Both are read when a client is made, never at import: a notebook may set ``APIFRAME_API_KEY``
after ``%load_ext``. The key then lives only in an :class:`_APIKeyAuth`, which adds the
``X-API-Key`` header to requests to the API's own origin and shows itself masked.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Generator
from typing import Any
from urllib.parse import urlsplit

import httpx

from .._exceptions import ConfigurationError

__all__ = ["API_KEY_ENV", "BASE_URL_ENV", "DEFAULT_BASE_URL", "account_for_key", "account_of", "mask_key",
           "resolve_api_key", "resolve_base_url"]

API_KEY_ENV = "APIFRAME_API_KEY"


BASE_URL_ENV = "APIFRAME_BASE_URL"


DEFAULT_BASE_URL = "https://api.apiframe.ai"


def resolve_api_key(explicit: str | None = None) -> str | None:
    """The key given, else ``$APIFRAME_API_KEY``, else ``None``. Blank values count as unset."""
    key = explicit if explicit is not None else os.environ.get(API_KEY_ENV)
    key = key.strip() if key else None
    return key or None


def resolve_base_url(explicit: str | None = None) -> str:
    """The base URL given, else ``$APIFRAME_BASE_URL``, else the public API; no trailing slash."""
    url = (explicit or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL).strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError(f"base URL must be an http(s) URL, got {url!r}")
    return url


def mask_key(key: str | None) -> str:
    """A key as it may be shown: its ``afk_`` prefix and last four characters, never more."""
    if not key:
        return "(none)"
    if len(key) <= 12:
        return key[:4] + "…"
    return f"{key[:4]}…{key[-4:]}"


class _APIKeyAuth(httpx.Auth):
    """Adds ``X-API-Key`` to a request; the only holder of the key. Its repr is masked."""

    def __init__(self, key: str) -> None:
        self._key = key

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["X-API-Key"] = self._key
        yield request

    @property
    def masked(self) -> str:
        return mask_key(self._key)

    @property
    def account_hash(self) -> str:
        """A short SHA-256 of the key: tells accounts apart (in the job ledger) without the key."""
        return hashlib.sha256(self._key.encode()).hexdigest()[:16]

    def scrub(self, text: str) -> str:
        """``text`` with any copy of the key replaced by its masked form."""
        return text.replace(self._key, self.masked) if self._key in text else text

    def scrub_json(self, value: Any) -> Any:
        """Decoded JSON with every string (and object key) :meth:`scrub`-bed: a job's ``error``
        that repeats the key (a provider message) is kept and shown nowhere as it came."""
        if isinstance(value, str):
            return self.scrub(value)
        if isinstance(value, list):
            return [self.scrub_json(item) for item in value]
        if isinstance(value, dict):
            return {self.scrub(str(k)): self.scrub_json(v) for k, v in value.items()}
        return value

    def __repr__(self) -> str:
        return f"<APIKeyAuth {self.masked}>"


def account_of(base_url: str, auth: _APIKeyAuth | None) -> str:
    """A service and account, named without the key: ``<base URL>#<short hash of the key>``."""
    return f"{base_url}#{auth.account_hash}" if auth is not None else base_url


def account_for_key(base_url: str, key: str | None) -> str:
    """:func:`account_of` for a key given as text (``None``: the base URL alone)."""
    auth, _ = _auth_for(key)
    return account_of(base_url, auth)


_BAD_KEY = (
    "the Apiframe API key contains spaces or non-ASCII characters; "
    "check APIFRAME_API_KEY (keys look like afk_...)"
)


_NO_KEY = (
    "no Apiframe API key: set the APIFRAME_API_KEY environment variable (or pass api_key=...), "
    "or use ApiframeClient.sandbox() for the offline sandbox"
)


def _auth_for(key: str | None) -> tuple[_APIKeyAuth | None, bool]:
    """The auth object for ``key`` (``None`` when there is no key) and whether the key is usable.

    It does not raise, so that callers can drop the key from their frame before raising.
    """
    if key is None:
        return None, True
    # A key httpx cannot encode would surface as a UnicodeEncodeError carrying the whole key.
    if not (key.isascii() and key.isprintable() and " " not in key):
        return None, False
    return _APIKeyAuth(key), True
