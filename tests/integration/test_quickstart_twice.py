"""``make quickstart`` run a second time: the notebook's track is answered from the job ledger
(no new file), which is success; the script lists the audio the notebook played, never the
ledger's own files."""

from __future__ import annotations

from pathlib import Path

from .test_notebooks import JOB_SECONDS, run_quickstart


def test_a_second_quickstart_is_answered_from_the_ledger_and_succeeds(tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ("--output-dir", str(out), "--job-seconds", str(JOB_SECONDS))

    first = run_quickstart(tmp_path, *args)
    second = run_quickstart(tmp_path, *args)

    assert first.returncode == 0, first.stdout + first.stderr
    assert second.returncode == 0, second.stdout + second.stderr
    (mp3,) = (out / "apiframe_outputs").glob("*.mp3")
    for run in (first, second):
        assert str(mp3) in run.stdout
        assert "-wal" not in run.stdout and "-shm" not in run.stdout and ".sqlite3" not in run.stdout
    assert "from the job ledger" in second.stdout and "from the job ledger" not in first.stdout
