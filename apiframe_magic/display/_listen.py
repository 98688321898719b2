"""``%music listen``: a blind listening test in widgets, ending as a static reveal.

Each clip is a box (CSS class ``apiframe-listen-clip``) holding its neutral name, an ``<audio>``
player and a hidden ``Text``; in ratings mode also buttons 1 to 5, in pairs mode a row per
comparison (the first clip, "no preference", the second). The buttons of a clip stay disabled
until it has been *heard* for ``min_play`` seconds: the player's inline ``ontimeupdate`` handler
adds up the time actually played (a seek does not count), and once it reaches ``min_play`` it
writes ``played`` into the hidden ``Text`` of its box and dispatches an ``input`` event, which the
widget manager (JupyterLab, Notebook 7 and VS Code share it) syncs to the kernel. Inline handlers
in an ``HTML`` widget's markup run; ``<script>`` tags would not.

"Submit and next listener" records a listener's judgements and resets the players and buttons
for the next; "Reveal" records the current listener's judgements too, then replaces the widgets
with static HTML (what each clip was, the tables, the verdict) and closes every widget model it
made, so a saved notebook keeps the reveal and no widget state. "Export CSV" writes every
judgement so far. Without a widget front end nothing is drawn: one line says a notebook is needed.
"""

from __future__ import annotations

import functools
import html
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from IPython.display import DisplayHandle, display

from ._html import _BOX, _GREEN, _GREY, player_html
from ._widgets import close_widgets

if TYPE_CHECKING:
    from ..listening import GroupStats, ListenerRun, ListeningTest, Reveal

__all__ = ["DEFAULT_MIN_PLAY", "NEEDS_NOTEBOOK", "ListenView", "listen_reveal_html"]

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


def _gated_player(path: Path, embed_limit_bytes: int, min_play: float, run: int) -> str:
    """The clip's player with the handler that opens its buttons once heard for ``min_play`` s.
    ``run`` makes the markup differ per listener, so each gets a fresh element."""
    script = html.escape(_ON_TIME_UPDATE.replace("MIN", repr(float(min_play))), quote=True)
    attributes = (f'data-apiframe-run="{run}" ontimeupdate="{script}" '
                  f'onseeking="this._afLast=undefined"')
    return player_html(path, embed_limit_bytes).replace("<audio controls", f"<audio controls {attributes}", 1)


