"""``%%music`` and ``%music``: the IPython layer. It parses, displays and delegates.

:mod:`._options` turns a cell into plain typed data (testable without a shell), :mod:`._magics`
holds the ``%config``-able :class:`MusicMagics` and dispatches, :mod:`._messages` says what went
wrong in one line and writes the manual (``%music help``, ``%music?``, ``%%music?``) from the
declarations of the options, the subcommands and the settings. Jobs run through
:mod:`apiframe_magic.jobs`; what the user sees comes from :mod:`apiframe_magic.display`.

Loading the extension is light: the job machinery (httpx, the ledger, the sandbox, numpy,
ipywidgets) is imported when a cell first needs it.
"""

from __future__ import annotations

import inspect
from argparse import ArgumentParser
from typing import Any

from ..display import unregister_formatters
from ._magics import MusicMagics
from ._messages import MusicError, MusicInterrupted, manual

__all__ = [
    "MusicError",
    "MusicInterrupted",
    "MusicMagics",
    "load_ipython_extension",
    "unload_ipython_extension",
]


def _document(magics: type[MusicMagics]) -> None:
    """Make ``%%music?`` and ``%music?`` show their usage and description (as ``magic_arguments``
    wrote them) followed by the whole manual: the settings exist only once the class does."""
    text = manual(magics.class_traits(config=True))
    methods: tuple[Any, ...] = (magics.music, magics.music_line)
    for method in methods:
        parser: ArgumentParser = method.parser
        usage = parser.format_usage().rstrip()  # IPython's formatter makes it a literal block
        method.__doc__ = f"{usage}\n\n{inspect.cleandoc(parser.description or '')}\n\n{text}\n"


_document(MusicMagics)


def load_ipython_extension(ipython: Any) -> None:
    """Register ``%%music`` / ``%music`` and their alias ``apiframe_music``."""
    ipython.register_magics(MusicMagics(ipython))
    ipython.magics_manager.register_alias("apiframe_music", "music", "cell")
    ipython.magics_manager.register_alias("apiframe_music", "music", "line")


def unload_ipython_extension(ipython: Any) -> None:
    from ..jobs import rest_between_measurements

    rest_between_measurements(False)
    unregister_formatters(ipython)
