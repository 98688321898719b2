"""How long the stop button takes to end a %%music cell, measured in a real kernel.

Starts an ipykernel on the embedded sandbox with long jobs, runs a %%music cell, presses stop
(SIGINT via interrupt_kernel) once the job is PROCESSING, and times the interval until the
kernel reports idle. Prints a table; asserts nothing.

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

from jupyter_client.manager import start_new_kernel

RUNS = 5


def main() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("APIFRAME_")}
    env["APIFRAME_SANDBOX_JOB_SECONDS"] = "60"
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    manager, client = start_new_kernel(kernel_name="python3", cwd=tempfile.mkdtemp(), env=env)
    latencies: list[float] = []
    try:
        client.execute_interactive("%load_ext apiframe_magic", timeout=60)
        for _ in range(RUNS):
            msg_id = client.execute("%%music --length 5s\nslow ambient strings\n")
            pressed: float | None = None
            while True:
                try:
                    msg = client.get_iopub_msg(timeout=0.05)
                except queue.Empty:
                    continue
                if msg["parent_header"].get("msg_id") != msg_id:
                    continue
                if pressed is None and "PROCESSING" in str(msg["content"]):
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

    print("\nStop button: interrupt_kernel -> cell idle (red status, resume line printed)")
    print("runs  median ms  max ms")
    print("----  ---------  ------")
    print(f"{RUNS:<4}  {statistics.median(latencies) * 1000:<9.0f}  {max(latencies) * 1000:.0f}")


if __name__ == "__main__":
    main()
