"""``%%music`` in a real terminal ``ipython`` (a pseudo-terminal through pexpect).

No widget front end here: the magic must print text progress lines and, at the end, the saved
path and the duration, and no widget or display-object repr may leak as text.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pexpect = pytest.importorskip("pexpect")

from tests.jupyter_harness import VENV_BIN, artifacts_dir, isolated_env, leaked_secrets  # noqa: E402

JOB_SECONDS = 1.0
TIMEOUT = 90
PROMPT_RE = r"In \[(\d+)\]: "
CONTINUATION_RE = r"\.\.\.: "
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")

# What must never appear as text: reprs of widgets and of display objects.
LEAKS = re.compile(
    r"IntProgress\(|FloatProgress\(|HBox\(|VBox\(|Label\(|Output\(|<ipywidgets|"
    r"<IPython\.(core|lib)\.display\.\w+ object>|Audio object|application/vnd\.jupyter"
)


class Session:
    """An interactive ``ipython`` in a pty, driven one input at a time."""

    def __init__(self, workdir: Path, env: dict[str, str], log: Path) -> None:
        self.log = log.open("w", encoding="utf-8")
        self.child = pexpect.spawn(
            str(VENV_BIN / "ipython"),
            ["--simple-prompt", "--no-banner", "--colors=NoColor", "--no-confirm-exit",
             "--HistoryManager.enabled=False"],
            cwd=str(workdir),
            env=env,
            encoding="utf-8",
            codec_errors="replace",
            timeout=TIMEOUT,
            dimensions=(50, 200),
        )
        self.child.logfile_read = self.log
        self.child.expect(PROMPT_RE)

    def run(self, *lines: str) -> str:
        """Send one input (several lines make a cell, ended by a blank line); return its output."""
        for line in lines:
            self.child.sendline(line)
            if len(lines) > 1:
                self.child.expect(CONTINUATION_RE)
        if len(lines) > 1:
            # --simple-prompt joins lines without the final newline: a cell magic needs two
            # blank lines to count as complete.
            self.child.sendline("")
            self.child.expect(CONTINUATION_RE)
            self.child.sendline("")
        self.child.expect(PROMPT_RE)
        return ANSI.sub("", self.child.before.replace("\r\n", "\n"))

    def close(self) -> None:
        if self.child.isalive():
            self.child.sendline("exit")
            try:
                self.child.expect(pexpect.EOF, timeout=20)
            except pexpect.TIMEOUT:
                self.child.terminate(force=True)
        self.child.close()
        self.log.close()


@pytest.fixture
def session(tmp_path: Path):
    workdir = tmp_path / "work"
    workdir.mkdir()
    env = isolated_env(tmp_path / "env", job_seconds=JOB_SECONDS, extra={"TERM": "dumb"})
    s = Session(workdir, env, artifacts_dir("terminal") / "ipython-session.log")
    try:
        yield s, workdir
    finally:
        s.close()


def test_music_in_terminal_ipython(session) -> None:
    s, workdir = session
    transcript = []

    out = s.run("%load_ext apiframe_magic")
    transcript.append(out)
    assert "Error" not in out

    out = s.run(
        "%%music --length 5s --instrumental --out r",
        "Gentle rain on a tin roof with a slow acoustic guitar",
    )
    transcript.append(out)
    assert "offline sandbox" in out.lower()
    progress = [line for line in re.split(r"[\r\n]", out) if line.startswith("[apiframe]")]
    assert any(re.search(r"\d+%", line) for line in progress), out
    saved = sorted((workdir / "apiframe_outputs").glob("*.mp3"))
    assert len(saved) == 1
    assert saved[0].name in out, "the final line names the saved file"
    assert re.search(r"\b5(\.0+)?\s*s", out), "the final line gives the duration"
    assert "Traceback" not in out

    out = s.run("print(r.path); print(r.duration); r")
    transcript.append(out)
    assert str(saved[0].name) in out
    assert abs(float(re.findall(r"^\s*([\d.]+)\s*$", out, re.M)[0]) - 5.0) < 0.5
    assert "Traceback" not in out

    out = s.run("%music status")
    transcript.append(out)
    assert "sandbox" in out.lower()

    text = "\n".join(transcript)
    assert not LEAKS.search(text), LEAKS.search(text)
    assert leaked_secrets([text]) == []
