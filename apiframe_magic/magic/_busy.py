"""Keeping a kernel's reported status busy for as long as a cell of the magic runs.

JupyterLab (4.4 and later) and Notebook 7 open a kernel subshell, with a request on the control
channel, the first time a comm of a kind (a widget) opens in a kernel, and may send a widget's
messages to that subshell: the kernel answers each such request with a ``busy`` then an ``idle``
status of its own, and front ends show the last status they heard, whatever request it was for.
A cell that shows its first widget (a batch's grid, a job's progress bar) thus left the status bar
reading "Idle" while the cell still ran ``[*]``; a plain sleeping cell, which opens no comm, stays
"Busy". While the magic runs, every ``idle`` the kernel publishes for another request is followed
at once by ``busy`` for the cell's own request.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

__all__ = ["staying_busy"]

_lock = threading.Lock()


@contextlib.contextmanager
def staying_busy(kernel: Any) -> Iterator[None]:
    """While the block runs, follow each ``idle`` status ``kernel`` publishes for a request other
    than the current cell's with ``busy`` for the cell. Does nothing outside an ipykernel (no
    ``kernel``, or one without the status method) or when the cell's request is unknown."""
    publish = getattr(kernel, "_publish_status", None)
    get_parent = getattr(kernel, "get_parent", None)
    if publish is None or get_parent is None or "_publish_status" in vars(kernel):
        yield  # not an ipykernel, or already wrapped by an enclosing cell magic
        return
    cell = get_parent("shell")
    cell_id = (cell or {}).get("header", {}).get("msg_id")
    if not cell_id:
        yield
        return

    def publish_status(status: str, channel: str, parent: Any = None) -> None:
        publish(status, channel, parent)
        if status != "idle":
            return
        for_request = parent or get_parent(channel)
        if (for_request or {}).get("header", {}).get("msg_id") != cell_id:
            publish("busy", "shell", cell)

    with _lock:
        kernel._publish_status = publish_status
    try:
        yield
    finally:
        with _lock, contextlib.suppress(AttributeError):
            del kernel._publish_status
