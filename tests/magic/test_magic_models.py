"""Every model from a %%music cell, end to end against the sandbox in a real InteractiveShell:
submit, wait, every track saved with its sidecar and shown with its own player."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from IPython.core.error import UsageError

from apiframe_magic import MusicResult, SavedTrack
from apiframe_magic.catalog import MODELS
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


def audio_players(html: str) -> int:
    return html.count("<audio")


@pytest.mark.parametrize(
    ("line", "tracks"),
    [
        ("--model suno", 2),
        ("--model udio --seed 7", 2),
        ("--model producer --instrumental", 2),
        ("--model lyria-3-clip", 1),
        ("--model lyria-3-pro", 1),
        ("--model mureka --param n=3", 3),
        ("--model mureka", 2),
    ],
)
def test_every_model_runs_from_a_cell_and_saves_every_track(
    shell: RaisingShell, sandbox: SandboxServer, line: str, tracks: int
) -> None:
    captured = run(shell, f"%%music {line} --out r\na mellow folk song about rivers\n")
    result = shell.user_ns["r"]
    assert isinstance(result, MusicResult)
    assert len(result.tracks) == tracks
    assert all(isinstance(t, SavedTrack) for t in result.tracks)
    assert [t.index for t in result.tracks] == list(range(tracks))
    paths = [t.path for t in result.tracks]
    assert len(set(paths)) == tracks and all(p.exists() and p.stat().st_size > 0 for p in paths)
    assert len({p.read_bytes() for p in paths}) == tracks, "the takes are different audio"
    if tracks > 1:
        assert [p.stem.rsplit("-", 1)[1] for p in paths] == [str(n + 1) for n in range(tracks)]
    assert result.path == paths[0]
    for track in result.tracks:
        sidecar = json.loads(track.metadata_path.read_text())
        assert sidecar["jobId"] == result.job_id
        assert sidecar["track"]["index"] == track.index and sidecar["track"]["of"] == tracks
        assert sidecar["request"]["model"] == line.split()[1]
    shown = everything_shown(captured)
    assert all(str(p.name) in shown for p in paths), "the terminal lines name every file"
    html = shell.display_formatter.format(result)[0]["text/html"]
    assert audio_players(html) == tracks, "a player per track"
    if tracks > 1:
        assert all(f"Track {n + 1}" in html for n in range(tracks))
    assert CANARY_KEY not in shown + html


def test_suno_tracks_carry_titles_and_the_lyrics_go_in_custom_mode(
    shell: RaisingShell, sandbox: SandboxServer
) -> None:
    run(shell, "%%music --model suno --param title=Rails --out r\n"
               "a dreamy synth-pop song\n---\n[Verse]\nNight trains hum\n")
    result = shell.user_ns["r"]
    assert [t.title for t in result.tracks] == ["Rails", "Rails"]
    assert all(t.image_url for t in result.tracks)
    (post,) = [r for r in sandbox.recorded_requests() if r.method == "POST"]
    assert json.loads(post.body) == {
        "prompt": "[Verse]\nNight trains hum", "model": "suno",
        "sunoParams": {"title": "Rails", "custom_mode": True, "style": "a dreamy synth-pop song"},
    }
    assert result.credits == 11


@pytest.mark.parametrize(
    "cell",
    [
        "%%music --model suno --length 30s\nx\n",
        "%%music --model suno --param nope=1\nx\n",
        "%%music --model mureka --param n=9\nx\n",
        "%%music --model udio\nx\n---\nwords\n",
    ],
)
def test_bad_model_options_cost_nothing(shell: RaisingShell, sandbox: SandboxServer, cell: str) -> None:
    with pytest.raises(UsageError):
        shell.run_cell(cell)
    assert sandbox.recorded_requests() == []


def test_dry_run_prices_each_model(shell: RaisingShell, sandbox: SandboxServer) -> None:
    shown = everything_shown(run(shell, "%%music --model mureka --param n=3 --dry-run\nx\n"))
    assert "18 credits for 3 tracks" in shown
    shown = everything_shown(run(shell, "%%music --model producer --dry-run\nx\n"))
    assert "producer has no published price" in shown
    assert sandbox.recorded_requests() == []


def test_models_lists_every_model_with_params_and_prices(shell: RaisingShell, sandbox: SandboxServer) -> None:
    captured = run(shell, "%music models")
    shown = everything_shown(captured)
    for spec in MODELS.values():
        assert spec.id in shown
        assert all(p.name in shown for p in spec.params)
    assert "6 to 18" in shown
    assert "10 (as listed by the service)" in shown, "producer's price is undocumented; the sandbox lists one"
    assert "could not be read" not in shown
    assert [r.path for r in sandbox.recorded_requests()] == ["/v2/models"]
