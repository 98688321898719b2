"""What a %%music cell costs where it runs, in a real kernel: the stop button, and a re-run.

Stop: starts an ipykernel on the embedded sandbox with long jobs, runs a %%music cell (one job,
then a batch of 8), presses stop (SIGINT via interrupt_kernel) once a job is processing, and times
the interval until the kernel reports idle. Target: 0.5 s.

Re-run: in a kernel with short jobs, runs a cell once, then runs it again: the job ledger answers,
so the re-run must send no request (counted by the embedded sandbox, inside the kernel) and take
at most 50 ms from execute to idle (the widget progress view holds no green bar for it).

Prints tables; asserts nothing.

    python benchmarks/bench_kernel.py
"""

from __future__ import annotations

import os
import queue
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _table import table  # benchmarks/_table.py: run as a script, this folder is on the path
from jupyter_client.manager import start_new_kernel

RUNS = 5
RERUN_CELL = "%%music --length 5s --out track\na re-run answered by the job ledger, benchmark\n"
COUNT_REQUESTS = (
    "from apiframe_magic.sandbox import embedded_sandbox\n"
    "print(len(embedded_sandbox().recorded_requests()))"
)


def stop_latency(manager: Any, client: Any, code: str) -> float:
    """Run ``code``, press stop once a message says a job is processing, and return the seconds
    from the press to the kernel's idle status."""
    msg_id = client.execute(code)
    pressed: float | None = None
    while True:
        try:
            msg = client.get_iopub_msg(timeout=0.05)
        except queue.Empty:
            continue
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if pressed is None and "processing" in str(msg["content"]).lower():
            manager.interrupt_kernel()
            pressed = time.monotonic()
        state = msg["content"].get("execution_state") if msg["msg_type"] == "status" else None
        if state == "idle":
            assert pressed is not None
            return time.monotonic() - pressed


def kernel_env(job_seconds: int) -> dict[str, str]:
    """No Apiframe key (the embedded sandbox), jobs of ``job_seconds``, this venv's Python."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("APIFRAME_")}
    env["APIFRAME_SANDBOX_JOB_SECONDS"] = str(job_seconds)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def run_timed(client: Any, code: str) -> tuple[float, str]:
    """Run ``code``; the seconds from execute to idle, and what it printed."""
    printed: list[str] = []

    def keep(msg: dict[str, Any]) -> None:
        if msg["msg_type"] == "stream":
            printed.append(msg["content"]["text"])

    start = time.monotonic()
    client.execute_interactive(code, timeout=120, output_hook=keep)
    return time.monotonic() - start, "".join(printed)


def rerun_from_ledger() -> list[tuple[object, ...]]:
    """A cell run once, then re-run RUNS times: each re-run's time and the requests it sent."""
    manager, client = start_new_kernel(kernel_name="python3", cwd=tempfile.mkdtemp(), env=kernel_env(1))
    try:
        client.execute_interactive("%load_ext apiframe_magic", timeout=60)
        first, _ = run_timed(client, RERUN_CELL)
        times, requests = [], []
        for _ in range(RUNS):
            before = int(run_timed(client, COUNT_REQUESTS)[1])
            seconds, _ = run_timed(client, RERUN_CELL)
            requests.append(int(run_timed(client, COUNT_REQUESTS)[1]) - before)
            times.append(seconds)
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    return [("first run (a 1 s sandbox job)", 1, f"{first * 1000:.0f}", "", ""),
            ("re-run, answered by the ledger", RUNS, f"{statistics.median(times) * 1000:.0f}",
             f"{max(times) * 1000:.0f}", f"{max(requests)}")]


def main() -> None:
    manager, client = start_new_kernel(kernel_name="python3", cwd=tempfile.mkdtemp(), env=kernel_env(60))
    rows = []
    try:
        client.execute_interactive("%load_ext apiframe_magic", timeout=60)
        for label, cell in (
            ("one job", "%%music --length 5s\nslow ambient strings, run {run}\n"),
            ("a batch of 8 jobs", "%%music --each-line --length 5s\n"
             + "".join(f"stopped batch {{run}}, take {i}, slow strings\n" for i in range(8))),
        ):
            latencies = [stop_latency(manager, client, cell.format(run=run)) for run in range(RUNS)]
            rows.append((label, RUNS, f"{statistics.median(latencies) * 1000:.0f}",
                         f"{max(latencies) * 1000:.0f}", "500"))
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    table("Stop button: interrupt_kernel -> cell idle (ms; red status, resume line printed)",
          ("cell", "runs", "median", "max", "target"), rows)
    table("Re-running a cell in a kernel: execute -> idle (ms; target 50 ms and 0 requests)",
          ("cell", "runs", "median ms", "max ms", "requests"), rerun_from_ledger())


if __name__ == "__main__":
    main()
