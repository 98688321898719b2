"""%%music in a real ipykernel: the widget path, the event loop, and the stop button.

Driven with jupyter_client as a front end would: execute requests, iopub messages back, and
``interrupt_kernel`` (SIGINT) for the stop button. The kernel uses the embedded sandbox (no key).
"""

from __future__ import annotations

import json
import os
import queue
import re
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

jupyter_client = pytest.importorskip("jupyter_client")
from jupyter_client.blocking.client import BlockingKernelClient  # noqa: E402
from jupyter_client.manager import KernelManager, start_new_kernel  # noqa: E402


@dataclass
class Reply:
    """What one execute request produced on iopub."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    status: str | None = None  # of the execute_reply: "ok", "error" or "aborted"

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [m["content"] for m in self.messages if m["msg_type"] == kind]

    @property
    def stdout(self) -> str:
        return "".join(c["text"] for c in self.of("stream") if c["name"] == "stdout")

    @property
    def stderr(self) -> str:
        return "".join(c["text"] for c in self.of("stream") if c["name"] == "stderr")

    @property
    def shown_error(self) -> list[str]:
        """The error output's traceback lines as a front end shows them (colours removed)."""
        error = self.error
        if error is None:
            return []
        return ANSI.sub("", "\n".join(error["traceback"])).splitlines()

    @property
    def error(self) -> dict[str, Any] | None:
        errors = self.of("error")
        return errors[0] if errors else None


@dataclass
class Kernel:
    manager: KernelManager
    client: BlockingKernelClient

    def run(self, code: str, *, interrupt_when: str | None = None, timeout: float = 60) -> Reply:
        """Execute ``code``; if ``interrupt_when`` is given, press stop once a message contains it."""
        msg_id = self.client.execute(code)
        reply, deadline, interrupted = Reply(), time.monotonic() + timeout, False
        while time.monotonic() < deadline:
            try:
                msg = self.client.get_iopub_msg(timeout=0.2)
            except queue.Empty:
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                reply.status = self._reply_status(msg_id)
                return reply
            reply.messages.append(msg)
            if interrupt_when and not interrupted and interrupt_when in str(msg["content"]):
                self.manager.interrupt_kernel()
                interrupted = True
        raise TimeoutError(f"no idle status within {timeout} s for {code!r}")

    def _reply_status(self, msg_id: str) -> str:
        while True:
            msg = self.client.get_shell_msg(timeout=10)
            if msg["parent_header"].get("msg_id") == msg_id:
                return str(msg["content"]["status"])


ANSI = re.compile(r"\x1b\[[0-9;]*m")
# What an interrupted cell must not show: the traceback through the event loop.
NOISE = re.compile(r"Traceback|CancelledError|KeyboardInterrupt|Task was destroyed|never retrieved")


@pytest.fixture(scope="module")
def kernel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kernel]:
    cwd = tmp_path_factory.mktemp("kernel")
    env = {k: v for k, v in os.environ.items() if not k.startswith("APIFRAME_")}
    env["APIFRAME_SANDBOX_JOB_SECONDS"] = "3"
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    manager, client = start_new_kernel(kernel_name="python3", cwd=str(cwd), env=env)
    try:
        yield Kernel(manager, client)
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def test_nest_asyncio_is_applied_only_when_needed_and_await_keeps_working(kernel: Kernel) -> None:
    reply = kernel.run("import sys\n%load_ext apiframe_magic\nprint('nest_asyncio' in sys.modules)")
    assert reply.stdout.strip() == "False", "loading the extension must not patch the event loop"

    reply = kernel.run("%%music --length 5s --out t\ncalm piano\n")
    assert reply.error is None
    widgets = [c for c in reply.of("display_data") if "application/vnd.jupyter.widget-view+json" in c["data"]]
    assert widgets, "a kernel with ipywidgets shows the progress widget"
    progress = [c for c in reply.of("comm_msg") if "value" in c["data"].get("state", {})]
    assert progress, "the bar's value was never updated"
    updates = reply.of("update_display_data")
    assert updates and 'class="apiframe-music-summary"' in updates[-1]["data"]["text/html"]
    assert "<audio" in updates[-1]["data"]["text/html"]

    reply = kernel.run(
        "import asyncio\nawait asyncio.sleep(0.05)\n"
        "patched = getattr(asyncio, '_nest_patched', False)\n"
        "print(type(t).__name__, round(t.duration), patched)"
    )
    assert reply.error is None
    assert reply.stdout.split() == ["MusicResult", "5", "True"]


def test_stop_button_ends_polling_keeps_the_job_and_resume_collects_it(kernel: Kernel) -> None:
    kernel.run("%load_ext apiframe_magic")
    reply = kernel.run("%%music --length 5s --out t\nslow ambient strings\n", interrupt_when="PROCESSING")
    assert reply.status == "error", "an interrupted cell fails, so Run All stops there"
    final = reply.of("update_display_data")[-1]["data"]
    assert "interrupted" in final["text/plain"]
    assert "#c62828" in final["text/html"]  # the bar turned red
    job_id = final["text/plain"].split("job ")[1].split()[0]
    # The only text is the resume line: no traceback, no CancelledError, nothing on stderr.
    assert reply.shown_error == [
        f"Interrupted: job {job_id} keeps running on the server. "
        f"Collect it with: %music resume {job_id} --out t"
    ]
    assert reply.of("stream") == []
    assert not NOISE.search(reply.error["ename"] + str(reply.error["traceback"]))  # type: ignore[index]

    # Nothing is logged later either (a pending or failed task is reported when collected).
    reply = kernel.run("import gc, time\ngc.collect(); time.sleep(0.3); gc.collect()")
    assert reply.error is None and reply.stderr == ""

    reply = kernel.run(f"print(repr(t))\n%music resume {job_id} --out done\nprint(done.job_id, done.prompt)")
    assert reply.error is None, reply.error
    assert reply.stderr == ""
    assert f"<MusicJob {job_id}" in reply.stdout
    assert f"{job_id} slow ambient strings" in reply.stdout


