"""``MusicMagics.budget_credits`` holds for single cells, every batch form and ``--no-wait``,
ledger on or off, in a real InteractiveShell against the sandbox over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from apiframe_magic.magic import MusicError
from apiframe_magic.sandbox import SandboxServer

from ..conftest import CANARY_KEY
from .test_magic import RaisingShell, music_shell, run


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


def charged(sandbox: SandboxServer, start: int) -> int:
    return start - sandbox.credits_for(CANARY_KEY)


LINES = "\n".join(f"a small tune number {n}" for n in range(5))


def test_an_each_line_batch_over_budget_is_refused_whole(shell: RaisingShell, sandbox: SandboxServer) -> None:
    run(shell, "%config MusicMagics.budget_credits = 20")
    with pytest.raises(MusicError) as refused:
        run(shell, f"%%music --each-line --length 5s --out b\n{LINES}")
    assert posts(sandbox) == 0
    message = str(refused.value)
    assert "these 5 jobs cost up to 50 credits and 20 of the budget" in message and "\n" not in message


def test_a_concurrent_batch_over_budget_is_refused_whole(shell: RaisingShell, sandbox: SandboxServer) -> None:
    run(shell, "%config MusicMagics.budget_credits = 30")
    eight = "\n".join(f"take a walk {n}" for n in range(8))
    with pytest.raises(MusicError, match="these 8 jobs cost up to 80 credits and 30 of the budget"):
        run(shell, f"%%music --each-line --length 5s --concurrency 8\n{eight}")
    assert posts(sandbox) == 0


def test_a_batch_within_budget_runs_and_the_next_cell_sees_what_it_spent(
    shell: RaisingShell, sandbox: SandboxServer
) -> None:
    start = sandbox.credits_for(CANARY_KEY)
    run(shell, "%config MusicMagics.budget_credits = 30")
    run(shell, "%%music --each-line --length 5s --out b\nfirst tune\nsecond tune\n")
    with pytest.raises(MusicError, match="20 credits and 10 of the budget of 30"):
        run(shell, "%%music --each-line --length 5s\nthird tune\nfourth tune\n")
    assert charged(sandbox, start) == 20
    run(shell, "%%music --length 5s\nthird tune\n")
    assert charged(sandbox, start) == 30


@pytest.mark.parametrize("ledger", ["", "off"])
def test_no_wait_cells_count_with_the_ledger_on_or_off(
    shell: RaisingShell, sandbox: SandboxServer, ledger: str
) -> None:
    run(shell, f"%config MusicMagics.ledger = {ledger!r}")
    run(shell, "%config MusicMagics.budget_credits = 20")
    for n in range(2):
        run(shell, f"%%music --length 5s --no-wait\nwaiting tune {n}\n")
    for n in range(2, 4):
        with pytest.raises(MusicError, match="Over budget"):
            run(shell, f"%%music --length 5s --no-wait\nwaiting tune {n}\n")
    assert posts(sandbox) == 2


def test_a_no_wait_batch_over_budget_is_refused_at_once(shell: RaisingShell, sandbox: SandboxServer) -> None:
    run(shell, "%config MusicMagics.budget_credits = 20")
    with pytest.raises(MusicError, match="these 5 jobs cost up to 50 credits"):
        run(shell, f"%%music --each-line --length 5s --no-wait --out b\n{LINES}")
    assert posts(sandbox) == 0 and "b" not in shell.user_ns


def test_status_reports_what_this_kernel_spent(shell: RaisingShell, sandbox: SandboxServer) -> None:
    run(shell, "%config MusicMagics.budget_credits = 100")
    run(shell, "%%music --length 5s\na tune to count\n")
    shown = run(shell, "%music status")
    assert "spent in this kernel: 10 credits of a budget of 100" in shown.stdout
