"""Shared fixtures: a real sandbox server on loopback, and a canary API key that must never leak.

The tests mirror the package's folders (``tests/jobs`` tests ``apiframe_magic/jobs``, ...);
``tests/integration`` holds the end-to-end runs in real kernels, notebooks, browsers, terminals
and a built wheel. Those, the shell batch's subprocess runs (``tests/cli``) and any test marked
``slow`` are skipped by ``make test-fast``, the edit loop; ``make test`` runs everything."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

# Folders whose every test runs real processes (kernels, subprocesses, browsers, builds).
SLOW_FOLDERS = ("integration", "cli")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test of :data:`SLOW_FOLDERS` ``slow``."""
    for item in items:
        if any(f"/tests/{folder}/" in str(item.path).replace("\\", "/") for folder in SLOW_FOLDERS):
            item.add_marker(pytest.mark.slow)

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
