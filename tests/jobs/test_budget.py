"""The credit budget: one gate for every path, held under concurrency, from the Python API.

Real HTTP over loopback to the sandbox; the sandbox's own count of charged credits and POSTs is
what the assertions trust."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from apiframe_magic import AsyncApiframeClient, BudgetExceededError, MusicRequest
from apiframe_magic.jobs import Budget, RunContext, expand, generate, run_batch, submit
from apiframe_magic.sandbox import SandboxServer

KEY = "afk_budget_test"


def posts(sandbox: SandboxServer) -> int:
    return sum(1 for r in sandbox.recorded_requests() if r.method == "POST" and r.origin == "api")


def client_for(sandbox: SandboxServer) -> AsyncApiframeClient:
    return AsyncApiframeClient(KEY, sandbox.url, poll_interval=0.05, max_poll_interval=0.2)


def test_concurrent_jobs_never_race_past_the_budget(sandbox: SandboxServer, tmp_path: Path) -> None:
    budget = Budget(25)
    context = RunContext(output_dir=tmp_path, budget=budget, measure=False)
    start = sandbox.credits_for(KEY)

    async def main() -> list[object]:
        async with client_for(sandbox) as client:
            return await asyncio.gather(*(
                generate(client, MusicRequest(f"calm piano number {n}", music_length_ms=5000), context)
                for n in range(4)
            ), return_exceptions=True)

    outcomes = asyncio.run(main())
    refused = [o for o in outcomes if isinstance(o, BudgetExceededError)]
    assert len(refused) == 2, outcomes
    assert posts(sandbox) == 2
    assert start - sandbox.credits_for(KEY) == 20 == budget.spent
    assert "nothing was sent" in str(refused[0]) and "5 of the budget of 25" in str(refused[0])


def test_a_batch_over_budget_is_refused_whole_before_anything_is_sent(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    items = expand([f"prompt {n}" for n in range(5)], lengths="5s")

    async def main() -> None:
        async with client_for(sandbox) as client:
            await run_batch(client, items, output_dir=tmp_path, budget=Budget(20), measure=False)

    with pytest.raises(BudgetExceededError) as refused:
        asyncio.run(main())
    assert posts(sandbox) == 0
    assert "these 5 jobs cost up to 50 credits and 20 of the budget" in str(refused.value)
    assert "\n" not in str(refused.value)


def test_a_price_range_counts_at_its_top(sandbox: SandboxServer, tmp_path: Path) -> None:
    # ElevenLabs Music with no length: the model picks, up to 30 credits.
    with pytest.raises(BudgetExceededError) as refused:
        Budget(25).reserve(MusicRequest("a long slow drone"))
    assert refused.value.cost == 30


def test_the_ledger_answers_cost_nothing_against_the_budget(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    from apiframe_magic.ledger import Ledger

    items = expand(["one", "two"], lengths="5s")
    with Ledger.open(tmp_path / "ledger.sqlite3") as ledger:
        async def main(budget: Budget) -> None:
            async with client_for(sandbox) as client:
                await run_batch(client, items, output_dir=tmp_path, ledger=ledger, budget=budget,
                                measure=False)

        asyncio.run(main(Budget(20)))
        again = Budget(10)
        asyncio.run(main(again))  # both answered by the ledger: nothing to pay, nothing refused
    assert posts(sandbox) == 2 and again.spent == 0


def test_no_wait_jobs_hold_their_credits_with_the_ledger_off(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    budget = Budget(20)

    async def main(n: int) -> object:
        async with client_for(sandbox) as client:
            return await submit(client, MusicRequest(f"job {n}", music_length_ms=5000),
                                output_dir=tmp_path, budget=budget)

    asyncio.run(main(1))
    asyncio.run(main(2))
    with pytest.raises(BudgetExceededError):
        asyncio.run(main(3))
    assert posts(sandbox) == 2 and budget.spent == 20


def test_a_failed_job_gives_its_credits_back(sandbox: SandboxServer, tmp_path: Path) -> None:
    from apiframe_magic import JobFailedError
    sandbox.faults.inject("fail_job", times=1)
    budget = Budget(10)

    async def main() -> None:
        async with client_for(sandbox) as client:
            await generate(client, MusicRequest("fails", music_length_ms=5000), output_dir=tmp_path,
                           budget=budget, measure=False)

    with pytest.raises(JobFailedError):
        asyncio.run(main())
    assert budget.spent == 0
    asyncio.run(main())  # the refunded credits pay for the next job
    assert budget.spent == 10
