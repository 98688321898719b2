"""How a :class:`~apiframe_magic.MusicResult` shows itself in rich front ends."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._public import PUBLIC_MODULE
from ._html import result_html

__all__ = ["register_formatters", "unregister_formatters"]

# By name, so registering at ``%load_ext`` does not import the job machinery: IPython looks the
# type up by its module and name, which ``@public`` keeps as ``apiframe_magic.MusicResult``.
_MUSIC_RESULT = f"{PUBLIC_MODULE}.MusicResult"

def register_formatters(shell: Any, embed_limit_bytes: Callable[[], int]) -> None:
    """Show :class:`MusicResult` values as a summary with a player in rich front ends."""
    formatter = shell.display_formatter.formatters["text/html"]
    formatter.for_type(_MUSIC_RESULT, lambda r: result_html(r, embed_limit_bytes()))


def unregister_formatters(shell: Any) -> None:
    formatter = shell.display_formatter.formatters["text/html"]
    formatter.pop(_MUSIC_RESULT, None)
