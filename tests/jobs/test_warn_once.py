"""A ledger that cannot be written (locked by another process) is said once per run, not once
per job, and the jobs go on without it."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from apiframe_magic import AsyncApiframeClient
from apiframe_magic.jobs import RunContext, expand, run_batch
from apiframe_magic.ledger import Ledger
from apiframe_magic.sandbox import SandboxServer


def test_a_locked_ledger_warns_once_per_run(sandbox: SandboxServer, tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    Ledger.open(path).close()
    ledger = Ledger.open(path, timeout=0.2)
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")  # another process holds the write lock for the whole run
    heard: list[str] = []
    try:
        async def main() -> None:
            async with AsyncApiframeClient("afk_warn_once", sandbox.url) as client:
                context = RunContext(output_dir=tmp_path, ledger=ledger, measure=False, warn=heard.append)
                await run_batch(client, expand([f"tune {n}" for n in range(4)], lengths="5s"), context)

        asyncio.run(main())
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
        ledger.close()
    assert len(heard) == 1, heard
    assert "ledger" in heard[0]
    assert len(list(tmp_path.glob("tune-*.mp3"))) == 4, "the jobs went on without the ledger"
