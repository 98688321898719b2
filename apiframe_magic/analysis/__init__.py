"""What was measured in a saved track, and small pictures of it.

:func:`measure` decodes an audio file (MP3 or WAV, with ``soundfile``) and measures its length,
its integrated loudness (LUFS per ITU-R BS.1770, with ``pyloudnorm``), its sample peak and how
many samples clip; with the ``analysis`` extra (librosa) also its tempo and key. It never raises:
a file it cannot read gives empty :class:`Measurements` with a ``note`` saying why.

:func:`waveform_svg` and :func:`spectrogram_png` draw a track in a few hundred bytes each (an
inline SVG, a small PNG written with numpy and zlib: no GUI backend, no image library), the
same bytes for the same file; :func:`card_pictures` makes both from one decoding and remembers
them, so a card drawn on the kernel's thread finds them made by the measuring thread.
:func:`plot_measurements` compares the measurements of many tracks in a matplotlib figure (the
``plot`` extra).

This layer imports nothing else of the package, and nothing heavy until it is used: numpy,
soundfile, pyloudnorm, librosa and matplotlib are imported by the functions that need them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._adherence import Adherence, Check, adherence
from ._measure import CLIP_LEVEL, MEASUREMENT_KEYS, NEEDS_EXTRA, Measurements, extra_installed, measure
from ._pictures import card_pictures, spectrogram_png, waveform_svg

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from matplotlib.figure import Figure

__all__ = [
    "CLIP_LEVEL",
    "MEASUREMENT_KEYS",
    "NEEDS_EXTRA",
    "Adherence",
    "Check",
    "Measurements",
    "adherence",
    "card_pictures",
    "extra_installed",
    "measure",
    "plot_measurements",
    "spectrogram_png",
    "waveform_svg",
]

PLOT_EXTRA_HINT = "pip install 'apiframe-magic[plot]'"


def plot_measurements(rows: Iterable[Mapping[str, Any]]) -> Figure:
    """A figure comparing the measurements of ``rows`` (dicts with a ``label``, a ``model`` and
    the measurement keys, as :meth:`~apiframe_magic.Batch.rows` gives them): a panel per
    measurement, a bar per row, coloured by model. Drawn with matplotlib's object API (no
    pyplot, no GUI backend); raises :class:`ImportError` naming the ``plot`` extra without it."""
    try:
        from ._plot import plot_rows
    except ImportError as exc:
        raise ImportError(
            f"plotting measurements needs matplotlib, the 'plot' extra: {PLOT_EXTRA_HINT} ({exc})"
        ) from exc
    return plot_rows(rows)
