"""The live view of one job while it runs: :class:`WidgetProgress` (ipywidgets, in a kernel) and
:class:`TextProgress` (lines of text, for terminal IPython or wherever widgets cannot render).

Both are :class:`~apiframe_magic.jobs.JobObserver`\\ s and both end in *static* output: on success
the widget's display is replaced by HTML holding the summary and the players, and every widget
model the run made is closed, so a notebook saved or viewed without a widget front end still shows
the final state and the audio, embedded once, with no widget state left behind."""

from __future__ import annotations

import html
import sys
import time
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING

from IPython.display import HTML, DisplayHandle, display

from .._terminal import printable
from ._html import _BOX, _ORANGE, _RED, result_html, result_text, status_html
from ._widgets import close_widgets

if TYPE_CHECKING:
    from ..client import Job
    from ..jobs import MusicResult

__all__ = ["ProgressView", "TextProgress", "WidgetProgress", "in_kernel", "make_progress_view"]

# Long enough to see the bar turn green before the summary replaces it (only where a widget
# front end can show it, in a kernel, and only after a job ran: see WidgetProgress.hold_for).
SUCCESS_HOLD_SECONDS = 0.5

TICK_SECONDS = 0.5


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
        import asyncio

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
    def failed(self, message: str, *, interrupted: bool = False, title: str | None = None) -> None:
        """End with ``message`` in the failure style, headed "failed" or "interrupted" (red).

        A ``title`` replaces that heading and marks a state that is not a failure of the job
        (``"still running"`` after a timeout): it is shown in a neutral orange, without the ✘.
        """

    @staticmethod
    def _heading(interrupted: bool, title: str | None) -> tuple[str, str]:
        """The heading text and its colour."""
        if title is not None:
            return f"⏳ {title}", _ORANGE
        return ("✘ interrupted" if interrupted else "✘ failed"), _RED


class WidgetProgress(ProgressView):
    """An ipywidgets bar and status line, replaced by static HTML when the job ends.

    When the job ends every widget model the view created is closed: the bar, the label, the
    box, and the ``Layout`` and style models ipywidgets makes for each of them. A front end drops
    closed models, so a saved notebook keeps no widget state from a finished run, only the
    static HTML.
    """

    def __init__(self, prompt: str | None, embed_limit_bytes: int) -> None:
        super().__init__(prompt, embed_limit_bytes)
        import ipywidgets as widgets

        # Outside a kernel nobody sees the green bar, so succeeding must not wait for it.
        self.hold_seconds = SUCCESS_HOLD_SECONDS if in_kernel() else 0.0

        self.bar = widgets.IntProgress(
            value=0, min=0, max=100, bar_style="info", layout=widgets.Layout(width="280px")
        )
        self.label = widgets.HTML(value=self._label_html())
        self.box = widgets.HBox([self.bar, self.label])
        self.box.add_class("apiframe-music-progress")
        try:
            handle = display(self.box, display_id=True)
        except BaseException:  # stopped before the job began: leave no widget behind
            self.close()
            raise
        assert isinstance(handle, DisplayHandle)
        self.handle = handle

    def _label_html(self) -> str:
        return f'<span style="{_BOX} padding-left: 8px;">{html.escape(self.line())}</span>'

    def render(self, tick: bool = False) -> None:
        self.bar.value = self.percent if self.percent is not None else 0
        self.label.value = self._label_html()

    def hold_for(self, result: MusicResult) -> float:
        """Seconds the green bar stays before the summary replaces it: none for an answer from the
        job ledger (no job ran, so there was no bar to follow, and a re-run must be instant) and
        none outside a kernel; else :data:`SUCCESS_HOLD_SECONDS`."""
        return 0.0 if result.from_ledger else self.hold_seconds

    def succeeded(self, result: MusicResult) -> None:
        self.status, self.percent = "COMPLETED", 100
        self.bar.bar_style = "success"
        self.render()
        hold = self.hold_for(result)
        if hold:
            time.sleep(hold)
        self.handle.update(
            {"text/plain": result_text(result), "text/html": result_html(result, self.embed_limit_bytes)},
            raw=True,
        )
        self.close()

    def failed(self, message: str, *, interrupted: bool = False, title: str | None = None) -> None:
        heading, color = self._heading(interrupted, title)
        self.bar.bar_style = "danger" if title is None else "warning"
        self.render()
        self.handle.update(
            {
                "text/plain": f"{heading}: {message}",
                "text/html": status_html(color, heading, message, self.job_id, self.percent or 0),
            },
            raw=True,
        )
        self.close()

    def close(self) -> None:
        """Close every widget model this view created (see the class docstring)."""
        close_widgets((self.box, self.bar, self.label))


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
        print(f"[apiframe] {printable(self.line())}", flush=True)

    def succeeded(self, result: MusicResult) -> None:
        self.status, self.percent = "COMPLETED", 100
        print(printable(result_text(result), newlines=True), flush=True)
        if in_kernel():
            # A kernel front end without widgets still deserves a player.
            display(HTML(result_html(result, self.embed_limit_bytes)))

    def failed(self, message: str, *, interrupted: bool = False, title: str | None = None) -> None:
        heading, _ = self._heading(interrupted, title)
        # A titled state is not an error: stdout, so a notebook does not paint it red.
        stream = sys.stderr if title is None else sys.stdout
        print(f"[apiframe] {heading}: {printable(message, newlines=True)}", file=stream, flush=True)


def in_kernel() -> bool:
    """Whether this runs in a Jupyter kernel (JupyterLab, Notebook, VS Code, Colab's subclass)."""
    from IPython import get_ipython

    return getattr(get_ipython(), "kernel", None) is not None


def make_progress_view(mode: str, prompt: str | None, embed_limit_bytes: int) -> ProgressView:
    """The widget view in a kernel that has ipywidgets (``mode="auto"``), else text."""
    if mode == "widget" or (mode == "auto" and in_kernel()):
        try:
            return WidgetProgress(prompt, embed_limit_bytes)
        except ImportError:
            pass
    return TextProgress(prompt, embed_limit_bytes)
