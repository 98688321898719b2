"""Batch options on the line magic: ``%music --prompts VAR --out b`` needs no cell body."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from IPython.core.error import UsageError

from apiframe_magic import Batch
from apiframe_magic.magic._options import takes_cell_options
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


def test_a_list_in_a_variable_runs_from_the_line_magic(shell: RaisingShell, sandbox: SandboxServer) -> None:
    shell.user_ns["ideas"] = ["a quiet harp", "a lofi beat"]
    run(shell, "%music --prompts ideas --length 5s --out b")
    batch = shell.user_ns["b"]
    assert isinstance(batch, Batch) and [r.prompt for r in batch] == ["a quiet harp", "a lofi beat"]


def test_the_line_magic_with_options_and_no_prompt_says_what_to_do(shell: RaisingShell) -> None:
    with pytest.raises(UsageError, match="needs a prompt"):
        run(shell, "%music --length 5s")


@pytest.mark.parametrize(("line", "cell"), [
    ("--prompts ideas --out b", True),
    ("-l 30s --prompts ideas", True),
    ("--length=30s --prompts ideas", True),
    ("status", False),
    ("resume", False),
    ("--help", False),
    ("-h", False),
    ("", False),
    ("listen b --pairs", False),
])
def test_which_lines_are_cell_options(line: str, cell: bool) -> None:
    assert takes_cell_options(line) is cell
