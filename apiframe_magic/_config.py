"""Where the API key and base URL come from, and how a key is shown to people.

Both are read when a client is made, never at import: a notebook may set ``APIFRAME_API_KEY``
after ``%load_ext``.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from ._exceptions import ConfigurationError

__all__ = ["API_KEY_ENV", "BASE_URL_ENV", "DEFAULT_BASE_URL", "mask_key", "resolve_api_key",
           "resolve_base_url"]

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
