"""Blind listening tests: which of a batch's tracks do people prefer, and is it more than chance?

A :class:`ListeningTest` takes the tracks of a :class:`~apiframe_magic.Batch` (or of a list of
results), shuffles them with a seed under neutral names (``A``, ``B``, ...; each listener has an
order and letters of their own), and collects each listener's judgements in turn: a rating from
1 to 5 per clip, or with ``pairs`` a preference for every pair of clips. Each listener's run is a
session of
:class:`~apiframe_magic.ledger.RatingRecord` rows in the job ledger, so ``history()`` shows them.
:meth:`ListeningTest.reveal` pools every listener into a :class:`Reveal`: what each clip was,
a ranking (mean rating with its 95 % confidence interval, or Bradley-Terry strengths of the
pairs), the mean per clip, prompt and model with its spread, pairwise win rates with an exact
sign test (:func:`sign_test`) corrected by :func:`holm`, and one line such as ``"B wins, p =
0.03, over 12 listeners"``. :func:`write_kit` writes the test as one HTML file for listeners
elsewhere, whose answers :func:`read_answers` reads back.

This layer holds no widgets and imports no IPython: ``%music listen`` draws it
(:mod:`apiframe_magic.display`), and a script can run a test with it directly.
"""

from __future__ import annotations

from ._kit import KitAnswers, read_answers, write_kit
from ._session import (
    ANCHOR,
    CSV_COLUMNS,
    REFERENCE,
    REPEAT,
    Clip,
    ListenerRun,
    ListeningTest,
    Rank,
    Repeat,
    Reveal,
    Slot,
    clip_name,
    read_ratings_csv,
)
from ._stats import (
    ALPHA,
    CONFIDENCE,
    GroupStats,
    PairStats,
    Strength,
    bradley_terry,
    format_p,
    group_stats,
    holm,
    pairwise,
    sign_test,
    t_quantile,
)

__all__ = [
    "ALPHA",
    "ANCHOR",
    "CONFIDENCE",
    "CSV_COLUMNS",
    "REFERENCE",
    "REPEAT",
    "Clip",
    "GroupStats",
    "KitAnswers",
    "ListenerRun",
    "ListeningTest",
    "PairStats",
    "Rank",
    "Repeat",
    "Reveal",
    "Slot",
    "Strength",
    "bradley_terry",
    "clip_name",
    "format_p",
    "group_stats",
    "holm",
    "pairwise",
    "read_answers",
    "read_ratings_csv",
    "sign_test",
    "t_quantile",
    "write_kit",
]
