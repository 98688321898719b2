"""What every view made of ipywidgets does when it ends: close all of its models."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["close_widgets"]


def close_widgets(widgets: Iterable[Any]) -> None:
    """Close each widget and the ``Layout`` and style models ipywidgets made for it.

    A front end drops closed models, so a notebook saved afterwards keeps no widget state from a
    finished view, only the static HTML that replaced it. ``None`` entries are skipped.
    """
    for widget in widgets:
        if widget is None:
            continue
        widget.close()
        for part in (getattr(widget, "layout", None), getattr(widget, "style", None)):
            if part is not None:
                part.close()
