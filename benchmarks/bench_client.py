"""Benchmarks of the client side: import cost, polling economy, and many jobs at once.

Prints tables; asserts nothing. Everything runs against the sandbox on loopback.

    python benchmarks/bench_client.py
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _table import table  # benchmarks/_table.py: run as a script, this folder is on the path

from apiframe_magic import AsyncApiframeClient, MusicRequest
from apiframe_magic.sandbox import SANDBOX_API_KEY, SandboxServer


def import_cost() -> None:
    """Median wall time of a fresh interpreter doing each import, less a bare interpreter."""
    snippets = {
        "python (baseline)": "pass",
        "import apiframe_magic": "import apiframe_magic",
        "IPython + %load_ext apiframe_magic": (
            "from IPython.core.interactiveshell import InteractiveShell as S;"
            "S.instance().run_line_magic('load_ext', 'apiframe_magic')"
        ),
        "IPython alone": "from IPython.core.interactiveshell import InteractiveShell as S; S.instance()",
        "import httpx (for scale)": "import httpx",
    }
    times: dict[str, float] = {}
    for name, code in snippets.items():
        runs = []
        for _ in range(5):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True)
            runs.append(time.perf_counter() - start)
        times[name] = statistics.median(runs)
    base = times["python (baseline)"]
    rows = [[name, f"{(t - base) * 1000:.0f}"] for name, t in times.items() if name != "python (baseline)"]
    table("Import cost (median of 5 fresh interpreters, ms over a bare interpreter)", ["what", "ms"], rows)


# Each prints the CPU seconds of one step, in a fresh interpreter (IPython itself is not counted).
_CPU_OF_HTTPX = "import time; t = time.process_time(); import httpx; print(time.process_time() - t)"
_CPU_OF_LOAD_EXT = (
    "import time; from IPython.core.interactiveshell import InteractiveShell as S; shell = S.instance();"
    "t = time.process_time(); shell.run_line_magic('load_ext', 'apiframe_magic');"
    "print(time.process_time() - t)"
)


def load_ext_cpu(runs: int = 7) -> None:
    """CPU time of ``%load_ext apiframe_magic`` in a fresh InteractiveShell against ``import httpx``
    in a fresh interpreter (medians); the extension imports the job machinery only when a cell
    runs, so the target is at most 1.5x. ``python -X importtime`` says where the time goes."""
    def median_cpu(code: str) -> float:
        return statistics.median(
            float(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                                 text=True).stdout)
            for _ in range(runs)
        )

    httpx_cpu, load_cpu = median_cpu(_CPU_OF_HTTPX), median_cpu(_CPU_OF_LOAD_EXT)
    rows = [["import httpx", f"{httpx_cpu * 1000:.0f}", "1.00", ""],
            ["%load_ext apiframe_magic (fresh InteractiveShell)", f"{load_cpu * 1000:.0f}",
             f"{load_cpu / httpx_cpu:.2f}", "1.5"]]
    table(f"Import CPU time (median of {runs} fresh interpreters)", ["what", "CPU ms", "x httpx", "target"],
          rows)


async def polling_economy() -> None:
    """How many GETs one wait costs, for jobs of different durations, with the default policy."""
    rows = []
    for seconds in (3, 10, 30):
        with SandboxServer(job_seconds=seconds) as server:
            async with AsyncApiframeClient(SANDBOX_API_KEY, server.url) as client:
                job = await client.submit(MusicRequest("polling", music_length_ms=5000))
                start = time.monotonic()
                await client.wait(job.job_id)
                waited = time.monotonic() - start
            polls = [r for r in server.recorded_requests() if r.method == "GET" and "/v2/jobs/" in r.path]
            lag = waited - seconds
        rows.append([f"{seconds}", str(len(polls)), f"{waited:.1f}", f"{lag:.1f}"])
    table(
        "Polling economy (2 s growing x1.5 to 5 s): GETs per job",
        ["job seconds", "GETs", "waited s", "seen after done s"],
        rows,
    )


async def concurrency() -> None:
    """Wall time for N jobs submitted and awaited together through one client."""
    rows = []
    for n in (1, 10, 50):
        with SandboxServer(job_seconds=3, credits=10_000, max_concurrent_jobs=100) as server:
            async with AsyncApiframeClient(SANDBOX_API_KEY, server.url) as client:
                start = time.monotonic()

                async def one(i: int) -> None:
                    job = await client.submit(MusicRequest(f"prompt {i}", music_length_ms=5000))
                    done = await client.wait(job.job_id)
                    assert done.audio_url
                    await client.download(done.audio_url, Path(server_files(server)) / f"{i}.mp3")

                await asyncio.gather(*(one(i) for i in range(n)))
                wall = time.monotonic() - start
        rows.append([str(n), f"{wall:.1f}", f"{wall / n:.2f}"])
    table("Concurrent jobs (3 s each, submit + wait + download)", ["jobs", "wall s", "s per job"], rows)


def _silence(prompt: str, *, length_ms: int, output_format: str,
             force_instrumental: bool = False) -> bytes:
    """Instant audio, so the burst measures connections and polling, not the synthesiser."""
    return b"ID3\x04" + bytes(4096)


async def burst() -> None:
    """16 jobs submitted at once, against one job, with the sandbox's listen backlog and with
    the stdlib's default of 5 (with which the burst of connects waited ~1 s for SYN retries)."""
    from apiframe_magic.sandbox import _server

    rows = []
    default = _server._HTTPServer.request_queue_size
    for backlog in (5, default):
        _server._HTTPServer.request_queue_size = backlog
        walls: dict[int, float] = {}
        try:
            for n in (1, 16):
                with SandboxServer(job_seconds=2, credits=10_000, renderer=_silence,
                                   max_concurrent_jobs=100) as server:
                    async with AsyncApiframeClient(SANDBOX_API_KEY, server.url, poll_interval=0.1,
                                                   max_poll_interval=0.1) as client:
                        start = time.monotonic()

                        async def one(i: int) -> None:
                            job = await client.submit(MusicRequest(f"burst {i}", music_length_ms=5000))
                            await client.wait(job.job_id)

                        await asyncio.gather(*(one(i) for i in range(n)))
                        walls[n] = time.monotonic() - start
        finally:
            _server._HTTPServer.request_queue_size = default
        rows += [[str(backlog), str(n), f"{w:.2f}", f"{w / walls[1]:.2f}"] for n, w in walls.items()]
    table("Burst of submits (2 s jobs, instant audio, submit + wait)",
          ["listen backlog", "jobs", "wall s", "x one job"], rows)


def server_files(server: SandboxServer) -> str:
    import tempfile

    return tempfile.mkdtemp(prefix="bench-")


def main() -> None:
    import_cost()
    load_ext_cpu()
    asyncio.run(polling_economy())
    asyncio.run(concurrency())
    asyncio.run(burst())


if __name__ == "__main__":
    main()
