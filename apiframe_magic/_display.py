"""What a ``%%music`` run shows: a live progress view, then a static summary and a player.

Two progress views follow a job (they are :class:`~apiframe_magic._generation.JobObserver`\\ s):
:class:`WidgetProgress` (ipywidgets, in a kernel) and :class:`TextProgress` (lines of text, for
terminal IPython or wherever widgets cannot render). Both end in *static* output: on success the
widget's display is replaced by HTML holding the summary and the player, so a notebook saved or
viewed without a widget front end still shows the final state and the audio, embedded once.
"""

from __future__ import annotations

import asyncio
import html
import json
import os
import sys
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Any

from IPython.display import HTML, Audio, DisplayHandle, display

from ._backend import Backend
from ._generation import MusicResult, describe
from ._models import Job, MusicRequest, format_length

__all__ = [
    "ProgressView",
    "TextProgress",
    "WidgetProgress",
    "dry_run_bundle",
    "player_html",
    "result_html",
    "sandbox_notice",
]

# Long enough to see the bar turn green before the summary replaces it.
SUCCESS_HOLD_SECONDS = 0.5
TICK_SECONDS = 0.5

_GREEN, _RED, _BLUE, _GREY = "#2e7d32", "#c62828", "#1565c0", "#616161"
_BOX = "font-family: var(--jp-ui-font-family, sans-serif); font-size: 13px; line-height: 1.5;"


def sandbox_notice(backend: Backend) -> None:
    """Say plainly that this run uses the offline sandbox, and how to use the real service."""
    text = (
        "Offline sandbox: procedural audio composed on this machine, not ElevenLabs. "
        "For the real service set APIFRAME_API_KEY (an afk_... key from apiframe.ai) and run the cell again."
    )
    markup = (
        f'<div class="apiframe-sandbox-notice" style="{_BOX} color: {_GREY};">'
        f"🎛️ <b>Offline sandbox</b>: procedural audio composed on this machine, not ElevenLabs. "
        f"For the real service set <code>APIFRAME_API_KEY</code> (an <code>afk_…</code> key from "
        f"apiframe.ai) and run the cell again.</div>"
    )
    display({"text/plain": text, "text/html": markup}, raw=True)


def dry_run_bundle(request: MusicRequest, backend_label: str) -> dict[str, str]:
    """The exact request body and its credit cost, as a display bundle."""
    body = json.dumps(request.to_json(), indent=2, ensure_ascii=False)
    cost = request.credit_cost
    length = format_length(request.music_length_ms) if request.music_length_ms else None
    price = (
        f"{cost} credits for a {length} track" if cost is not None
        else "10 to 30 credits (no --length: the model picks the length)"
    )
    text = f"Dry run: nothing submitted. POST /v2/music/generate would cost {price}.\n{body}"
    markup = (
        f'<div class="apiframe-dry-run" style="{_BOX}"><b>Dry run</b>: nothing submitted. '
        f"<code>POST /v2/music/generate</code> to {html.escape(backend_label)} would cost "
        f"<b>{html.escape(price)}</b>.<pre>{html.escape(body)}</pre></div>"
    )
    return {"text/plain": text, "text/html": markup}


def player_html(path: Path, embed_limit_bytes: int) -> str:
    """An ``IPython.display.Audio`` player: embedded when the file fits the limit, else linked.

    A linked file is addressed relative to the kernel's working directory, which Jupyter front
    ends resolve against the notebook's folder.
    """
    size = path.stat().st_size
    if size <= embed_limit_bytes:
        markup: str = Audio(filename=str(path), embed=True)._repr_html_()
        return markup
    url = _relative_url(path)
    linked: str = Audio(url=url, embed=False)._repr_html_()
    note = (
        f'<div style="color: {_GREY};">{size / 1e6:.1f} MB: linked from '
        f'<a href="{html.escape(url)}">{html.escape(url)}</a> rather than embedded '
        f"(over %config MusicMagics.embed_limit_mb).</div>"
    )
    return linked + note


