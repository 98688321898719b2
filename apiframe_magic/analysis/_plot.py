"""Measurements of many tracks side by side, in a matplotlib figure (the ``plot`` extra).

The figure is made with matplotlib's object API (``matplotlib.figure.Figure`` on an Agg canvas),
never pyplot: no GUI backend is chosen, no global figure state is left behind, and it works the
same in a script, a kernel or a thread. It shows itself in a notebook as a PNG
(:meth:`MeasurementsFigure._repr_png_`) even where no matplotlib backend was ever set up.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ["PANELS", "MeasurementsFigure", "plot_rows"]

# Which measurements get a panel, with their axis titles; a panel with no value at all is left out,
# and so is the clipped samples panel when nothing clipped (the peak panel's title says so).
PANELS = (
    ("loudness_lufs", "integrated loudness (LUFS)"),
    ("peak_dbfs", "sample peak (dBFS)"),
    ("clipped_samples", "clipped samples"),
    ("tempo_bpm", "tempo (bpm)"),
    ("adherence", "follows the prompt (share of asks met)"),
)
_COLORS = ("#1565c0", "#ef6c00", "#2e7d32", "#c62828", "#6a1b9a", "#00838f", "#5d4037", "#616161")


class MeasurementsFigure(Figure):
    """A :class:`matplotlib.figure.Figure` that renders itself as a PNG in a notebook."""

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        self.savefig(buffer, format="png")
        return buffer.getvalue()


def plot_rows(rows: Iterable[Mapping[str, Any]]) -> MeasurementsFigure:
    """A panel per measurement (loudness, peak, clipped samples, tempo, and how well each track
    follows what its prompt asked for, where it asked anything), a horizontal bar per row,
    labelled by its ``label`` and coloured by its ``model``; the key of each row, when known, is
    written next to its tempo bar, and a tick marks the tempo its prompt asked for. Rows with
    nothing measured are skipped, and so is the clipped samples panel when no row clipped (the
    peak panel is then titled "none clipped")."""
    table = [dict(r) for r in rows if any(r.get(name) is not None for name, _ in PANELS)]
    panels = [(n, t) for n, t in PANELS if any(r.get(n) is not None for r in table)]
    if any(n == "clipped_samples" for n, _ in panels) and not any(r.get("clipped_samples") for r in table):
        panels = [(n, f"{t}, none clipped" if n == "peak_dbfs" else t)
                  for n, t in panels if n != "clipped_samples"]
    figure = MeasurementsFigure(figsize=(3.2 * max(1, len(panels)), 0.9 + 0.32 * max(1, len(table))),
                                layout="constrained")
    FigureCanvasAgg(figure)
    if not table:
        figure.text(0.5, 0.5, "nothing measured yet", ha="center", va="center")
        return figure
    models = list(dict.fromkeys(str(r.get("model") or "?") for r in table))
    colors = {m: _COLORS[i % len(_COLORS)] for i, m in enumerate(models)}
    labels = [str(r.get("label") or r.get("prompt") or "?") for r in table]
    positions = list(range(len(table)))[::-1]  # the first row at the top
    axes = figure.subplots(1, len(panels), sharey=True, squeeze=False)[0]
    for ax, (name, title) in zip(axes, panels, strict=True):
        values = [r.get(name) for r in table]
        ax.barh(positions, [0.0 if v is None else float(v) for v in values],
                color=[colors[str(r.get("model") or "?")] for r in table])
        ax.set_title(title, fontsize=9)
        ax.tick_params(labelsize=8)
        if name == "tempo_bpm":
            for y, row in zip(positions, table, strict=True):
                if row.get("key") and row.get(name) is not None:
                    ax.text(float(row[name]), y, f" {row['key']}", va="center", fontsize=7)
                if row.get("asked_bpm") is not None:  # where the prompt asked it to be
                    ax.plot([float(row["asked_bpm"])], [y], marker="|", color="black", markersize=9)
        if name == "adherence":
            ax.set_xlim(0, 1)
    axes[0].set_yticks(positions, labels)
    if len(models) > 1:
        from matplotlib.patches import Patch

        figure.legend(handles=[Patch(color=colors[m], label=m) for m in models], loc="outside lower center",
                      ncols=min(4, len(models)), fontsize=8)
    return figure
