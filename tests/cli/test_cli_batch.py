"""``python -m apiframe_magic batch``, run as a real subprocess against a real sandbox server.

Each test starts its own sandbox on loopback and points the command at it through
``APIFRAME_BASE_URL`` / ``APIFRAME_API_KEY``, so the sandbox's request log tells exactly what
the command sent. Everything is written under the test's temporary directory.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from apiframe_magic.sandbox import SandboxServer

API_KEY = "afk_cli_batch_test"
GENERATE = "/v2/music/generate"
PROMPTS = ["a lofi beat for studying", "dark synthwave drive", "calm solo piano", "upbeat surf rock"]


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    with SandboxServer(job_seconds=0.3) as running:
        yield running


def env_for(server: SandboxServer) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("APIFRAME_")}
    env.update(APIFRAME_BASE_URL=server.url, APIFRAME_API_KEY=API_KEY)
    return env


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "apiframe_magic", "batch", *args]


def run(server: SandboxServer, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command(*args), cwd=cwd, env=env_for(server), capture_output=True, text=True, timeout=120,
    )


def posts(server: SandboxServer) -> list[dict[str, object]]:
    return [
        json.loads(r.body) for r in server.recorded_requests()
        if r.origin == "api" and r.method == "POST" and r.path == GENERATE
    ]


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


def write_prompts(tmp_path: Path, prompts: list[str] = PROMPTS) -> Path:
    path = tmp_path / "prompts.txt"
    path.write_text("# a sweep\n\n" + "\n".join(prompts) + "\n", encoding="utf-8")
    return path


def test_a_text_file_saves_every_prompt_and_running_it_again_sends_nothing(
    server: SandboxServer, tmp_path: Path
) -> None:
    prompts = write_prompts(tmp_path)

    first = run(server, tmp_path, prompts.name, "--length", "5s")

    assert first.returncode == 0, first.stderr
    results = tmp_path / "apiframe_outputs" / "results.csv"
    rows = read_rows(results)
    assert [r["prompt"] for r in rows] == PROMPTS
    assert {r["status"] for r in rows} == {"done"}
    assert all((tmp_path / r["path"]).is_file() for r in rows)
    assert len(list((tmp_path / "apiframe_outputs").glob("*.mp3"))) == 4
    assert len(posts(server)) == 4
    # Not a terminal: one line per finished job.
    assert sum(line.startswith("[") for line in first.stderr.splitlines()) == 4
    written = results.read_bytes()

    again = run(server, tmp_path, prompts.name, "--length", "5s")

    assert again.returncode == 0, again.stderr
    assert len(posts(server)) == 4  # the ledger answered every one
    assert results.read_bytes() == written
    assert "0 credits spent" in again.stdout


def test_a_csv_sets_model_length_and_takes_per_row(server: SandboxServer, tmp_path: Path) -> None:
    table = tmp_path / "sweep.csv"
    table.write_text(
        "prompt,model,length,takes\n"
        "a lofi beat,,5s,2\n"
        "a dreamy pop song,suno,,\n",
        encoding="utf-8",
    )

    done = run(server, tmp_path, table.name, "--output-dir", "out", "--results", "table.csv")

    assert done.returncode == 0, done.stderr
    rows = read_rows(tmp_path / "table.csv")
    assert [(r["prompt"], r["model"], r["take"]) for r in rows] == [
        ("a lofi beat", "elevenlabs-music", "1"),
        ("a lofi beat", "elevenlabs-music", "2"),
        ("a dreamy pop song", "suno", "1"),
    ]
    assert json.loads(rows[0]["params"]) == {"music_length_ms": 5000}
    sent = posts(server)
    assert sorted(body["model"] for body in sent) == ["elevenlabs-music", "elevenlabs-music", "suno"]
    assert all((tmp_path / r["path"]).is_file() for r in rows)


def test_slices_together_run_every_item_once_into_one_ledger(server: SandboxServer, tmp_path: Path) -> None:
    prompts = write_prompts(tmp_path)

    halves = [run(server, tmp_path, prompts.name, "--slice", part) for part in ("0/2", "1/2")]

    assert [h.returncode for h in halves] == [0, 0], [h.stderr for h in halves]
    out = tmp_path / "apiframe_outputs"
    zero, one = read_rows(out / "results-0-of-2.csv"), read_rows(out / "results-1-of-2.csv")
    assert [r["prompt"] for r in zero] == PROMPTS[0::2]
    assert [r["prompt"] for r in one] == PROMPTS[1::2]
    assert len(posts(server)) == server.jobs_created == 4
    # The whole sweep afterwards is answered by the one ledger both slices wrote to.
    whole = run(server, tmp_path, prompts.name)
    assert whole.returncode == 0, whole.stderr
    assert len(posts(server)) == 4


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["missing.txt"], "no such file"),
        (["prompts.txt", "--slice", "2/2"], "--slice"),
        (["prompts.txt", "--model", "suno", "--length", "30s"], "suno does not take it"),
        (["prompts.txt", "--param", "nonsense=1"], "has no param nonsense"),
        (["prompts.txt", "--takes", "0"], "--takes"),
        (["prompts.txt", "--bogus"], "--bogus"),
        (["bad.csv"], "prompt column"),
    ],
)
def test_a_mistake_is_one_line_exit_2_and_nothing_is_sent(
    server: SandboxServer, tmp_path: Path, args: list[str], says: str
) -> None:
    write_prompts(tmp_path)
    (tmp_path / "bad.csv").write_text("text,model\nhello,suno\n", encoding="utf-8")

    refused = run(server, tmp_path, *args)

    assert refused.returncode == 2
    assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    assert says in refused.stderr
    assert server.recorded_requests() == []
    assert not (tmp_path / "apiframe_outputs").exists()


def test_a_dry_run_prints_the_items_and_their_cost_and_sends_nothing(
    server: SandboxServer, tmp_path: Path
) -> None:
    prompts = write_prompts(tmp_path)

    dry = run(server, tmp_path, prompts.name, "--length", "30s", "--takes", "2", "--dry-run")

    assert dry.returncode == 0, dry.stderr
    lines = dry.stdout.strip().splitlines()
    assert len(lines) == 9  # 4 prompts x 2 takes, then the total
    assert "would cost 80 credits" in lines[-1]  # 10 credits for each 30 s job
    assert server.recorded_requests() == []


def test_a_failed_job_exits_1_naming_it_and_the_others_are_saved(
    server: SandboxServer, tmp_path: Path
) -> None:
    prompts = write_prompts(tmp_path, PROMPTS[:3])
    server.faults.inject("fail_job", message="content policy violation")

    failed = run(server, tmp_path, prompts.name, "--concurrency", "1")

    assert failed.returncode == 1
    assert "1 of 3 jobs failed" in failed.stderr.strip().splitlines()[-1]
    rows = read_rows(tmp_path / "apiframe_outputs" / "results.csv")
    assert [r["status"] for r in rows] == ["failed", "done", "done"]
    assert "content policy violation" in rows[0]["error"]
    assert all((tmp_path / r["path"]).is_file() for r in rows[1:])


def test_an_interrupt_exits_130_and_running_again_pays_for_no_job_twice(
    server: SandboxServer, tmp_path: Path
) -> None:
    prompts = write_prompts(tmp_path, PROMPTS[:2])
    server.faults.inject("slow_job", seconds=3)  # the first job runs long enough to interrupt
    args = (prompts.name, "--concurrency", "1")
    proc = subprocess.Popen(
        command(*args), cwd=tmp_path, env=env_for(server), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )
    try:
        # Interrupt once the first job is being polled: its id is in the ledger by then.
        deadline = time.monotonic() + 60
        while not any(r.method == "GET" and r.path.startswith("/v2/jobs/")
                      for r in server.recorded_requests()):
            assert proc.poll() is None and time.monotonic() < deadline, "the job was never polled"
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    assert proc.returncode == 130, stderr
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("interrupted: 0 of ") and "run the same command again to collect them" in last
    rows = read_rows(tmp_path / "apiframe_outputs" / "results.csv")
    assert rows[0]["status"] == "stopped" and rows[0]["job_id"]

    again = run(server, tmp_path, *args)

    assert again.returncode == 0, again.stderr
    rows = read_rows(tmp_path / "apiframe_outputs" / "results.csv")
    assert [r["status"] for r in rows] == ["done", "done"]
    assert len(posts(server)) == server.jobs_created == 2
