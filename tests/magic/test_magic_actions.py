"""Working on a track after it is made, from cells and lines, in a real IPython shell against
the sandbox: ``--extend``/``--cover``/``--add-vocals``/``--stems`` on a result, a batch or a job
id; every mistake one line with nothing sent; re-runs answered by the ledger; the tree."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from IPython.core.error import UsageError

from apiframe_magic import Batch, ExtendRequest, MusicResult
from apiframe_magic.magic import MusicError
from apiframe_magic.sandbox import SandboxServer

from ..conftest import CANARY_KEY
from .test_magic import RaisingShell, everything_shown, music_shell, run

SONG = "%%music --model suno --out song\na calm piano song with a sung melody, 20 seconds\n"


@pytest.fixture
def shell(sandbox: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RaisingShell]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("APIFRAME_API_KEY", CANARY_KEY)
    monkeypatch.setenv("APIFRAME_BASE_URL", sandbox.url)
    with music_shell() as sh:
        yield sh


def action_posts(sandbox: SandboxServer) -> int:
    return sum(1 for r in sandbox.recorded_requests()
               if r.method == "POST" and r.path == "/v2/music/suno/action")


def test_extend_in_a_cell_gives_the_extension_and_the_whole_song(
    shell: RaisingShell, sandbox: SandboxServer
) -> None:
    run(shell, SONG)
    captured = run(shell, "%%music --extend song --at 0m12s --out longer\n"
                          "a bridge that builds to a big last chorus\n")
    longer = shell.user_ns["longer"]
    assert isinstance(longer, MusicResult) and longer.action == "extend"
    assert isinstance(longer.request, ExtendRequest) and longer.request.continue_at == 12.0
    assert longer.request.prompt == "a bridge that builds to a big last chorus"
    assert longer.parent_job_id == shell.user_ns["song"].job_id
    assert longer.whole_song().is_file() and longer.whole_song().parent == longer.path.parent
    shown = everything_shown(captured)
    assert "extension of a calm piano song with a … at 0:12" in shown
    assert "whole song" in shown.lower() and longer.whole_song().name in shown
    assert longer.tracks[0].metadata_path.is_file()
    # Again: the ledger answers, nothing sent, the same whole song.
    again = run(shell, "%%music --extend song --at 0m12s --out again\n"
                       "a bridge that builds to a big last chorus\n")
    assert shell.user_ns["again"].from_ledger and action_posts(sandbox) == 1
    assert "from the ledger" in everything_shown(again)


def test_the_line_forms_run_stems_and_covers(shell: RaisingShell, sandbox: SandboxServer) -> None:
    run(shell, SONG)
    captured = run(shell, "%music stems song --track 2 --out parts")
    parts = shell.user_ns["parts"]
    assert parts.vocals.name.endswith("-vocals.mp3") and parts.instrumental.is_file()
    shown = everything_shown(captured)
    assert "vocals" in shown and "instrumental" in shown and "stems of" in shown
    run(shell, "%music cover song --param audio_weight=0.6 --out c")
    assert shell.user_ns["c"].request.to_json()["audio_weight"] == 0.6
    run(shell, "%music extend song --at 15s --out longer")
    assert shell.user_ns["longer"].request.continue_at == 15.0
    assert action_posts(sandbox) == 3


def test_a_job_id_may_stand_for_the_result(shell: RaisingShell, sandbox: SandboxServer) -> None:
    run(shell, SONG)
    job_id = shell.user_ns["song"].job_id
    run(shell, f"%%music --add-vocals {job_id} --out sung\n[Verse]\nlights go by the window\n")
    assert shell.user_ns["sung"].action == "add_vocals" and shell.user_ns["sung"].parent_job_id == job_id


@pytest.mark.parametrize(("cell", "says"), [
    ("%%music --extend song --at 20s\nmore\n", "--at: must be less than the track's length (20 s)"),
    ("%%music --extend song --at 25s\nmore\n", "--at: must be less than the track's length (20 s)"),
    ("%music add-vocals song", "--add-vocals needs the lyrics"),
    ("%music stems song --param audio_weight=0.5", "stems has no param audio_weight"),
    ("%music extend song --param audio_weight=0.5", "extend has no param audio_weight"),
    ("%music cover song --param audio_weight=2", "audio_weight"),
    ("%music stems parts", "a stems result takes no further action"),
    ("%music cover eleven", "only a suno job"),
    ("%music extend nothing_here", "no such variable"),
    ("%music cover pending_job", "is not collected yet"),
    ("%%music --stems song\na prompt\n", "--stems takes no prompt"),
    ("%music extend song --length 30s", "--length does not go with --extend"),
    ("%music cover song --at 10s", "--at goes with --extend"),
])
def test_every_mistake_is_one_line_and_sends_nothing(
    shell: RaisingShell, sandbox: SandboxServer, cell: str, says: str
) -> None:
    run(shell, SONG)
    run(shell, "%music stems song --out parts")
    run(shell, "%%music --length 5s --out eleven\na short tune\n")
    run(shell, "%%music --no-wait --length 5s --out pending_job\nanother short tune\n")
    before = action_posts(sandbox)
    with pytest.raises(UsageError) as caught:
        run(shell, cell)
    assert says in str(caught.value) and "\n" not in str(caught.value)
    assert action_posts(sandbox) == before


def test_dry_run_shows_the_action_body_and_its_cost(shell: RaisingShell, sandbox: SandboxServer) -> None:
    run(shell, SONG)
    captured = run(shell, "%music extend song --at 10s --track 2 --dry-run")
    shown = everything_shown(captured)
    assert "POST /v2/music/suno/action" in shown and "11 credits" in shown
    assert '\\"continueAt\\": 10.0' in shown and '\\"index\\": 2' in shown
    assert action_posts(sandbox) == 0


def test_an_action_on_a_job_id_the_service_says_is_stems_is_one_line(
    shell: RaisingShell, sandbox: SandboxServer
) -> None:
    run(shell, SONG)
    run(shell, "%music stems song --out parts")
    # Acting on the stems job by its id: the job is read first (GET) and refused without a POST.
    job_id = shell.user_ns["parts"].job_id
    with pytest.raises((MusicError, UsageError)) as caught:
        run(shell, f"%music cover {job_id}")
    assert str(caught.value).startswith("Not sent, nothing charged: ")
    assert "stems result takes no further action" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_extend_every_take_of_a_batch_in_one_cell(shell: RaisingShell, sandbox: SandboxServer) -> None:
    run(shell, "%%music --model suno --takes 2 --out takes\na calm piano song, 20 seconds\n")
    run(shell, "%music extend takes --at 10s --out longer")
    longer = shell.user_ns["longer"]
    assert isinstance(longer, Batch) and len(longer) == 2
    assert [r.parent_job_id for r in longer] == [r.job_id for r in shell.user_ns["takes"]]
    assert all(r.whole_song().is_file() for r in longer)
    assert action_posts(sandbox) == 2


def test_history_tree_draws_what_was_made_from_what(shell: RaisingShell, sandbox: SandboxServer) -> None:
    run(shell, SONG)
    run(shell, "%music extend song --at 10s --out longer")
    run(shell, "%music stems longer --track 2 --out parts")
    captured = run(shell, "%music history --tree")
    shown = captured.stdout
    lines = shown.splitlines()
    top = next(n for n, line in enumerate(lines) if line.startswith("a calm piano song"))
    assert lines[top + 1].startswith("└── extend track 1 at 0:10")
    assert lines[top + 2].startswith("    └── stems track 2")


def test_reconcile_marks_the_jobs_whose_files_the_service_purged(
    shell: RaisingShell, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dataclasses

    from apiframe_magic.client import AsyncApiframeClient, JobPage

    run(shell, SONG)
    purged = shell.user_ns["song"].job_id
    listed = AsyncApiframeClient.list_jobs

    async def list_with_one_purged(self: AsyncApiframeClient, **kw: object) -> JobPage:
        # The real answer over HTTP, with the one job the sandbox cannot purge marked expired.
        page = await listed(self, **kw)  # type: ignore[arg-type]
        jobs = tuple(dataclasses.replace(j, expired=j.id == purged) for j in page.jobs)
        return dataclasses.replace(page, jobs=jobs)

    monkeypatch.setattr(AsyncApiframeClient, "list_jobs", list_with_one_purged)
    shown = everything_shown(run(shell, "%music history --reconcile"))
    assert "SAVED (purged on the service)" in shown


def test_a_409_is_explained_in_one_line() -> None:
    from apiframe_magic._exceptions import ConflictError
    from apiframe_magic.jobs import Service
    from apiframe_magic.magic._messages import explain

    refused = ConflictError("parent job is a stems result", status_code=409)
    line = explain(refused, None, Service("http://127.0.0.1:1", sandbox=True))
    assert line.startswith("Apiframe refused the request (409, nothing charged): parent job is a stems")
    assert "\n" not in line


def test_an_action_left_running_is_pending_and_resumed_and_fresh_asks_again(
    shell: RaisingShell, sandbox: SandboxServer
) -> None:
    run(shell, SONG)
    run(shell, "%%music --extend song --at 10s --no-wait --out handle\nan outro\n")
    job_id = shell.user_ns["handle"].job_id
    assert job_id in everything_shown(run(shell, "%music pending"))
    shown = everything_shown(run(shell, "%music resume"))
    assert "extension of a calm piano song with a … at 0:10" in shown
    assert job_id not in everything_shown(run(shell, "%music pending"))
    run(shell, "%%music --extend song --at 10s --out same\nan outro\n")
    assert shell.user_ns["same"].from_ledger and shell.user_ns["same"].job_id == job_id
    run(shell, "%%music --extend song --at 10s --fresh --out other\nan outro\n")
    assert shell.user_ns["other"].job_id != job_id and action_posts(sandbox) == 2


def test_a_batch_of_extensions_cards_say_what_each_came_from_with_its_whole_songs(
    shell: RaisingShell, sandbox: SandboxServer
) -> None:
    """In a batch, as in a single result's summary: an extension's card says what it came from and
    has a player per whole song after its tracks', linked in the live grid (no clip in a widget's
    state) and embedded once in the static copy."""
    from ipywidgets.widgets.widget import _instances

    run(shell, "%%music --model suno --takes 2 --out takes\na calm piano song, 6 seconds\n")
    shell.run_line_magic("config", "MusicMagics.progress = 'widget'")
    open_before = set(_instances)
    captured = run(shell, "%music extend takes --at 3s --out longer")
    longer = shell.user_ns["longer"]
    assert isinstance(longer, Batch) and len(longer) == 2
    wholes = [path for result in longer for path in result.whole_songs]
    assert len(wholes) == 4 and all(path.is_file() for path in wholes), "two tracks each"
    grids = [o.data["text/html"] for o in captured.outputs
             if "apiframe-batch-static" in o.data.get("text/html", "")]
    assert len(grids) == 1, "one static copy"
    final = grids[0]
    for result in longer:
        assert result.lineage is not None and result.lineage.startswith("extension of ")
        assert final.count(result.lineage) == 1, "each card says what its track came from"
        assert final.count(f"parent job <code>{result.parent_job_id}</code>") == 1
    assert final.count("apiframe-music-lineage") == 2
    assert final.count("apiframe-music-whole-song") == 4
    assert all(path.name in final for path in wholes)
    # Eight players (two tracks and two whole songs a card), each clip embedded once, in the copy.
    assert final.count("<audio") == 8 == final.count("data:audio/")
    assert final.count("data:audio/wav;base64,") == 4, "the whole songs are WAVs"
    states = str([_instances[i].get_state() for i in set(_instances) - open_before])
    assert states.count("<audio") == 8, "the live cards have the same players"
    assert states.count("apiframe-music-whole-song") == 4
    assert states.count("apiframe-music-lineage") == 2
    assert "data:audio/" not in states, "no clip in any widget's state"
