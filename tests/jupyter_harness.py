"""Helpers shared by the notebook, terminal and browser tests.

Everything here drives real parts: kernels through nbclient, JupyterLab and Notebook 7 servers
on loopback, Debian's Chromium through Playwright. Each server and browser runs with its own
``HOME``, ``XDG_*`` and Jupyter directories, so nothing is read from or written to the real
home directory and no workspace is restored between runs.

The facts these helpers rely on (how Jupyter servers, kernels and a headless Chromium behave
on a bare Debian machine) are stated where each helper uses them.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
ARTIFACTS_DIR = REPO_ROOT / "test-artifacts"
SCREENSHOTS_DIR = REPO_ROOT / "docs" / "screenshots"
VENV_BIN = Path(sys.executable).parent
CHROMIUM = Path(os.environ.get("APIFRAME_TEST_CHROMIUM", "/usr/bin/chromium"))

# The key the embedded sandbox uses (its X-API-Key value); like any key it must never be shown.
try:
    from apiframe_magic.sandbox import SANDBOX_API_KEY as SANDBOX_KEY_MARKER
except ImportError:  # the package is broken or absent: the tests that need it will say so
    SANDBOX_KEY_MARKER = "afk_sandbox"
# A key that looks real (same value as tests/conftest.py's CANARY_KEY).
CANARY_KEY = "afk_canary_4f1d2c9e8b7a6d5c4b3a2f1e0d9c8b7a"
FORBIDDEN_STRINGS = (SANDBOX_KEY_MARKER, CANARY_KEY)

NOTEBOOK_NAMES = ("quickstart.ipynb", "compare_prompts.ipynb", "classroom.ipynb", "extend_and_split.ipynb")

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


# --------------------------------------------------------------------------------------------
# Environments
# --------------------------------------------------------------------------------------------


def isolated_env(
    base: Path,
    *,
    job_seconds: float | None = None,
    extra: Mapping[str, str] | None = None,
    keep_api_key: bool = False,
) -> dict[str, str]:
    """An environment for a kernel, server or ``ipython`` with its own home and Jupyter dirs.

    ``APIFRAME_API_KEY`` and ``APIFRAME_BASE_URL`` are removed (so the magic uses its embedded
    sandbox) unless ``keep_api_key`` or ``extra`` sets them again. The repository root goes
    first on ``PYTHONPATH`` so kernels import this checkout of ``apiframe_magic``.
    """
    base = Path(base)
    dirs = {
        "HOME": base / "home",
        "XDG_CONFIG_HOME": base / "xdg-config",
        "XDG_DATA_HOME": base / "xdg-data",
        "XDG_CACHE_HOME": base / "xdg-cache",
        "XDG_RUNTIME_DIR": base / "xdg-runtime",
        "JUPYTER_CONFIG_DIR": base / "jupyter-config",
        "JUPYTER_RUNTIME_DIR": base / "jupyter-runtime",
        "JUPYTERLAB_SETTINGS_DIR": base / "lab-settings",
        "JUPYTERLAB_WORKSPACES_DIR": base / "lab-workspaces",
        "IPYTHONDIR": base / "ipython",
        "MPLCONFIGDIR": base / "mpl",
    }
    env = dict(os.environ)
    if not keep_api_key:
        env.pop("APIFRAME_API_KEY", None)
        env.pop("APIFRAME_BASE_URL", None)
    for name, path in dirs.items():
        path.mkdir(parents=True, exist_ok=True)
        env[name] = str(path)
    (dirs["XDG_RUNTIME_DIR"]).chmod(0o700)
    pythonpath = [str(REPO_ROOT)]
    if env.get("PYTHONPATH"):
        pythonpath.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(pythonpath)
    env["PATH"] = os.pathsep.join([str(VENV_BIN), env.get("PATH", "")])
    env["PYTHONUNBUFFERED"] = "1"
    env["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    if job_seconds is not None:
        env["APIFRAME_SANDBOX_JOB_SECONDS"] = str(job_seconds)
    if extra:
        env.update(extra)
    return env


def write_lab_config(env: Mapping[str, str]) -> None:
    """Quiet JupyterLab: no news toast, no windowing (every cell stays in the DOM)."""
    config_dir = Path(env["JUPYTER_CONFIG_DIR"]) / "labconfig"
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "page_config.json").write_text(
        json.dumps({"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}})
    )
    settings = Path(env["JUPYTERLAB_SETTINGS_DIR"])
    tracker = settings / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings"
    tracker.parent.mkdir(parents=True, exist_ok=True)
    tracker.write_text(json.dumps({"windowingMode": "none"}))
    shortcuts = settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    shortcuts.parent.mkdir(parents=True, exist_ok=True)
    shortcuts.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def artifacts_dir(name: str) -> Path:
    path = ARTIFACTS_DIR / name
    path.mkdir(parents=True, exist_ok=True)
    return path


# --------------------------------------------------------------------------------------------
# Jupyter servers (JupyterLab and Notebook 7)
# --------------------------------------------------------------------------------------------


@dataclass
class JupyterServer:
    """A ``jupyter lab`` or ``jupyter notebook`` server on loopback with its own directories."""

    kind: str  # "lab" or "notebook"
    root_dir: Path
    env: dict[str, str]
    log_path: Path
    port: int = field(default_factory=free_port)
    token: str = field(default_factory=lambda: secrets.token_hex(16))
    process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def notebook_url(self, name: str) -> str:
        if self.kind == "lab":
            return f"{self.base_url}/lab/tree/{name}?reset&token={self.token}"
        return f"{self.base_url}/notebooks/{name}?token={self.token}"

    def command(self) -> list[str]:
        app = "LabApp" if self.kind == "lab" else "JupyterNotebookApp"
        cmd = [
            str(VENV_BIN / "jupyter"),
            self.kind,
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={self.port}",
            "--port-retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root_dir}",
            f"--{app}.extension_manager=readonly",
            f"--{app}.news_url=None",
            f"--{app}.check_for_updates_class="
            "jupyterlab.handlers.announcements.NeverCheckForUpdate",
        ]
        if os.geteuid() == 0:
            cmd.append("--allow-root")
        return cmd

    def start(self, timeout: float = 90.0) -> JupyterServer:
        write_lab_config(self.env)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            self.command(),
            cwd=self.root_dir,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: kernels die with it
        )
        log.close()
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"jupyter {self.kind} exited with {self.process.returncode}:\n"
                    + self.log_path.read_text(errors="replace")[-3000:]
                )
            try:
                status, _ = self.api("GET", "/api/status", timeout=2)
                if status == 200:
                    return self
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"jupyter {self.kind} not ready after {timeout:.0f} s")
            time.sleep(0.25)

    def api(self, method: str, path: str, timeout: float = 10) -> tuple[int, Any]:
        request = urllib.request.Request(
            self.base_url + path,
            method=method,
            headers={"Authorization": f"token {self.token}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                body = response.read()
                return response.status, json.loads(body) if body else None
        except urllib.error.HTTPError as err:
            return err.code, None

    def shutdown_kernels(self) -> None:
        """Delete every session and kernel through the REST API (kernels outlive browsers)."""
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(Exception):
            _, sessions = self.api("GET", "/api/sessions")
            for session in sessions or []:
                self.api("DELETE", f"/api/sessions/{session['id']}")
        with contextlib.suppress(Exception):
            _, kernels = self.api("GET", "/api/kernels")
            for kernel in kernels or []:
                self.api("DELETE", f"/api/kernels/{kernel['id']}")

    def stop(self) -> None:
        if self.process is None:
            return
        self.shutdown_kernels()
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        # Anything the server left in its group (a kernel that ignored SIGTERM).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process = None

    def __enter__(self) -> JupyterServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def jupyter_server(
    kind: str, root_dir: Path, base: Path, *, job_seconds: float, log_path: Path
) -> Iterator[JupyterServer]:
    env = isolated_env(base, job_seconds=job_seconds)
    server = JupyterServer(kind=kind, root_dir=root_dir, env=env, log_path=log_path)
    try:
        server.start()
        yield server
    finally:
        server.stop()


# --------------------------------------------------------------------------------------------
# Chromium through Playwright
# --------------------------------------------------------------------------------------------


def launch_chromium(playwright: Any, profile_dir: Path, **kwargs: Any) -> Any:
    """A persistent Chromium context on Debian's binary (Playwright's own cannot be fetched)."""
    return playwright.chromium.launch_persistent_context(
        str(profile_dir),
        executable_path=str(CHROMIUM),
        headless=True,
        args=CHROMIUM_ARGS,
        viewport={"width": 1280, "height": 900},
        **kwargs,
    )


# --------------------------------------------------------------------------------------------
# Headless execution with nbclient
# --------------------------------------------------------------------------------------------


def execute_notebook(
    source: Path,
    workdir: Path,
    env: Mapping[str, str],
    *,
    timeout: int = 180,
    allow_errors: bool = False,
) -> Any:
    """Execute ``source`` in a real python3 kernel whose cwd is ``workdir``; return the notebook.

    The kernel gets exactly ``env``. Cell errors raise ``nbclient.exceptions.CellExecutionError``
    unless ``allow_errors``.
    """
    import nbformat

    nb = nbformat.read(str(source), as_version=4)
    client = lab_like_client_class()(
        nb,
        timeout=timeout,
        kernel_name="python3",
        allow_errors=allow_errors,
        resources={"metadata": {"path": str(workdir)}},
    )
    client.execute(env=dict(env))
    return nb


def lab_like_client_class() -> Any:
    """An ``nbclient.NotebookClient`` that saves widget state as JupyterLab does.

    nbclient keeps the state of every widget model it ever saw, closed or not. JupyterLab's
    widget manager forgets a model when its comm closes and saves only live ones; this client
    does the same, so a saved notebook's widget state is what a user's save would hold.
    """
    from nbclient import NotebookClient

    class LabLikeNotebookClient(NotebookClient):
        def handle_comm_msg(self, outs: list[Any], msg: dict[str, Any], cell_index: int) -> None:
            super().handle_comm_msg(outs, msg, cell_index)
            if msg["msg_type"] == "comm_close":
                comm_id = msg["content"]["comm_id"]
                self.widget_state.pop(comm_id, None)
                self.widget_buffers.pop(comm_id, None)
                self.comm_objects.pop(comm_id, None)

    return LabLikeNotebookClient


def copy_notebook(name: str, dest_dir: Path) -> Path:
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / name
    shutil.copyfile(NOTEBOOKS_DIR / name, dest)
    return dest


def iter_outputs(nb: Any) -> Iterator[tuple[int, dict[str, Any]]]:
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            for output in cell.get("outputs", []):
                yield index, output


def error_outputs(nb: Any) -> list[str]:
    """Every error output, and every stderr stream that looks like a traceback or error."""
    problems = []
    for index, output in iter_outputs(nb):
        if output.get("output_type") == "error":
            problems.append(f"cell {index}: {output.get('ename')}: {output.get('evalue')}")
        elif output.get("output_type") == "stream" and output.get("name") == "stderr":
            text = "".join(output.get("text", ""))
            if re.search(r"Traceback|Error|Exception", text):
                problems.append(f"cell {index} stderr: {text[:500]}")
    return problems


def html_outputs(nb: Any) -> list[tuple[int, str]]:
    found = []
    for index, output in iter_outputs(nb):
        data = output.get("data", {})
        if "text/html" in data:
            html = data["text/html"]
            found.append((index, "".join(html) if isinstance(html, list) else html))
    return found


BATCH_OPTIONS = ("--each-line", "--prompts", "--takes")


# The line forms of a Suno action (``%music stems song``), which generate like a ``%%music`` cell.
ACTION_LINES = ("%music extend ", "%music cover ", "%music stems ")
ACTION_OPTIONS = ("--extend", "--cover", "--add-vocals", "--stems")


def generating_cells(nb: Any) -> list[int]:
    """Indexes of the ``%%music`` cells, and of the action lines (``%music stems song``), that
    generate (not ``--dry-run``, not ``?``), single jobs and batches alike."""
    indexes = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        first = cell.source.lstrip().splitlines()[0] if cell.source.strip() else ""
        generates = first.startswith("%%music") or first.startswith(ACTION_LINES)
        if generates and "--dry-run" not in first and "?" not in first:
            indexes.append(index)
    return indexes


def action_cells(nb: Any) -> list[int]:
    """The generating cells that run a Suno action on a track (extend, cover, vocals, stems)."""
    def first(index: int) -> str:
        return str(nb.cells[index].source.lstrip().splitlines()[0])

    return [i for i in generating_cells(nb)
            if first(i).startswith(ACTION_LINES) or any(o in first(i).split() for o in ACTION_OPTIONS)]


def batch_cells(nb: Any) -> list[int]:
    """The generating cells that run a batch (several jobs in a grid)."""
    return [i for i in generating_cells(nb)
            if any(option in nb.cells[i].source.splitlines()[0] for option in BATCH_OPTIONS)]


def music_cells(nb: Any) -> list[int]:
    """The generating cells of a single job (one summary, one player per track)."""
    batches = set(batch_cells(nb))
    return [i for i in generating_cells(nb) if i not in batches]


def batch_grid(nb: Any, index: int) -> str:
    """The final, static grid of the batch cell ``index`` (its last grid output)."""
    grids = [h for i, h in html_outputs(nb) if i == index and "apiframe-batch" in h]
    assert grids, f"cell {index}: no grid"
    return grids[-1]


def leaked_secrets(texts: Iterable[str], extra: Iterable[str] = ()) -> list[str]:
    """Which forbidden strings (sandbox key, canary key, ``extra``) appear in any of ``texts``."""
    needles = [*FORBIDDEN_STRINGS, *extra]
    hits = set()
    for text in texts:
        for needle in needles:
            if needle and needle in text:
                hits.add(needle)
    return sorted(hits)


def files_text(paths: Iterable[Path]) -> Iterator[str]:
    """The text of files, binary ones decoded as latin-1 so byte strings can be searched."""
    for path in paths:
        if path.is_file():
            yield path.read_bytes().decode("latin-1")


def tempdir(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix))


def write_notebook(dest: Path, sources: Iterable[str]) -> Path:
    """A notebook (nbformat 4.5) of code cells without outputs, with python3 kernelspec
    metadata so no front end asks which kernel to start."""
    cells: list[dict[str, Any]] = [
        {"cell_type": "code", "id": f"cell-{index}", "metadata": {}, "execution_count": None,
         "outputs": [], "source": source}
        for index, source in enumerate(sources)
    ]
    nb = {
        "cells": cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python",
                           "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(json.dumps(nb, indent=1) + "\n", encoding="utf-8")
    return dest
