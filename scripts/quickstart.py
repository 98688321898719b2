#!/usr/bin/env python3
"""Run notebooks/quickstart.ipynb top to bottom in a real kernel, against the offline sandbox.

    python scripts/quickstart.py                  # run in notebooks/, outputs in notebooks/apiframe_outputs/
    python scripts/quickstart.py --output-dir DIR # run with DIR as the kernel's working directory

The kernel gets no ``APIFRAME_API_KEY`` (nor ``APIFRAME_BASE_URL``), so the ``%%music`` magic uses
its embedded sandbox: no account, no network, no credits. The executed copy of the notebook is
saved as ``apiframe_outputs/quickstart.executed.ipynb`` in the working directory, and the audio the
notebook played is listed with its size: a file made by this run, or on a later run the one the
job ledger answered with (no new job, 0 credits), which is success too. If a cell fails, or no
audio was played, the script exits with status 1 and a one-line reason.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = REPO_ROOT / "notebooks" / "quickstart.ipynb"
OUTPUTS = "apiframe_outputs"
EXECUTED_NAME = "quickstart.executed.ipynb"
AUDIO_SUFFIXES = (".mp3", ".wav")


def kernel_env(job_seconds: float | None) -> dict[str, str]:
    """This process's environment without the API key, with this checkout importable."""
    env = dict(os.environ)
    env.pop("APIFRAME_API_KEY", None)
    env.pop("APIFRAME_BASE_URL", None)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p
    )
    if job_seconds is not None:
        env["APIFRAME_SANDBOX_JOB_SECONDS"] = str(job_seconds)
    return env


def human_size(size: int) -> str:
    for unit in ("B", "KB", "MB"):
        if size < 1024 or unit == "MB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024  # type: ignore[assignment]
    return f"{size} B"


def fail(message: str) -> int:
    print(f"quickstart: {' '.join(message.split())}", file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--output-dir",
        type=Path,
        default=NOTEBOOK.parent,
        help="the kernel's working directory; audio goes to its apiframe_outputs/ "
        "(default: the notebooks folder)",
    )
    parser.add_argument("--notebook", type=Path, default=NOTEBOOK, help=argparse.SUPPRESS)
    parser.add_argument(
        "--job-seconds",
        type=float,
        default=None,
        help="how long each sandbox job takes (default: the sandbox's own, 3 s)",
    )
    parser.add_argument("--timeout", type=int, default=300, help="seconds allowed per cell")
    args = parser.parse_args(argv)

    try:
        import nbformat
        from nbclient import NotebookClient
        from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
    except ImportError as err:
        return fail(f"{err.name} is missing: pip install 'apiframe-magic[notebook]'")

    workdir = args.output_dir.resolve()
    outputs = workdir / OUTPUTS
    outputs.mkdir(parents=True, exist_ok=True)
    started = time.time()

    nb = nbformat.read(str(args.notebook), as_version=4)
    client = NotebookClient(
        nb,
        timeout=args.timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(workdir)}},
        # Every widget a run makes is closed when it ends; a saved notebook needs none of their state.
        store_widget_state=False,
    )
    print(f"running {args.notebook.name} in a python3 kernel (offline sandbox, cwd {workdir}) ...")
    error: str | None = None
    # The kernel's own stderr (start-up warnings) goes to a log, so a failure reads as one line.
    kernel_log = outputs / "quickstart.kernel.log"
    try:
        with kernel_log.open("wb") as log:
            client.execute(env=kernel_env(args.job_seconds), stderr=log)
    except CellExecutionError as err:
        error = f"a cell failed: {err.ename}: {err.evalue}"
    except CellTimeoutError:
        error = f"a cell ran longer than {args.timeout} s"
    except DeadKernelError as err:
        error = f"the kernel died: {err} (kernel log: {kernel_log})"
    except Exception as err:  # the kernel could not start, and the like
        error = f"{type(err).__name__}: {err} (kernel log: {kernel_log})"
    finally:
        executed = outputs / EXECUTED_NAME
        nbformat.write(nb, str(executed))

    print(f"executed notebook: {executed} ({human_size(executed.stat().st_size)})")
    played = played_audio(nb, outputs)
    if played:
        print("audio the notebook played:")
        for path in played:
            again = "  (from the job ledger: made by an earlier run, 0 credits)" \
                if path.stat().st_mtime < started - 1 else ""
            print(f"  {path}  {human_size(path.stat().st_size)}{again}")
    if error:
        return fail(error)
    if not played:
        return fail(f"the notebook ran but played no audio file from {outputs}")
    return 0


def played_audio(nb: Any, outputs: Path) -> list[Path]:
    """The audio files in ``outputs`` that the executed notebook's outputs name: the track it
    made, or the one the job ledger answered with on a later run (so a second run succeeds).
    The ledger's own files (``.apiframe-ledger.sqlite3`` and its ``-wal``/``-shm``) are not
    audio and never listed."""
    shown = []
    for cell in nb.cells:
        for output in cell.get("outputs", ()):
            shown.append(str(output.get("text", "")))
            shown.extend(str(v) for v in output.get("data", {}).values())
    text = "\n".join(shown)
    return sorted(
        path for path in outputs.iterdir()
        if path.is_file() and path.suffix in AUDIO_SUFFIXES and path.name in text
    )


if __name__ == "__main__":
    sys.exit(main())
