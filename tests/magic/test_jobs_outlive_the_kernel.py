"""A job left on the embedded sandbox by one kernel (``--no-wait``, a stop) is collected by the
next: two processes, each a real InteractiveShell with the extension, no API key."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # two processes per test

SHELL = """
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
shell.run_line_magic("load_ext", "apiframe_magic")
def cell(text):
    result = shell.run_cell(text)
    result.raise_error()
"""


def in_a_new_kernel(tmp_path: Path, code: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("APIFRAME_")}
    env["APIFRAME_SANDBOX_JOB_SECONDS"] = "2"
    script = SHELL + textwrap.dedent(code)
    return subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)


def test_a_no_wait_job_is_collected_by_the_next_kernel(tmp_path: Path) -> None:
    first = in_a_new_kernel(tmp_path, """
        cell("%%music --length 5s --no-wait --out job\\na harp left running\\n")
        print("JOB", shell.user_ns["job"].job_id)
    """)
    assert first.returncode == 0, first.stderr
    job_id = next(line.split()[1] for line in first.stdout.splitlines() if line.startswith("JOB "))

    second = in_a_new_kernel(tmp_path, """
        cell("%music pending")
        cell("%music resume")
        cell("%%music --length 5s --out t\\na harp left running\\n")
        print("SAVED", shell.user_ns["t"].job_id, shell.user_ns["t"].from_ledger)
    """)
    assert second.returncode == 0, second.stderr
    assert "404" not in second.stdout + second.stderr
    assert job_id in second.stdout  # listed as pending, then collected
    assert f"SAVED {job_id} True" in second.stdout, second.stdout
    assert list((tmp_path / "apiframe_outputs").glob("a-harp-left-running-*.mp3"))


def test_resume_by_id_in_a_new_kernel(tmp_path: Path) -> None:
    first = in_a_new_kernel(tmp_path, """
        cell("%%music --length 5s --no-wait --out job\\nan oboe left running\\n")
        print("JOB", shell.user_ns["job"].job_id)
    """)
    job_id = next(line.split()[1] for line in first.stdout.splitlines() if line.startswith("JOB "))
    second = in_a_new_kernel(tmp_path, f"""
        cell("%music resume {job_id} --out t")
        print("SAVED", shell.user_ns["t"].path.exists())
    """)
    assert second.returncode == 0, second.stderr
    assert "SAVED True" in second.stdout
