"""The job ledger across real kernels: re-runs, a kernel killed mid-job, kernels sharing a ledger.

Every kernel here is a real ipykernel (nbclient for whole notebooks, jupyter_client for kernels
driven cell by cell or killed) talking real HTTP to one :class:`SandboxServer` started in the test
process, through ``APIFRAME_BASE_URL`` and a canary-like ``APIFRAME_API_KEY``. The server outlives
the kernels, so its request log shows what each kernel sent: a cell answered from the ledger
sends no ``POST``, a job resumed by a new kernel is never submitted again. The ledger is the
default one, ``apiframe_outputs/.apiframe-ledger.sqlite3`` under the kernels' shared cwd.
"""

from __future__ import annotations

import contextlib
import queue
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("nbclient")
pytest.importorskip("jupyter_client")

from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.manager import KernelManager, start_new_kernel

from apiframe_magic import history
from apiframe_magic.ledger import DEFAULT_LEDGER_NAME
from apiframe_magic.sandbox import SandboxServer
from tests.jupyter_harness import (
    CANARY_KEY,
    error_outputs,
    execute_notebook,
    isolated_env,
    leaked_secrets,
    write_notebook,
)

pytestmark = pytest.mark.notebook

# Short sandbox jobs: every job still polls more than once.
JOB_SECONDS = 0.5
# The job a kernel is killed in the middle of: long enough that the kernel is surely killed
# before it ends, short enough that resuming it costs the test only a few seconds.
SLOW_JOB_SECONDS = 6.0
# Bounds on every wait, so a broken kernel fails the test instead of hanging it.
CELL_TIMEOUT = 90.0

SUBMIT_PATH = "/v2/music/generate"
JOB_PATH = re.compile(r"^/v2/jobs/(?P<id>[^/]+)$")
# In a summary's HTML: ``job <code>ID</code> · <code>PATH</code>`` (one track).
SUMMARY_JOB_AND_PATH = re.compile(r"job <code>(?P<job>[^<]+)</code> · <code>(?P<path>[^<]+)</code>")


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    """A sandbox for this test alone, started here so it outlives every kernel of the test."""
    sandbox = SandboxServer(job_seconds=JOB_SECONDS).start()
    try:
        yield sandbox
    finally:
        sandbox.stop()


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """The cwd every kernel of a test shares (and so its default ledger)."""
    path = tmp_path / "work"
    path.mkdir()
    return path


@pytest.fixture
def kernel_env(tmp_path: Path, server: SandboxServer) -> dict[str, str]:
    """A kernel environment pointing at ``server`` with a real-looking key, and no ledger
    setting inherited from the test process (the default ledger, under the cwd, is used)."""
    env = isolated_env(
        tmp_path / "env",
        extra={"APIFRAME_BASE_URL": server.url, "APIFRAME_API_KEY": CANARY_KEY},
    )
    env.pop("APIFRAME_LEDGER", None)
    return env


def submits(server: SandboxServer) -> list[Any]:
    """Every music submit the server received so far."""
    return [r for r in server.recorded_requests()
            if r.origin == "api" and r.method == "POST" and r.path == SUBMIT_PATH]


def polled_job_ids(server: SandboxServer) -> list[str]:
    """The job ids polled so far, in order (repeats included)."""
    found = []
    for r in server.recorded_requests():
        match = JOB_PATH.match(r.path) if r.origin == "api" and r.method == "GET" else None
        if match:
            found.append(match["id"])
    return found


def ledger_path(workdir: Path) -> Path:
    return workdir / "apiframe_outputs" / DEFAULT_LEDGER_NAME


