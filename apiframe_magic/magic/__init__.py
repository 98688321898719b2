"""``%%music`` and ``%music``: the IPython layer. It parses, displays and delegates.

:mod:`._options` turns a cell into plain typed data (testable without a shell), :mod:`._magics`
holds the ``%config``-able :class:`MusicMagics` and dispatches, :mod:`._messages` says what went
wrong in one line. Jobs run through :mod:`apiframe_magic.jobs`; what the user sees comes from
:mod:`apiframe_magic.display`.
"""

from __future__ import annotations

from typing import Any

from ..display import unregister_formatters
from ..jobs import rest_between_measurements
from ._magics import MusicMagics
from ._messages import MusicError, MusicInterrupted

__all__ = [
    "MusicError",
    "MusicInterrupted",
    "MusicMagics",
    "load_ipython_extension",
    "unload_ipython_extension",
]


def load_ipython_extension(ipython: Any) -> None:
    """Register ``%%music`` / ``%music`` and their alias ``apiframe_music``, and keep the shell
    responsive while a batch's tracks are measured (:func:`rest_between_measurements`)."""
    rest_between_measurements(True)
    magics = MusicMagics(ipython)
    ipython.register_magics(magics)
    ipython.magics_manager.register_alias("apiframe_music", "music", "cell")
    ipython.magics_manager.register_alias("apiframe_music", "music", "line")


def unload_ipython_extension(ipython: Any) -> None:
    rest_between_measurements(False)
    unregister_formatters(ipython)
