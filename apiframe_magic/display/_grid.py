"""The live grid of a batch: one card per job, filling in as jobs finish, ending as static HTML.

While the batch runs the grid is made of ipywidgets: a head (k of N, elapsed, time left,
credits) and a card per job (label, status, progress, elapsed time, job id). A card gets its
player(s) the moment its audio is saved, and then the line of measurements with a small waveform
and spectrogram per track once measured. Each part of a card is a widget of its own that is set
once, so the next jobs to finish never redraw (and so never stop) a player someone is listening
to. Updates are batched: the head is redrawn at most every :data:`REDRAW_SECONDS`, and a card
only when its job reported something (a poll, a status), never once per card per tick.

When the batch ends the grid is replaced by one static HTML display of the same cards with their
players, and every widget model is closed, so a saved notebook keeps the grid and its players
without a widget front end and no widget state is left behind. Where no rich front end shows it
(terminal IPython), a line is printed per finished job and one for the whole batch.
"""

from __future__ import annotations

import html
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from IPython.display import DisplayHandle, display

from .._terminal import printable
from ._html import _BOX, _GREEN, _GREY, _RED, player_html, price_text, track_analysis_html
from ._widgets import close_widgets

if TYPE_CHECKING:
    from ..client import Job
    from ..jobs import BatchEntry, BatchItem, JobObserver

__all__ = ["REDRAW_SECONDS", "BatchGrid", "batch_price"]

REDRAW_SECONDS = 0.3

_COLORS = {"waiting": _GREY, "running": "#1565c0", "done": _GREEN, "failed": _RED, "stopped": "#ef6c00"}


class _Card:
    """What the grid knows of one job."""

    def __init__(self, item: BatchItem) -> None:
        self.item = item
        self.status = "waiting"
        self.job_status: str | None = None
        self.progress: int | None = None
        self.job_id: str | None = None
        self.started: float | None = None
        self.entry: BatchEntry | None = None
        self.dirty = True  # something to show since the card was last drawn
        self.players: str | None = None  # the players' HTML, made once (files read and encoded)


class _CardWidgets:
    """The widgets of one card while the batch runs: the status lines, the player(s), the
    measurements. Players and measurements are set once each, so they are never redrawn."""

    def __init__(self, widgets: Any, color: str, layout: Any, style: Any) -> None:
        # One Layout and one style model shared by every card's HTML: a 64-job grid opens a
        # few hundred widget models instead of a thousand before its cell can return.
        self.status = widgets.HTML(layout=layout, style=style)
        self.players = widgets.HTML(layout=layout, style=style)
        self.analysis = widgets.HTML(layout=layout, style=style)
        self.box = widgets.VBox(
            [self.status, self.players, self.analysis],
            layout=widgets.Layout(border_left=f"4px solid {color}", padding="2px 6px", min_width="0"),
        )
        self.box.add_class("apiframe-batch-card")
        self.has_players = False
        self.has_analysis = False

    def all(self) -> list[Any]:
        return [self.status, self.players, self.analysis, self.box]


class _CardObserver:
    """A :class:`~apiframe_magic.jobs.JobObserver` for one card."""

    def __init__(self, grid: BatchGrid, card: _Card) -> None:
        self.grid, self.card = grid, card

    def submitted(self, job_id: str) -> None:
        self.card.job_id, self.card.status = job_id, "running"
        self.card.started = self.card.started or time.monotonic()
        self.grid.changed(self.card)

    def progress(self, job: Job) -> None:
        self.card.job_status, self.card.progress = job.status, job.progress
        self.grid.changed(self.card)

    def downloading(self, job: Job) -> None:
        self.card.job_status, self.card.progress = "DOWNLOADING", 100
        self.grid.changed(self.card)


