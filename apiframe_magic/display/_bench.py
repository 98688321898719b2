"""The audition bench of a batch grid: compare the cards by ear, one clip at a time.

Where the page runs it, a small script (``_bench.js``, shipped in the package, one copy per
live grid) makes a grid (an element of class ``apiframe-bench``) a bench: one clip plays at a time;
the keys 1 to 9 (while the grid has the focus, or the pointer is over it and no text field or
editor has the focus) and a button per card switch to that card at the same playback position,
on the same track of a card with several; loudness matching (on by default, a checkbox) turns
every clip down to the quietest clip's measured loudness (a volume can only attenuate, so
nothing is boosted into clipping); the cards sort by model, take or a measurement (the first
track's) and filter by model, take or any text of the card (a key, a tempo). Sorting and
filtering set CSS ``order`` and a hiding class: no player is moved or redrawn, so one playing
goes on.

The script runs from the HTML output of an ``Output`` widget in the live grid (JupyterLab and
Notebook 7 run a trusted output's scripts; an ``HTML`` widget's would not run). The grid's static
copy, saved in the notebook with every clip, carries neither the script nor the bar: it keeps its
plain players. Where it does not run (an untrusted or sanitised view) the bar and the
buttons stay hidden (an inline ``display:none`` only the script's rule overrides) and the cards
keep their plain players. What the script reads the kernel writes as data attributes: a card's
facts on its status line (``data-card``, ``data-model``, ``data-take`` and, once measured, the
first track's ``data-lufs``, ``data-peak``, ``data-tempo``, ``data-key``, ``data-adherence``),
and each track's loudness on its measurements line, under a wrapper naming the track.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from importlib import resources

from ._html import _BOX, _MUTED

__all__ = ["BENCH_JS", "bench_bar_html", "pick_button_html"]

BENCH_JS = resources.files(__package__).joinpath("_bench.js").read_text(encoding="utf-8")
"""The bench's script (see the module docstring)."""

_SORTS = (("", "as submitted"), ("model", "model"), ("take", "take"),
          ("lufs", "loudness, quietest first"), ("peak", "peak, lowest first"),
          ("tempo", "tempo, slowest first"), ("key", "key"), ("adherence down", "adherence, best first"))


def bench_bar_html(models: Sequence[str], takes: Sequence[int]) -> str:
    """The bench's bar (sort, show, filter, match loudness, what the keys do) and its script;
    the bar shows only where the script runs. ``models`` and ``takes``: what the show menu offers
    (a choice only where there are several)."""
    shows = [("", "all cards")]
    if len(set(models)) > 1:
        shows += [(f"model:{m}", f"model {m}") for m in dict.fromkeys(models)]
    if len(set(takes)) > 1:
        shows += [(f"take:{t}", f"take {t}") for t in sorted(set(takes))]

    def options(pairs: Sequence[tuple[str, str]]) -> str:
        return "".join(f"<option value='{html.escape(v)}'>{html.escape(t)}</option>" for v, t in pairs)

    return (
        f"<div class='apiframe-bench-bar apiframe-bench-only' style='display:none;{_BOX}gap:4px 12px;"
        f"flex-wrap:wrap;align-items:center;margin:4px 0'>"
        f"<label>sort <select class='apiframe-bench-sort'>{options(_SORTS)}</select></label>"
        f"<label>show <select class='apiframe-bench-show'>{options(shows)}</select></label>"
        f"<label>filter <input class='apiframe-bench-filter' type='search' size='14' "
        f"placeholder='any text: key, bpm…'></label>"
        f"<label><input class='apiframe-bench-match' type='checkbox' checked> match loudness</label>"
        f"<span style='color:{_MUTED}'>keys 1 to 9 or ▶: play that card from the same moment</span>"
        f"</div><script class='apiframe-bench-script'>{BENCH_JS}</script>"
    )


def pick_button_html(number: int) -> str:
    """Card ``number``'s button (shown only where the bench's script runs)."""
    key = f", key {number}" if number <= 9 else ""
    return (f"<button class='apiframe-bench-pick apiframe-bench-only' data-card='{number}' "
            f"style='display:none' title='from the same moment{key}'>▶ {number}</button>")
