"""A batch cell keeps its kernel reported busy, in a real ipykernel driven with jupyter_client.

JupyterLab and Notebook 7 send a ``create_subshell_request`` on the control channel the first
time a widget's comm opens in a kernel (so during a batch cell, whose grid is widgets); the kernel
answers it with ``busy`` and ``idle`` statuses of its own, and a front end shows the last status
it heard. Here the request is sent as they send it, while the cell runs, and what the kernel
publishes is read as a front end reads it: the last status before the cell's own ``idle`` must be
``busy``, for the cell.
"""

from __future__ import annotations

import os
import queue
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

jupyter_client = pytest.importorskip("jupyter_client")
from jupyter_client.blocking.client import BlockingKernelClient  # noqa: E402
from jupyter_client.manager import KernelManager, start_new_kernel  # noqa: E402

pytestmark = [pytest.mark.slow]

CELL = "%%music --each-line --length 5s --concurrency 1 --out b\na calm tune\na bright tune\n"


@pytest.fixture
def kernel(tmp_path: Path) -> Iterator[tuple[KernelManager, BlockingKernelClient]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("APIFRAME_")}
    env["APIFRAME_SANDBOX_JOB_SECONDS"] = "1"
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    manager, client = start_new_kernel(kernel_name="python3", cwd=str(tmp_path), env=env)
    try:
        yield manager, client
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def statuses_of(client: BlockingKernelClient, code: str, *, poke_when: str | None) -> list[tuple[str, str]]:
    """Run ``code``; each status the kernel publishes until the cell's idle, as ``(state, the
    request's type)``. Once an iopub message's content holds ``poke_when``, a subshell is
    requested on the control channel, as a front end does when a widget's comm opens."""
    msg_id = client.execute(code)
    seen: list[tuple[str, str]] = []
    poked = poke_when is None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            msg: dict[str, Any] = client.get_iopub_msg(timeout=0.2)
        except queue.Empty:
            continue
        parent = msg["parent_header"]
        if msg["msg_type"] == "status":
            state = msg["content"]["execution_state"]
            seen.append((state, "cell" if parent.get("msg_id") == msg_id else parent.get("msg_type", "?")))
            if state == "idle" and parent.get("msg_id") == msg_id:
                return seen
        elif not poked and poke_when in str(msg["content"]):
            client.control_channel.send(client.session.msg("create_subshell_request", {}))
            poked = True
    raise TimeoutError(f"no idle status for {code!r}: {seen}")


def test_the_kernel_stays_busy_while_a_batch_cell_runs(
    kernel: tuple[KernelManager, BlockingKernelClient],
) -> None:
    _, client = kernel
    assert statuses_of(client, "%load_ext apiframe_magic", poke_when=None)[-1] == ("idle", "cell")
    seen = statuses_of(client, CELL, poke_when="apiframe-batch-card")
    assert ("idle", "create_subshell_request") in seen, f"the front end's request was not answered: {seen}"
    # What a front end shows just before the cell ends: the last status before the cell's idle.
    assert seen[-2] == ("busy", "cell"), seen
    after_foreign = [seen[i + 1] for i, s in enumerate(seen[:-1]) if s[0] == "idle" and s[1] != "cell"]
    assert after_foreign and all(s == ("busy", "cell") for s in after_foreign), seen
