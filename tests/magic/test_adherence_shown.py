"""A cell's measurements say whether the track has what the prompt asked for."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from apiframe_magic.sandbox import SandboxServer

from ..conftest import CANARY_KEY
from .test_magic import RaisingShell, everything_shown, music_shell, run


@pytest.fixture
def shell(sandbox: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RaisingShell]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("APIFRAME_API_KEY", CANARY_KEY)
    monkeypatch.setenv("APIFRAME_BASE_URL", sandbox.url)
    with music_shell() as sh:
        yield sh


def test_the_measurements_line_says_what_the_prompt_asked(shell: RaisingShell) -> None:
    shown = everything_shown(run(shell, "%%music --length 10s --out t\na march at 120 bpm in D major\n"))
    assert "the prompt asked: asked 120 bpm, measured" in shown
    assert "asked D major" in shown and "asked 10 s, measured" in shown


def test_the_plot_has_an_adherence_panel(shell: RaisingShell) -> None:
    run(shell, "%%music --each-line --length 5s --out b\na tune at 90 bpm\nanother tune at 140 bpm\n")
    figure = shell.user_ns["b"].plot()
    titles = [ax.get_title() for ax in figure.axes]
    assert "follows the prompt (share of asks met)" in titles
