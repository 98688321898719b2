"""The statistics of a listening test: an exact sign test, means with their spread and a 95 %
confidence interval, pairwise wins corrected for multiple comparisons (Holm), and Bradley-Terry
strengths of paired comparisons with their confidence intervals.

The sign test is exact: it sums binomial probabilities with :func:`math.comb` in integers, so a
p-value is the same on every machine. Student's t quantile is computed from its closed-form
distribution function for whole degrees of freedom; the Bradley-Terry fit is Hunter's (2004) MM
algorithm, with numpy. No scipy is needed (the tests check every number against it).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction

from .._public import public

__all__ = [
    "ALPHA",
    "CONFIDENCE",
    "GroupStats",
    "PairStats",
    "Strength",
    "bradley_terry",
    "format_p",
    "group_stats",
    "holm",
    "pairwise",
    "sign_test",
    "t_quantile",
]

ALPHA = 0.05
"""Below this p-value (Holm-corrected with more than two clips) a verdict names a winner."""

CONFIDENCE = 0.95
"""The level of every confidence interval."""

_Z = statistics.NormalDist().inv_cdf(1 - (1 - CONFIDENCE) / 2)  # the normal quantile of CONFIDENCE


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
    ``high`` the smallest and largest score; ``ci`` the 95 % confidence interval of the mean
    (Student's t, ``None`` for fewer than two scores).
    """

    group: str
    n: int
    mean: float
    sd: float | None
    low: float
    high: float
    ci: tuple[float, float] | None = None


@public
@dataclass(frozen=True)
class PairStats:
    """How ``a`` fared against ``b``: judgements won by each, ties, and the sign test's p-value
    (ties dropped). ``listeners`` counts the different listeners who compared the two.
    ``adjusted_p`` is that p-value corrected by Holm for every pair of the test (the same as
    ``p_value`` for a single pair)."""

    @property
    def p(self) -> float:
        """The p-value a verdict uses: Holm's when there are several pairs."""
        return self.adjusted_p if self.adjusted_p is not None else self.p_value

    a: str
    b: str
    wins_a: int
    wins_b: int
    ties: int
    listeners: int
    p_value: float
    adjusted_p: float | None = None

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
        mean = statistics.fmean(values)
        sd = statistics.stdev(values) if len(values) > 1 else None
        ci = None
        if sd is not None:
            half = t_quantile(1 - (1 - CONFIDENCE) / 2, len(values) - 1) * sd / math.sqrt(len(values))
            ci = (mean - half, mean + half)
        found.append(GroupStats(group, len(values), mean, sd, min(values), max(values), ci))
    return found


