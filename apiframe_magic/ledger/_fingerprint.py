"""The cache key of a request, and the ``Idempotency-Key`` derived from it.

Two requests with the same fingerprint ask for the same music: same service and account, same
model, the same prompt up to whitespace and Unicode normalisation, the same params, the same take.
A re-run of a cell with the same fingerprint is answered from the ledger instead of paying again;
a new take is asked for deliberately, with another ``take`` number.

The ``Idempotency-Key`` is derived from the fingerprint rather than drawn at random, so a re-run
within the service's 24 h replay window is recognised by the server even when the ledger was lost,
and since the key follows from the body, reusing a key with another body (a 409) cannot happen.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Mapping
from typing import Any

# One rule for "the same prompt", shared with the expansion of batches; re-exported from here.
from ..catalog import normalize_prompt

__all__ = ["FINGERPRINT_VERSION", "fingerprint", "idempotency_key", "normalize_prompt"]

# Part of the hashed document: bump it when the canonical form changes, so that old ledger rows
# stop matching instead of matching the wrong request.
FINGERPRINT_VERSION = 1

_KEY_PREFIX = "afm-"


def fingerprint(
    *,
    account: str | None = None,
    model: str,
    prompt: str,
    params: Mapping[str, Any],
    take: int,
    backend: str | None = None,
) -> str:
    """The SHA-256 (hex) of a canonical JSON document of what makes a request ask for some music.

    ``account`` names who answers and whose account pays: ``"sandbox"``, or the API base URL with
    the account's id, as the caller builds it; a sandbox job never answers a request for the real
    service, nor the reverse (``backend`` is its deprecated name, for one release). ``params``
    are the model's params (key order does not matter; nested mappings are sorted too); webhooks
    are not params and are not given here, since where notifications go does not change the
    music. ``take`` numbers the variations of one request, from 1.

    Raises :class:`ValueError` for an empty account or model, or a take that is not a positive
    integer, and :class:`TypeError` for params that are not JSON values.
    """
    if backend is not None:
        warnings.warn(
            "fingerprint(backend=...) is deprecated: the argument is now account=",
            DeprecationWarning, stacklevel=2,
        )
        if account is not None and account != backend:
            raise TypeError(f"fingerprint got both account={account!r} and backend={backend!r}")
        account = backend
    if not account or not model:
        raise ValueError("fingerprint needs an account identity and a model")
    if isinstance(take, bool) or not isinstance(take, int) or take < 1:
        raise ValueError(f"take must be a positive integer, not {take!r}")
    document = {
        "v": FINGERPRINT_VERSION,
        # Still "backend": renaming a key of the hashed document would change every fingerprint,
        # and no ledger would answer a re-run any more.
        "backend": account,
        "model": model,
        "prompt": normalize_prompt(prompt),
        "params": dict(params),
        "take": take,
    }
    canonical = json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def idempotency_key(fp: str, attempt: int = 0) -> str:
    """The ``Idempotency-Key`` for the request with fingerprint ``fp``: ``"afm-"`` and 40 hex
    digits (44 ASCII characters, well under the 255 allowed).

    The same request always gets the same key, so the server replays it for 24 h. ``attempt``
    gives a different key for a deliberate new submission of the same request, for instance after
    a failed job, whose replay would only return the failure again: attempt 0 is the plain key,
    attempt ``n`` appends ``-n``.
    """
    if len(fp) < 40 or not fp.isascii():
        raise ValueError(f"not a fingerprint: {fp!r}")
    if isinstance(attempt, bool) or not isinstance(attempt, int) or attempt < 0:
        raise ValueError(f"attempt must be a non-negative integer, not {attempt!r}")
    return _KEY_PREFIX + fp[:40] + (f"-{attempt}" if attempt else "")