class BatchGrid:
    """Follows a batch: ``observer_for`` gives each job's card an observer, ``on_change`` hears
    each entry change, :meth:`tick` keeps the head's clock moving, :meth:`finish` draws the end.

    ``live``: draw the widget grid (in a kernel); otherwise print a line per finished job.
    """

    def __init__(self, items: Sequence[BatchItem], *, live: bool, embed_limit_bytes: int) -> None:
        self.cards = [_Card(item) for item in items]
        self._by_label = {card.item.label: card for card in self.cards}
        self.live = live
        self.embed_limit_bytes = embed_limit_bytes
        self.started = time.monotonic()
        self._dirty = False
        self._drawn = 0.0
        self._lock = threading.Lock()
        self.finished = False
        self.handle: DisplayHandle | None = None
        self._head: Any = None
        self._root: Any = None
        self._grid_box: Any = None
        self._shared: list[Any] = []
        self._widgets: dict[str, _CardWidgets] = {}
        if live:
            self._build()

    def _build(self) -> None:
        import ipywidgets as widgets

        self._head = widgets.HTML(self._head_html(final=False))
        first = widgets.HTML()  # its Layout and style are the ones every card's HTML shares
        self._shared = [first, first.layout, first.style]
        for card in self.cards:
            self._widgets[card.item.label] = _CardWidgets(
                widgets, _COLORS["waiting"], first.layout, first.style)
        grid = widgets.GridBox(
            [w.box for w in self._widgets.values()],
            layout=widgets.Layout(grid_template_columns="repeat(auto-fill, minmax(260px, 1fr))",
                                  grid_gap="6px", margin="6px 0 0 0"),
        )
        self._root = widgets.VBox([self._head, grid])
        self._root.add_class("apiframe-batch")
        self._grid_box = grid
        try:
            for card in self.cards:
                self._draw_card(card)
            handle = display(self._root, display_id=True)
        except BaseException:  # stopped before the batch began: leave no widget behind
            self._close_widgets()
            raise
        assert isinstance(handle, DisplayHandle)
        self.handle = handle

    # -- what the batch runner calls ----------------------------------------------------------

    def observer_for(self, item: BatchItem) -> JobObserver:
        return _CardObserver(self, self._by_label[item.label])

    def on_change(self, entry: BatchEntry) -> None:
        card = self._by_label.get(entry.label)
        if card is None:
            return
        card.entry, card.status = entry, entry.status
        card.job_id = entry.job_id or card.job_id
        if entry.status == "running" and card.started is None:
            card.started = time.monotonic()
        if entry.ended and not self.live:
            print(self._line(card), flush=True)
        # A card that just got its audio shows its player now, not at the next tick.
        self.changed(card, force=entry.result is not None or entry.ended)
        if all(c.status in ("done", "failed", "stopped") for c in self.cards):
            self.finish()

    def changed(self, card: _Card | None = None, *, force: bool = False) -> None:
        if card is not None:
            card.dirty = True
        self._dirty = True
        self.redraw(force=force)

    # -- drawing -----------------------------------------------------------------------------

    def redraw(self, *, force: bool = False) -> None:
        """Redraw the head and the cards that changed, if the last redraw is old enough (or
        ``force``)."""
        if not self.live or self.handle is None or self.finished:
            return
        now = time.monotonic()
        with self._lock:
            if not force and (not self._dirty or now - self._drawn < REDRAW_SECONDS):
                return
            self._dirty, self._drawn = False, now
            dirty = [card for card in self.cards if card.dirty]
            for card in dirty:
                card.dirty = False
        self._head.value = self._head_html(final=False)
        for card in dirty:
            self._draw_card(card)

    def _draw_card(self, card: _Card) -> None:
        parts = self._widgets[card.item.label]
        parts.box.layout.border_left = f"4px solid {_COLORS.get(card.status, _GREY)}"
        parts.status.value = self._status_html(card, final=False)
        result = card.entry.result if card.entry is not None else None
        if result is not None and not parts.has_players:
            parts.players.value = self._players_html(card)
            parts.has_players = True
        if result is not None and not parts.has_analysis and card.status == "done":
            analysis = self._analysis_html(card)
            if analysis:
                parts.analysis.value = analysis
                parts.has_analysis = True

    async def tick(self) -> None:
        """Keep the head's elapsed time and estimate moving between events."""
        import asyncio

        while not self.finished:
            await asyncio.sleep(REDRAW_SECONDS)
            self._dirty = True
            self.redraw()

    def finish(self) -> None:
        """Draw the final, static grid: every card with its player(s) or its reason."""
        with self._lock:
            if self.finished:
                return
            self.finished = True
        if self.live and self.handle is not None:
            text = "\n".join([self._summary(), *(self._line(card) for card in self.cards)])
            self.handle.update({"text/plain": text, "text/html": self._html(final=True)}, raw=True)
            self._close_widgets()
        else:
            print(self._summary(), flush=True)

    def _close_widgets(self) -> None:
        """Close every widget model of the live grid, with their Layout and style models, so no
        widget state is saved with the notebook."""
        parts: list[Any] = [self._root, self._head, self._grid_box, *self._shared]
        for card_widgets in self._widgets.values():
            parts += card_widgets.all()
        close_widgets(parts)

    def _summary(self) -> str:
        done = sum(c.status == "done" for c in self.cards)
        failed = sum(c.status == "failed" for c in self.cards)
        stopped = sum(c.status == "stopped" for c in self.cards)
        credits = sum((c.entry.credits or 0) for c in self.cards if c.entry is not None)
        parts = [f"{done} of {len(self.cards)} done"]
        if failed:
            parts.append(f"{failed} failed")
        if stopped:
            parts.append(f"{stopped} stopped")
        parts += [f"{time.monotonic() - self.started:.1f} s", f"{credits} credits"]
        return "[apiframe] batch: " + " · ".join(parts)

    def _line(self, card: _Card) -> str:
        entry = card.entry
        if entry is not None and entry.status == "done" and entry.result is not None:
            paths = ", ".join(str(t.path) for t in entry.result.tracks)
            return printable(f"[apiframe] ✔ {card.item.label}: {paths}")
        reason = entry.reason if entry is not None else None
        return printable(f"[apiframe] ✘ {card.item.label}: {card.status}{f' ({reason})' if reason else ''}")

    def _head_html(self, *, final: bool) -> str:
        done = sum(c.status == "done" for c in self.cards)
        total = len(self.cards)
        elapsed = time.monotonic() - self.started
        eta = ""
        if not final and 0 < done < total:
            eta = f" · about {elapsed / done * (total - done):.0f} s left"
        credits = sum((c.entry.credits or 0) for c in self.cards if c.entry is not None)
        percent = int(100 * done / total) if total else 100
        return (
            f"<div style='{_BOX}'><div><b>{done} of {total}</b> done · {elapsed:.1f} s{eta} · "
            f"{credits} credits</div><div style='width:100%;max-width:480px;height:6px;"
            f"background:#e0e0e0'><div style='width:{percent}%;height:6px;background:{_GREEN}'>"
            f"</div></div></div>"
        )

    def _html(self, *, final: bool = False) -> str:
        cards = "".join(self._card_html(c, final=final) for c in self.cards)
        return (
            f"<div class='apiframe-batch' style='{_BOX}'>{self._head_html(final=final)}"
            f"<div style='display:grid;grid-template-columns:repeat(auto-fill,minmax(260px,1fr));"
            f"gap:6px;margin-top:6px'>{cards}</div></div>"
        )

    def _status_html(self, card: _Card, *, final: bool) -> str:
        """The card's label and status line, its job id, and why it failed or stopped."""
        color = _COLORS.get(card.status, _GREY)
        status = card.job_status if card.status == "running" and card.job_status else card.status
        entry = card.entry
        if card.status == "running" and entry is not None and entry.result is not None:
            status = "measuring"
        bits = [f"<b>{html.escape(card.item.label)}</b>", html.escape(status.lower())]
        if card.status == "running" and card.progress is not None and status != "measuring":
            bits.append(f"{card.progress}%")
        if card.started is not None and card.status in ("running", "waiting"):
            bits.append(f"{time.monotonic() - card.started:.0f} s")
        elif card.status == "done" and entry is not None and entry.started_at and entry.ended_at:
            bits.append(f"{entry.ended_at - entry.started_at:.0f} s")
        if entry is not None and entry.result is not None and entry.result.from_ledger:
            bits.append("from the ledger")
        reason = ""
        if entry is not None and entry.status in ("failed", "stopped") and entry.reason:
            reason = f"<div style='color:{color}'>{html.escape(entry.reason)}</div>"
        job = (f"<div style='color:{_GREY};font-size:11px'>{html.escape(card.job_id)}</div>"
               if card.job_id else "")
        return f"<div style='{_BOX}'><div>{' · '.join(bits)}</div>{job}{reason}</div>"

    def _players_html(self, card: _Card) -> str:
        result = card.entry.result if card.entry is not None else None
        if result is None:
            return ""
        if card.players is None:
            card.players = "".join(
                player_html(t.path, self.embed_limit_bytes, fill=True) for t in result.tracks)
        return card.players

    @staticmethod
    def _analysis_html(card: _Card) -> str:
        result = card.entry.result if card.entry is not None else None
        return "" if result is None else "".join(track_analysis_html(t) for t in result.tracks)

    def _card_html(self, card: _Card, *, final: bool) -> str:
        color = _COLORS.get(card.status, _GREY)
        body = ""
        if final and card.entry is not None and card.entry.status == "done":
            body = self._players_html(card) + self._analysis_html(card)
        return (
            f"<div class='apiframe-batch-card' style='border-left:4px solid {color};padding:2px 6px;"
            f"min-width:0'>{self._status_html(card, final=final)}{body}</div>"
        )


def batch_price(items: Sequence[BatchItem]) -> str:
    """The documented cost of a batch, in words, for a dry run."""
    known = [i.request.credit_cost for i in items]
    if all(c is not None for c in known):
        return f"{sum(c or 0 for c in known)} credits for {len(items)} jobs"
    return f"{len(items)} jobs: " + "; ".join(price_text(i.request) for i in items[:3]) + (
        " ..." if len(items) > 3 else ""
    )
