"""Ctrl-C on a long shell sweep: how long from the interrupt to the exit, and how many lines it
printed, for a 10,000-line file against a sandbox in its own process (as the real service would
be). Target: within 2 s, with one summary line. Prints a table; asserts nothing.

    python benchmarks/bench_cli_interrupt.py
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _table import table  # benchmarks/_table.py: run as a script, this folder is on the path

from apiframe_magic.sandbox import SandboxServer

LINES = 10_000
RUNS = 3
KEY = "afk_bench_interrupt"


def one_run(server: SandboxServer, folder: Path) -> tuple[float, int, int]:
    (folder / "sweep.txt").write_text("\n".join(f"sweep prompt {n}" for n in range(LINES)) + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("APIFRAME_")}
    env.update(APIFRAME_BASE_URL=server.url, APIFRAME_API_KEY=KEY)
    process = subprocess.Popen(
        [sys.executable, "-m", "apiframe_magic", "batch", "sweep.txt", "--length", "5s",
         "--concurrency", "8"],
        cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    time.sleep(4.0)  # well into the sweep: jobs running, thousands waiting
    pressed = time.monotonic()
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    took = time.monotonic() - pressed
    summaries = sum(line.startswith("interrupted:") for line in stderr.splitlines())
    return took, len(stderr.splitlines()), summaries


def main() -> None:
    took: list[float] = []
    lines: list[int] = []
    summaries: list[int] = []
    with SandboxServer(job_seconds=2.0, credits=10_000_000, max_concurrent_jobs=8) as server:
        for _ in range(RUNS):
            with tempfile.TemporaryDirectory() as folder:
                t, n, s = one_run(server, Path(folder))
            took.append(t)
            lines.append(n)
            summaries.append(s)
    table(
        f"Ctrl-C on a {LINES:,}-line sweep, {RUNS} runs (target: exit within 2 s, one summary)",
        ["", "median", "max"],
        [
            ["interrupt to exit (s)", f"{statistics.median(took):.2f}", f"{max(took):.2f}"],
            ["lines on stderr", f"{statistics.median(lines):.0f}", f"{max(lines)}"],
            ["summary lines", f"{statistics.median(summaries):.0f}", f"{max(summaries)}"],
        ],
    )


if __name__ == "__main__":
    main()
