"""Blind listening tests: which of a batch's tracks do people prefer, and is it more than chance?

A :class:`ListeningTest` takes the tracks of a :class:`~apiframe_magic.Batch` (or of a list of
results), shuffles them with a seed under neutral names (``A``, ``B``, ...), and collects each
listener's judgements in turn: a rating from 1 to 5 per clip, or with ``pairs`` a preference
for every pair of clips. Each listener's run is a session of
:class:`~apiframe_magic.ledger.RatingRecord` rows in the job ledger, so ``history()`` shows them.
:meth:`ListeningTest.reveal` pools every listener into a :class:`Reveal`: what each clip was,
the mean rating per clip, prompt and model with its spread, pairwise win rates with an exact
sign test (:func:`sign_test`), and one line such as ``"B wins, p = 0.03, over 12 listeners"``.

This layer holds no widgets and imports no IPython: ``%music listen`` draws it
(:mod:`apiframe_magic.display`), and a script can run a test with it directly.
"""

from __future__ import annotations

from ._session import CSV_COLUMNS, Clip, ListenerRun, ListeningTest, Reveal, clip_name, read_ratings_csv
from ._stats import ALPHA, GroupStats, PairStats, format_p, group_stats, pairwise, sign_test

__all__ = [
    "ALPHA",
    "CSV_COLUMNS",
    "Clip",
    "GroupStats",
    "ListenerRun",
    "ListeningTest",
    "PairStats",
    "Reveal",
    "clip_name",
    "format_p",
    "group_stats",
    "pairwise",
    "read_ratings_csv",
    "sign_test",
]
