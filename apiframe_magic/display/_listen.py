"""``%music listen``: a blind listening test in widgets, ending as a static reveal.

Blind on the page: while the test runs, a style in its title folds away every labelled player of
the notebook (the batch grid's cards, a result's summary and measurements), and each clip plays
its own re-encoded MP3 (:meth:`~apiframe_magic.listening.ListeningTest.audio`), so no hash of the
page's sources pairs a clip with a card. The reveal replaces the widgets, which unfolds them.

Each listener hears the clips in an order and under letters of their own (the run's slots). Each
clip is a box (CSS class ``apiframe-listen-clip``, and ``apiframe-listen-clip-<letter>``) holding
its letter, an ``<audio>`` player and a hidden ``Text``; in ratings mode also buttons 1 to 5, in
pairs mode a row per comparison (the first clip, "no preference", the second). The buttons of a
clip stay disabled until it has been *heard* for ``min_play`` seconds: the player's inline
``ontimeupdate`` handler adds up the time actually played (a seek does not count), and once it
reaches ``min_play`` it writes ``played`` into the hidden ``Text`` of its box and dispatches an
``input`` event, which the widget manager (JupyterLab, Notebook 7 and VS Code share it) syncs to
the kernel. Inline handlers in an ``HTML`` widget's markup run; ``<script>`` tags would not.
Unmatched loudness biases every judgement, so each clip plays at a volume from its track's
measured loudness down to the quietest clip's (:func:`matching_volumes`; ``match_loudness=False``
plays them as they are), set by the player's inline ``onplay`` handler.

"Submit and next listener" records a listener's judgements and draws the clips anew for the next.
"Reveal" asks first (it ends the test for everyone); confirmed, it records the current listener's
judgements too, writes every judgement to the CSV file (always, at the path it shows), then
replaces the widgets with static HTML (the ranking, what each clip was with a player beside it,
the tables, the verdict) and closes every widget model it made, so a saved notebook keeps the
reveal and no widget state. "Export CSV" writes the judgements so far. Without a widget front end
nothing is drawn: one line says a notebook is needed.
"""

from __future__ import annotations

import base64
import functools
import html
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from IPython.display import DisplayHandle, display

from ._html import _BOX, _GREEN, _GREY, _RED, player_html
from ._widgets import close_widgets

if TYPE_CHECKING:
    from ..listening import Clip, GroupStats, ListenerRun, ListeningTest, Reveal

__all__ = ["DEFAULT_MIN_PLAY", "FOLD_CSS", "NEEDS_NOTEBOOK", "ListenView", "listen_reveal_html",
           "matching_volumes"]

DEFAULT_MIN_PLAY = 3.0
"""Seconds a clip must be heard before it can be judged."""

NEEDS_NOTEBOOK = (
    "%music listen needs a notebook front end (JupyterLab, Notebook 7 or VS Code) to play the clips "
    "and take the votes; from Python, apiframe_magic.ListeningTest runs a test without one."
)

PLAYED = "played"

# Adds up the seconds actually played (steps of a normal playback, not seeks), then tells the
# kernel through the hidden Text of the same clip box. `this._afLast` is per <audio> element,
# so a new element (next listener) starts from nothing.
_ON_TIME_UPDATE = (
    "var a=this,t=a.currentTime,l=a._afLast;a._afLast=t;"
    "if(l!==undefined&&t>l&&t-l<1.5){a._afHeard=(a._afHeard||0)+(t-l);}"
    "if((a._afHeard||0)>=MIN){var b=a.closest('.apiframe-listen-clip'),"
    "i=b&&b.querySelector('.apiframe-listen-played input');"
    "if(i&&i.value!=='played'){i.value='played';"
    "i.dispatchEvent(new Event('input',{bubbles:true}));"
    "i.dispatchEvent(new Event('change',{bubbles:true}));}}"
)


# While a test runs, the notebook's labelled players are folded away: the batch grid, a result's
# summary, its measurements and pictures (the classes display._grid and display._html give them).
FOLD_CSS = (
    "<style>.apiframe-batch,.apiframe-music-summary,.apiframe-music-analysis"
    "{display:none!important}</style>"
)


def _gated_player(audio: bytes, min_play: float, run: int, volume: float = 1.0) -> str:
    """The clip's player (its blind MP3, embedded) with the handler that opens its buttons once
    heard for ``min_play`` s. ``run`` makes the markup differ per listener, so each gets a fresh
    element. ``volume`` (at most 1): the clip's loudness-matching gain, set as it starts playing."""
    script = html.escape(_ON_TIME_UPDATE.replace("MIN", repr(float(min_play))), quote=True)
    data = base64.b64encode(audio).decode("ascii")
    return (f'<audio controls data-apiframe-run="{run}" ontimeupdate="{script}" '
            f'onplay="this.volume={min(1.0, volume):.4f}" '
            f'onseeking="this._afLast=undefined" src="data:audio/mpeg;base64,{data}"></audio>')