def test_stop_button_with_show_traceback_shows_the_real_traceback(kernel: Kernel) -> None:
    kernel.run("%load_ext apiframe_magic\n%config MusicMagics.show_traceback = True")
    try:
        # Another prompt than the test above: its interrupted job is in the ledger, and the same
        # cell would collect it rather than submit.
        reply = kernel.run("%%music --length 5s\nslow ambient strings, traceback please\n",
                           interrupt_when="PROCESSING")
    finally:
        kernel.run("%config MusicMagics.show_traceback = False")
    assert reply.status == "error"
    assert reply.error is not None and reply.error["ename"] == "KeyboardInterrupt"
    assert any("Traceback" in line for line in reply.shown_error)
    assert "Interrupted: job " in reply.stdout and "%music resume " in reply.stdout


def test_views_close_every_widget_model_and_a_titled_failure_is_not_red(kernel: Kernel) -> None:
    """Item 9: every model a view opens (bar, label, box, their Layout and style models) is
    closed when it ends, so no widget state is saved. And ``failed(title=...)`` is neutral."""
    reply = kernel.run(
        "from apiframe_magic.display import WidgetProgress\n"
        "view = WidgetProgress('calm piano', 0)\n"
        "view.failed('job j1 still running after 5 s.', title='still running')\n"
        "print(view.hold_seconds)"
    )
    assert reply.error is None, reply.error
    opened = {c["comm_id"] for c in reply.of("comm_open")}
    closed = {c["comm_id"] for c in reply.of("comm_close")}
    assert len(opened) == 8, "IntProgress, HTML, HBox and five Layout/style models"
    assert opened == closed
    final = reply.of("update_display_data")[-1]["data"]
    assert final["text/plain"] == "⏳ still running: job j1 still running after 5 s."
    assert "still running" in final["text/html"]
    assert "#c62828" not in final["text/html"] and "failed" not in final["text/html"]
    assert reply.stdout.strip() == "0.5", "in a kernel the green bar is held before the summary"


def test_stop_button_on_a_batch_keeps_every_job_id_and_resume_collects_them(kernel: Kernel) -> None:
    """Issue 10: stop ends a batch cell's waits, keeps every job id (in VAR and in the ledger)
    with one resume line, and ``%music resume`` collects the jobs with no new submission."""
    kernel.run("%load_ext apiframe_magic")
    prompts = ["stopped batch, harp", "stopped batch, cello", "stopped batch, oboe"]
    reply = kernel.run("%%music --each-line --length 5s --out b\n" + "\n".join(prompts) + "\n",
                       interrupt_when="processing")
    assert reply.status == "error", "an interrupted batch fails, so Run All stops there"
    (line,) = reply.shown_error
    assert re.fullmatch(
        r"Interrupted: stopped: [0-2] of 3 saved, [1-3] still running on the server"
        r"(, [1-2] not submitted \(nothing charged\))?; collect the [1-3] still running "
        r"\(b\.job_ids lists them\) by running this cell again, or with %music resume "
        r"\(nothing is paid twice\)",
        line,
    ), line
    assert reply.of("stream") == [] and not NOISE.search(str(reply.error))
    grid = reply.of("update_display_data")[-1]["data"]["text/html"]
    assert "stopped" in grid and "<audio" not in grid

    reply = kernel.run(
        "import json\n"
        "from apiframe_magic import history\n"
        "rows = history(limit=None)\n"
        "pending = list(rows.loc[~rows.status.isin(['SAVED', 'FAILED', 'CANCELLED']), 'job_id'])\n"
        "print(json.dumps({'kept': b.job_ids, 'statuses': [e.status for e in b.entries],"
        " 'pending': pending}))"
    )
    assert reply.error is None, reply.error
    state = json.loads(reply.stdout)
    assert state["kept"] and set(state["kept"]) <= set(state["pending"])
    assert set(state["statuses"]) == {"stopped"}

    reply = kernel.run("%music resume")
    assert reply.error is None, reply.error
    shown = str(reply.messages)
    assert all(job_id in shown for job_id in state["kept"])
    reply = kernel.run(
        "rows = history(limit=None)\n"
        "saved = set(rows.loc[rows.status == 'SAVED', 'job_id'])\n"
        f"print(set({state['kept']!r}) <= saved, (rows.prompt.isin({prompts!r})).sum())"
    )
    assert reply.error is None, reply.error
    # Saved, and each prompt is in the ledger once: nothing was submitted again.
    assert reply.stdout.split() == ["True", str(len(state["kept"]))]
