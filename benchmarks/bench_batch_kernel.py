"""A batch in a real kernel: is the kernel responsive while a grid fills in, and how fast does
stop end a batch cell?

1. **Responsiveness.** A ``%%music --each-line --no-wait`` cell of 64 prompts returns at once and
   its grid keeps filling in on a background thread. Meanwhile a trivial cell (``1 + 1``) is run
   every 0.25 s; each one's latency (execute request -> execute reply) is measured until the
   batch has finished. Target: every trivial cell answered within 100 ms.
2. **Stop.** A ``%%music --each-line`` cell of 8 prompts is stopped (SIGINT, as the stop button
   sends) once its jobs are processing; the latency is stop -> the cell idle. Target: 0.5 s.

The service is a sandbox in a process of its own (``python -m apiframe_magic.sandbox``), as the
real service is remote: the kernel does what it does with the real API (submit, poll, download,
draw), not the sandbox's synthesis. The embedded sandbox's figure is printed as well, since
that is what a notebook with no key runs. Prints tables; asserts nothing.

    python benchmarks/bench_batch_kernel.py
"""

from __future__ import annotations

import os
import queue
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


def stop_latencies(env: dict[str, str]) -> list[float]:
    manager, client = start_kernel(env)
    latencies: list[float] = []
    try:
        for run in range(STOP_RUNS):
            prompts = "\n".join(f"stop run {run}, take {i}, slow strings" for i in range(8))
            msg_id = client.execute(f"%%music --each-line --length 5s\n{prompts}\n")
            pressed: float | None = None
            while True:
                try:
                    msg = client.get_iopub_msg(timeout=0.05)
                except queue.Empty:
                    continue
                if msg["parent_header"].get("msg_id") != msg_id:
                    continue
                if pressed is None and "processing" in str(msg["content"]):
                    manager.interrupt_kernel()
                    pressed = time.monotonic()
                state = msg["content"].get("execution_state") if msg["msg_type"] == "status" else None
                if state == "idle":
                    assert pressed is not None
                    latencies.append(time.monotonic() - pressed)
                    break
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    return latencies


def main() -> None:
    base = {k: v for k, v in os.environ.items() if not k.startswith("APIFRAME_")}
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "apiframe_magic.sandbox", "--port", str(port),
         "--job-seconds", str(JOB_SECONDS), "--max-concurrent-jobs", str(JOBS)],
        env=base, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
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
        stops = stop_latencies(remote)
        table(
            "Stop on a waiting batch cell of 8 jobs: interrupt -> cell idle (ms)",
            ("runs", "median", "max", "target"),
            [(len(stops), f"{statistics.median(stops) * 1000:.0f}", f"{max(stops) * 1000:.0f}", "500")],
        )
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