def matching_volumes(loudness: dict[str, float | None]) -> dict[str, float]:
    """Each clip's volume for loudness matching: down to the quietest clip's loudness (LUFS), so
    no clip is boosted (a player's volume can only attenuate); 1 for a clip not measured."""
    known = [v for v in loudness.values() if v is not None]
    target = min(known, default=0.0)
    return {name: 1.0 if v is None else min(1.0, 10 ** ((target - v) / 20)) for name, v in loudness.items()}


class ListenView:
    """The widgets of one listening test, from the first listener to the reveal.

    ``listener`` prefills the first listener's name; ``csv_path`` is where "Export CSV" and the
    reveal write; ``embed_limit_bytes`` bounds the originals the reveal embeds beside each clip
    (larger ones are linked); ``warn`` reports a ledger that cannot be written (the judgements
    stay in the test).
    """

    def __init__(
        self,
        test: ListeningTest,
        *,
        listener: str | None,
        min_play: float,
        csv_path: Path,
        embed_limit_bytes: int,
        warn: Callable[[str], None],
        match_loudness: bool = True,
    ) -> None:
        import ipywidgets as widgets

        self._w = widgets
        self.test = test
        self.min_play = min_play
        self.csv_path = csv_path
        self.embed_limit_bytes = embed_limit_bytes
        self.warn = warn
        self.revealed: Reveal | None = None
        self._made: list[Any] = []
        self.played: set[str] = set()
        self.run: ListenerRun = test.listener(listener or "listener")
        # Unmatched loudness biases every comparison: each clip is played at a gain from its
        # measured loudness (its track's), unless ``match_loudness`` is off.
        self.volumes: dict[str, float] = {}
        if match_loudness:
            from ..analysis import measure

            self.volumes = matching_volumes({c.name: measure(c.path, extra=False).loudness_lufs
                                             for c in test.clips})

        how = ("compare each pair of clips" if test.pairs else "rate each clip from 1 (worst) to 5 (best)")
        gate = (f" Voting on a clip opens once it has played for {min_play:g} s." if min_play > 0 else "")
        self.title = self._make(widgets.HTML(
            f"{FOLD_CSS}<div style='{_BOX}'><b>Blind listening test</b>: {len(self.run.slots)} clips, "
            f"in an order and under letters of your own; {how}.{gate} The labelled players of "
            f"this notebook are folded away until the reveal.</div>"))
        self.name = self._make(widgets.Text(
            value=listener or "", description="Listener", placeholder="your name"))
        self.name.add_class("apiframe-listen-name")

        self.players: dict[str, Any] = {}
        self.flags: dict[str, Any] = {}
        self.scores: dict[str, list[Any]] = {}
        self.clips_box = self._make(widgets.Box([], layout=widgets.Layout(flex_flow="row wrap")))
        self._clip_widgets: list[Any] = []
        self._draw_clips()
        self.pair_rows: dict[tuple[str, str], list[Any]] = {}
        self.pairs_box = self._make(widgets.VBox([]))
        self.pairs_box.add_class("apiframe-listen-pairs")
        self._draw_pairs()

        self.status = self._make(widgets.HTML())
        self.status.add_class("apiframe-listen-status")
        self.submit_button = self._button(
            "Submit and next listener", "apiframe-listen-submit", self._on_submit)
        self.submit_button.layout.width = "auto"
        self.export_button = self._button("Export CSV", "apiframe-listen-export", self._on_export)
        # Reveal sits apart from Submit, and asks before it ends the test.
        self.reveal_button = self._button("Reveal…", "apiframe-listen-reveal-button", self._on_reveal)
        self.reveal_button.layout.margin = "0 0 0 48px"
        self.confirm_text = self._make(widgets.HTML(
            f"<span style='{_BOX} color:{_RED}'>Reveal ends the test for every listener and "
            f"cannot be undone.</span>"))
        self.confirm_button = self._button("Yes, reveal", "apiframe-listen-confirm", self._on_confirm)
        self.confirm_button.button_style = "danger"
        self.cancel_button = self._button("Cancel", "apiframe-listen-cancel", self._on_cancel)
        self.confirm_box = self._make(widgets.HBox(
            [self.confirm_text, self.confirm_button, self.cancel_button],
            layout=widgets.Layout(display="none")))
        self.confirm_box.add_class("apiframe-listen-confirm-box")
        actions = self._make(widgets.HBox([self.submit_button, self.export_button, self.reveal_button]))
        self.box = self._make(widgets.VBox(
            [self.title, self.name, self.clips_box, self.pairs_box, self.status, actions, self.confirm_box]))
        self.box.add_class("apiframe-listen")
        self._enable()
        self._say()
        # The widget view, and for a viewer without widgets (a saved notebook on GitHub,
        # nbconvert) a line instead of the widget's repr.
        bundle = {
            **self.box._repr_mimebundle_(),
            "text/plain": f"Blind listening test of {len(self.run.slots)} clips: open the notebook in "
                          "Jupyter to listen, rate and reveal.",
        }
        try:
            handle = display(bundle, raw=True, display_id=True)
        except BaseException:
            self.close()
            raise
        assert isinstance(handle, DisplayHandle)
        self.handle = handle

    # -- building ------------------------------------------------------------------------------

    def _make(self, widget: Any) -> Any:
        self._made.append(widget)
        return widget

    def _button(self, text: str, css: str, on_click: Callable[[], None], *, disabled: bool = False) -> Any:
        button = self._make(self._w.Button(description=text, disabled=disabled))
        button.add_class(css)
        button.on_click(lambda _: on_click())
        return button

    def _draw_clips(self) -> None:
        """A box per slot of the current listener, in their order, under their letters."""
        old = self._clip_widgets
        self._clip_widgets = []
        self.players, self.flags, self.scores = {}, {}, {}
        self.clips_box.children = [self._clip_box(slot.letter, slot.clip) for slot in self.run.slots]
        close_widgets(old)

    def _clip_box(self, name: str, clip: str) -> Any:
        widgets = self._w
        made = len(self._made)
        label = self._make(widgets.HTML(f"<b style='font-size:15px'>{html.escape(name)}</b>"))
        player = self._make(widgets.HTML(self._player(clip)))
        flag = self._make(widgets.Text(value="", layout=widgets.Layout(display="none")))
        flag.add_class("apiframe-listen-played")
        flag.observe(functools.partial(self._on_played, name), names="value")
        self.players[name], self.flags[name] = player, flag
        children = [label, player, flag]
        if not self.test.pairs:
            buttons = [
                self._button(str(score), "apiframe-listen-score",
                             functools.partial(self._on_rate, name, score), disabled=True)
                for score in range(1, 6)
            ]
            for button in buttons:
                button.layout.width = "36px"
            self.scores[name] = buttons
            row = self._make(widgets.HBox(buttons))
            row.add_class("apiframe-listen-scores")
            children.append(row)
        box = self._make(widgets.VBox(children, layout=widgets.Layout(margin="4px 12px 4px 0")))
        box.add_class("apiframe-listen-clip")
        box.add_class(f"apiframe-listen-clip-{name}")
        self._clip_widgets += self._made[made:]
        return box

    def _player(self, clip: str) -> str:
        return _gated_player(self.test.audio(clip), self.min_play, len(self.test.runs),
                             self.volumes.get(clip, 1.0))

    def _draw_pairs(self) -> None:
        """One row per comparison of the current listener, in their order (pairs mode only)."""
        widgets = self._w
        old = [w for row in self.pair_rows.values() for w in row]
        self.pair_rows = {}
        rows = []
        for first, second in self.run.pairs:
            label = self._make(widgets.HTML(f"<b>{html.escape(first)}</b> or <b>{html.escape(second)}</b>?",
                                            layout=widgets.Layout(width="90px")))
            choices = [
                self._button(text, "apiframe-listen-choice",
                             functools.partial(self._on_prefer, first, second, choice), disabled=True)
                for text, choice in ((first, first), ("no preference", None), (second, second))
            ]
            row = self._make(widgets.HBox([label, *choices]))
            row.add_class("apiframe-listen-pair")
            row.add_class(f"apiframe-listen-pair-{first}-{second}")
            self.pair_rows[(first, second)] = [row, label, *choices]
            rows.append(row)
        self.pairs_box.children = rows
        close_widgets(old)

    # -- events --------------------------------------------------------------------------------

    def _on_played(self, name: str, change: dict[str, Any]) -> None:
        if change["new"] == PLAYED and name not in self.played:
            self.played.add(name)
            self._enable()

    def _enable(self) -> None:
        open_ = self.min_play <= 0
        for name, buttons in self.scores.items():
            for button in buttons:
                button.disabled = not (open_ or name in self.played)
        for (first, second), row in self.pair_rows.items():
            heard = open_ or (first in self.played and second in self.played)
            for button in row[2:]:
                button.disabled = not heard

    def _on_rate(self, name: str, score: int) -> None:
        self.run.rate(name, score)
        for button in self.scores[name]:
            button.button_style = "info" if button.description == str(score) else ""
        self._say()

    def _on_prefer(self, first: str, second: str, choice: str | None) -> None:
        self.run.prefer(first, second, choice)
        for button in self.pair_rows[(first, second)][2:]:
            chosen = button.description == (choice if choice is not None else "no preference")
            button.button_style = "info" if chosen else ""
        self._say()

    def _on_submit(self) -> None:
        if not self.run.judged:
            self._say("Nothing to submit yet: " + ("answer a pair." if self.test.pairs else "rate a clip."))
            return
        done = self._submit()
        self.run = self.test.listener("listener")
        self.played = set()
        self.name.value = ""
        self._draw_clips()
        self._draw_pairs()
        self._enable()
        self._say(f"{done} Next listener: write your name above, then listen.")

    def _submit(self) -> str:
        """Record the current run under the name given (else ``listener N``); what to say."""
        number = len(self.test.runs)
        self.run.listener = " ".join(self.name.value.split()) or f"listener {number}"
        from ..ledger import LedgerUnavailable

        count = self.run.judged
        try:
            self.run.submit()
        except LedgerUnavailable as e:
            self.warn(f"the judgements are kept in this test but not in the job ledger: {e}")
        return f"{html.escape(self.run.listener)}: {count} judgement{'s' if count != 1 else ''} recorded."

    def _on_export(self) -> None:
        path = self.test.to_csv(self.csv_path)
        self._say(f"Wrote {len(self.test.judgements)} judgements to {html.escape(str(path))}.")

    def _on_reveal(self) -> None:
        self.confirm_box.layout.display = "flex"
        self.reveal_button.disabled = True

    def _on_cancel(self) -> None:
        self.confirm_box.layout.display = "none"
        self.reveal_button.disabled = False

    def _on_confirm(self) -> None:
        if self.run.judged:
            self._submit()
        self.reveal()

    def reveal(self) -> Reveal:
        """End the test: write the CSV, replace the widgets with the static reveal (which
        unfolds the notebook's labelled players) and close them."""
        result = self.test.reveal()
        written = self.test.to_csv(self.csv_path)
        self.revealed = result
        self.handle.update(
            {"text/plain": f"{result}\n\nJudgements written to {written}",
             "text/html": listen_reveal_html(result, written, embed_limit_bytes=self.embed_limit_bytes)},
            raw=True)
        self.close()
        return result

    def _say(self, message: str = "") -> None:
        listeners = self.test.listeners
        line = (f"{self.run.judged} of {self.run.total} judged · {listeners} listener"
                f"{'s' if listeners != 1 else ''} submitted")
        self.status.value = (f"<div style='{_BOX} color:{_GREY}'>{line}"
                             f"{'<br>' + message if message else ''}</div>")

    # -- closing -------------------------------------------------------------------------------

    def close(self) -> None:
        """Close every widget model this view made, with their layout and style models."""
        close_widgets(self._made)
        self._made = []


