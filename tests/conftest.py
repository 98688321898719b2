"""Shared fixtures: a real sandbox server on loopback, and a canary API key that must never leak."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

# A key that looks real; tests grep every output, file and exception text for it.
CANARY_KEY = "afk_canary_4f1d2c9e8b7a6d5c4b3a2f1e0d9c8b7a"


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:  # noqa: F821
    """A fresh sandbox server with short jobs, on ephemeral loopback ports."""
    from apiframe_magic.sandbox import SandboxServer

    with SandboxServer(job_seconds=0.6) as server:
        yield server


@pytest.fixture
def canary_key() -> str:
    return CANARY_KEY
