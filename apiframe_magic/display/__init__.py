"""What a ``%%music`` run shows: a live progress view, then a static summary with a player per track.

:mod:`._html` builds the static pieces (pure functions of a result, a request or a model list);
:mod:`._progress` follows one job live; :mod:`._formatters` makes a :class:`~apiframe_magic.MusicResult`
display itself in rich front ends; :mod:`._listen` runs a blind listening test. This layer imports
IPython; the core below it never does.
"""

from __future__ import annotations

from ._formatters import register_formatters, unregister_formatters
from ._grid import BatchGrid, batch_price
from ._html import (
    describe,
    dry_run_bundle,
    history_bundle,
    measurements_bundle,
    measurements_html,
    models_bundle,
    pictures_html,
    player_html,
    price_text,
    result_html,
    result_text,
    sandbox_notice,
    status_html,
)
from ._listen import DEFAULT_MIN_PLAY, NEEDS_NOTEBOOK, ListenView, listen_reveal_html
from ._progress import ProgressView, TextProgress, WidgetProgress, in_kernel, make_progress_view

__all__ = [
    "DEFAULT_MIN_PLAY",
    "NEEDS_NOTEBOOK",
    "BatchGrid",
    "ListenView",
    "ProgressView",
    "TextProgress",
    "WidgetProgress",
    "batch_price",
    "describe",
    "dry_run_bundle",
    "history_bundle",
    "in_kernel",
    "listen_reveal_html",
    "make_progress_view",
    "measurements_bundle",
    "measurements_html",
    "models_bundle",
    "pictures_html",
    "player_html",
    "price_text",
    "register_formatters",
    "result_html",
    "result_text",
    "sandbox_notice",
    "status_html",
    "unregister_formatters",
]