def listen_reveal_html(
    reveal: Reveal, csv_path: str | os.PathLike[str] | None = None, *, embed_limit_bytes: int | None = None,
) -> str:
    """The static reveal: the verdict, the ranking, what each clip was (with a player of its
    file when ``embed_limit_bytes`` is given: embedded up to it, else linked), the controls, the
    group tables, and every pair in a folded table. Every text is escaped."""
    from ..listening import format_p

    def table(head: Sequence[str], rows: Sequence[Sequence[str]], css: str,
              raw: int | None = None) -> str:
        cell = "text-align:left;padding:1px 8px;vertical-align:middle"
        th = "".join(f"<th style='{cell}'>{html.escape(h)}</th>" for h in head)
        body = "".join(
            "<tr>" + "".join(
                f"<td style='{cell}'>{c if i == raw else html.escape(c)}</td>" for i, c in enumerate(row)
            ) + "</tr>"
            for row in rows
        )
        return f"<table class='{css}'><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"

    def mean(stats: GroupStats | None) -> tuple[str, str]:
        if stats is None:
            return "-", "0"
        sd = f" ± {stats.sd:.2f}" if stats.sd is not None else ""
        return f"{stats.mean:.2f}{sd}", str(stats.n)

    def interval(ci: tuple[float, float] | None) -> str:
        return f"{ci[0]:.2f} to {ci[1]:.2f}" if ci is not None else "-"

    def player(clip: Clip) -> str:
        if embed_limit_bytes is None or not clip.path.exists():
            return ""
        return player_html(clip.path, embed_limit_bytes)

    clips = {c.name: c for c in reveal.clips}
    parts = [
        f"<div class='apiframe-listen-verdict' style='font-size:15px'><b>{html.escape(reveal.verdict)}"
        f"</b></div>",
        f"<div style='color:{_GREY}'>{reveal.judgements} judgements from {reveal.listeners} "
        f"listener{'s' if reveal.listeners != 1 else ''}; ranked by {html.escape(reveal.ranked_by)} "
        f"with its 95 % confidence interval; equal values tie.</div>",
    ]
    def what(c: Clip) -> tuple[str, str, str]:
        return c.prompt or "(unknown)", c.model or "?", str(c.take) if c.take is not None else "-"

    ranking: list[tuple[str, ...]] = [
        (f"{r.rank}{'=' if r.tied else ''}", r.name, player(clips[r.name]), *what(clips[r.name]),
         f"{r.value:.2f}", interval(r.ci), str(r.n), clips[r.name].path.name)
        for r in reveal.ranking
    ]
    ranked = {r.name for r in reveal.ranking}
    ranking += [
        ("-", c.name, player(c), *what(c), "-", "-", "0", c.path.name)
        for c in reveal.clips if c.role == "test" and c.name not in ranked
    ]
    parts.append(table(("rank", "clip", "listen", "prompt", "model", "take", reveal.ranked_by,
                        "95 % interval", "n", "file"), ranking, "apiframe-listen-ranking", raw=2))
    controls = {g.group: g for g in reveal.controls}
    control_rows = [
        (c.name, player(c), c.describe(), *mean(controls.get(c.name)))
        for c in reveal.clips if c.role != "test"
    ]
    if control_rows:
        parts.append(f"<div style='margin-top:6px'><b>Controls</b> (not in the ranking; "
                     f"{html.escape(reveal.scale)})</div>"
                     + table(("clip", "listen", "what", reveal.scale, "n"), control_rows,
                             "apiframe-listen-controls", raw=1))
    if reveal.repeats:
        agree = sum(r.agrees for r in reveal.repeats)
        heard = [(r.listener, r.clip if r.other_clip is None else f"{r.clip} vs {r.other_clip}",
                  str(r.first), str(r.again)) for r in reveal.repeats]
        parts.append(f"<div style='margin-top:6px'><b>Heard twice</b>: {agree} of {len(reveal.repeats)} "
                     f"listeners gave the same answer</div>"
                     + table(("listener", "clip", "first", "again"), heard, "apiframe-listen-repeats"))
    scale = reveal.scale
    for title, groups in (("prompt", reveal.by_prompt), ("model", reveal.by_model)):
        if len(groups) > 1:
            rows = [(g.group, *mean(g)) for g in groups]
            parts.append(f"<div style='margin-top:6px'><b>By {title}</b></div>"
                         + table((title, scale, "n"), rows, f"apiframe-listen-by-{title}"))
    if reveal.pairs:
        corrected = len(reveal.pairs) > 1
        pair_rows = [
            (f"{p.a} vs {p.b}", f"{p.wins_a}-{p.wins_b}", str(p.ties),
             f"{p.win_rate:.0%}" if p.win_rate is not None else "-", format_p(p.p_value),
             format_p(p.p))
            for p in reveal.pairs
        ]
        head = ("pair", "wins", "ties", "first wins", "sign test", "Holm" if corrected else "p")
        parts.append(
            f"<details style='margin-top:6px'><summary><b>All {len(reveal.pairs)} pair"
            f"{'s' if len(reveal.pairs) != 1 else ''}</b> (wins of each, ties dropped; exact two-sided "
            f"sign test{f', corrected by Holm for {len(reveal.pairs)} comparisons' if corrected else ''})"
            f"</summary>" + table(head, pair_rows, "apiframe-listen-pair-table") + "</details>")
    if csv_path is not None:
        parts.append(f"<div class='apiframe-listen-csv' style='color:{_GREY}'>Judgements written to "
                     f"{html.escape(os.fspath(csv_path))}.</div>")
    color = _GREEN if reveal.winner else _GREY
    return (f"<div class='apiframe-listen-reveal' style='{_BOX} border-left:4px solid {color};"
            f"padding-left:8px'>{''.join(parts)}</div>")
