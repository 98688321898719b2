"""The live grid of a batch: one card per job, filling in as jobs finish, ending as static HTML.

Each finished card shows its player(s) and, once the job was measured, a line of measurements
with a small waveform and spectrogram per track (a few KB each).

The grid is one HTML display, updated in place: no widgets, so a saved notebook keeps the final
grid and its players without a widget front end, and no widget state is left behind. Updates are
batched: however many jobs report, the grid is redrawn at most every :data:`REDRAW_SECONDS`
(and once more at the end). Where no rich front end shows it (terminal IPython), a line is
printed per finished job and one for the whole batch.
"""

from __future__ import annotations

import asyncio
import html
import threading
import time
from collections.abc import Sequence

from IPython.display import HTML, DisplayHandle, display

from ..client import Job
from ..jobs import BatchEntry, BatchItem, JobObserver
from ._html import _BOX, _GREEN, _GREY, _RED, player_html, price_text, track_analysis_html

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


class _CardObserver:
    """A :class:`~apiframe_magic.jobs.JobObserver` for one card."""

    def __init__(self, grid: BatchGrid, card: _Card) -> None:
        self.grid, self.card = grid, card

    def submitted(self, job_id: str) -> None:
        self.card.job_id, self.card.status = job_id, "running"
        self.card.started = self.card.started or time.monotonic()
        self.grid.changed()

    def progress(self, job: Job) -> None:
        self.card.job_status, self.card.progress = job.status, job.progress
        self.grid.changed()

    def downloading(self, job: Job) -> None:
        self.card.job_status, self.card.progress = "DOWNLOADING", 100
        self.grid.changed()


class BatchGrid:
    """Follows a batch: ``observer_for`` gives each job's card an observer, ``on_change`` hears
    each entry change, :meth:`tick` keeps elapsed times moving, :meth:`finish` draws the end."""

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
        if live:
            handle = display(HTML(self._html()), display_id=True)
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
        self.changed()
        if all(c.status in ("done", "failed", "stopped") for c in self.cards):
            self.finish()

    def changed(self) -> None:
        self._dirty = True
        self.redraw()

    # -- drawing -----------------------------------------------------------------------------

    def redraw(self, *, force: bool = False) -> None:
        """Redraw if something changed and the last redraw is old enough (or ``force``)."""
        if not self.live or self.handle is None or self.finished:
            return
        now = time.monotonic()
        with self._lock:
            if not force and (not self._dirty or now - self._drawn < REDRAW_SECONDS):
                return
            self._dirty, self._drawn = False, now
        self.handle.update(HTML(self._html()))

    async def tick(self) -> None:
        """Keep the elapsed times moving between events (a few redraws a second at most)."""
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
            self.handle.update(HTML(self._html(final=True)))
        else:
            print(self._summary(), flush=True)

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
            return f"[apiframe] ✔ {card.item.label}: {paths}"
        reason = entry.reason if entry is not None else None
        return f"[apiframe] ✘ {card.item.label}: {card.status}{f' ({reason})' if reason else ''}"

    def _html(self, *, final: bool = False) -> str:
        done = sum(c.status == "done" for c in self.cards)
        total = len(self.cards)
        elapsed = time.monotonic() - self.started
        eta = ""
        if 0 < done < total:
            eta = f" · about {elapsed / done * (total - done):.0f} s left"
        credits = sum((c.entry.credits or 0) for c in self.cards if c.entry is not None)
        percent = int(100 * done / total) if total else 100
        head = (
            f"<div><b>{done} of {total}</b> done · {elapsed:.1f} s{'' if final else eta} · "
            f"{credits} credits</div><div style='width:100%;max-width:480px;height:6px;"
            f"background:#e0e0e0'><div style='width:{percent}%;height:6px;background:{_GREEN}'>"
            f"</div></div>"
        )
        cards = "".join(self._card_html(c, final=final) for c in self.cards)
        return (
            f"<div class='apiframe-batch' style='{_BOX}'>{head}<div style='display:grid;"
            f"grid-template-columns:repeat(auto-fill,minmax(260px,1fr));gap:6px;margin-top:6px'>"
            f"{cards}</div></div>"
        )

    def _card_html(self, card: _Card, *, final: bool) -> str:
        color = _COLORS.get(card.status, _GREY)
        status = card.job_status if card.status == "running" and card.job_status else card.status
        bits = [f"<b>{html.escape(card.item.label)}</b>", html.escape(status.lower())]
        if card.status == "running" and card.progress is not None:
            bits.append(f"{card.progress}%")
        if card.started is not None and card.status in ("running", "waiting"):
            bits.append(f"{time.monotonic() - card.started:.0f} s")
        body = ""
        entry = card.entry
        if final and entry is not None and entry.status == "done" and entry.result is not None:
            result = entry.result
            if result.from_ledger:
                bits.append("from the ledger")
            body = "".join(
                player_html(t.path, self.embed_limit_bytes) + track_analysis_html(t) for t in result.tracks
            )
        elif entry is not None and entry.status in ("failed", "stopped") and entry.reason:
            body = f"<div style='color:{color}'>{html.escape(entry.reason)}</div>"
        job = (f"<div style='color:{_GREY};font-size:11px'>{html.escape(card.job_id)}</div>"
               if card.job_id else "")
        return (
            f"<div class='apiframe-batch-card' style='border-left:4px solid {color};padding:2px 6px'>"
            f"<div>{' · '.join(bits)}</div>{job}{body}</div>"
        )


def batch_price(items: Sequence[BatchItem]) -> str:
    """The documented cost of a batch, in words, for a dry run."""
    known = [i.request.credit_cost for i in items]
    if all(c is not None for c in known):
        return f"{sum(c or 0 for c in known)} credits for {len(items)} jobs"
    return f"{len(items)} jobs: " + "; ".join(price_text(i.request) for i in items[:3]) + (
        " ..." if len(items) > 3 else ""
    )
