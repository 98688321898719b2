"""A soak test (issue 10): 200 sandbox jobs through :func:`~apiframe_magic.jobs.run_batch` on one
client, over real HTTP, while a background thread arms random faults on the submit, poll and
download routes: 429 storms with a small ``Retry-After``, 503s, dropped connections and
truncated downloads, 150 firings in all, spread over the run by a seeded :class:`random.Random`.

Whatever the faults, every job must be saved exactly once and paid for exactly once: 200 entries
done, 200 distinct files on disk and no ``.part`` left, 200 jobs created on the server and the
credits spent exactly 200 times the price. Every wait is bounded (the batch's per-job timeout,
the client's per-request timeout, and a bound on the whole run), so a hang fails rather than
stalls; the audio comes from an instant renderer, so 200 renders cost nothing.

It found three ways a paid job used to fail for good, now fixed: a 429 from the CDN (downloads
now retry 429s after their Retry-After), two faults in a row on one download (downloads now try
several times, spaced out), three on one submit (a batch with a ledger now sends the submit again
with the same Idempotency-Key, and a 5xx no longer marks the request refused).
"""

from __future__ import annotations

import asyncio
import random
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

from apiframe_magic._exceptions import JobTimeoutError
from apiframe_magic.client import AsyncApiframeClient
from apiframe_magic.jobs import Batch, expand, run_batch
from apiframe_magic.ledger import Ledger
from apiframe_magic.sandbox import SandboxServer
from tests.conftest import CANARY_KEY
from tests.sandbox.test_sandbox_models import fingerprint_renderer

JOBS = 200
FAULTS = 150
SEED = 10
CREDITS = 100_000
# Generous bounds: a job's wait, one HTTP request, and the whole run (a hang fails, never stalls).
JOB_TIMEOUT = 60.0
REQUEST_TIMEOUT = 10.0
RUN_TIMEOUT = 120.0


@dataclass(frozen=True)
class Planned:
    """One fault of the plan: armed ``pause`` seconds after the one before."""

    kind: str
    route: str
    times: int
    retry_after: float
    pause: float


def plan(rng: random.Random, total: int) -> list[Planned]:
    """``total`` fault firings at random: single 503s, dropped connections and truncated
    downloads, and 429 storms of 2 to 5 with a Retry-After of 0 to 0.1 s."""
    planned: list[Planned] = []
    left = total
    while left > 0:
        route = rng.choice(("submit", "poll", "download"))
        kinds = ("rate_limit", "unavailable", "drop") + (("truncate",) if route == "download" else ())
        kind = rng.choice(kinds)
        times = min(rng.randint(2, 5), left) if kind == "rate_limit" else 1
        planned.append(Planned(kind, route, times, rng.choice((0.0, 0.05, 0.1)), rng.uniform(0.002, 0.03)))
        left -= times
    return planned


class RandomFaults:
    """Plays a :func:`plan` on ``server``'s real :class:`~apiframe_magic.sandbox.Faults`: the first
    fault is armed by :meth:`start` (so at least one certainly fires), the rest one by one from a
    thread of its own, until all are armed or :meth:`stop` is called."""

    def __init__(self, server: SandboxServer, planned: list[Planned]) -> None:
        self.server, self.planned = server, planned
        self.armed = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="soak-faults", daemon=True)

    def start(self) -> None:
        self._arm(self.planned[0])
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        for fault in self.planned[1:]:
            if self._stop.wait(fault.pause):
                return
            self._arm(fault)

    def _arm(self, fault: Planned) -> None:
        self.server.faults.inject(fault.kind, times=fault.times, route=fault.route,
                                  retry_after=fault.retry_after)
        self.armed += fault.times

    def fired(self) -> int:
        return self.armed - sum(f.times for f in self.server.faults.pending())


@pytest.mark.soak
def test_two_hundred_jobs_under_random_faults_are_each_saved_once_and_paid_once(tmp_path: Path) -> None:
    out = tmp_path / "out"
    items = expand([f"soak tune number {i:03d}" for i in range(JOBS)], lengths="5s")
    price = items[0].request.credit_cost
    assert price is not None
    with SandboxServer(job_seconds=0.2, credits=CREDITS, max_concurrent_jobs=64,
                       renderer=fingerprint_renderer) as sandbox, \
            Ledger.open(tmp_path / "ledger.sqlite3") as ledger:
        faults = RandomFaults(sandbox, plan(random.Random(SEED), FAULTS))

        async def go() -> Batch:
            async with AsyncApiframeClient(CANARY_KEY, sandbox.url, timeout=REQUEST_TIMEOUT,
                                           poll_interval=0.05, max_poll_interval=0.2) as client:
                faults.start()
                return await asyncio.wait_for(
                    run_batch(client, items, backend="sandbox", output_dir=out, ledger=ledger,
                              timeout=JOB_TIMEOUT),
                    RUN_TIMEOUT,
                )

        try:
            batch = asyncio.run(go())
        finally:
            faults.stop()
        assert faults.fired() > 0
        spent = CREDITS - sandbox.credits_for(CANARY_KEY)
        done = [e.result for e in batch.entries if e.status == "done" and e.result is not None]

        # Whatever else happened: no job paid twice, no result saved twice or half-written.
        assert spent == price * sandbox.jobs_created and sandbox.jobs_created <= JOBS
        paths = [r.path for r in done]
        assert len(set(paths)) == len(paths) and all(p.is_file() and p.parent == out for p in paths)
        assert sorted(out.glob("*.mp3")) == sorted(paths)
        assert [p.name for p in out.iterdir() if p.name.endswith(".part")] == []
        saved = [r.job_id for r in ledger.history(limit=None) if r.saved]
        assert len(saved) == len(done) and set(saved) == {r.job_id for r in done}

        # A job may fail for good only because its wait ran out (and with these bounds none does).
        unexpected = [e.reason for e in batch.failed if not isinstance(e.error, JobTimeoutError)]
        assert unexpected == [], batch.failure_line()
        assert [e.status for e in batch.entries] == ["done"] * JOBS
        assert len(set(batch.job_ids)) == JOBS and ledger.pending() == []
        # Paid exactly once: one job created per item, whatever was retried or replayed.
        assert sandbox.jobs_created == JOBS
        assert spent == JOBS * price == batch.credits
