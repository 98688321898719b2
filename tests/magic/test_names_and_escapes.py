"""A Suno custom-mode song is saved under its title, not its lyrics' first line; a failure line
shows control characters escaped; a prompt file splits at newlines only."""

from __future__ import annotations

import os
import subprocess
import sys
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
    with music_shell() as sh:
        yield sh


def test_a_custom_mode_song_is_named_by_its_title(shell: RaisingShell) -> None:
    run(shell, '%%music --model suno --param title="Night Trains" --out song\n'
               "a dreamy synth-pop song\n---\n[Verse]\nLights go by, the city sleeps\n")
    names = [p.name for p in shell.user_ns["song"].paths]
    assert all(name.startswith("night-trains-") for name in names), names


def test_a_failure_line_shows_control_characters_escaped() -> None:
    shown = "".join(MusicError("provider said \x1b]52;c;aGk=\x07 and \x1b[2J")._render_traceback_())
    assert "\x07" not in shown and "\x1b]52" not in shown and "\x1b[2J" not in shown
    assert "\\x1b]52" in shown


def test_a_prompt_file_splits_at_newlines_only(tmp_path: Path) -> None:
    (tmp_path / "p.txt").write_text("one prompt\x0cwith a form feed\nsecond prompt\r\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("APIFRAME_")}
    done = subprocess.run([sys.executable, "-m", "apiframe_magic", "batch", "p.txt", "--dry-run"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "2 jobs" in done.stdout, done.stdout
