"""A job in the ledger that the service does not know (another key's, or purged): one line that
names it and says what to do, the ledger marks it ended, nothing loops or is sent again."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from apiframe_magic import AsyncApiframeClient, MusicRequest, NotFoundError
from apiframe_magic.jobs import RunContext, Service, resume
from apiframe_magic.ledger import Ledger, NewJob, fingerprint, idempotency_key
from apiframe_magic.magic import MusicError
from apiframe_magic.sandbox import SandboxServer

from ..conftest import CANARY_KEY
from ..magic.test_magic import RaisingShell, music_shell, run

GONE = "0f0f0f0f-dead-4bad-8bad-000000000000"


def write_pending(ledger: Ledger, account: str) -> None:
    request = MusicRequest("a job the service forgot", music_length_ms=5000)
    print_ = fingerprint(account=account, model=request.model, prompt=request.prompt,
                         params=request.params, take=1)
    record = ledger.begin(NewJob(
        fingerprint=print_, account=account, model=request.model, prompt=request.prompt,
        params=request.params, take=1, request=request.to_json(), idempotency_key=idempotency_key(print_),
    ))
    ledger.submitted(record.id, GONE)


def test_resume_marks_a_job_the_service_does_not_know(sandbox: SandboxServer, tmp_path: Path) -> None:
    with Ledger.open(tmp_path / "l.sqlite3") as ledger:
        async def main() -> None:
            async with AsyncApiframeClient(CANARY_KEY, sandbox.url) as client:
                write_pending(ledger, client.account)
                assert [r.job_id for r in ledger.pending()] == [GONE]
                await resume(client, GONE, RunContext(output_dir=tmp_path, ledger=ledger))

        with pytest.raises(NotFoundError) as gone:
            asyncio.run(main())
        assert gone.value.job_id == GONE
        assert ledger.pending() == []
        record = ledger.get(GONE)
        assert record is not None and record.status == "FAILED"
    gets = [r for r in sandbox.recorded_requests() if r.path.endswith(GONE)]
    assert len(gets) == 1, "asked once, never polled in a loop"


@pytest.fixture
def shell(sandbox: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RaisingShell]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("APIFRAME_API_KEY", CANARY_KEY)
    monkeypatch.setenv("APIFRAME_BASE_URL", sandbox.url)
    monkeypatch.delenv("APIFRAME_LEDGER", raising=False)
    with music_shell() as sh:
        yield sh


def test_the_magic_says_it_in_one_line_and_the_next_resume_finds_nothing(
    shell: RaisingShell, sandbox: SandboxServer
) -> None:
    ledger_path = Path("apiframe_outputs/.apiframe-ledger.sqlite3")
    ledger_path.parent.mkdir()
    with Ledger.open(ledger_path) as ledger:
        write_pending(ledger, Service(sandbox.url, sandbox=False).account)
    with pytest.raises(MusicError) as failed:
        run(shell, "%music resume")
    shown = run(shell, "%music resume").stdout
    assert "No pending jobs" in shown
    posts = [r for r in sandbox.recorded_requests() if r.method == "POST" and r.origin == "api"]
    assert posts == [], "nothing is submitted again behind the user's back"
    assert "1 of 1 pending jobs could not be collected" in str(failed.value)


def test_the_one_line_names_the_job_and_what_to_do(shell: RaisingShell, sandbox: SandboxServer) -> None:
    with pytest.raises(MusicError) as failed:
        run(shell, f"%music resume {GONE}")
    line = str(failed.value)
    assert "\n" not in line and GONE in line and "does not know job" in line
    assert "Run the cell again to submit the request anew" in line
