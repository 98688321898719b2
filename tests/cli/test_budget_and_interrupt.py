"""The shell batch's budget and interrupts, and jobs left on the embedded sandbox collected by
a later run: real subprocesses, a real sandbox (external, or the embedded one with its state
kept next to the ledger)."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from apiframe_magic.sandbox import SANDBOX_STATE_NAME, SandboxServer

API_KEY = "afk_cli_budget_test"


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    with SandboxServer(job_seconds=0.3) as running:
        yield running


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("APIFRAME_")}
    env.update(extra)
    return env


def batch(*args: str) -> list[str]:
    return [sys.executable, "-m", "apiframe_magic", "batch", *args]


def posts(server: SandboxServer) -> int:
    return sum(1 for r in server.recorded_requests() if r.method == "POST" and r.origin == "api")


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


def test_budget_credits_refuses_a_sweep_whole_before_sending(server: SandboxServer, tmp_path: Path) -> None:
    (tmp_path / "p.txt").write_text("\n".join(f"tune {n}" for n in range(5)) + "\n")
    env = clean_env(APIFRAME_BASE_URL=server.url, APIFRAME_API_KEY=API_KEY)
    done = subprocess.run(batch("p.txt", "--length", "5s", "--budget-credits", "20"), cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "these 5 jobs cost up to 50 credits and 20 of the budget" in errors[0]
    assert posts(server) == 0
    within = subprocess.run(batch("p.txt", "--length", "5s", "--budget-credits", "50"), cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=120)
    assert within.returncode == 0, within.stderr
    assert posts(server) == 5


def interrupt_when_submitted(process: subprocess.Popen[str], ledger: Path, jobs: int) -> None:
    """Wait until ``jobs`` job ids are in the ledger, then press Ctrl-C."""
    import sqlite3

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if ledger.exists():
            try:
                with sqlite3.connect(f"file:{ledger}?mode=ro", uri=True) as db:
                    found = db.execute("SELECT COUNT(*) FROM jobs WHERE job_id IS NOT NULL").fetchone()[0]
            except sqlite3.Error:
                found = 0
            if found >= jobs:
                break
        time.sleep(0.1)
    process.send_signal(signal.SIGINT)


def test_jobs_left_on_the_embedded_sandbox_are_collected_by_the_next_run(tmp_path: Path) -> None:
    (tmp_path / "p.txt").write_text("a slow harp\na slow drum\n")
    env = clean_env(APIFRAME_SANDBOX_JOB_SECONDS="6")
    first = subprocess.Popen(batch("p.txt", "--length", "5s"), cwd=tmp_path, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    interrupt_when_submitted(first, tmp_path / "apiframe_outputs" / ".apiframe-ledger.sqlite3", 2)
    _, stderr = first.communicate(timeout=60)
    assert first.returncode == 130, stderr
    summary = [line for line in stderr.splitlines() if line.startswith("interrupted:")]
    assert len(summary) == 1 and "0 of 2 saved, 2 still running on the server" in summary[0]
    assert (tmp_path / "apiframe_outputs" / SANDBOX_STATE_NAME).exists()
    kept = {r["job_id"] for r in rows(tmp_path / "apiframe_outputs" / "results.csv")}
    assert len(kept) == 2 and "" not in kept

    # A new process, a new embedded sandbox on another port: the same jobs, collected, not paid again.
    second = subprocess.run(batch("p.txt", "--length", "5s"), cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stderr
    assert "404" not in second.stderr
    collected = rows(tmp_path / "apiframe_outputs" / "results.csv")
    assert {r["job_id"] for r in collected} == kept
    assert all(r["status"] == "done" and (tmp_path / r["path"]).exists() for r in collected), collected


def test_an_interrupted_sweep_reports_each_job_as_it_is_in_one_summary(
    server: SandboxServer, tmp_path: Path
) -> None:
    server.set_limits(max_concurrent_jobs=2)
    (tmp_path / "p.txt").write_text("\n".join(f"sweep line {n}" for n in range(2000)) + "\n")
    env = clean_env(APIFRAME_BASE_URL=server.url, APIFRAME_API_KEY=API_KEY)
    process = subprocess.Popen(batch("p.txt", "--length", "5s", "--concurrency", "2"), cwd=tmp_path,
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    interrupt_when_submitted(process, tmp_path / "apiframe_outputs" / ".apiframe-ledger.sqlite3", 4)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130
    assert not any("stopped" in line and line.startswith("[") for line in stderr.splitlines()), stderr[-2000:]
    summary = [line for line in stderr.splitlines() if line.startswith("interrupted:")]
    assert len(summary) == 1
    assert "of 2000 saved" in summary[0] and "not submitted (nothing charged)" in summary[0]
    assert len(stderr.splitlines()) < 100
