"""Measuring saved tracks: the one path every result takes, from a cell, a batch, the shell or
Python.

:func:`measure_result` measures the tracks of a result not measured yet (and, once the
``analysis`` extra is installed, fills in the tempo and key of tracks measured without it) and
records what it measured in the job ledger. :func:`measure_off_loop` runs it on an executor and
awaits it, so the event loop (other jobs of a batch, a progress view) goes on meanwhile.

The executor is a :class:`concurrent.futures.Executor`: by default a pool of threads as wide as
the machine has cores (decoding and the numeric work release the GIL for most of their time);
any other executor with the same interface will do (``RunContext(measure_with=...)``). In
IPython, :func:`rest_between_measurements` narrows the default to one thread that rests between
back-to-back tracks, so that a kernel stays responsive while a batch's tracks are measured.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

from ..analysis import Measurements, card_pictures, extra_installed, measure

if TYPE_CHECKING:
    from ..ledger import Ledger
    from ._results import MusicResult

__all__ = [
    "measure_off_loop",
    "measure_result",
    "measure_tracks",
    "measuring_executor",
    "record_measurements",
    "rest_between_measurements",
]

_T = TypeVar("_T")

_REST_MAX = 0.5
_state: dict[str, Any] = {"rest": False, "ended": 0.0, "took": 0.0, "pool": None}
_pool_lock = threading.Lock()


def rest_between_measurements(rest: bool) -> None:
    """Whether measuring uses one thread that rests, before each of back-to-back measurements,
    as long as the previous one took (up to half a second).

    The extension turns it on in IPython: decoding and analysis hold the GIL in long stretches of
    C, and a kernel's main thread, which must win the GIL back every few milliseconds to answer
    a cell, would otherwise wait in line behind them for as long as a batch's tracks are being
    measured. A script has no one to answer and measures on every core (the default). A single
    measurement, or one after a pause, always starts at once."""
    with _pool_lock:
        if _state["rest"] != rest:
            _state["rest"] = rest
            old, _state["pool"] = _state["pool"], None
            if old is not None:
                old.shutdown(wait=False)


def measuring_executor() -> Executor:
    """The default executor for measuring: one resting thread in IPython, else one thread per core."""
    with _pool_lock:
        pool = _state["pool"]
        if pool is None:
            workers = 1 if _state["rest"] else max(1, os.cpu_count() or 1)
            pool = _state["pool"] = ThreadPoolExecutor(workers, thread_name_prefix="apiframe-measure")
        assert isinstance(pool, Executor)
        return pool


async def measure_off_loop(
    result: MusicResult, ledger: Ledger | None, executor: Executor | None = None
) -> MusicResult:
    """:func:`measure_result` on ``executor`` (else :func:`measuring_executor`), awaited."""
    loop = asyncio.get_running_loop()
    work = functools.partial(_rested, measure_result, (result,), {"ledger": ledger})
    await loop.run_in_executor(executor or measuring_executor(), work)
    return result


def measure_result(result: MusicResult, *, ledger: Ledger | None = None, extra: bool = True) -> MusicResult:
    """Measure the tracks of ``result`` that need it and record them in ``ledger`` (else in the
    ledger at ``result.ledger_path``). Never raises for a file it cannot read (its measurements
    say why) nor for a ledger it cannot write (the result keeps them). Returns ``result``."""
    measured = measure_tracks(result, extra=extra)
    if measured and result.job_id and (ledger is not None or result.ledger_path):
        record_measurements(result, measured, ledger)
    return result


def _needs_measuring(measurements: Measurements | None, extra: bool) -> bool:
    if measurements is None:
        return True
    return extra and measurements.needs_extra and extra_installed()


def measure_tracks(result: MusicResult, *, extra: bool = True) -> dict[int, Measurements]:
    """Measure the tracks of ``result`` that need it (never measured, or measured without the
    ``analysis`` extra that is installed now), set their ``measurements``, and return what was
    measured by track index (nothing is recorded anywhere)."""
    measured = {
        t.index: measure(t.path, requested_seconds=result.requested_seconds, extra=extra)
        for t in result.tracks if _needs_measuring(t.measurements, extra)
    }
    for t in result.tracks:
        if t.index in measured and not measured[t.index].empty:
            card_pictures(t.path)  # made here, off the thread that draws the card
    if measured:
        result.tracks = tuple(
            dataclasses.replace(t, measurements=measured[t.index]) if t.index in measured else t
            for t in result.tracks
        )
    return measured


def record_measurements(
    result: MusicResult, measured: dict[int, Measurements], ledger: Ledger | None
) -> None:
    """Write ``measured`` (by track index) to ``ledger`` (else the one at ``result.ledger_path``);
    a ledger that cannot be opened or written is left as it is: measuring never fails a job."""
    from ..ledger import Ledger, LedgerUnavailable

    opened = None
    try:
        if ledger is None and result.ledger_path:
            ledger = opened = Ledger.open(result.ledger_path)
        if ledger is None:
            return
        for index, measurements in measured.items():
            ledger.measured(result.job_id, index, measurements.as_dict())
    except (LedgerUnavailable, OSError):
        return
    finally:
        if opened is not None:
            opened.close()


def _rested(func: Callable[..., _T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> _T:
    if _state["rest"]:
        rest = min(_REST_MAX, _state["took"]) - (time.monotonic() - _state["ended"])
        if rest > 0:
            time.sleep(rest)
    started = time.monotonic()
    try:
        return func(*args, **kwargs)
    finally:
        _state["ended"] = time.monotonic()
        _state["took"] = _state["ended"] - started
