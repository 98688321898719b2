"""The credit budget: the one gate every job passes before its submit is sent.

A :class:`Budget` is shared by everything a kernel, a shell run or a script sends (single jobs,
every batch form, ``--no-wait`` jobs running on a thread of their own), with or without a job
ledger. Before a submit is sent, :meth:`Budget.reserve` takes the request's documented price
(the top of its range when the price depends on what the model decides) under a lock, so two
jobs running at once can never both pass the last credits left; a refusal raises
:class:`~apiframe_magic.BudgetExceededError` and nothing is sent. The :class:`Hold` it returns is
settled to what the job was charged once the service says so, and released when no job came of
it (a refused submit) or the job failed (the service refunds it).

A batch is first checked whole (:meth:`Budget.check`): one whose price would pass what is left
is refused in one line, before any of its jobs is sent.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

from .._exceptions import BudgetExceededError
from .._public import public
from ..client import AnyRequest

__all__ = ["Budget", "Hold", "price_top"]


def price_top(request: AnyRequest) -> int | None:
    """The most ``request`` can cost by the service's published prices (``None``: unpublished)."""
    from ..catalog import price_bounds

    bounds = price_bounds(request)
    return None if bounds is None else bounds[1]


@dataclass
class Hold:
    """Credits reserved for one job, until the service says what it charged."""

    budget: Budget
    credits: int
    open: bool = field(default=True)

    def settle(self, charged: int | None) -> None:
        """The job was charged ``charged`` credits (``None``: unknown, the reservation stands)."""
        self.budget._settle(self, self.credits if charged is None else charged)

    def release(self) -> None:
        """No credits were charged after all (a refused submit, a failed job refunded)."""
        self.budget._settle(self, 0)


@public
class Budget:
    """At most ``limit`` credits for the jobs sent through it (``None`` or ``0``: no limit).

    ``where`` says, in messages, what the budget belongs to (``"in this kernel"``) and
    ``setting`` how the user set it (``"MusicMagics.budget_credits"``, ``"--budget-credits"``).
    Thread-safe: a ``--no-wait`` batch on its own thread shares it with the cells that follow.
    """

    def __init__(
        self, limit: int | None, *, where: str = "in this run", setting: str = "budget"
    ) -> None:
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
            raise ValueError(f"a budget is a whole number of credits, not {limit!r}")
        self.limit = limit or None
        self.where = where
        self.setting = setting
        self._lock = threading.Lock()
        self._charged = 0
        self._held = 0

    @property
    def spent(self) -> int:
        """Credits charged, plus those reserved for jobs still running."""
        with self._lock:
            return self._charged + self._held

    @property
    def left(self) -> int | None:
        """Credits left (``None``: no limit)."""
        return None if self.limit is None else max(0, self.limit - self.spent)

    def check(self, requests: Iterable[AnyRequest]) -> None:
        """Refuse a whole batch, before anything is sent, if its price passes what is left."""
        if self.limit is None:
            return
        requests = list(requests)
        if not requests:
            return
        prices = [price_top(r) for r in requests]
        unpriced = sorted({r.model for r, p in zip(requests, prices, strict=True) if p is None})
        if unpriced:
            raise self._unpriced(", ".join(unpriced))
        cost = sum(p for p in prices if p is not None)
        with self._lock:
            spent = self._charged + self._held
        if spent + cost > self.limit:
            what = f"these {len(requests)} jobs cost up to" if len(requests) > 1 else "this job costs"
            raise self._refusal(what, cost, spent)

    def reserve(self, request: AnyRequest) -> Hold:
        """Reserve the most ``request`` can cost, or refuse it (nothing is sent)."""
        cost = price_top(request)
        with self._lock:
            if self.limit is None:
                hold = Hold(self, cost or 0)
                self._held += hold.credits
                return hold
            if cost is None:
                raise self._unpriced(request.model)
            spent = self._charged + self._held
            if spent + cost > self.limit:
                raise self._refusal("this job costs", cost, spent)
            self._held += cost
            return Hold(self, cost)

    def charge(self, credits: int) -> None:
        """Count ``credits`` charged outside a hold (a job submitted before this budget existed)."""
        with self._lock:
            self._charged += max(0, credits)

    def _settle(self, hold: Hold, charged: int) -> None:
        with self._lock:
            if not hold.open:
                return
            hold.open = False
            self._held -= hold.credits
            self._charged += max(0, charged)

    # Both are called with the lock held: they read the counts without taking it again.

    def _refusal(self, what: str, cost: int, spent: int) -> BudgetExceededError:
        limit = self.limit or 0
        return BudgetExceededError(
            f"{what} {cost} credits and {max(0, limit - spent)} of the budget of {limit} "
            f"({self.setting}) are left {self.where}; nothing was sent.",
            cost=cost, spent=spent, budget=limit,
        )

    def _unpriced(self, models: str) -> BudgetExceededError:
        limit = self.limit or 0
        return BudgetExceededError(
            f"{models} has no published price, so the budget of {limit} credits ({self.setting}) "
            f"cannot be kept; nothing was sent.", cost=None, spent=self._charged + self._held, budget=limit,
        )

    def __repr__(self) -> str:
        limit = "no limit" if self.limit is None else f"{self.limit} credits"
        return f"<Budget {limit}, {self.spent} spent {self.where}>"
