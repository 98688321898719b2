"""The live grid of a batch: one card per job, filling in as jobs finish, ending as static HTML.

While the batch runs the grid is made of ipywidgets: a head (k of N saved, elapsed, time left,
credits) and a card per job (label, status, progress, elapsed time, job id). A card is done, and
gets its player(s), the moment its audio is saved; its line of measurements with a small waveform
and spectrogram per track fills in once measured. Each part of a card is a widget of its own that
is set once, so the next jobs to finish never redraw (and so never stop) a player someone is
listening to. Updates are batched: the head is redrawn at most every :data:`REDRAW_SECONDS`, and
a card only when its job reported something (a poll, a status), never once per card per tick.

The end of the batch leaves the live grid where it is (a player that is playing goes on) and adds
the static copy a saved notebook needs: one HTML display of the same cards, each track embedded
once, under the live grid. Each hides the other where both would show: the live grid carries a
rule hiding the copy, and the copy a rule hiding a widget output it follows that shows no grid
(a notebook reopened without widget state, where the widget would read "model not found").
The live players link to the saved files rather than embed them, so that no widget state, as any
front end saves it (nbclient keeps every model's last state, closed or not), holds a clip: the
static copy holds each clip once. Where no rich front end shows it (terminal IPython), a line is
printed per finished job and one for the whole batch.

The live grid is also an audition bench (see :mod:`._bench`): a bar under the head and a button
per card, shown where the page runs the bench's script. The static copy, whose every byte is in
each saved notebook, has plain players. A card labels each player
and each measurements block of a job with several tracks (``track 2 · title``), keeps each
number with its unit, and carries its whole prompt in the label's tooltip and, where the label
shortens it, in a fold. A card of a Suno action says what its track came from, as a single
result's summary does, and an extension's card has its whole songs' players after its tracks',
linked in the live grid and embedded in the static copy like every other clip.
"""

from __future__ import annotations

import html
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from IPython.display import DisplayHandle, display

from .._terminal import printable
from ._bench import bench_bar_html, pick_button_html
from ._html import (
    _BOX,
    _GREEN,
    _GREY,
    _MUTED,
    _RED,
    _lineage_html,
    _unbroken,
    _whole_songs_html,
    player_html,
    price_text,
    track_analysis_html,
)
from ._widgets import close_widgets

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"

if TYPE_CHECKING:
    from ..client import Job
    from ..jobs import BatchEntry, BatchItem, JobObserver

__all__ = ["REDRAW_SECONDS", "BatchGrid", "batch_price"]

REDRAW_SECONDS = 0.3

_ENDED = ("done", "failed", "stopped")
# Cards wide enough for a player whose seek bar is usable (about 200 px of a 430 px player in
# Chromium, whose controls take the rest), and never wider than the output.
_COLUMNS = "repeat(auto-fill,minmax(min(100%,480px),1fr))"
_COLORS = {"waiting": _GREY, "running": "#1565c0", "done": _GREEN, "failed": _RED, "stopped": "#ef6c00"}


