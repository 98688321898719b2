"""The statistics of a listening test: an exact sign test, means with their spread, pairwise wins.

Everything is exact and uses the standard library only: the sign test sums binomial
probabilities with :func:`math.comb` in integers, so a p-value is the same on every machine.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

from .._public import public

__all__ = ["ALPHA", "GroupStats", "PairStats", "format_p", "group_stats", "pairwise", "sign_test"]

ALPHA = 0.05
"""Below this p-value a verdict names a winner."""


@public
def sign_test(wins: int, losses: int) -> float:
    """The exact two-sided p-value of the sign test: the chance, if neither side were preferred
    (each judgement a fair coin), of a split at least as uneven as ``wins`` to ``losses``.

    Ties ("no preference") are dropped before calling: only ``wins + losses`` judgements count.
    9 wins to 1 gives 0.02148, 15 to 5 gives 0.04139; no judgements at all gives 1.0.
    """
    if wins < 0 or losses < 0:
        raise ValueError(f"wins and losses are counts, not {wins!r} and {losses!r}")
    n = wins + losses
    if n == 0:
        return 1.0
    fewer = min(wins, losses)
    tail = Fraction(sum(math.comb(n, k) for k in range(fewer + 1)), 2**n)
    return float(min(Fraction(1), 2 * tail))


def format_p(p: float) -> str:
    """A p-value as a verdict says it: ``p = 0.03``, ``p = 0.004``, ``p < 0.001``."""
    if p < 0.001:
        return "p < 0.001"
    if p < 0.01:
        return f"p = {p:.3f}"
    return f"p = {p:.2f}"


@public
@dataclass(frozen=True)
class GroupStats:
    """The scores of one group (a clip, a prompt, a model): how many, their mean and spread.

    ``sd`` is the sample standard deviation (``None`` for fewer than two scores); ``low`` and
    ``high`` the smallest and largest score.
    """

    group: str
    n: int
    mean: float
    sd: float | None
    low: float
    high: float


@public
@dataclass(frozen=True)
class PairStats:
    """How ``a`` fared against ``b``: judgements won by each, ties, and the sign test's p-value
    (ties dropped). ``listeners`` counts the different listeners who compared the two."""

    a: str
    b: str
    wins_a: int
    wins_b: int
    ties: int
    listeners: int
    p_value: float

    @property
    def n(self) -> int:
        """Judgements with a preference (ties dropped)."""
        return self.wins_a + self.wins_b

    @property
    def win_rate(self) -> float | None:
        """The share of the judgements with a preference that ``a`` won; ``None`` without any."""
        return self.wins_a / self.n if self.n else None


def group_stats(scores: Mapping[str, Sequence[float]]) -> list[GroupStats]:
    """:class:`GroupStats` of every group that has scores, in the mapping's order."""
    found = []
    for group, values in scores.items():
        if not values:
            continue
        sd = statistics.stdev(values) if len(values) > 1 else None
        found.append(GroupStats(group, len(values), statistics.fmean(values), sd, min(values), max(values)))
    return found


def pairwise(
    names: Sequence[str], outcomes: Iterable[tuple[str, str, int, str]]
) -> list[PairStats]:
    """Wins of every unordered pair of ``names`` (each pair once, ``a`` before ``b`` in the order
    of ``names``), from ``outcomes``: ``(first, second, score, listener)`` with score 1 when
    ``first`` was preferred, -1 when ``second`` was, 0 for no preference. Pairs never compared
    are left out."""
    order = {name: index for index, name in enumerate(names)}
    tally: dict[tuple[str, str], list[int]] = {}
    heard: dict[tuple[str, str], set[str]] = {}
    for first, second, score, listener in outcomes:
        if first == second or first not in order or second not in order:
            continue
        if order[first] > order[second]:
            first, second, score = second, first, -score
        counts = tally.setdefault((first, second), [0, 0, 0])
        counts[0 if score > 0 else 1 if score < 0 else 2] += 1
        heard.setdefault((first, second), set()).add(listener)
    return [
        PairStats(a, b, wins_a, wins_b, ties, len(heard[(a, b)]), sign_test(wins_a, wins_b))
        for (a, b), (wins_a, wins_b, ties) in sorted(
            tally.items(), key=lambda kv: (order[kv[0][0]], order[kv[0][1]]))
    ]
