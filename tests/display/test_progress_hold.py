"""Re-running a cell answered from the job ledger is instant: no request, and the widget view does
not hold the green bar (a pause only worth making after a job was followed). The kernel's side of
it is measured by benchmarks/bench_kernel.py; here the widget view is made to believe it is in a
kernel, and its sleeps are recorded instead of slept."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from apiframe_magic import MusicResult
from apiframe_magic.display import _progress
from apiframe_magic.sandbox import SandboxServer

from ..conftest import CANARY_KEY
from ..magic.test_magic import RaisingShell, music_shell, run

pytest.importorskip("ipywidgets")

CELL = "%%music --length 5s --out track\na calm piano, played twice"


@pytest.fixture
def holds(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The seconds the widget view sleeps to hold the green bar, recorded and not slept; the view
    believes it runs in a kernel, where the hold applies."""
    slept: list[float] = []
    monkeypatch.setattr(_progress, "in_kernel", lambda: True)
    monkeypatch.setattr(_progress, "time", SimpleNamespace(monotonic=_progress.time.monotonic,
                                                           sleep=slept.append))
    return slept


@pytest.fixture
def shell(sandbox: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RaisingShell]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("APIFRAME_API_KEY", CANARY_KEY)
    monkeypatch.setenv("APIFRAME_BASE_URL", sandbox.url)
    monkeypatch.delenv("APIFRAME_LEDGER", raising=False)
    with music_shell() as sh:
        run(sh, "%config MusicMagics.progress = 'widget'")
        run(sh, "%config MusicMagics.measure = False")
        yield sh


def test_a_rerun_answered_from_the_ledger_sends_nothing_and_does_not_hold(
    shell: RaisingShell, sandbox: SandboxServer, holds: list[float]
) -> None:
    run(shell, CELL)
    first = shell.user_ns["track"]
    assert isinstance(first, MusicResult) and not first.from_ledger
    assert holds == [_progress.SUCCESS_HOLD_SECONDS]  # a job was followed: the bar turns green
    before = len(sandbox.recorded_requests())

    run(shell, CELL)
    again = shell.user_ns["track"]
    assert isinstance(again, MusicResult) and again.from_ledger and again.path == first.path
    assert len(sandbox.recorded_requests()) == before
    assert holds == [_progress.SUCCESS_HOLD_SECONDS]  # and no second hold


def test_the_widget_view_holds_only_after_a_job_ran(shell: RaisingShell, holds: list[float]) -> None:
    view = _progress.WidgetProgress("calm piano", 0)
    try:
        ran = SimpleNamespace(from_ledger=False)
        answered = SimpleNamespace(from_ledger=True)
        assert view.hold_for(ran) == _progress.SUCCESS_HOLD_SECONDS  # type: ignore[arg-type]
        assert view.hold_for(answered) == 0  # type: ignore[arg-type]
    finally:
        view.close()
