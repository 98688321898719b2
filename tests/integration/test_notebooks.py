"""Every notebook runs top to bottom in a real kernel (nbclient) against the embedded sandbox.

Checked on the executed notebooks: no error output; a player (``<audio>``) and a static summary for
every generating ``%%music`` cell (and action line, ``%music stems song``), an action's saying what
it came from, an extension's with a whole song per track, with no widget left behind (so front
ends without ipywidgets, nbconvert and static viewers show the final state) and no widget state
saved; files and sidecars saved; the sandbox key and the canary key nowhere; the notebook's
size, and each cell's weight, within budget; nbformat validation; an nbconvert HTML render that
shows the players. Also: the committed notebooks are stripped, and ``scripts/quickstart.py``
works and fails as documented.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbclient")

from tests.jupyter_harness import (  # noqa: E402
    CANARY_KEY,
    NOTEBOOK_NAMES,
    NOTEBOOKS_DIR,
    REPO_ROOT,
    WIDGET_MIME,
    action_cells,
    artifacts_dir,
    batch_cells,
    batch_grid,
    copy_notebook,
    error_outputs,
    execute_notebook,
    files_text,
    generating_cells,
    html_outputs,
    isolated_env,
    leaked_secrets,
    music_cells,
)

pytestmark = pytest.mark.notebook

# Sandbox jobs this long keep the whole module fast while still polling more than once.
JOB_SECONDS = 0.5

# Size budget for an executed notebook: a fixed part (markdown, code, help text, a small plot)
# plus a part per generated track. A track is embedded exactly once, as a data: URI; 30 s of
# MP3 at 192 kbps is 720 KB, about 960 KB in base64. The notebooks ask for 5 to 10 s tracks, so
# they use a fraction of this.
BASE_BUDGET_BYTES = 300_000
PER_TRACK_BUDGET_BYTES = 1_000_000
# A committed notebook carries no outputs at all: text only.
COMMITTED_BUDGET_BYTES = 30_000

# What one %%music cell may add to a saved notebook (outputs and widget state, the sandbox
# notice apart): 2 KB when the audio is linked, the audio's base64 plus 1 KB when embedded.
LINKED_CELL_BUDGET_BYTES = 2048
EMBED_OVERHEAD_BUDGET_BYTES = 1024
# And the line of measurements under the player, with its waveform (an SVG image, base64 so that
# untrusted views keep it) and spectrogram (PNG), and what the prompt asked for against them.
MEASUREMENTS_BUDGET_BYTES = 5120
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"

WIDGET_REPR = re.compile(r"\b(IntProgress|FloatProgress|HBox|VBox|Label|HTML|Output)\(")
# ``<slug>-<jobid8>.<ext>``; a job of several tracks adds each track's number (``-2``), a stems
# job the stem's name (``-vocals``, ``-instrumental``); an extension's whole song, joined here, is
# a WAV beside its track (``...-1-whole.wav``).
AUDIO_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*-[0-9a-f]{8}(-[0-9]+|-vocals|-instrumental)?\.(mp3|wav)$")
WHOLE_SONG_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*-[0-9a-f]{8}-[0-9]+-whole\.wav$")
EMBEDDED_CLIP = re.compile(r"data:audio/[\w.-]+;base64,([A-Za-z0-9+/=]+)")
LINKED_PLAYER = re.compile(r"<audio controls src='(?!data:)([^']+)'")


def notebook_json(nb: Any) -> str:
    return nbformat.writes(nb)


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Any, Path]]:
    """name -> (executed notebook, its working directory); each notebook runs once, lazily."""
    return _ExecutedCache(tmp_path_factory)  # type: ignore[return-value]


class _ExecutedCache(dict):  # type: ignore[type-arg]
    def __init__(self, factory: pytest.TempPathFactory) -> None:
        super().__init__()
        self.factory = factory

    def __missing__(self, name: str) -> tuple[Any, Path]:
        base = self.factory.mktemp(name.removesuffix(".ipynb"))
        workdir = base / "work"
        source = copy_notebook(name, workdir)
        env = isolated_env(base / "env", job_seconds=JOB_SECONDS)
        nb = execute_notebook(source, workdir, env, allow_errors=True)
        out = artifacts_dir("notebooks") / name.replace(".ipynb", ".executed.ipynb")
        nbformat.write(nb, str(out))
        self[name] = (nb, workdir)
        return self[name]


# ------------------------------------------------------------------------------------------
# The committed notebooks
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NOTEBOOK_NAMES)
def test_committed_notebook_is_stripped_valid_and_small(name: str) -> None:
    path = NOTEBOOKS_DIR / name
    nb = nbformat.read(str(path), as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert path.stat().st_size < COMMITTED_BUDGET_BYTES
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{name}: a code cell has outputs: strip it"
            assert cell.execution_count is None
    assert "widgets" not in nb.metadata
    assert generating_cells(nb), f"{name} generates no music"
    assert not leaked_secrets([path.read_text()])


def test_strip_script_check_passes_and_strips(tmp_path: Path) -> None:
    script = REPO_ROOT / "scripts" / "strip_notebooks.py"
    check = subprocess.run(
        [sys.executable, str(script), "--check"], capture_output=True, text=True, timeout=60
    )
    assert check.returncode == 0, check.stdout + check.stderr

    dirty = nbformat.read(str(NOTEBOOKS_DIR / "quickstart.ipynb"), as_version=4)
    dirty.cells[2].outputs = [nbformat.v4.new_output("stream", name="stdout", text="hi\n")]
    dirty.cells[2].execution_count = 1
    dirty.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {}}
    path = tmp_path / "dirty.ipynb"
    nbformat.write(dirty, str(path))
    args = [sys.executable, str(script)]
    assert subprocess.run([*args, "--check", str(path)], timeout=60).returncode == 1
    assert subprocess.run([*args, str(path)], timeout=60).returncode == 0
    assert subprocess.run([*args, "--check", str(path)], timeout=60).returncode == 0
    assert path.read_text() == (NOTEBOOKS_DIR / "quickstart.ipynb").read_text()


# ------------------------------------------------------------------------------------------
# Headless execution
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NOTEBOOK_NAMES)
def test_notebook_runs_headless_without_errors(name: str, executed: dict) -> None:
    nb, _ = executed[name]
    assert error_outputs(nb) == []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.execution_count is not None, f"cell {index} did not run"


def cell_players(summary: str) -> tuple[int, int]:
    """A single result's players, from its static summary: its tracks (one, or a labelled player
    per track) and its whole songs (an extension's, one per track)."""
    return summary.count("apiframe-music-track'") or 1, summary.count("apiframe-music-whole-song")


@pytest.mark.parametrize("name", NOTEBOOK_NAMES)
def test_every_track_has_a_static_summary_and_player(name: str, executed: dict) -> None:
    """The finished state is static HTML, so it survives where widgets cannot render. Every track
    (an MP3, far under the embed limit) is embedded exactly once; an extension's whole song, a WAV
    joined here, is embedded once too, or over the limit linked to its saved file."""
    nb, workdir = executed[name]
    actions = set(action_cells(nb))
    for index in music_cells(nb):
        outputs = nb.cells[index].outputs
        htmls = [
            "".join(o["data"]["text/html"]) for o in outputs if "text/html" in o.get("data", {})
        ]
        summaries = [h for h in htmls if "apiframe-music-summary" in h]
        assert len(summaries) == 1, f"cell {index}: expected one summary, got {len(summaries)}"
        summary = summaries[0]
        tracks, wholes = cell_players(summary)
        assert summary.count("<audio") == tracks + wholes, f"cell {index}"
        clips = EMBEDDED_CLIP.findall("".join(htmls))
        linked = LINKED_PLAYER.findall(summary)
        # Counted over all the cell's outputs: a clip once per player, nowhere else.
        assert len(clips) + len(linked) == tracks + wholes, f"cell {index}: a clip missing or twice"
        assert len(clips) >= tracks, f"cell {index}: every track must be embedded"
        for url in linked:
            assert WHOLE_SONG_NAME.match(Path(url).name), f"cell {index}: a track linked: {url}"
            assert (workdir / url).is_file(), f"cell {index}: {url} links no saved file"
        first = nb.cells[index].source.lstrip().splitlines()[0]
        if index in actions:
            assert "apiframe-music-lineage" in summary, f"cell {index}: says not what it came from"
        if "--extend" in first.split() or first.startswith("%music extend "):
            assert wholes == tracks, f"cell {index}: {wholes} whole songs for {tracks} tracks"
        else:
            assert wholes == 0, f"cell {index}"
        for output in outputs:
            data = output.get("data", {})
            assert WIDGET_MIME not in data, f"cell {index}: a widget is left in the saved output"
            plain = "".join(data.get("text/plain", ""))
            assert not WIDGET_REPR.search(plain), f"cell {index}: widget repr as text: {plain!r}"


@pytest.mark.parametrize("name", NOTEBOOK_NAMES)
def test_every_batch_ends_as_a_static_grid_with_each_track_embedded_once(name: str, executed: dict) -> None:
    nb, _ = executed[name]
    for index in batch_cells(nb):
        grid = batch_grid(nb, index)
        players = grid.count("<audio")
        assert players >= 2 and grid.count("data:audio/") == players, f"cell {index}"
        # A card per job, a player per track (a Suno job has two).
        cards = grid.count("<div class='apiframe-batch-card'")
        assert cards >= 1 and re.search(rf"<b>{cards} of {cards}</b> done", grid), f"cell {index}"
        assert grid.count("apiframe-measurements") == players, f"cell {index}: not measured"
        # The live grid stays (a player playing at the end goes on): one widget output, before
        # the static copy, with no text of its own; every clip is in the copy alone.
        widgets = [o for o in nb.cells[index].outputs if WIDGET_MIME in o.get("data", {})]
        assert len(widgets) <= 1, f"cell {index}: {len(widgets)} widget outputs"
        assert all("".join(o["data"].get("text/plain", "")) == "" for o in widgets), f"cell {index}"
        whole = json.dumps(nb)  # with the widget state, as the notebook is saved
        clips = re.findall(r"data:audio/[\w.-]+;base64,([A-Za-z0-9+/=]+)", grid)
        assert [whole.count(clip) for clip in clips] == [1] * players, f"cell {index}: a clip stored twice"


def tracks_made(nb: Any) -> int:
    """How many audio files the notebook's cells made: a single cell's tracks and whole songs
    (one player each), one per player of each batch's grid."""
    singles = 0
    for index in music_cells(nb):
        summary = next(h for i, h in html_outputs(nb) if i == index and "apiframe-music-summary" in h)
        singles += sum(cell_players(summary))
    return singles + sum(batch_grid(nb, i).count("<audio") for i in batch_cells(nb))


@pytest.mark.parametrize("name", NOTEBOOK_NAMES)
def test_sandbox_notice_once_per_kernel(name: str, executed: dict) -> None:
    """The first cell that uses the sandbox says so; later cells of the same kernel do not."""
    nb, _ = executed[name]
    cells = generating_cells(nb)
    counts = {
        index: sum("apiframe-sandbox-notice" in h for i, h in html_outputs(nb) if i == index)
        for index in cells
    }
    assert counts[cells[0]] == 1, f"cell {cells[0]}: {counts[cells[0]]} sandbox notices"
    assert all(counts[i] == 0 for i in cells[1:]), f"the notice repeats: {counts}"
    first = next(h for i, h in html_outputs(nb) if i == cells[0] and "apiframe-sandbox-notice" in h)
    assert "offline sandbox" in first.lower()


@pytest.mark.parametrize("name", NOTEBOOK_NAMES)
def test_files_and_sidecars_are_saved(name: str, executed: dict) -> None:
    """``<slug-of-prompt>-<jobid8>.<ext>`` (see AUDIO_NAME) and its sidecar ``<same name>.<ext>.json``;
    a whole song's says what it was joined from; a stems job is two files, vocals and the rest."""
    nb, workdir = executed[name]
    # A notebook may send its tracks to a folder of its own (%config MusicMagics.output_dir).
    files = [p for p in workdir.rglob("*") if p.is_file() and ".ipynb" not in p.name]
    audio = sorted(p for p in files if p.suffix in (".mp3", ".wav"))
    # A listening test keeps its definition in listening/ (for --collect): not a sidecar.
    sidecars = sorted(p for p in files if p.suffix == ".json" and p.parent.name != "listening")
    assert len(audio) == tracks_made(nb)
    assert [p.name + ".json" for p in audio] == [p.name for p in sidecars]
    for path in audio:
        assert AUDIO_NAME.match(path.name) or WHOLE_SONG_NAME.match(path.name), path.name
        assert path.stat().st_size > 10_000
    for path in sidecars:
        sidecar = json.loads(path.read_text())
        assert ("wholeSong" in sidecar) == bool(WHOLE_SONG_NAME.match(path.name[:-len(".json")])), path.name
    stems = [p for p in audio if p.stem.endswith(("-vocals", "-instrumental"))]
    stems_jobs = [i for i in action_cells(nb) if "stems" in nb.cells[i].source.splitlines()[0]]
    assert len(stems) == 2 * len(stems_jobs)
    for vocals in (p for p in stems if p.stem.endswith("-vocals")):
        assert vocals.with_name(vocals.name.replace("-vocals.", "-instrumental.")) in stems


@pytest.mark.parametrize("name", NOTEBOOK_NAMES)
def test_no_key_anywhere(name: str, executed: dict) -> None:
    nb, workdir = executed[name]
    files = [p for p in workdir.rglob("*") if p.is_file() and ".ipynb" not in p.name]
    assert leaked_secrets([notebook_json(nb), *files_text(files)]) == []


@pytest.mark.parametrize("name", NOTEBOOK_NAMES)
def test_executed_notebook_within_size_budget(name: str, executed: dict) -> None:
    nb, _ = executed[name]
    tracks = tracks_made(nb)
    size = len(notebook_json(nb).encode())
    budget = BASE_BUDGET_BYTES + tracks * PER_TRACK_BUDGET_BYTES
    assert size <= budget, f"{name}: {size} bytes for {tracks} tracks (budget {budget})"


@pytest.mark.parametrize("name", NOTEBOOK_NAMES)
def test_no_widget_state_is_saved_but_live_views_and_never_a_grid_clip(name: str, executed: dict) -> None:
    """Every widget model of a job's progress is closed when it ends, so a save keeps none of
    them. Two views stay open: a blind listening test, which waits for its listeners, and a
    batch's live grid, so that a player playing at the batch's end goes on (a save that keeps
    widget state keeps them). The grid's state never holds a clip: its players link the saved
    files, and its static copy embeds each one."""
    nb, _ = executed[name]
    models = widget_models(nb)
    listens = any(cell.source.startswith("%music listen") for cell in nb.cells if cell.cell_type == "code")
    assert "IntProgressModel" not in models, models
    if not batch_cells(nb):
        assert "GridBoxModel" not in models, models
        if not listens:
            assert models == []
    state = json.dumps(nb.metadata.get("widgets", {}))
    for index in batch_cells(nb):
        for clip in re.findall(r"data:audio/[\w.-]+;base64,([A-Za-z0-9+/=]+)", batch_grid(nb, index)):
            assert clip not in state, f"cell {index}: a clip of the grid in the widget state"


def is_notice(output: dict[str, Any]) -> bool:
    return "apiframe-sandbox-notice" in json.dumps(output)



def widget_models(nb: Any) -> list[str]:
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    return sorted(model["model_name"] for model in state.values())


def test_a_music_cell_adds_little_more_than_its_audio(tmp_path: Path) -> None:
    """A linked track's cell weighs at most 2 KB, an embedded one its base64 plus 1 KB, each
    plus at most 4 KB of measurements and pictures, and neither leaves widget state (see
    benchmarks/bench_notebook_weight.py for the figures)."""
    prompt = ("an upbeat synthwave track with a driving bassline, shimmering arpeggios and a big "
              "gated-reverb snare, building to a bright chorus")
    sources = [
        "%load_ext apiframe_magic",
        f"%%music --length 5s\n{prompt}",  # the first cell in a kernel also shows the notice
        "%config MusicMagics.embed_limit_mb = 0",
        f"%%music --length 5s\n{prompt}",
    ]
    source = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    source.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    workdir = tmp_path / "work"
    workdir.mkdir()
    nbformat.write(source, str(workdir / "weight.ipynb"))
    env = isolated_env(tmp_path / "env", job_seconds=JOB_SECONDS)
    nb = execute_notebook(workdir / "weight.ipynb", workdir, env)
    assert error_outputs(nb) == []
    assert widget_models(nb) == []

    def own_bytes(index: int) -> int:
        """The saved size less the size without this cell's outputs (the sandbox notice kept)."""
        without = nbformat.from_dict(json.loads(nbformat.writes(nb)))
        without.cells[index].outputs = [o for o in nb.cells[index].outputs if is_notice(o)]
        return len(nbformat.writes(nb).encode()) - len(nbformat.writes(without).encode())

    embedded, linked = (json.dumps(nb.cells[i].outputs) for i in (1, 3))
    assert "data:audio/mpeg;base64," in embedded
    assert "data:audio/" not in linked, "embed_limit_mb = 0 links the audio"
    audio = workdir / re.findall(r"apiframe_outputs/[\w.-]+\.mp3", embedded)[0]
    for cell in (embedded, linked):
        assert cell.count("apiframe-measurements") == 1, "measured once"
        assert cell.count("data:image/svg+xml;base64,") == 1, "one waveform, as an image"
    budget = len(base64.b64encode(audio.read_bytes())) + EMBED_OVERHEAD_BUDGET_BYTES
    assert own_bytes(1) <= budget + MEASUREMENTS_BUDGET_BYTES
    assert own_bytes(3) <= LINKED_CELL_BUDGET_BYTES + MEASUREMENTS_BUDGET_BYTES


@pytest.mark.parametrize("name", NOTEBOOK_NAMES)
def test_executed_notebook_validates_and_renders_statically(name: str, executed: dict) -> None:
    from nbconvert import HTMLExporter

    nb, _ = executed[name]
    nbformat.validate(nb)
    html, _ = HTMLExporter().from_notebook_node(nb)
    (artifacts_dir("notebooks") / name.replace(".ipynb", ".html")).write_text(html)
    assert html.count("<audio") >= tracks_made(nb)
    assert html.count("apiframe-music-summary") >= len(music_cells(nb))
    assert "apiframe-sandbox-notice" in html
    assert not leaked_secrets([html])


def test_quickstart_help_status_and_dry_run(executed: dict) -> None:
    nb, _ = executed["quickstart.ipynb"]
    code = [c for c in nb.cells if c.cell_type == "code"]

    def outputs_of(prefix: str) -> str:
        return json.dumps(next(c for c in code if c.source.startswith(prefix)).outputs)

    status = outputs_of("%music status")
    assert "sandbox" in status.lower()
    dry = outputs_of("%%music --length 10s --instrumental --dry-run")
    assert "music_length_ms" in dry and "10000" in dry
    assert "credit" in dry.lower()


# ------------------------------------------------------------------------------------------
# A real-looking key, against a standalone sandbox server
# ------------------------------------------------------------------------------------------


def test_canary_key_never_leaks(tmp_path: Path) -> None:
    from apiframe_magic.sandbox import SandboxServer

    server = SandboxServer(job_seconds=JOB_SECONDS).start()
    try:
        workdir = tmp_path / "work"
        source = copy_notebook("quickstart.ipynb", workdir)
        env = isolated_env(
            tmp_path / "env",
            job_seconds=JOB_SECONDS,
            extra={"APIFRAME_BASE_URL": server.url, "APIFRAME_API_KEY": CANARY_KEY},
        )
        nb = execute_notebook(source, workdir, env, allow_errors=True)
    finally:
        server.stop()
    nbformat.write(nb, str(artifacts_dir("notebooks") / "quickstart.canary.ipynb"))
    assert error_outputs(nb) == []
    everything = [p for p in workdir.rglob("*") if p.is_file()]
    assert any(p.suffix == ".mp3" for p in everything)
    assert leaked_secrets([notebook_json(nb), *files_text(everything)]) == []
    assert CANARY_KEY not in notebook_json(nb)


# ------------------------------------------------------------------------------------------
# scripts/quickstart.py (the README's main command)
# ------------------------------------------------------------------------------------------


def run_quickstart(tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = isolated_env(tmp_path / "env")
    return subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "quickstart.py"), *extra],
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
    )


