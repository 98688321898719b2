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
# Long enough that Ctrl-C always lands while the job runs.
SLOW_JOB_SECONDS = 30.0
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

    def run(self, *lines: str, interrupt_when: str | None = None) -> str:
        """Send one input (several lines make a cell, ended by a blank line); return its output.

        With ``interrupt_when``, press Ctrl-C once the output shows that text."""
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
        before = ""
        if interrupt_when:
            self.child.expect_exact(interrupt_when)
            before = self.child.before + self.child.after
            self.child.sendintr()
        self.child.expect(PROMPT_RE)
        return ANSI.sub("", (before + self.child.before).replace("\r\n", "\n"))

    def close(self) -> None:
        if self.child.isalive():
            self.child.sendline("exit")
            try:
                self.child.expect(pexpect.EOF, timeout=20)
            except pexpect.TIMEOUT:
                self.child.terminate(force=True)
        self.child.close()
        self.log.close()


def open_session(tmp_path: Path, job_seconds: float, log_name: str):
    workdir = tmp_path / "work"
    workdir.mkdir()
    env = isolated_env(tmp_path / "env", job_seconds=job_seconds, extra={"TERM": "dumb"})
    s = Session(workdir, env, artifacts_dir("terminal") / log_name)
    try:
        yield s, workdir
    finally:
        s.close()


@pytest.fixture
def session(tmp_path: Path):
    yield from open_session(tmp_path, JOB_SECONDS, "ipython-session.log")


@pytest.fixture
def slow_session(tmp_path: Path):
    yield from open_session(tmp_path, SLOW_JOB_SECONDS, "ipython-interrupt.log")


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

    # A blind listening test needs players: in a terminal it says so plainly, in one line.
    out = s.run("%music listen r")
    transcript.append(out)
    assert "%music listen needs a notebook front end" in out, out
    assert "Traceback" not in out and "Error" not in out

    text = "\n".join(transcript)
    assert not LEAKS.search(text), LEAKS.search(text)
    assert leaked_secrets([text]) == []


def test_ctrl_c_shows_the_resume_line_and_no_traceback(slow_session) -> None:
    """Ctrl-C mid-job: the red status line and the resume line, nothing else (no
    ``CancelledError``/``KeyboardInterrupt`` traceback, nothing logged later)."""
    s, _ = slow_session
    s.run("%load_ext apiframe_magic")

    out = s.run("%%music --length 5s --out t", "slow ambient strings", interrupt_when="PROCESSING")
    lines = [line.replace("^C", "").strip() for line in out.splitlines()]
    stopped = next(i for i, line in enumerate(lines) if "interrupted" in line)
    after_ctrl_c = [line for line in lines[stopped:] if line]
    job_id = re.findall(r"job ([0-9a-f-]{36})", out)[0]
    assert after_ctrl_c == [
        f"[apiframe] ✘ interrupted: stopped waiting; job {job_id} keeps running. "
        f"Resume: %music resume {job_id}",
        f"Interrupted: job {job_id} keeps running on the server. "
        f"Collect it with: %music resume {job_id} --out t",
    ], out
    assert not re.search(r"Traceback|CancelledError|KeyboardInterrupt", out)

    out = s.run("import gc; gc.collect(); repr(t)")
    assert f"<MusicJob {job_id}" in out
    assert not re.search(r"Traceback|Task was destroyed|never retrieved|Error", out), out