def _relative_url(path: Path) -> str:
    try:
        return Path(os.path.relpath(path)).as_posix()
    except ValueError:  # another drive on Windows
        return path.as_posix()


def result_html(result: MusicResult, embed_limit_bytes: int) -> str:
    """The static summary of a finished track with its player."""
    fields = describe(result)
    caption = " · ".join(
        f"{html.escape(name)} <b>{html.escape(value)}</b>"
        for name, value in fields.items() if name not in ("prompt", "job")
    )
    prompt = fields["prompt"]
    short = prompt if len(prompt) <= 160 else prompt[:157] + "…"
    badge = " · sandbox" if result.sandbox else ""
    return (
        f'<div class="apiframe-music-summary" style="{_BOX} border-left: 4px solid {_GREEN}; '
        f'padding: 2px 10px;">'
        f'<div><span style="color: {_GREEN};">✔ done</span>{badge} · {caption}</div>'
        f'<div style="color: {_GREY};">“{html.escape(short)}” · job <code>{html.escape(result.job_id)}'
        f"</code> · <code>{html.escape(_relative_url(result.path))}</code></div>"
        f"{player_html(result.path, embed_limit_bytes)}</div>"
    )


def result_text(result: MusicResult) -> str:
    """One line for terminals: where the audio is, how long, which job."""
    fields = describe(result)
    return (
        f"✔ saved {_relative_url(result.path)} ({fields['length']}, {fields['format']}, "
        f"{fields['credits']} credits, {fields['elapsed']}) job {result.job_id}"
    )


def _status_html(color: str, title: str, message: str, job_id: str | None, value: int) -> str:
    job = f" · job <code>{html.escape(job_id)}</code>" if job_id else ""
    bar = (
        f'<div style="width: 280px; height: 8px; background: #e0e0e0; border-radius: 4px;">'
        f'<div style="width: {value}%; height: 8px; background: {color}; border-radius: 4px;"></div></div>'
    )
    return (
        f'<div class="apiframe-music-status" style="{_BOX} border-left: 4px solid {color}; '
        f'padding: 2px 10px;">{bar}<div><span style="color: {color};"><b>{html.escape(title)}</b></span>'
        f"{job}</div><div>{html.escape(message)}</div></div>"
    )


class ProgressView(ABC):
    """Follows one job: records its id and state, and renders them. Subclasses draw."""

    def __init__(self, prompt: str | None, embed_limit_bytes: int) -> None:
        self.prompt = prompt
        self.embed_limit_bytes = embed_limit_bytes
        self.job_id: str | None = None
        self.status = "SUBMITTING"
        self.percent: int | None = None
        self.started = time.monotonic()

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def line(self) -> str:
        parts = [self.status]
        if self.percent is not None:
            parts.append(f"{self.percent}%")
        parts.append(f"{self.elapsed:.1f} s")
        if self.job_id:
            parts.append(f"job {self.job_id}")
        return " · ".join(parts)

    # JobObserver
    def submitted(self, job_id: str) -> None:
        self.job_id = job_id
        self.status = "QUEUED"
        self.render()

    def progress(self, job: Job) -> None:
        self.status = job.status
        if job.progress is not None:
            self.percent = max(0, min(100, job.progress))
        self.render()

    def downloading(self, job: Job) -> None:
        self.status = "DOWNLOADING"
        self.percent = 100
        self.render()

    async def tick(self) -> None:
        """Keep the elapsed time moving between polls."""
        while True:
            await asyncio.sleep(TICK_SECONDS)
            self.render(tick=True)

    @abstractmethod
    def render(self, tick: bool = False) -> None:
        """Show the current state; ``tick`` marks a refresh of the elapsed time only."""

    @abstractmethod
    def succeeded(self, result: MusicResult) -> None:
        """End with the summary and the player."""

    @abstractmethod
    def failed(self, message: str, *, interrupted: bool = False) -> None:
        """End with ``message`` in the failure style."""


