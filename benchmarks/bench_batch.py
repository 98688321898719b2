"""Many prompts at once: the wall time of N prompts run as one batch against one prompt, on
sandbox jobs of realistic duration, with every track measured (loudness, peak, clipping, tempo,
key) and without. Measuring runs off the jobs' critical path, on every core: the target is 64
prompts of 30 s within 1.2x one, measurements included. Prints a table; asserts nothing.

    python benchmarks/bench_batch.py
"""

from __future__ import annotations

import asyncio
import tempfile
import time

from _table import table  # benchmarks/_table.py: run as a script, this folder is on the path

from apiframe_magic import AsyncApiframeClient, expand, run_batch
from apiframe_magic.sandbox import SANDBOX_API_KEY, SandboxServer

JOB_SECONDS = 15.0  # the service takes 30 s to 2 min; long enough to show overlap
LENGTH = "30s"



async def wall(n: int, measure: bool) -> tuple[float, int]:
    with SandboxServer(job_seconds=JOB_SECONDS, credits=100_000, max_concurrent_jobs=64) as server, \
            tempfile.TemporaryDirectory() as out:
        async with AsyncApiframeClient(SANDBOX_API_KEY, server.url) as client:
            items = expand([f"prompt number {i}" for i in range(n)], lengths=LENGTH)
            started = time.monotonic()
            batch = await run_batch(client, items, output_dir=out, measure=measure)
            took = time.monotonic() - started
        gets = sum(1 for r in server.recorded_requests() if r.method == "GET" and r.origin == "api")
        assert len(batch.results) == n
        return took, gets


async def main() -> None:
    rows = []
    for measure in (True, False):
        one, one_gets = await wall(1, measure)
        rows.append(["on" if measure else "off", "1", f"{one:.1f}", "1.00", str(one_gets)])
        for n in (16, 64):
            took, gets = await wall(n, measure)
            rows.append(["on" if measure else "off", str(n), f"{took:.1f}", f"{took / one:.2f}",
                         f"{gets / n:.1f}"])
    table(f"N prompts of {LENGTH} in one batch, sandbox jobs of {JOB_SECONDS:.0f} s "
          "(target: 64 within 1.2x one, measuring on)",
          ["measuring", "prompts", "wall (s)", "x one prompt", "GETs per job"], rows)


if __name__ == "__main__":
    asyncio.run(main())
