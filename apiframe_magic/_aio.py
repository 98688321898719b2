"""Running the async client from synchronous code, including inside a running event loop.

A Jupyter kernel executes cells while its own asyncio loop is running, so ``asyncio.run`` is
not allowed there. There, and only there, :mod:`nest_asyncio` is applied to that loop (once) so
that it can be re-entered. Nothing is patched at import.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["run_sync"]

T = TypeVar("T")


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion and return its result.

    With no loop running (scripts, terminal IPython) this is ``asyncio.run``. Inside a running
    loop (a Jupyter kernel) the loop is made re-entrant and driven until ``coro`` is done.
    On ``KeyboardInterrupt`` the task is cancelled and allowed to clean up before re-raising.
    """
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)

    import nest_asyncio  # only now: applying it is a side effect on the running loop

    if not getattr(loop, "_nest_patched", False):
        nest_asyncio.apply(loop)
    task = loop.create_task(coro)
    try:
        return loop.run_until_complete(task)
    except BaseException:
        if not task.done():
            task.cancel()
            with contextlib.suppress(BaseException):
                loop.run_until_complete(task)
        raise