def t_cdf(t: float, df: int) -> float:
    """Student's t distribution function with ``df`` (whole) degrees of freedom, from the
    closed form of Abramowitz and Stegun 26.7.3 and 26.7.4."""
    if df < 1:
        raise ValueError(f"degrees of freedom start at 1, not {df}")
    theta = math.atan2(t, math.sqrt(df))
    s, c2 = math.sin(theta), math.cos(theta) ** 2
    if df % 2:  # odd: A = 2/pi (theta + sin cos (1 + 2/3 c2 + 2*4/(3*5) c2^2 + ...))
        term, total = 1.0, 0.0
        if df > 1:
            total = 1.0
            for k in range(1, (df - 1) // 2):
                term *= c2 * (2 * k) / (2 * k + 1)
                total += term
        inside = 2 / math.pi * (theta + s * math.cos(theta) * total)
    else:  # even: A = sin (1 + 1/2 c2 + 1*3/(2*4) c2^2 + ...)
        term, total = 1.0, 1.0
        for k in range(1, df // 2):
            term *= c2 * (2 * k - 1) / (2 * k)
            total += term
        inside = s * total
    return 0.5 + inside / 2  # inside = P(-t < T < t), signed with t


def t_quantile(q: float, df: int) -> float:
    """The ``q`` quantile of Student's t with ``df`` degrees of freedom (by bisection on
    :func:`t_cdf`, to about 1e-12): ``t_quantile(0.975, 10)`` is 2.228."""
    if not 0 < q < 1:
        raise ValueError(f"a quantile is strictly between 0 and 1, not {q}")
    low, high = -1.0, 1.0
    while t_cdf(low, df) > q:
        low *= 2
    while t_cdf(high, df) < q:
        high *= 2
    for _ in range(200):
        middle = (low + high) / 2
        if t_cdf(middle, df) < q:
            low = middle
        else:
            high = middle
        if high - low < 1e-12:
            break
    return (low + high) / 2


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the order given: the smallest of ``m`` p-values is
    multiplied by ``m``, the next by ``m - 1``, ..., each at least the one before and at most 1.
    An adjusted p-value below ``ALPHA`` keeps the chance of any false finding below ``ALPHA``."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [1.0] * m
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted


@dataclass(frozen=True)
class Strength:
    """A clip's Bradley-Terry strength: the chance it is preferred to a clip of strength ``s`` is
    ``strength / (strength + s)``. Strengths are scaled to a geometric mean of 1; ``ci`` is the
    95 % confidence interval (a Wald interval on the log scale), ``None`` when the data cannot
    bound it (a clip that won or lost every comparison)."""

    group: str
    strength: float
    ci: tuple[float, float] | None
    wins: float
    comparisons: int


def bradley_terry(
    names: Sequence[str], outcomes: Iterable[tuple[str, str, int, str]], *, iterations: int = 10000,
) -> list[Strength]:
    """Bradley-Terry strengths of ``names`` from ``outcomes`` (as :func:`pairwise` takes them; a
    tie counts half a win to each side), fitted by maximum likelihood with Hunter's MM algorithm
    and given in the order of ``names``. A clip never compared has no row."""
    import numpy as np

    index = {name: i for i, name in enumerate(names)}
    m = len(names)
    wins = np.zeros((m, m))
    for first, second, score, _ in outcomes:
        if first == second or first not in index or second not in index:
            continue
        i, j = index[first], index[second]
        share = 1.0 if score > 0 else 0.0 if score < 0 else 0.5
        wins[i, j] += share
        wins[j, i] += 1 - share
    games = wins + wins.T
    seen = [i for i in range(m) if games[i].sum() > 0]
    if len(seen) < 2:
        return []
    wins, games = wins[np.ix_(seen, seen)], games[np.ix_(seen, seen)]
    k = len(seen)
    won = wins.sum(axis=1)
    # A clip that won (or lost) everything has no finite strength: a tiny pseudo-count keeps
    # the fit finite, and its interval is left open.
    bounded = (won > 0) & (won < games.sum(axis=1))
    prior = np.where(bounded, 0.0, 1e-6)
    strength = np.ones(k)
    for _ in range(iterations):
        total = strength[:, None] + strength[None, :]
        denominator = (games / total).sum(axis=1)
        new = (won + prior) / denominator
        new /= np.exp(np.log(new).mean())
        if np.max(np.abs(np.log(new) - np.log(strength))) < 1e-12:
            strength = new
            break
        strength = new
    # The observed information of the log-strengths; its pseudo-inverse is their covariance
    # under the sum-to-zero constraint the geometric mean of 1 sets.
    total = strength[:, None] + strength[None, :]
    weight = games * (strength[:, None] * strength[None, :]) / total**2
    information = np.diag(weight.sum(axis=1)) - weight
    covariance = np.linalg.pinv(information)
    found = []
    for row, i in enumerate(seen):
        ci = None
        if bounded[row]:
            se = math.sqrt(max(float(covariance[row, row]), 0.0))
            log = math.log(float(strength[row]))
            ci = (math.exp(log - _Z * se), math.exp(log + _Z * se))
        found.append(Strength(names[i], float(strength[row]), ci, float(won[row]), int(games[row].sum())))
    return found


def pairwise(
    names: Sequence[str], outcomes: Iterable[tuple[str, str, int, str]]
) -> list[PairStats]:
    """Wins of every unordered pair of ``names`` (each pair once, ``a`` before ``b`` in the order
    of ``names``), from ``outcomes``: ``(first, second, score, listener)`` with score 1 when
    ``first`` was preferred, -1 when ``second`` was, 0 for no preference. Pairs never compared
    are left out. Each carries its p-value corrected by :func:`holm` over all of them."""
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
    found = [
        PairStats(a, b, wins_a, wins_b, ties, len(heard[(a, b)]), sign_test(wins_a, wins_b))
        for (a, b), (wins_a, wins_b, ties) in sorted(
            tally.items(), key=lambda kv: (order[kv[0][0]], order[kv[0][1]]))
    ]
    adjusted = holm([stats.p_value for stats in found])
    return [replace(stats, adjusted_p=p) for stats, p in zip(found, adjusted, strict=True)]