class WidgetProgress(ProgressView):
    """An ipywidgets bar and status line, replaced by static HTML when the job ends."""

    def __init__(self, prompt: str | None, embed_limit_bytes: int) -> None:
        super().__init__(prompt, embed_limit_bytes)
        import ipywidgets as widgets

        self.bar = widgets.IntProgress(
            value=0, min=0, max=100, bar_style="info", layout=widgets.Layout(width="280px")
        )
        self.label = widgets.HTML(value=self._label_html())
        self.box = widgets.HBox([self.bar, self.label])
        self.box.add_class("apiframe-music-progress")
        handle = display(self.box, display_id=True)
        assert isinstance(handle, DisplayHandle)
        self.handle = handle

    def _label_html(self) -> str:
        return f'<span style="{_BOX} padding-left: 8px;">{html.escape(self.line())}</span>'

    def render(self, tick: bool = False) -> None:
        self.bar.value = self.percent if self.percent is not None else 0
        self.label.value = self._label_html()

    def succeeded(self, result: MusicResult) -> None:
        self.status, self.percent = "COMPLETED", 100
        self.bar.bar_style = "success"
        self.render()
        time.sleep(SUCCESS_HOLD_SECONDS)
        self.handle.update(
            {"text/plain": result_text(result), "text/html": result_html(result, self.embed_limit_bytes)},
            raw=True,
        )
        self.box.close()

    def failed(self, message: str, *, interrupted: bool = False) -> None:
        self.bar.bar_style = "danger"
        self.render()
        title = "interrupted" if interrupted else "failed"
        self.handle.update(
            {
                "text/plain": f"✘ {title}: {message}",
                "text/html": _status_html(_RED, f"✘ {title}", message, self.job_id, self.percent or 0),
            },
            raw=True,
        )
        self.box.close()


class TextProgress(ProgressView):
    """Progress as lines of text: one line each time the status or progress moves."""

    def __init__(self, prompt: str | None, embed_limit_bytes: int) -> None:
        super().__init__(prompt, embed_limit_bytes)
        self._last: tuple[str, int | None] | None = None

    def render(self, tick: bool = False) -> None:
        state = (self.status, (self.percent or 0) // 10)
        if tick or state == self._last:
            return
        self._last = state
        print(f"[apiframe] {self.line()}", flush=True)

    def succeeded(self, result: MusicResult) -> None:
        self.status, self.percent = "COMPLETED", 100
        print(result_text(result), flush=True)
        if _in_kernel():
            # A kernel front end without widgets still deserves a player.
            display(HTML(result_html(result, self.embed_limit_bytes)))

    def failed(self, message: str, *, interrupted: bool = False) -> None:
        title = "interrupted" if interrupted else "failed"
        print(f"[apiframe] ✘ {title}: {message}", file=sys.stderr, flush=True)


def _in_kernel() -> bool:
    """Whether this runs in a Jupyter kernel (JupyterLab, Notebook, VS Code, Colab's subclass)."""
    from IPython import get_ipython

    return getattr(get_ipython(), "kernel", None) is not None


def make_progress_view(mode: str, prompt: str | None, embed_limit_bytes: int) -> ProgressView:
    """The widget view in a kernel that has ipywidgets (``mode="auto"``), else text."""
    if mode == "widget" or (mode == "auto" and _in_kernel()):
        try:
            return WidgetProgress(prompt, embed_limit_bytes)
        except ImportError:
            pass
    return TextProgress(prompt, embed_limit_bytes)


def register_formatters(shell: Any, embed_limit_bytes: Callable[[], int]) -> None:
    """Show :class:`MusicResult` values as a summary with a player in rich front ends."""
    formatter = shell.display_formatter.formatters["text/html"]
    formatter.for_type(MusicResult, lambda r: result_html(r, embed_limit_bytes()))


def unregister_formatters(shell: Any) -> None:
    formatter = shell.display_formatter.formatters["text/html"]
    formatter.pop(MusicResult, None)
