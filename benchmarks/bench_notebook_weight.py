"""How many bytes a ``%%music`` cell adds to a saved notebook, measured on the ``.ipynb``.

Executes small notebooks in a real kernel with nbclient against the embedded sandbox and saves
them as JupyterLab would (widget models whose comm closed are not saved; see
``tests/jupyter_harness.lab_like_client_class``). For each ``%%music`` cell, the bytes it adds
are the size of the saved notebook less its size with that cell's outputs and the notebook's
widget state removed. Targets: a cell whose audio is linked adds at most 2 KB; a cell with an
embedded track at most the base64 size of the file plus 1 KB; either plus what measuring adds
(the line of measurements, the waveform SVG and the spectrogram PNG, as saved), at most 4 KB per
track. The
sandbox notice is counted apart: only the sandbox shows it (once per kernel), the real service
never does.

Prints a table; asserts nothing.

    python benchmarks/bench_notebook_weight.py
"""

from __future__ import annotations

import base64
import copy
import json
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _table import table  # benchmarks/_table.py: run as a script, this folder is on the path

from tests.jupyter_harness import execute_notebook, isolated_env

LINKED_KB, EMBED_OVERHEAD_KB, PICTURES_KB = 2, 1, 4
# A track's measurements and pictures, as a card saves them (a line, a waveform SVG, a spectrogram PNG).
PICTURES = re.compile(r"<div class='apiframe-(?:measurements|pictures)'.*?</div>")
# Long enough to be cut in the summary, as a real prompt often is.
PROMPT = (
    "an upbeat synthwave track with a driving bassline, shimmering arpeggios and a big "
    "gated-reverb snare, building to a bright chorus"
)
SAVED = re.compile(r"apiframe_outputs/[\w.-]+\.(?:mp3|wav)")
LINK_ALWAYS = "%config MusicMagics.embed_limit_mb = 0"  # 0: link every track, never embed



def size(nb: Any) -> int:
    return len(nbformat.writes(nb).encode())


def html_of(output: Any) -> str:
    html = output.get("data", {}).get("text/html", "")
    return "".join(html) if isinstance(html, list) else str(html)


def is_notice(output: Any) -> bool:
    return "apiframe-sandbox-notice" in html_of(output)


def run(sources: list[str]) -> tuple[Any, Path]:
    base = Path(tempfile.mkdtemp(prefix="bench-weight-"))
    workdir = base / "work"
    workdir.mkdir()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = workdir / "weight.ipynb"
    nbformat.write(nb, str(path))
    env = isolated_env(base / "env", job_seconds=0.5)
    return execute_notebook(path, workdir, env), workdir


def measure(label: str, sources: list[str], embedded: bool) -> list[list[str]]:
    nb, workdir = run(sources)
    widget_state = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {})
    models = len(widget_state.get("state", {}))
    bare = copy.deepcopy(nb)
    bare.metadata.pop("widgets", None)
    rows = []
    music = [i for i, c in enumerate(nb.cells) if c.source.startswith("%%music")]
    for n, index in enumerate(music):  # n: the kernel's first music cell, or a later one
        without_cell = copy.deepcopy(bare)
        without_cell.cells[index].outputs = []
        without_notice = copy.deepcopy(nb)
        without_notice.cells[index].outputs = [o for o in nb.cells[index].outputs if not is_notice(o)]
        added = size(nb) - size(without_cell)
        notice = size(nb) - size(without_notice)
        own = added - notice
        audio = workdir / SAVED.findall(json.dumps(nb.cells[index].outputs))[0]
        b64 = len(base64.b64encode(audio.read_bytes()))
        # The measurements and pictures: the output the cell adds once the track is measured
        # (all of it: line, pictures and the output's own JSON), else the pictures in the card.
        without_analysis = copy.deepcopy(nb)
        without_analysis.cells[index].outputs = [
            o for o in nb.cells[index].outputs if "apiframe-music-analysis" not in html_of(o)]
        markup = "".join(html_of(o) for o in nb.cells[index].outputs)
        drawn = size(nb) - size(without_analysis) or sum(len(p) for p in PICTURES.findall(markup))
        target = (b64 + EMBED_OVERHEAD_KB * 1024 if embedded else LINKED_KB * 1024) + drawn
        pictures_ok = drawn <= PICTURES_KB * 1024  # one track per cell here
        rows.append([
            label, "first" if n == 0 else "later", f"{audio.stat().st_size:,}",
            f"{b64:,}" if embedded else "-", f"{added:,}", f"{notice:,}", f"{own:,}",
            f"{own - b64:,}" if embedded else f"{own:,}", f"{drawn:,}", f"{target:,}",
            "yes" if own <= target and pictures_ok else "NO", str(models),
        ])
    return rows


def main() -> None:
    cell = f"%%music --length 5s\n{PROMPT}"
    rows = measure("linked mp3 5 s", ["%load_ext apiframe_magic", LINK_ALWAYS, cell, cell], embedded=False)
    rows += measure("embedded mp3 5 s", ["%load_ext apiframe_magic", cell, cell], embedded=True)
    rows += measure(
        "embedded wav 16 kHz 5 s",
        ["%load_ext apiframe_magic", f"%%music --length 5s --format wav_16khz\n{PROMPT}"],
        embedded=True,
    )
    table(
        "Bytes a %%music cell adds to the saved notebook (outputs + widget state; notice apart)",
        ["case", "cell", "file B", "base64 B", "added B", "notice B", "own B", "own - base64 B",
         "measured B", "target B", "within", "widget models saved"],
        rows,
    )
    print(f"\ntarget: linked <= {LINKED_KB} KB; embedded <= base64 + {EMBED_OVERHEAD_KB} KB; either "
          f"plus the measurements and pictures (<= {PICTURES_KB} KB per track; own bytes: added less "
          "the sandbox notice). "
          "'widget models saved' is for the whole notebook.")


if __name__ == "__main__":
    main()
