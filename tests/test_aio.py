"""``run_sync`` when a Ctrl-C lands inside a task: every task it started is settled, so asyncio
has nothing to report later ("Task was destroyed but it is pending", "Task exception was never
retrieved" would otherwise show up in whichever cell runs when they are collected)."""

from __future__ import annotations

import asyncio
import gc
import logging

import pytest

from apiframe_magic._aio import run_sync


def test_an_interrupt_inside_a_task_leaves_nothing_for_asyncio_to_report(
    caplog: pytest.LogCaptureFixture,
) -> None:
    cleaned_up: list[str] = []

    async def ticker() -> None:
        try:
            while True:
                await asyncio.sleep(0.01)
        finally:
            cleaned_up.append("ticker")

    async def job() -> None:
        started = asyncio.ensure_future(ticker())
        await asyncio.sleep(0.05)
        assert not started.done()
        raise KeyboardInterrupt  # where a SIGINT handler would raise it: inside the task

    loop = asyncio.new_event_loop()
    try:
        with caplog.at_level(logging.DEBUG, logger="asyncio"), pytest.raises(KeyboardInterrupt):
            run_sync(job(), loop=loop)
        assert cleaned_up == ["ticker"], "the task the job started was cancelled and cleaned up"
        with caplog.at_level(logging.DEBUG, logger="asyncio"):
            gc.collect()
    finally:
        loop.close()
        gc.collect()
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
