"""``python -m apiframe_magic batch`` with a prompt written three ways (``calm café piano``, the
same with two spaces, the same in Unicode NFD): one job, run once, and a line on stderr says so.

Before, these were three items sharing one ledger key: run together they ended in HTTP 409 (one
idempotency key, two bodies), and the credits reported were not the credits charged. Each test
runs the command as a real subprocess against a real sandbox server on loopback.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest

from apiframe_magic.sandbox import SandboxServer

API_KEY = "afk_cli_duplicates_test"
PROMPT = "calm café piano"
SPELLINGS = [PROMPT, "calm café  piano", unicodedata.normalize("NFD", PROMPT)]
NOTE = "2 prompts repeat an earlier one (up to spaces and Unicode form) and run once"


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    with SandboxServer(job_seconds=0.2) as running:
        yield running


def run(server: SandboxServer, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("APIFRAME_")}
    env.update(APIFRAME_BASE_URL=server.url, APIFRAME_API_KEY=API_KEY, PYTHONIOENCODING="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "apiframe_magic", "batch", *args], cwd=cwd, env=env,
        capture_output=True, text=True, encoding="utf-8", timeout=120,
    )


def write_prompts(tmp_path: Path, extra: tuple[str, ...] = ()) -> Path:
    assert len({*SPELLINGS}) == 3  # three different strings, one prompt
    path = tmp_path / "prompts.txt"
    path.write_text("\n".join([*SPELLINGS, *extra]) + "\n", encoding="utf-8")
    return path


def test_a_dry_run_lists_one_job_and_says_the_others_run_once(
    server: SandboxServer, tmp_path: Path
) -> None:
    prompts = write_prompts(tmp_path)

    dry = run(server, tmp_path, prompts.name, "--length", "30s", "--dry-run")

    assert dry.returncode == 0, dry.stderr
    lines = dry.stdout.strip().splitlines()
    assert len(lines) == 2, lines  # one job, then the total
    assert lines[0].split("\t")[0] == PROMPT
    assert "1 job on " in lines[1] and "would cost 10 credits" in lines[1]
    assert [line for line in dry.stderr.splitlines() if NOTE in line] == [
        f"{NOTE}: 'calm café  piano', {SPELLINGS[2]!r}; --takes N gives N takes of each prompt"]
    assert server.recorded_requests() == []


def test_takes_still_give_takes_of_the_one_prompt(server: SandboxServer, tmp_path: Path) -> None:
    prompts = write_prompts(tmp_path, extra=("dark jazz",))

    dry = run(server, tmp_path, prompts.name, "--length", "30s", "--takes", "2", "--dry-run")

    assert dry.returncode == 0, dry.stderr
    items = [line.split("\t") for line in dry.stdout.strip().splitlines()[:-1]]
    assert [(i[0], i[2]) for i in items] == [
        ("calm café piano · take 1", "take 1"), ("calm café piano · take 2", "take 2"),
        ("dark jazz · take 1", "take 1"), ("dark jazz · take 2", "take 2"),
    ]
    assert "4 jobs" in dry.stdout and NOTE in dry.stderr


def test_a_real_run_sends_one_job_and_reports_the_credits_charged(
    server: SandboxServer, tmp_path: Path
) -> None:
    prompts = write_prompts(tmp_path)
    server.set_credits(1000)

    done = run(server, tmp_path, prompts.name, "--length", "30s")

    assert done.returncode == 0, done.stderr
    assert NOTE in done.stderr
    posts = [r for r in server.recorded_requests()
             if r.origin == "api" and r.method == "POST" and r.path == "/v2/music/generate"]
    assert [json.loads(r.body)["prompt"] for r in posts] == [PROMPT]  # the first spelling, once
    assert server.jobs_created == 1
    charged = 1000 - server.credits_for(API_KEY)
    assert charged == 10
    assert f"1 of 1 jobs saved in apiframe_outputs, {charged} credits spent" in done.stdout
    with (tmp_path / "apiframe_outputs" / "results.csv").open(newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    assert [(r["prompt"], r["status"], r["credits"]) for r in rows] == [(PROMPT, "done", str(charged))]
