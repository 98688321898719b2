"""A provider message that repeats the API key, in a failed job's answer: the magic shows the
reason with the key masked, and no file it writes (the ledger with its ``-wal`` and ``-shm``
while open, sidecars, an exported CSV) holds the key. A real shell against a real sandbox."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from IPython.utils.capture import capture_output

from apiframe_magic import ListeningTest
from apiframe_magic.magic import MusicError
from apiframe_magic.sandbox import SandboxServer

from ..conftest import CANARY_KEY
from ..magic.test_magic import RaisingShell, music_shell

LEAK = f"Provider returned an error: invalid credentials {CANARY_KEY} for this model"


@pytest.fixture
def shell(sandbox: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RaisingShell]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("APIFRAME_API_KEY", CANARY_KEY)
    monkeypatch.setenv("APIFRAME_BASE_URL", sandbox.url)
    with music_shell() as sh:
        yield sh


def test_the_magic_shows_and_stores_a_failed_jobs_reason_without_the_key(
    shell: RaisingShell, sandbox: SandboxServer, tmp_path: Path
) -> None:
    shown: list[str] = []
    for cell in ("%%music --length 5s --out ok\na calm piano\n",
                 "%%music --each-line --length 5s --out b\na quiet harp\na lofi beat\n",
                 "%%music --length 5s\na song that fails\n"):
        if "fails" in cell or "each-line" in cell:
            sandbox.faults.inject("fail_job", message=LEAK)
        with capture_output() as captured:
            try:
                shell.run_cell(cell)
            except MusicError as exc:
                shown.append(str(exc))
        shown += [captured.stdout, captured.stderr, *(json.dumps(o.data) for o in captured.outputs)]
    batch = shell.user_ns["b"]
    test = ListeningTest([shell.user_ns["ok"], *batch.results, shell.user_ns["ok"]], seed=1)
    test.to_csv(tmp_path / "apiframe_outputs" / "ratings.csv")
    rows = batch.to_dataframe()
    shown.append(json.dumps(rows if isinstance(rows, list) else rows.to_dict("records"), default=str))

    assert len(batch.failed) == 1 and sum("invalid credentials" in text for text in shown) >= 2
    assert not [text for text in shown if CANARY_KEY in text]
    files = [p for p in (tmp_path / "apiframe_outputs").rglob("*") if p.is_file()]
    names = {p.name for p in files}
    # The ledger is still open in this shell: its write-ahead log is there to be read.
    assert {".apiframe-ledger.sqlite3", ".apiframe-ledger.sqlite3-wal", "ratings.csv"} <= names
    assert any(name.endswith(".mp3.json") for name in names)
    assert [p.name for p in files if CANARY_KEY.encode() in p.read_bytes()] == []
