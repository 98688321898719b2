"""Hostile prompts and service messages in the magic's output: in terminal text, control
characters are shown escaped (an OSC 52 clipboard write or a screen clear is seen, never obeyed);
in HTML, live and final, markup in a prompt or a label is text. A real shell against a real
sandbox over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from IPython.utils.capture import CapturedIO, capture_output

from apiframe_magic.magic import MusicError
from apiframe_magic.sandbox import SandboxServer

from ..conftest import CANARY_KEY
from ..magic.test_magic import RaisingShell, music_shell

CONTROLS = ("\x1b]52;c;ZWNobw==\x07calm piano", "\x1b[2J\x1b[Hsoft rain", "\x9b31mred drums")
RAW = ("\x1b", "\x07", "\x9b")
MARKUP = ("<img src=x onerror=alert(1)> harp", "<script>alert(2)</script> drums")


@pytest.fixture
def shell(sandbox: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RaisingShell]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("APIFRAME_API_KEY", CANARY_KEY)
    monkeypatch.setenv("APIFRAME_BASE_URL", sandbox.url)
    with music_shell() as sh:
        yield sh


def run_cell(shell: RaisingShell, cell: str) -> tuple[CapturedIO, MusicError | None]:
    """The cell's output, and the error it ended with (if any)."""
    error = None
    with capture_output() as captured:
        try:
            shell.run_cell(cell)
        except MusicError as exc:
            error = exc
    return captured, error


def test_text_lines_show_control_characters_escaped(shell: RaisingShell, sandbox: SandboxServer) -> None:
    shell.run_line_magic("config", "MusicMagics.progress = 'text'")
    batch, _ = run_cell(shell, "%%music --each-line --length 5s\n" + "\n".join(CONTROLS))
    one, _ = run_cell(shell, "%%music --length 5s\n\x1b]0;pwned\x07a title-setting piano")
    sandbox.faults.inject("fail_job", message="Provider error \x1b]52;c;cm0gLXJmIH4=\x07 \x1b[2J")
    failed, error = run_cell(shell, "%%music --length 5s\na song that fails")

    assert error is not None
    for captured in (batch, one, failed):
        # The progress, result and failure lines (the cell's error itself is the magic's to show).
        shown = [line for line in (captured.stdout + captured.stderr).splitlines()
                 if line.startswith("[apiframe]") or line.startswith("✔")]
        assert shown and not any(ch in line for line in shown for ch in RAW), shown
    assert batch.stdout.count("[apiframe] ✔") == 3 and "\\x1b[2J" in batch.stdout
    assert "\\x1b]52;c;cm0gLXJmIH4=\\x07" in failed.stderr


def test_markup_in_prompts_and_labels_is_text_in_live_and_final_html(
    shell: RaisingShell, monkeypatch: pytest.MonkeyPatch
) -> None:
    widgets = pytest.importorskip("ipywidgets")
    live: list[str] = []

    class RecordedHTML(widgets.HTML):  # type: ignore[misc]
        """Every value a live HTML widget is given, as the front end would render it."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            live.append(self.value)
            self.observe(lambda change: live.append(change["new"]), names="value")

    monkeypatch.setattr(widgets, "HTML", RecordedHTML)
    shell.run_line_magic("config", "MusicMagics.progress = 'widget'")
    batch, _ = run_cell(shell, "%%music --each-line --length 5s\n" + "\n".join(MARKUP))
    one, _ = run_cell(shell, f"%%music --length 5s\n{MARKUP[0]}")

    final = [o.data["text/html"] for c in (batch, one) for o in c.outputs if "text/html" in o.data]
    assert live and final, "nothing was shown as HTML"
    for markup in (live, final):
        assert not any("<img src=x" in m or "<script>" in m for m in markup)
        # Labels may be shortened with an ellipsis: the markup is escaped whole either way.
        assert any("&lt;img src=x onerror=alert(1)&gt;" in m for m in markup)
        assert any("&lt;script&gt;alert(2)&lt;/script&gt;" in m for m in markup)


def test_history_text_shows_control_characters_escaped() -> None:
    from apiframe_magic.display import history_bundle

    row = {"when": "2026-12-06T10:00:00", "prompt": "calm \x1b]52;c;aGk=\x07 piano", "model": "suno",
           "take": 1, "status": "SAVED", "credits": 11, "length": 5.0, "file": None, "job_id": "j1"}
    text = history_bundle([row])["text/plain"]
    assert "\x1b" not in text and "\x07" not in text and "\\x1b]52" in text