def text_of(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


# ------------------------------------------------------------------------------------------
# Kernels driven cell by cell
# ------------------------------------------------------------------------------------------


@dataclass
class Reply:
    """What one execute request produced on iopub, and its execute_reply status."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    status: str | None = None

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [m["content"] for m in self.messages if m["msg_type"] == kind]

    def stream(self, name: str) -> str:
        return "".join(c["text"] for c in self.of("stream") if c["name"] == name)

    @property
    def stdout(self) -> str:
        return self.stream("stdout")

    @property
    def stderr(self) -> str:
        return self.stream("stderr")

    @property
    def error(self) -> str | None:
        errors = self.of("error")
        return f"{errors[0]['ename']}: {errors[0]['evalue']}" if errors else None

    def shown(self) -> str:
        """Every text and HTML shown, display updates included."""
        parts = [self.stdout, self.stderr]
        for kind in ("display_data", "update_display_data", "execute_result"):
            for content in self.of(kind):
                data = content.get("data", {})
                parts += [text_of(data.get("text/plain", "")), text_of(data.get("text/html", ""))]
        return "\n".join(parts)


@dataclass
class Kernel:
    manager: KernelManager
    client: BlockingKernelClient

    def send(self, code: str) -> str:
        """Start executing ``code``; returns the request's id (see :meth:`collect`)."""
        return str(self.client.execute(code))

    def collect(self, msg_id: str, timeout: float = CELL_TIMEOUT) -> Reply:
        """Everything the request ``msg_id`` shows, up to the kernel's idle status."""
        reply, deadline = Reply(), time.monotonic() + timeout
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
        raise TimeoutError(f"the kernel did not finish a cell within {timeout} s")

    def run(self, code: str, timeout: float = CELL_TIMEOUT) -> Reply:
        return self.collect(self.send(code), timeout)

    def _reply_status(self, msg_id: str) -> str:
        while True:
            msg = self.client.get_shell_msg(timeout=10)
            if msg["parent_header"].get("msg_id") == msg_id:
                return str(msg["content"]["status"])


@contextlib.contextmanager
def kernel_in(workdir: Path, env: dict[str, str]) -> Iterator[Kernel]:
    """A python3 kernel with cwd ``workdir``, shut down (killed) however the test ends."""
    manager, client = start_new_kernel(kernel_name="python3", cwd=str(workdir), env=env)
    try:
        yield Kernel(manager, client)
    finally:
        client.stop_channels()
        if manager.is_alive():
            manager.shutdown_kernel(now=True)


def wait_for(condition: Any, what: str, timeout: float = CELL_TIMEOUT) -> None:
    """Poll ``condition()`` until it is true; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout} s")
        time.sleep(0.05)


# ------------------------------------------------------------------------------------------
# 1. A notebook run twice: the second run is answered from the ledger
# ------------------------------------------------------------------------------------------

PROMPTS = ("calm piano for studying", "an upbeat synthwave track with a driving bassline")


def summaries(nb: Any) -> list[dict[str, str]]:
    """Per ``%%music`` cell, its final summary: text, HTML, job id and audio path."""
    found = []
    for cell in nb.cells:
        if cell.cell_type != "code" or not cell.source.startswith("%%music"):
            continue
        for output in cell.outputs:
            data = output.get("data", {})
            html = text_of(data.get("text/html", ""))
            if "apiframe-music-summary" in html:
                match = SUMMARY_JOB_AND_PATH.search(html)
                assert match, html[:500]
                found.append({"text": text_of(data.get("text/plain", "")), "html": html,
                              "job": match["job"], "path": match["path"]})
    return found


def test_a_notebook_run_again_is_answered_from_the_ledger_without_a_post(
    server: SandboxServer, workdir: Path, kernel_env: dict[str, str]
) -> None:
    notebook = write_notebook(workdir / "twice.ipynb", [
        "%load_ext apiframe_magic",
        f"%%music --length 5s --out first\n{PROMPTS[0]}\n",
        f"%%music --length 5s --out second\n{PROMPTS[1]}\n",
        "print(first.from_ledger, first.credits, second.from_ledger, second.credits)",
    ])

    first_run = execute_notebook(notebook, workdir, kernel_env, timeout=int(CELL_TIMEOUT))
    assert error_outputs(first_run) == []
    assert len(submits(server)) == 2
    before = summaries(first_run)
    assert len(before) == 2
    assert not any("from the ledger" in s["text"] + s["html"] for s in before)

    server.clear_recorded_requests()
    second_run = execute_notebook(notebook, workdir, kernel_env, timeout=int(CELL_TIMEOUT))
    assert error_outputs(second_run) == []
    assert [r for r in server.recorded_requests() if r.method == "POST"] == [], "nothing is sent again"
    assert polled_job_ids(server) == [], "nor is a saved job polled"
    assert server.jobs_created == 2

    after = summaries(second_run)
    assert [(s["job"], s["path"]) for s in after] == [(s["job"], s["path"]) for s in before]
    for summary in after:
        assert "from the ledger" in summary["html"]
        assert summary["text"].startswith("✔ from the ledger, nothing sent (0 credits)")
        assert "<audio" in summary["html"]
        assert (workdir / summary["path"]).is_file()
    printed = text_of(second_run.cells[3].outputs[0]["text"]).split()
    assert printed == ["True", "0", "True", "0"]
    assert leaked_secrets([text_of(s["html"]) for s in after]) == []


# ------------------------------------------------------------------------------------------
# 2. A kernel killed in the middle of a job: a new kernel collects it, never submits it again
# ------------------------------------------------------------------------------------------


def test_a_job_of_a_killed_kernel_is_listed_and_resumed_by_a_new_kernel_without_a_post(
    server: SandboxServer, workdir: Path, kernel_env: dict[str, str]
) -> None:
    server.faults.inject("slow_job", seconds=SLOW_JOB_SECONDS)
    with kernel_in(workdir, kernel_env) as doomed:
        doomed.run("%load_ext apiframe_magic")
        doomed.send("%%music --length 5s\nslow ambient strings over a distant choir\n")
        wait_for(lambda: len(submits(server)) == 1, "the cell's POST")
        # The job id is written to the ledger as soon as the 202 arrives, before the first poll:
        # once the job is polled, the ledger knows it.
        wait_for(lambda: polled_job_ids(server), "the first poll of the job")
        job_id = polled_job_ids(server)[0]
        doomed.manager.shutdown_kernel(now=True)
        assert not doomed.manager.is_alive()
    outputs = workdir / "apiframe_outputs"
    assert not list(outputs.glob("*.mp3")), "the killed kernel must not have saved the job"

    with kernel_in(workdir, kernel_env) as fresh:
        reply = fresh.run("%load_ext apiframe_magic\n%music pending")
        assert reply.error is None, reply.error
        assert job_id in reply.shown()
        assert "slow ambient strings" in reply.shown()

        reply = fresh.run("%music resume")
        assert reply.error is None, f"{reply.error}\n{reply.stderr}"
        assert reply.stderr == ""

        reply = fresh.run("%music pending")
        assert reply.error is None and job_id not in reply.shown(), "a saved job is pending no more"

    assert len(submits(server)) == 1, "the job was resumed, never submitted again"
    assert server.jobs_created == 1
    (row,) = [r for r in as_rows(history(ledger=str(ledger_path(workdir)))) if r["job_id"] == job_id]
    assert row["status"] == "SAVED"
    saved = Path(row["file"]) if Path(row["file"]).is_absolute() else workdir / row["file"]
    assert list(outputs.glob("*.mp3")) == [saved], "saved once, where its cell would have saved it"
    assert saved.name.startswith("slow-ambient-strings") and saved.stat().st_size > 0
    sidecar = saved.with_name(saved.name + ".json")
    assert sidecar.is_file() and job_id in sidecar.read_text()


# ------------------------------------------------------------------------------------------
# 3. Two kernels, one ledger
# ------------------------------------------------------------------------------------------


def as_rows(found: Any) -> list[dict[str, Any]]:
    """``history()`` as a list of dicts, whether pandas is installed or not."""
    return found.to_dict("records") if hasattr(found, "to_dict") else list(found)


def test_two_kernels_at_once_share_one_ledger(
    server: SandboxServer, workdir: Path, kernel_env: dict[str, str]
) -> None:
    cells = {
        "a": "%%music --length 5s --out t\nlo-fi hip hop with warm vinyl crackle\n",
        "b": "%%music --length 5s --out t\na brass fanfare for a small parade\n",
    }
    with kernel_in(workdir, kernel_env) as a, kernel_in(workdir, kernel_env) as b:
        kernels = {"a": a, "b": b}
        for kernel in kernels.values():
            kernel.run("%load_ext apiframe_magic")
        # Both cells are sent before either is collected: the two jobs run at the same time.
        sent = {name: kernel.send(cells[name]) for name, kernel in kernels.items()}
        for name, kernel in kernels.items():
            reply = kernel.collect(sent[name])
            assert reply.error is None, f"kernel {name}: {reply.error}"
            assert reply.stderr == "", f"kernel {name}: {reply.stderr}"
        job_ids = {name: kernel.run("print(t.job_id)").stdout.strip() for name, kernel in kernels.items()}

        # Each kernel now sees the other's job: running the other's cell costs nothing.
        reply = a.run(cells["b"])
        assert reply.error is None, reply.error
        assert "from the ledger" in reply.shown()

    assert len(submits(server)) == 2
    assert len(set(job_ids.values())) == 2
    rows = as_rows(history(ledger=str(ledger_path(workdir))))
    by_job = {r["job_id"]: r for r in rows}
    assert set(by_job) == set(job_ids.values())
    assert {by_job[job_ids["a"]]["prompt"], by_job[job_ids["b"]]["prompt"]} == {
        "lo-fi hip hop with warm vinyl crackle", "a brass fanfare for a small parade",
    }
    assert {r["status"] for r in rows} == {"SAVED"}


# ------------------------------------------------------------------------------------------
# 4. A corrupt ledger file
# ------------------------------------------------------------------------------------------


def test_a_corrupt_ledger_is_kept_aside_and_the_cell_still_runs(
    server: SandboxServer, workdir: Path, kernel_env: dict[str, str]
) -> None:
    bad = ledger_path(workdir)
    bad.parent.mkdir(parents=True)
    garbage = b"this is not a SQLite database\x00\xff" * 200
    bad.write_bytes(garbage)

    with kernel_in(workdir, kernel_env) as kernel:
        kernel.run("%load_ext apiframe_magic")
        reply = kernel.run("%%music --length 5s --out t\nrainy day jazz trio\n")
        assert reply.error is None, reply.error
        warnings = [line for line in reply.stderr.splitlines() if line.strip()]
        assert len(warnings) == 1, reply.stderr
        assert "job ledger" in warnings[0]
        assert CANARY_KEY not in reply.shown()
        printed = kernel.run("print(t.path.is_file(), t.from_ledger)").stdout.split()
        assert printed == ["True", "False"]

    assert len(submits(server)) == 1, "without a ledger the cell is sent as usual"
    kept = list(bad.parent.glob(f"{DEFAULT_LEDGER_NAME}.corrupt-*"))
    assert [p.read_bytes() for p in kept if not p.name.endswith(("-wal", "-shm"))] == [garbage]