class _Card:
    """What the grid knows of one job."""

    def __init__(self, item: BatchItem, number: int) -> None:
        self.item = item
        self.number = number  # from 1, in the order submitted: its bench button and key
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
        # An Output widget: the front end renders its HTML as a cell's, relative links resolved
        # against the notebook's folder, so a player can link the saved file, not embed it.
        self.players = widgets.Output(layout=layout)
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
    ``typical_seconds``: how long such a job usually takes (the ledger's history), for the time
    left before any job of this batch has reported its progress.
    """

    def __init__(self, items: Sequence[BatchItem], *, live: bool, embed_limit_bytes: int,
                 typical_seconds: float | None = None) -> None:
        self.cards = [_Card(item, n) for n, item in enumerate(items, 1)]
        self._by_label = {card.item.label: card for card in self.cards}
        self.live = live
        self.embed_limit_bytes = embed_limit_bytes
        self.typical_seconds = typical_seconds
        self.started = time.monotonic()
        self.ended: float | None = None
        self.summary: str | None = None  # the batch's own account of a stopped run
        self.batch_id = uuid.uuid4().hex[:12]
        self._dirty = False
        self._drawn = 0.0
        self._lock = threading.Lock()
        self.finished = False
        self.handle: DisplayHandle | None = None
        self.copy: DisplayHandle | None = None  # the static copy, once the batch has ended
        self._head: Any = None
        self._root: Any = None
        self._grid_box: Any = None
        self._bench: Any = None
        self._shared: list[Any] = []
        self._widgets: dict[str, _CardWidgets] = {}
        if live:
            self._build()

    def _build(self) -> None:
        import ipywidgets as widgets

        self._head = widgets.HTML(self._live_head(final=False))
        first = widgets.HTML()  # its Layout and style are the ones every card's HTML shares
        self._shared = [first, first.layout, first.style]
        for card in self.cards:
            self._widgets[card.item.label] = _CardWidgets(
                widgets, _COLORS["waiting"], first.layout, first.style)
        grid = widgets.GridBox(
            [w.box for w in self._widgets.values()],
            layout=widgets.Layout(grid_template_columns=_COLUMNS,
                                  grid_gap="6px", margin="6px 0 0 0"),
        )
        # The bench's bar and script: an Output widget's HTML, whose script the front end runs.
        self._bench = widgets.Output()
        self._bench.outputs = ({"output_type": "display_data", "metadata": {},
                                "data": {"text/html": self._bench_bar(), "text/plain": ""}},)
        self._root = widgets.VBox([self._head, self._bench, grid])
        self._root.add_class("apiframe-batch")
        self._root.add_class("apiframe-bench")
        self._grid_box = grid
        try:
            for card in self.cards:
                self._draw_card(card)
            # No widget repr as text: where the widget cannot show (an untrusted notebook), the
            # static copy does.
            handle = display({WIDGET_MIME: {"version_major": 2, "version_minor": 0,
                                            "model_id": self._root.model_id}, "text/plain": ""},
                             raw=True, display_id=True)
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
        first_end = entry.ended and card.status not in _ENDED
        card.entry, card.status = entry, entry.status
        card.job_id = entry.job_id or card.job_id
        if entry.status == "running" and card.started is None:
            card.started = time.monotonic()
        if first_end and not self.live:
            print(self._line(card), flush=True)
        # A card that just got its audio (or its measurements) shows them now, not at the next tick.
        self.changed(card, force=entry.result is not None or entry.ended)
        if all(c.status in _ENDED and not (c.entry is not None and c.entry.measuring) for c in self.cards):
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
        self._head.value = self._live_head(final=False)
        for card in dirty:
            self._draw_card(card)

    def _draw_card(self, card: _Card) -> None:
        """Set what changed of one card. The players and the measurements are set once each and
        never again: a value set again would redraw a player, and stop it."""
        parts = self._widgets[card.item.label]
        result = card.entry.result if card.entry is not None else None
        if result is not None and not parts.has_players:
            # Before the status: a card never reads saved without its player.
            # Linked where the front end serves the notebook's folder; embedded where it does not.
            limit = 0 if front_end_serves_files() else self.embed_limit_bytes
            linked = self._tracks_players(card, limit, why=None, bench=True)
            parts.players.outputs = ({"output_type": "display_data", "metadata": {},
                                      "data": {"text/html": linked, "text/plain": ""}},)
            parts.has_players = True
        parts.box.layout.border_left = f"4px solid {_COLORS.get(card.status, _GREY)}"
        parts.status.value = self._status_html(card, final=False, bench=True)
        if result is not None and not parts.has_analysis:
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

    def finish(self, summary: str | None = None) -> None:
        """Draw the end: the live grid's head and cards as they ended (its players left alone, so
        one playing goes on), then the static copy of every card with its player(s) or its reason,
        for the saved notebook. ``summary``: the batch's own account of a stopped run (saved,
        still running on the server, not submitted), shown in the head instead of the count; given
        after the grid has ended by itself (the last job stopped), it redraws the end with it."""
        with self._lock:
            again = self.finished
            if again and (summary is None or summary == self.summary):
                return
            self.finished = True
        if self.ended is None:
            self.ended = time.monotonic()
        self.summary = summary or self.summary
        if not self.live or self._root is None:
            print(self._summary(), flush=True)
            return
        self._head.value = self._live_head(final=True)
        for card in self.cards:
            self._draw_card(card)
        text = "\n".join([self._summary(), *(self._line(card) for card in self.cards)])
        bundle = {"text/plain": text, "text/html": self._html(final=True)}
        if self.copy is None:
            copy = display(bundle, raw=True, display_id=True)
            assert isinstance(copy, DisplayHandle)
            self.copy = copy
        else:  # hidden under the live grid: drawing it again stops no player
            self.copy.update(bundle, raw=True)

    def _close_widgets(self) -> None:
        """Close every widget model of the live grid, with their Layout and style models."""
        parts: list[Any] = [self._root, self._head, self._bench, self._grid_box, *self._shared]
        for card_widgets in self._widgets.values():
            parts += card_widgets.all()
        close_widgets(parts)

    def _elapsed(self) -> float:
        return (self.ended if self.ended is not None else time.monotonic()) - self.started

    def _summary(self) -> str:
        if self.summary:
            parts = [self.summary]
        else:
            done = sum(c.status == "done" for c in self.cards)
            failed = sum(c.status == "failed" for c in self.cards)
            stopped = sum(c.status == "stopped" for c in self.cards)
            parts = [f"{done} of {len(self.cards)} done"]
            if failed:
                parts.append(f"{failed} failed")
            if stopped:
                parts.append(f"{stopped} stopped")
        parts += [f"{self._elapsed():.1f} s", f"{self._credits()} credits"]
        return "[apiframe] batch: " + " · ".join(parts)

    def _credits(self) -> int:
        return sum((c.entry.credits or 0) for c in self.cards if c.entry is not None)

    def _line(self, card: _Card) -> str:
        entry = card.entry
        if entry is not None and entry.status == "done" and entry.result is not None:
            paths = ", ".join(str(t.path) for t in entry.result.tracks)
            return printable(f"[apiframe] ✔ {card.item.label}: {paths}")
        reason = entry.reason if entry is not None else None
        return printable(f"[apiframe] ✘ {card.item.label}: {card.status}{f' ({reason})' if reason else ''}")

    def _seconds_left(self) -> float | None:
        now = time.monotonic()
        jobs = []
        for card in self.cards:
            entry = card.entry
            if card.status in _ENDED:
                jobs.append(_JobTiming("done", None, entry.elapsed if entry is not None else None))
            elif card.status == "running" and card.started is not None:
                jobs.append(_JobTiming("running", card.progress, now - card.started))
            else:
                jobs.append(_JobTiming("waiting", None, None))
        return estimate_seconds_left(jobs, self.typical_seconds)

    def _head_html(self, *, final: bool) -> str:
        done = sum(c.status == "done" for c in self.cards)
        total = len(self.cards)
        eta = ""
        if not final and done < total:
            left = self._seconds_left()
            if left is not None:
                eta = f" · about {left:.0f} s left"
        measuring = sum(1 for c in self.cards if c.entry is not None and c.entry.measuring)
        if measuring and not final:
            eta += f" · measuring {measuring}"
        count = (html.escape(self.summary) if final and self.summary
                 else f"<b>{done} of {total}</b> done")
        percent = int(100 * done / total) if total else 100
        return (
            f"<div style='{_BOX}'><div>{count} · {self._elapsed():.1f} s{eta} · "
            f"{self._credits()} credits</div><div style='width:100%;max-width:480px;height:6px;"
            f"background:#e0e0e0'><div style='width:{percent}%;height:6px;background:{_GREEN}'>"
            f"</div></div></div>"
        )

    def _live_head(self, *, final: bool) -> str:
        """The live grid's head, with the rule that hides the grid's static copy while the live
        grid shows (see the module's docstring)."""
        mark = f".apiframe-batch-static[data-batch='{self.batch_id}']"
        return (f"<style>{mark}{{display:none}}.jp-OutputArea-child:has({mark}){{display:none}}</style>"
                + self._head_html(final=final))

    def _html(self, *, final: bool = False) -> str:
        """The static copy of the grid. Its rule hides a widget output before it that shows no
        live grid: JupyterLab's "Error displaying widget: model not found" (only in front ends
        with ``:has``; elsewhere the widget output's own text is empty)."""
        cards = "".join(self._card_html(c, final=final) for c in self.cards)
        mark = f"[data-batch='{self.batch_id}']"
        hide = (f"<style>.jp-OutputArea-child:has(~ .jp-OutputArea-child .apiframe-batch-static{mark})"
                f":has(> .jp-OutputArea-output.jupyter-widgets)"
                f":not(:has(.apiframe-batch)){{display:none}}</style>")
        head = self._head_html(final=final)
        return (
            f"{hide}<div class='apiframe-batch-static' data-batch='{self.batch_id}' "
            f"style='{_BOX}'>{head}<div style='display:grid;"
            f"grid-template-columns:{_COLUMNS};gap:6px;margin-top:6px'>"
            f"{cards}</div></div>"
        )

    def _bench_bar(self) -> str:
        return bench_bar_html([c.item.model for c in self.cards], [c.item.take for c in self.cards])

    @staticmethod
    def _facts(card: _Card) -> str:
        """The card's data attributes the bench sorts and filters by (see ``_bench``): its
        number, model and take, and once measured its first track's measurements."""
        facts: dict[str, object] = {"card": card.number, "model": card.item.model, "take": card.item.take}
        result = card.entry.result if card.entry is not None else None
        measured = result.tracks[0].measurements if result is not None and result.tracks else None

        def rounded(value: float | None, digits: int) -> float | None:
            return None if value is None else round(value, digits)

        if result is not None and measured is not None:
            facts.update(lufs=rounded(measured.loudness_lufs, 1), peak=rounded(measured.peak_dbfs, 1),
                         tempo=rounded(measured.tempo_bpm, 0), key=measured.key,
                         adherence=rounded(result.adherence.score, 2))
        return "".join(f" data-{name}='{html.escape(str(value))}'" for name, value in facts.items()
                       if value is not None)

    def _status_html(self, card: _Card, *, final: bool, bench: bool = False) -> str:
        """The card's label and status line (its whole prompt in the label's tooltip and, when
        the label shortens it, in a fold), its job id, and why it failed or stopped; with
        ``bench``, the facts the bench sorts by."""
        color = _COLORS.get(card.status, _GREY)
        entry = card.entry
        status = card.job_status if card.status == "running" and card.job_status else card.status
        if card.status == "done":
            status = "saved"
        prompt = card.item.prompt
        bits = [f"<b title='{html.escape(prompt)}'>{html.escape(card.item.label)}</b>",
                html.escape(status.lower())]
        if card.status == "running" and card.progress is not None:
            bits.append(f"{card.progress}%")
        if card.started is not None and card.status in ("running", "waiting"):
            bits.append(_unbroken(f"{time.monotonic() - card.started:.0f} s"))
        elif card.status == "done" and entry is not None and entry.started_at and entry.ended_at:
            bits.append(_unbroken(f"{entry.ended_at - entry.started_at:.0f} s"))
        if entry is not None and entry.measuring and not final:
            bits.append("measuring")
        if entry is not None and entry.result is not None and entry.result.from_ledger:
            bits.append("from the ledger")
        reason = ""
        if entry is not None and entry.status in ("failed", "stopped") and entry.reason:
            reason = f"<div style='color:{color}'>{html.escape(entry.reason)}</div>"
        job = (f"<div style='color:{_MUTED};font-size:11px'>{html.escape(card.job_id)}</div>"
               if card.job_id else "")
        whole = ("" if prompt in card.item.label else
                 f"<details><summary style='color:{_MUTED}'>whole prompt</summary>"
                 f"<div style='white-space:pre-wrap'>{html.escape(prompt)}</div></details>")
        lineage = _lineage_html(entry.result) if entry is not None and entry.result is not None else ""
        return (f"<div{self._facts(card) if bench else ''} style='{_BOX}'><div>{' · '.join(bits)}</div>"
                f"{lineage}{whole}{job}{reason}</div>")

    @staticmethod
    def _tracks_players(card: _Card, limit: int, *, bench: bool = False,
                        why: str | None = "over %config MusicMagics.embed_limit_mb") -> str:
        """A player per track, each under its track's name where there are several (``track 2 ·
        title``), then an extension's whole songs; with ``bench``, the card's bench button first."""
        result = card.entry.result if card.entry is not None else None
        if result is None:
            return ""
        several = len(result.tracks) > 1
        players = []
        for track in result.tracks:
            label = ""
            if several:
                title = f" · {html.escape(str(track.title))}" if track.title else ""
                label = f"<div><b>track {track.index + 1}</b>{title}</div>"
            players.append(f"<div class='apiframe-track-player' data-track='{track.index}'>{label}"
                           f"{player_html(track.path, limit, fill=True, why=why)}</div>")
        wholes = _whole_songs_html(result, limit, fill=True, why=why)
        return (pick_button_html(card.number) if bench else "") + "".join(players) + wholes

    def _players_html(self, card: _Card) -> str:
        """The players of the static copy: each track embedded (up to the limit), made once."""
        result = card.entry.result if card.entry is not None else None
        if result is None:
            return ""
        if card.players is None:
            card.players = self._tracks_players(card, self.embed_limit_bytes)
        return card.players

    @staticmethod
    def _analysis_html(card: _Card) -> str:
        """Each measured track's measurements and pictures, under its track's number where there
        are several (``""`` before any is measured)."""
        result = card.entry.result if card.entry is not None else None
        if result is None:
            return ""
        several = len(result.tracks) > 1
        blocks = []
        for track in result.tracks:
            analysis = track_analysis_html(track)
            if analysis:
                label = f"<div><b>track {track.index + 1}</b></div>" if several else ""
                blocks.append(f"<div class='apiframe-track-analysis' data-track='{track.index}'>"
                              f"{label}{analysis}</div>")
        return "".join(blocks)

    def _card_html(self, card: _Card, *, final: bool) -> str:
        color = _COLORS.get(card.status, _GREY)
        body = ""
        if final and card.entry is not None and card.entry.result is not None:
            body = self._players_html(card) + self._analysis_html(card)
        return (
            f"<div class='apiframe-batch-card' style='border-left:4px solid {color};padding:2px 6px;"
            f"min-width:0'>{self._status_html(card, final=final)}{body}</div>"
        )


@dataclass(frozen=True)
class _JobTiming:
    """What the estimate of the time left knows of one job: ``state`` ("waiting", "running" or
    "done"), its last reported ``progress`` (0 to 100) and ``seconds`` (so far, or in all)."""

    state: str
    progress: int | None
    seconds: float | None


def estimate_seconds_left(jobs: Sequence[_JobTiming], typical: float | None) -> float | None:
    """Seconds until the last job is saved, from the jobs' own progress: a running job that has
    reported ``p`` percent after ``t`` seconds needs ``t * (100 - p) / p`` more; a job's whole
    length is the mean of the jobs saved so far, else of the running jobs' projections, else
    ``typical`` (the ledger's history of such jobs); the waiting jobs run in rounds as wide as
    the jobs running now. ``None`` when nothing is known yet."""
    done = [j.seconds for j in jobs if j.state == "done" and j.seconds]
    running = [j for j in jobs if j.state == "running"]
    projected = [j.seconds * 100 / j.progress for j in running
                 if j.seconds is not None and j.progress and 0 < j.progress < 100]
    whole = (sum(done) / len(done) if done else sum(projected) / len(projected) if projected
             else typical)
    if whole is None:
        return None
    lefts = []
    for job in running:
        seconds = job.seconds or 0.0
        if job.progress and 0 < job.progress < 100:
            lefts.append(seconds * (100 - job.progress) / job.progress)
        else:
            lefts.append(max(whole - seconds, 0.0))
    waiting = sum(j.state == "waiting" for j in jobs)
    rounds = -(-waiting // max(1, len(running))) if waiting else 0
    return max(lefts, default=0.0) + rounds * whole


def batch_price(items: Sequence[BatchItem]) -> str:
    """The documented cost of a batch, in words, for a dry run."""
    known = [i.request.credit_cost for i in items]
    if all(c is not None for c in known):
        return f"{sum(c or 0 for c in known)} credits for {len(items)} jobs"
    return f"{len(items)} jobs: " + "; ".join(price_text(i.request) for i in items[:3]) + (
        " ..." if len(items) > 3 else ""
    )


def front_end_serves_files() -> bool:
    """Whether the front end resolves a relative link in an output against the notebook's folder
    and serves the file there, as JupyterLab, Notebook 7 and Voila do (and as nothing does for
    nbclient, where no one listens live). Colab and VS Code render outputs away from the
    notebook's folder: there a live player embeds its file (its widget state then holds the
    clip a second time, the price of a player that plays)."""
    import sys

    from IPython import get_ipython

    if "google.colab" in sys.modules:
        return False
    shell = get_ipython()
    namespace = getattr(shell, "user_ns", None) or {}
    return "__vsc_ipynb_file__" not in namespace  # VS Code sets it in every kernel it runs
