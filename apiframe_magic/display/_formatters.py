"""How a :class:`~apiframe_magic.MusicResult` shows itself in rich front ends."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..jobs import MusicResult
from ._html import result_html

__all__ = ["register_formatters", "unregister_formatters"]

def register_formatters(shell: Any, embed_limit_bytes: Callable[[], int]) -> None:
    """Show :class:`MusicResult` values as a summary with a player in rich front ends."""
    formatter = shell.display_formatter.formatters["text/html"]
    formatter.for_type(MusicResult, lambda r: result_html(r, embed_limit_bytes()))


def unregister_formatters(shell: Any) -> None:
    formatter = shell.display_formatter.formatters["text/html"]
    formatter.pop(MusicResult, None)
