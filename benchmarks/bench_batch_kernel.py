"""Is the kernel responsive while a batch's grid fills in?

A ``%%music --each-line --no-wait`` cell of 64 prompts returns at once and its grid keeps filling
in on a background thread (submitting, polling, downloading, measuring each track, drawing).
Meanwhile a trivial cell (``1 + 1``) is run every 0.25 s; each one's latency (execute request ->
execute reply) is measured until the batch has finished. Target: every trivial cell answered
within 100 ms. (How fast stop ends a batch cell is in ``bench_kernel.py``.)

The service is a sandbox in a process of its own (``python -m apiframe_magic.sandbox``, at the
lowest CPU priority), as the real service is remote: the kernel does what it does with the real
API (submit, poll, download, measure, draw), not the sandbox's synthesis. The embedded sandbox's
figure is printed as well, since that is what a notebook with no key runs: there the kernel's
process also composes all 64 tracks. Prints a table; asserts nothing.

    python benchmarks/bench_batch_kernel.py
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path
from typing import Any

from _table import table  # benchmarks/_table.py: run as a script, this folder is on the path
from jupyter_client.manager import start_new_kernel

JOBS = 64
JOB_SECONDS = 20
STOP_RUNS = 3


def free_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_kernel(env: dict[str, str]) -> tuple[Any, Any]:
    env = {**env, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"}
    manager, client = start_new_kernel(kernel_name="python3", cwd=tempfile.mkdtemp(), env=env)
    client.execute_interactive("%load_ext apiframe_magic", timeout=60)
    return manager, client


def collect_into(texts: list[str]) -> Any:
    """An output hook that keeps the text of stream messages."""
    return lambda msg: texts.append(msg["content"].get("text", ""))


def trivial_latencies(client: Any, until: str) -> list[float]:
    """Run ``1 + 1`` every 0.25 s until the expression ``until`` is true in the kernel."""
    latencies: list[float] = []
    while True:
        started = time.monotonic()
        client.execute_interactive("1 + 1", timeout=60, output_hook=lambda msg: None)
        latencies.append(time.monotonic() - started)
        state: list[str] = []
        client.execute_interactive(f"print({until})", timeout=60, output_hook=collect_into(state))
        if "True" in "".join(state):
            return latencies
        time.sleep(0.25)


def responsiveness(env: dict[str, str]) -> tuple[list[float], float]:
    manager, client = start_kernel(env)
    try:
        prompts = "\n".join(f"responsiveness take {i}, warm synth pad" for i in range(JOBS))
        started = time.monotonic()
        client.execute_interactive(
            f"%%music --each-line --no-wait --length 5s --concurrency {JOBS} --out b\n{prompts}\n",
            timeout=60, output_hook=lambda msg: None,
        )
        latencies = trivial_latencies(client, "b.done")
        return latencies, time.monotonic() - started
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def main() -> None:
    base = {k: v for k, v in os.environ.items() if not k.startswith("APIFRAME_")}
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "apiframe_magic.sandbox", "--port", str(port),
         "--job-seconds", str(JOB_SECONDS), "--max-concurrent-jobs", str(JOBS)],
        env=base, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        # The real service composes on its own machines: here its synthesis yields the CPU to
        # the kernel being measured.
        preexec_fn=(lambda: os.nice(19)) if hasattr(os, "nice") else None,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with closing(socket.socket()) as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        remote = {**base, "APIFRAME_API_KEY": "afk_bench_responsiveness",
                  "APIFRAME_BASE_URL": f"http://127.0.0.1:{port}"}
        rows = []
        for name, env in (
            ("sandbox in its own process", remote),
            ("embedded sandbox (no key)", {**base, "APIFRAME_SANDBOX_JOB_SECONDS": str(JOB_SECONDS)}),
        ):
            latencies, wall = responsiveness(env)
            ms = sorted(x * 1000 for x in latencies)
            rows.append((name, JOBS, f"{wall:.0f} s", len(ms), f"{statistics.median(ms):.0f}",
                         f"{ms[int(0.95 * (len(ms) - 1))]:.0f}", f"{ms[-1]:.0f}", "100"))
        table(
            f"A trivial cell while a --no-wait grid of {JOBS} jobs ({JOB_SECONDS} s each) fills in (ms)",
            ("service", "jobs", "batch wall", "cells", "median", "p95", "max", "target"),
            rows,
        )
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
