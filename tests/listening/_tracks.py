"""Real sandbox tracks for the listening tests: one batch run over HTTP through a ledger."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from apiframe_magic.client import AsyncApiframeClient
from apiframe_magic.jobs import Batch, expand, run_batch
from apiframe_magic.ledger import Ledger
from apiframe_magic.sandbox import SandboxServer
from tests.conftest import CANARY_KEY


def make_tracks(folder: Path, prompts: Sequence[str]) -> tuple[Batch, Path]:
    """A 5-second sandbox track per prompt, made by a batch into ``folder`` through a ledger
    there, and that ledger's path."""
    ledger_path = folder / "ledger.sqlite3"
    with SandboxServer(job_seconds=0.2) as server, Ledger.open(ledger_path) as ledger:

        async def make() -> Batch:
            async with AsyncApiframeClient(CANARY_KEY, server.url, poll_interval=0.05,
                                           max_poll_interval=0.2) as client:
                return await run_batch(client, expand(list(prompts), lengths="5s"), backend="sandbox",
                                       output_dir=folder, ledger=ledger)

        batch = asyncio.run(make())
    assert len(batch.results) == len(prompts)
    return batch, ledger_path
