"""Many prompts in one cell, in a real InteractiveShell against the sandbox over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from IPython.core.error import UsageError

from apiframe_magic import Batch, MusicResult
from apiframe_magic.magic import MusicError
from apiframe_magic.magic._options import BatchCommand, parse_music_cell
from apiframe_magic.sandbox import SandboxServer

from ..conftest import CANARY_KEY
from .test_magic import RaisingShell, everything_shown, music_shell, run

PROMPTS = "a quiet harp\na lofi beat\nmarching band\n"


@pytest.fixture
def shell(
    sandbox: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[RaisingShell]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("APIFRAME_API_KEY", CANARY_KEY)
    monkeypatch.setenv("APIFRAME_BASE_URL", sandbox.url)
    with music_shell() as sh:
        yield sh


def posts(sandbox: SandboxServer) -> int:
    return sum(1 for r in sandbox.recorded_requests() if r.method == "POST" and r.origin == "api")


def test_each_line_runs_every_prompt_and_stores_a_batch(
    shell: RaisingShell, sandbox: SandboxServer
) -> None:
    captured = run(shell, f"%%music --each-line --length 5s --out b\n{PROMPTS}")
    batch = shell.user_ns["b"]
    assert isinstance(batch, Batch) and len(batch) == 3
    assert all(isinstance(r, MusicResult) and r.path.exists() for r in batch)
    assert [r.prompt for r in batch] == ["a quiet harp", "a lofi beat", "marching band"]
    assert posts(sandbox) == 3
    shown = everything_shown(captured)
    assert shown.count("[apiframe] ✔") == 3 and "3 of 3 done" in shown
    rows = batch.to_dataframe()
    listed = rows if isinstance(rows, list) else rows.to_dict("records")
    assert {"label", "prompt", "take", "model", "job_id", "status", "credits", "path"} <= set(listed[0])


def test_running_a_batch_again_pays_nothing(shell: RaisingShell, sandbox: SandboxServer) -> None:
    run(shell, f"%%music --each-line --length 5s --out b\n{PROMPTS}")
    run(shell, f"%%music --each-line --length 5s --out b\n{PROMPTS}")
    assert posts(sandbox) == 3 and all(r.from_ledger for r in shell.user_ns["b"])


def test_prompts_from_a_variable_takes_and_models_combine(
    shell: RaisingShell, sandbox: SandboxServer
) -> None:
    shell.user_ns["ideas"] = ["city pop", "sea shanty"]
    run(shell, "%%music --prompts ideas --takes 2 --model elevenlabs-music,udio --out b\n# my ideas\n")
    batch = shell.user_ns["b"]
    assert len(batch) == 8 and posts(sandbox) == 8
    labels = [e.label for e in batch.entries]
    assert len(set(labels)) == 8 and any("udio" in label and "take 2" in label for label in labels)
    with pytest.raises(UsageError, match="no such variable"):
        shell.run_cell("%%music --prompts nothing_here\n# nothing\n")


def test_the_live_grid_stays_and_a_static_copy_holds_each_clip_once(
    shell: RaisingShell, sandbox: SandboxServer
) -> None:
    """The end leaves the live grid in place (a player that plays goes on) and adds the static
    copy a saved notebook needs; the clips are in the copy only, never in a widget's state."""
    from ipywidgets.widgets.widget import _instances

    widget_mime = "application/vnd.jupyter.widget-view+json"
    shell.run_line_magic("config", "MusicMagics.progress = 'widget'")
    open_before = set(_instances)
    captured = run(shell, f"%%music --each-line --length 5s\n{PROMPTS}")
    live, *_ = captured.outputs
    assert widget_mime in live.data, "the live grid is widgets"
    assert live.data["text/plain"] == "", "no widget repr as text where widgets cannot show"
    grids = [o.data["text/html"] for o in captured.outputs
             if "apiframe-batch" in o.data.get("text/html", "")]
    assert len(grids) == 1, "one static copy"
    final = grids[-1]
    assert final.count("<audio") == 3 == final.count("data:audio/") and "3 of 3" in final
    assert widget_mime not in captured.outputs[-1].data
    states = [_instances[i].get_state() for i in set(_instances) - open_before]
    assert str(states).count("<audio") == 3, "the live grid keeps a player per track"
    assert "data:audio/" not in str(states), "no clip in any widget's state"


def test_one_failing_job_does_not_stop_the_others_and_the_cell_fails(
    shell: RaisingShell, sandbox: SandboxServer
) -> None:
    sandbox.faults.inject("fail_job", message="Provider returned an error: content policy")
    with pytest.raises(MusicError, match="1 of 3"):
        run(shell, f"%%music --each-line --length 5s --out b\n{PROMPTS}")
    batch = shell.user_ns.get("b")
    assert batch is None or len(batch.failed) == 1
    assert len(list(Path("apiframe_outputs").glob("*.mp3"))) == 2


def test_a_batch_dry_run_sends_nothing(shell: RaisingShell, sandbox: SandboxServer) -> None:
    shown = run(shell, f"%%music --each-line --length 5s --dry-run\n{PROMPTS}").stdout
    assert "3 jobs would cost 30 credits" in shown
    assert sandbox.recorded_requests() == []


def test_no_wait_returns_at_once_and_wait_collects(shell: RaisingShell, sandbox: SandboxServer) -> None:
    run(shell, f"%%music --each-line --length 5s --no-wait --out b\n{PROMPTS}")
    batch = shell.user_ns["b"]
    batch.wait(timeout=60)
    assert len(batch.results) == 3 and posts(sandbox) == 3


@pytest.mark.parametrize(
    ("line", "cell", "message"),
    [
        ("--each-line --take 2", "a\nb", "a batch makes takes with --takes N"),
        ("--each-line --save x.mp3", "a\nb", "give a folder"),
        ("--each-line --prompts p", "a", "not both"),
        ("--takes 0", "a", "must be 1 or more"),
        ("--model suno,nope --takes 2", "a", "--model nope"),
        ("--model elevenlabs-music,suno --length 30s", "a", "suno"),
        ("--each-line", "a\n---\nla la", "lyrics"),
    ],
)
def test_bad_batches_are_one_line_before_anything_is_sent(line: str, cell: str, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_music_cell(line, cell)
    assert message in str(caught.value)


def test_a_single_prompt_stays_a_single_job() -> None:
    assert not isinstance(parse_music_cell("--length 5s", "one prompt"), BatchCommand)
    assert isinstance(parse_music_cell("--takes 2", "one prompt"), BatchCommand)


def test_in_vs_code_the_live_players_embed_their_clips(shell: RaisingShell, sandbox: SandboxServer) -> None:
    """VS Code (and Colab) render outputs away from the notebook's folder, where a linked player
    would not play: there the live players embed their clips."""
    from ipywidgets.widgets.widget import _instances

    shell.run_line_magic("config", "MusicMagics.progress = 'widget'")
    shell.user_ns["__vsc_ipynb_file__"] = "/home/someone/notebook.ipynb"
    open_before = set(_instances)
    run(shell, "%%music --each-line --length 5s\na harp\na drum\n")
    states = [_instances[i].get_state() for i in set(_instances) - open_before]
    assert str(states).count("data:audio/") == 2, "each live player embeds its clip"
