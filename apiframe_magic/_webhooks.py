"""Webhook signatures, as Apiframe computes them.

The secret is the raw 32-byte SHA-256 digest of the API key; the signature is the hex
HMAC-SHA256 of the raw request body under that secret. The ``X-Webhook-Signature`` header
carries it as ``sha256=<hex>`` or as bare ``<hex>``.
"""

from __future__ import annotations

import hashlib
import hmac

from ._public import public

__all__ = ["sign_webhook", "verify_webhook_signature"]


@public
def sign_webhook(api_key: str, body: bytes) -> str:
    """The hex signature of ``body`` for the account that owns ``api_key``."""
    secret = hashlib.sha256(api_key.encode()).digest()
    return hmac.new(secret, body, hashlib.sha256).hexdigest()


@public
def verify_webhook_signature(api_key: str, body: bytes, header: str | None) -> bool:
    """Whether ``header`` (``sha256=<hex>`` or ``<hex>``) signs ``body``; compared in constant time."""
    if not header:
        return False
    given = header.strip()
    if given.lower().startswith("sha256="):
        given = given[len("sha256="):]
    return hmac.compare_digest(given.lower(), sign_webhook(api_key, body))