class ListenView:
    """The widgets of one listening test, from the first listener to the reveal.

    ``listener`` prefills the first listener's name; ``csv_path`` is where "Export CSV" (and,
    when ``export_on_reveal``, the reveal) writes; ``warn`` reports a ledger that cannot be
    written (the judgements stay in the test).
    """

    def __init__(
        self,
        test: ListeningTest,
        *,
        listener: str | None,
        min_play: float,
        csv_path: Path,
        export_on_reveal: bool,
        embed_limit_bytes: int,
        warn: Callable[[str], None],
    ) -> None:
        import ipywidgets as widgets

        self._w = widgets
        self.test = test
        self.min_play = min_play
        self.csv_path = csv_path
        self.export_on_reveal = export_on_reveal
        self.embed_limit_bytes = embed_limit_bytes
        self.warn = warn
        self.revealed: Reveal | None = None
        self._made: list[Any] = []
        self.played: set[str] = set()
        self.run: ListenerRun = test.listener(listener or "listener")

        how = ("compare each pair of clips" if test.pairs else "rate each clip from 1 (worst) to 5 (best)")
        gate = (f" Voting on a clip opens once it has played for {min_play:g} s." if min_play > 0 else "")
        self.title = self._make(widgets.HTML(
            f"<div style='{_BOX}'><b>Blind listening test</b>: {len(test.clips)} clips, in a "
            f"shuffled order under neutral names; {how}.{gate}</div>"))
        self.name = self._make(widgets.Text(
            value=listener or "", description="Listener", placeholder="your name"))
        self.name.add_class("apiframe-listen-name")

        self.players: dict[str, Any] = {}
        self.flags: dict[str, Any] = {}
        self.scores: dict[str, list[Any]] = {}
        boxes = [self._clip_box(clip.name, clip.path) for clip in test.clips]
        self.clips_box = self._make(widgets.Box(boxes, layout=widgets.Layout(flex_flow="row wrap")))
        self.pair_rows: dict[tuple[str, str], list[Any]] = {}
        self.pairs_box = self._make(widgets.VBox([]))
        self.pairs_box.add_class("apiframe-listen-pairs")
        self._draw_pairs()

        self.status = self._make(widgets.HTML())
        self.status.add_class("apiframe-listen-status")
        self.submit_button = self._button(
            "Submit and next listener", "apiframe-listen-submit", self._on_submit)
        self.submit_button.layout.width = "auto"
        self.reveal_button = self._button("Reveal", "apiframe-listen-reveal-button", self._on_reveal)
        self.export_button = self._button("Export CSV", "apiframe-listen-export", self._on_export)
        actions = self._make(widgets.HBox([self.submit_button, self.reveal_button, self.export_button]))
        self.box = self._make(widgets.VBox(
            [self.title, self.name, self.clips_box, self.pairs_box, self.status, actions]))
        self.box.add_class("apiframe-listen")
        self._enable()
        self._say()
        # The widget view, and for a viewer without widgets (a saved notebook on GitHub,
        # nbconvert) a line instead of the widget's repr.
        bundle = {
            **self.box._repr_mimebundle_(),
            "text/plain": f"Blind listening test of {len(test.clips)} clips: open the notebook in "
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

    def _clip_box(self, name: str, path: Path) -> Any:
        widgets = self._w
        label = self._make(widgets.HTML(f"<b style='font-size:15px'>{html.escape(name)}</b>"))
        player = self._make(widgets.HTML(self._player(name, path)))
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
        return box

    def _player(self, name: str, path: Path) -> str:
        return _gated_player(path, self.embed_limit_bytes, self.min_play, len(self.test.runs))

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
        for clip in self.test.clips:
            self.flags[clip.name].value = ""
            self.players[clip.name].value = self._player(clip.name, clip.path)
            for button in self.scores.get(clip.name, ()):
                button.button_style = ""
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
        if self.run.judged:
            self._submit()
        self.reveal()

    def reveal(self) -> Reveal:
        """End the test: replace the widgets with the static reveal and close them."""
        result = self.test.reveal()
        written = self.test.to_csv(self.csv_path) if self.export_on_reveal else None
        self.revealed = result
        self.handle.update(
            {"text/plain": str(result), "text/html": listen_reveal_html(result, written)}, raw=True)
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


def listen_reveal_html(reveal: Reveal, csv_path: str | os.PathLike[str] | None = None) -> str:
    """The static reveal: the verdict, what each clip was, the group tables and the pairs."""
    from ..listening import format_p

    def table(head: Sequence[str], rows: Sequence[Sequence[str]], css: str) -> str:
        cell = "text-align:left;padding:1px 8px"
        th = "".join(f"<th style='{cell}'>{html.escape(h)}</th>" for h in head)
        body = "".join(
            "<tr>" + "".join(f"<td style='{cell}'>{html.escape(c)}</td>" for c in row) + "</tr>"
            for row in rows
        )
        return f"<table class='{css}'><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"

    def mean(stats: GroupStats | None) -> tuple[str, str]:
        if stats is None:
            return "-", "0"
        sd = f" ± {stats.sd:.2f}" if stats.sd is not None else ""
        return f"{stats.mean:.2f}{sd}", str(stats.n)

    by_clip = {g.group: g for g in reveal.by_clip}
    clips = [
        (c.name, c.prompt or "(unknown)", c.model or "?", str(c.take) if c.take is not None else "-",
         f"{c.track + 1} of {c.tracks}", *mean(by_clip.get(c.name)), c.path.name)
        for c in reveal.clips
    ]
    scale = reveal.scale
    parts = [
        f"<div class='apiframe-listen-verdict' style='font-size:15px'><b>{html.escape(reveal.verdict)}"
        f"</b></div>",
        f"<div style='color:{_GREY}'>{reveal.judgements} judgements from {reveal.listeners} "
        f"listener{'s' if reveal.listeners != 1 else ''}; "
        f"means are {html.escape(scale)}, ± the standard deviation.</div>",
        table(("clip", "prompt", "model", "take", "track", scale, "n", "file"), clips,
              "apiframe-listen-clips"),
    ]
    for title, groups in (("prompt", reveal.by_prompt), ("model", reveal.by_model)):
        if len(groups) > 1:
            rows = [(g.group, *mean(g)) for g in groups]
            parts.append(f"<div style='margin-top:6px'><b>By {title}</b></div>"
                         + table((title, scale, "n"), rows, f"apiframe-listen-by-{title}"))
    if reveal.pairs:
        pair_rows = [
            (f"{p.a} vs {p.b}", f"{p.wins_a}-{p.wins_b}", str(p.ties),
             f"{p.win_rate:.0%}" if p.win_rate is not None else "-", format_p(p.p_value))
            for p in reveal.pairs
        ]
        parts.append("<div style='margin-top:6px'><b>Pairs</b> (wins of each, ties dropped; exact "
                     "two-sided sign test)</div>"
                     + table(("pair", "wins", "ties", "first wins", "sign test"), pair_rows,
                             "apiframe-listen-pair-table"))
    if csv_path is not None:
        parts.append(f"<div style='color:{_GREY}'>Judgements exported to "
                     f"{html.escape(os.fspath(csv_path))}.</div>")
    color = _GREEN if reveal.winner else _GREY
    return (f"<div class='apiframe-listen-reveal' style='{_BOX} border-left:4px solid {color};"
            f"padding-left:8px'>{''.join(parts)}</div>")
