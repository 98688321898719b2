"""The job ledger through the magic, in a real InteractiveShell against the sandbox over HTTP:
re-running a cell costs nothing, no job is lost, history and budget."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from apiframe_magic import MusicResult
from apiframe_magic.magic import MusicError
from apiframe_magic.sandbox import SandboxServer

from ..conftest import CANARY_KEY
from .test_magic import RaisingShell, everything_shown, music_shell, run

CELL = "%%music --length 5s --out t\na quiet harp for a rainy morning\n"
LEDGER = Path("apiframe_outputs/.apiframe-ledger.sqlite3")


@pytest.fixture
def shell(sandbox: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RaisingShell]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("APIFRAME_API_KEY", CANARY_KEY)
    monkeypatch.setenv("APIFRAME_BASE_URL", sandbox.url)
    monkeypatch.delenv("APIFRAME_LEDGER", raising=False)
    with music_shell() as sh:
        yield sh


def posts(sandbox: SandboxServer) -> int:
    return sum(1 for r in sandbox.recorded_requests() if r.method == "POST" and r.origin == "api")


def test_running_a_cell_again_sends_nothing_and_shows_the_same_track(
    shell: RaisingShell, sandbox: SandboxServer
) -> None:
    run(shell, CELL)
    first: MusicResult = shell.user_ns["t"]
    credits = sandbox.credits_for(CANARY_KEY)
    shown = everything_shown(run(shell, CELL))
    again: MusicResult = shell.user_ns["t"]
    assert posts(sandbox) == 1
    assert again.from_ledger and not first.from_ledger
    assert again.job_id == first.job_id and again.path == first.path
    assert again.credits == 0 and sandbox.credits_for(CANARY_KEY) == credits
    assert "from the ledger" in shown
    html = shell.display_formatter.format(again)[0]["text/html"]
    assert "from the ledger" in html and html.count("<audio") == 1


def test_takes_and_fresh_make_new_takes_on_purpose(shell: RaisingShell, sandbox: SandboxServer) -> None:
    run(shell, CELL)
    run(shell, CELL.replace("--out t", "--out t --take 2"))
    second = shell.user_ns["t"]
    assert posts(sandbox) == 2 and not second.from_ledger
    run(shell, CELL.replace("--out t", "--out t --take 2"))
    assert posts(sandbox) == 2 and shell.user_ns["t"].job_id == second.job_id
    run(shell, CELL.replace("--out t", "--out t --fresh"))
    assert posts(sandbox) == 3 and shell.user_ns["t"].job_id != second.job_id
    assert len({p.name for p in Path("apiframe_outputs").glob("*.mp3")}) == 3


def test_a_deleted_file_is_downloaded_again_not_paid_again(
    shell: RaisingShell, sandbox: SandboxServer
) -> None:
    run(shell, CELL)
    first = shell.user_ns["t"]
    original = first.path.read_bytes()
    first.path.unlink()
    run(shell, CELL)
    again = shell.user_ns["t"]
    assert posts(sandbox) == 1
    assert again.job_id == first.job_id and again.path.read_bytes() == original
    assert not again.from_ledger, "it was downloaded again, not served from a file that is gone"


def test_an_edited_file_is_never_served_from_the_ledger(shell: RaisingShell, sandbox: SandboxServer) -> None:
    run(shell, CELL)
    path = shell.user_ns["t"].path
    path.write_bytes(b"not the track")
    run(shell, CELL)
    assert posts(sandbox) == 1
    assert path.read_bytes() != b"not the track"


def test_a_job_still_running_is_resumed_not_submitted_again(
    shell: RaisingShell, sandbox: SandboxServer
) -> None:
    sandbox.faults.inject("slow_job", seconds=3)
    with pytest.raises(MusicError, match="still running"):
        run(shell, CELL.replace("--length 5s", "--length 5s --timeout 0.3 --save takes/harp.mp3"))
    pending = everything_shown(run(shell, "%music pending"))
    assert "PROCESSING" in pending or "QUEUED" in pending or "SUBMITTED" in pending
    run(shell, "%music resume")
    assert Path("takes/harp.mp3").exists(), "saved where its cell would have saved it"
    assert posts(sandbox) == 1
    assert "collects them): 0 job(s)" in everything_shown(run(shell, "%music pending"))


def test_rerunning_an_interrupted_cell_collects_its_job(shell: RaisingShell, sandbox: SandboxServer) -> None:
    sandbox.faults.inject("slow_job", seconds=2)
    with pytest.raises(MusicError):
        run(shell, CELL.replace("--length 5s", "--length 5s --timeout 0.3"))
    run(shell, CELL)
    assert posts(sandbox) == 1 and shell.user_ns["t"].path.exists()


def test_history_lists_filters_and_reconciles(shell: RaisingShell, sandbox: SandboxServer) -> None:
    run(shell, CELL)
    run(shell, "%%music --model suno --out s\nlofi beat\n")
    shown = everything_shown(run(shell, "%music history"))
    assert "a quiet harp" in shown and "lofi beat" in shown and "2 job(s)" in shown
    assert "1 job(s)" in everything_shown(run(shell, "%music history --model suno"))
    assert "1 job(s)" in everything_shown(run(shell, "%music history harp"))
    # A job made outside this ledger (another machine, the SDK) shows up when reconciling.
    outside = httpx.post(f"{sandbox.url}/v2/music/generate", headers={"X-API-Key": CANARY_KEY},
                         json={"prompt": "made elsewhere", "model": "elevenlabs-music"}).json()["jobId"]
    reconciled = everything_shown(run(shell, "%music history --reconcile"))
    assert "not in this ledger: 1 job(s)" in reconciled and outside in reconciled

    from apiframe_magic import history

    rows = history()
    assert isinstance(rows, list) or hasattr(rows, "columns")
    listed = rows if isinstance(rows, list) else rows.to_dict("records")
    assert {r["model"] for r in listed} == {"elevenlabs-music", "suno"}
    assert {"prompt", "model", "take", "status", "credits", "length", "file", "when"} <= set(listed[0])


def test_the_budget_refuses_before_sending_and_cached_cells_stay_free(
    shell: RaisingShell, sandbox: SandboxServer
) -> None:
    shell.run_line_magic("config", "MusicMagics.budget_credits = 15")
    run(shell, CELL)
    with pytest.raises(MusicError, match="costs 10 credits and 5 of the budget of 15"):
        run(shell, "%%music --length 5s\nanother prompt\n")
    assert posts(sandbox) == 1
    run(shell, CELL)  # the ledger answers: no credits, no refusal
    status = run(shell, "%music status").stdout
    assert "spent in this kernel: 10 credits of a budget of 15" in status and "today: 10" in status
    with pytest.raises(MusicError, match="no published price"):
        run(shell, "%%music --model producer\nx\n")
    assert posts(sandbox) == 1


def test_sandbox_jobs_never_answer_the_real_service_nor_the_reverse(
    shell: RaisingShell, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    run(shell, CELL)
    monkeypatch.delenv("APIFRAME_API_KEY")
    monkeypatch.delenv("APIFRAME_BASE_URL")
    run(shell, CELL)  # the embedded sandbox: another backend, so it is generated, not answered
    assert not shell.user_ns["t"].from_ledger and shell.user_ns["t"].sandbox


def test_a_corrupt_ledger_is_kept_aside_and_the_cell_still_runs(
    shell: RaisingShell, sandbox: SandboxServer
) -> None:
    LEDGER.parent.mkdir(parents=True)
    LEDGER.write_bytes(b"this is not a database" * 100)
    captured = run(shell, CELL)
    assert posts(sandbox) == 1 and shell.user_ns["t"].path.exists()
    assert captured.stderr.count("job ledger") == 1
    kept = [p for p in LEDGER.parent.iterdir() if p.name.startswith(LEDGER.name + ".corrupt")]
    assert kept and kept[0].read_bytes().startswith(b"this is not a database")


def test_the_ledger_can_be_turned_off(shell: RaisingShell, sandbox: SandboxServer) -> None:
    shell.run_line_magic("config", "MusicMagics.ledger = 'off'")
    run(shell, CELL)
    run(shell, CELL)
    assert posts(sandbox) == 2 and not LEDGER.exists()
    assert "job ledger: off" in run(shell, "%music status").stdout


def test_the_ledger_never_holds_the_key(shell: RaisingShell, sandbox: SandboxServer) -> None:
    run(shell, CELL)
    run(shell, "%%music --no-wait --length 5s\nanother\n")
    for path in LEDGER.parent.glob(LEDGER.name + "*"):
        assert CANARY_KEY.encode() not in path.read_bytes()


def test_no_wait_jobs_are_in_the_ledger_and_collected_by_result(
    shell: RaisingShell, sandbox: SandboxServer
) -> None:
    run(shell, "%%music --no-wait --length 5s --out j\nanother\n")
    assert "another" in everything_shown(run(shell, "%music pending"))
    shell.user_ns["j"].result()
    assert "0 job(s)" in everything_shown(run(shell, "%music pending"))
    run(shell, "%%music --no-wait --length 5s --out j\nanother\n")
    assert isinstance(shell.user_ns["j"], MusicResult) and shell.user_ns["j"].from_ledger
    assert posts(sandbox) == 1
    assert json.loads(shell.user_ns["j"].metadata_path.read_text())["jobId"] == shell.user_ns["j"].job_id