def test_quickstart_script_runs_and_lists_the_audio(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run_quickstart(tmp_path, "--output-dir", str(out), "--job-seconds", str(JOB_SECONDS))
    assert result.returncode == 0, result.stdout + result.stderr
    executed = out / "apiframe_outputs" / "quickstart.executed.ipynb"
    assert executed.is_file()
    assert str(executed) in result.stdout
    mp3s = list((out / "apiframe_outputs").glob("*.mp3"))
    assert len(mp3s) == 1
    assert str(mp3s[0]) in result.stdout
    nb = nbformat.read(str(executed), as_version=4)
    assert error_outputs(nb) == []
    assert not leaked_secrets([result.stdout, result.stderr, executed.read_text()])


def test_quickstart_script_reports_a_failing_cell(tmp_path: Path) -> None:
    broken = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 / 0")])
    broken.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                     "language": "python"}
    path = tmp_path / "broken.ipynb"
    nbformat.write(broken, str(path))
    result = run_quickstart(tmp_path, "--output-dir", str(tmp_path / "out"), "--notebook", str(path))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "ZeroDivisionError" in lines[0], result.stderr


# ------------------------------------------------------------------------------------------
# "Run All": every execute_request is queued at once
# ------------------------------------------------------------------------------------------


def test_cells_queued_behind_music_run_normally(tmp_path: Path) -> None:
    """JupyterLab's and Notebook 7's Run All send every cell's execute_request at once; nbclient
    sends one at a time. The cells queued behind a running ``%%music`` cell must still run."""
    import queue
    import time

    from jupyter_client.manager import start_new_kernel

    workdir = tmp_path / "work"
    workdir.mkdir()
    env = isolated_env(tmp_path / "env", job_seconds=JOB_SECONDS)
    nb = nbformat.read(str(NOTEBOOKS_DIR / "quickstart.ipynb"), as_version=4)
    sources = [c.source for c in nb.cells if c.cell_type == "code"]
    km, kc = start_new_kernel(kernel_name="python3", env=env, cwd=str(workdir))
    replies: dict[str, str] = {}
    problems: list[str] = []
    try:
        ids = [kc.execute(source) for source in sources]
        deadline = time.monotonic() + 45
        while len(replies) < len(ids) and time.monotonic() < deadline:
            try:
                reply = kc.get_shell_msg(timeout=1)
                replies[reply["parent_header"]["msg_id"]] = reply["content"]["status"]
            except queue.Empty:
                pass
            while True:
                try:
                    msg = kc.get_iopub_msg(timeout=0)
                except queue.Empty:
                    break
                content = msg["content"]
                if msg["msg_type"] == "error":
                    problems.append(f"{content['ename']}: {content['evalue']}")
                elif msg["msg_type"] == "stream" and content["name"] == "stderr":
                    problems.append(content["text"][:300])
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    answered = [replies.get(i) for i in ids]
    assert None not in answered, (
        f"only {len(replies)} of {len(ids)} queued cells answered; stderr: {problems[:2]}"
    )
    assert set(answered) == {"ok"}, answered
    assert problems == []
