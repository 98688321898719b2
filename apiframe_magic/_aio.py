"""Running the async client from synchronous code, including inside a Jupyter kernel.

A kernel executes a cell while its own asyncio loop is running in the same thread, so neither
``asyncio.run`` nor a second loop's ``run_until_complete`` is allowed there. In that case, and
only then, a private loop is made runnable with :mod:`nest_asyncio` and the coroutine runs on it,
nested inside the cell. The kernel's loop is never re-entered: re-entering it would let the
kernel start the next queued cell ("Run All") in the middle of this one. Everything stays on the
cell's thread, so output lands in the right cell and the stop button (SIGINT) interrupts it.
Nothing is patched at import.
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
    loop (a Jupyter kernel) it runs on a private nested loop. On ``KeyboardInterrupt`` (or any
    error) the task is cancelled and allowed to clean up (close connections, remove partial
    files) before the exception propagates.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)

    import nest_asyncio  # only now: applying it patches asyncio

    loop = asyncio.new_event_loop()
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
    finally:
        with contextlib.suppress(BaseException):
            loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
