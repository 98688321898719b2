"""Running async code from synchronous code, including inside a Jupyter kernel.

This is the one place that does it: the ``%%music`` magic and the blocking
:class:`~apiframe_magic.ApiframeClient` both come here.

A kernel executes a cell while its own asyncio loop is running in the same thread, so neither
``asyncio.run`` nor another loop's ``run_until_complete`` is allowed there. In that case, and
only then, the private loop is made runnable with :mod:`nest_asyncio` and the coroutine runs on
it, nested inside the cell. The kernel's loop is never re-entered: re-entering it would let the
kernel start the next queued cell ("Run All") in the middle of this one. Everything stays on the
cell's thread, so output and callbacks land in the right cell and the stop button (SIGINT)
interrupts it. Nothing is patched at import.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

__all__ = ["run_sync"]

T = TypeVar("T")


def run_sync(coro: Coroutine[Any, Any, T], *, loop: asyncio.AbstractEventLoop | None = None) -> T:
    """Run ``coro`` to completion and return its result.

    ``loop`` is a private loop to run on and leave open (the blocking client keeps its
    connections on one); without it a fresh loop is used and closed afterwards, which with no
    loop running in this thread is simply ``asyncio.run``. On ``KeyboardInterrupt`` (or any
    error) every task the call started is cancelled and allowed to clean up (close connections,
    remove partial files) before the exception propagates, and nothing is left for asyncio to
    report later ("Task was destroyed but it is pending", "Task exception was never retrieved").
    """
    try:
        asyncio.get_running_loop()
        nested = True
    except RuntimeError:
        nested = False
    if loop is None and not nested:
        # asyncio.run turns Ctrl-C into cancelling the task, then cancels every other task.
        return asyncio.run(coro)

    private = loop if loop is not None else asyncio.new_event_loop()
    if nested:
        import nest_asyncio  # only now: applying it patches asyncio

        nest_asyncio.apply(private)
    try:
        with _tasks_started(private) as started:
            task = private.create_task(coro)
            try:
                return private.run_until_complete(task)
            except BaseException:
                _settle(private, started)
                raise
    finally:
        if loop is None:
            with contextlib.suppress(BaseException):
                private.run_until_complete(private.shutdown_asyncgens())
            private.close()


@contextlib.contextmanager
def _tasks_started(loop: asyncio.AbstractEventLoop) -> Iterator[list[asyncio.Future[Any]]]:
    """Every task created on ``loop`` while the block runs (the call's own, and any it starts)."""
    started: list[asyncio.Future[Any]] = []
    previous = loop.get_task_factory()

    def factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Future[Any]:
        task: asyncio.Future[Any] = (
            previous(loop, coro, **kwargs) if previous is not None
            else asyncio.Task(coro, loop=loop, **kwargs)
        )
        started.append(task)
        return task

    loop.set_task_factory(factory)
    try:
        yield started
    finally:
        loop.set_task_factory(previous)


def _settle(loop: asyncio.AbstractEventLoop, tasks: list[asyncio.Future[Any]]) -> None:
    """Cancel the unfinished ``tasks`` and let them clean up; mark every outcome as seen.

    A ``KeyboardInterrupt`` can land inside a task (which then ends with it) or between tasks
    (which then stay pending): either way asyncio would log the task when it is collected.
    """
    pending = [t for t in tasks if not t.done()]
    for t in pending:
        t.cancel()
    if pending:
        with contextlib.suppress(BaseException):  # a second Ctrl-C only cuts the clean-up short
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    for t in tasks:
        if t.done() and not t.cancelled():
            t.exception()
