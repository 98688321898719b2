"""How long the stop button takes to end a %%music cell, measured in a real kernel.

Starts an ipykernel on the embedded sandbox with long jobs, runs a %%music cell (one job, then a
batch of 8), presses stop (SIGINT via interrupt_kernel) once a job is processing, and times the
interval until the kernel reports idle. Target: 0.5 s. Prints a table; asserts nothing.

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


def main() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("APIFRAME_")}
    env["APIFRAME_SANDBOX_JOB_SECONDS"] = "60"
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    manager, client = start_new_kernel(kernel_name="python3", cwd=tempfile.mkdtemp(), env=env)
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


if __name__ == "__main__":
    main()
