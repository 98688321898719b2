"""A blind listening test: clips under neutral names, listeners in turn, judgements, the reveal.

A :class:`ListeningTest` is made from a :class:`~apiframe_magic.Batch` or a list of
:class:`~apiframe_magic.MusicResult` objects (every track of a result is a clip), shuffled with a
seed and named ``A``, ``B``, ... ``Z``, ``AA``, ... so nothing in the name gives a clip away. Each
listener takes it as a :class:`ListenerRun` (one session in the ledger): a score from 1 to 5 per
clip, or in ``pairs`` mode a preference for every unordered pair of clips, each pair once, in an
order and with sides of its own. :meth:`ListeningTest.reveal` pools every listener's judgements
into a :class:`Reveal`.
"""

from __future__ import annotations

import itertools
import os
import random
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .._csv import read_rows, write_rows
from .._public import public
from ..jobs import DEFAULT_OUTPUT_DIR, Batch, MusicResult
from ..ledger import PAIR, RATING, Ledger, LedgerUnavailable, RatingRecord, resolve_ledger_path
from ._stats import ALPHA, GroupStats, PairStats, format_p, group_stats, pairwise

__all__ = ["CSV_COLUMNS", "Clip", "ListenerRun", "ListeningTest", "Reveal", "clip_name", "read_ratings_csv"]

CSV_COLUMNS = (
    "test", "session", "listener", "kind", "clip", "job_id", "track", "prompt", "model", "take",
    "score", "other_clip", "other_job_id", "other_track", "created_at",
)
"""The columns of :meth:`ListeningTest.to_csv`: one row per judgement, with what the clip was."""

SCORES = (1, 2, 3, 4, 5)


def clip_name(index: int) -> str:
    """The neutral name of the ``index``-th clip (from 0): ``A`` ... ``Z``, ``AA``, ``AB``, ..."""
    if index < 0:
        raise ValueError(f"clip indexes start at 0, not {index}")
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(ord("A") + rest) + name
    return name


@public
@dataclass(frozen=True)
class Clip:
    """One clip of a test: its neutral ``name`` and what it really is (hidden until the reveal):
    track ``track`` (from 0) of job ``job_id``, with its prompt, model, take and batch label
    (``None`` where unknown) and how many tracks its job made."""

    name: str
    job_id: str
    track: int
    path: Path
    prompt: str | None
    model: str | None
    take: int | None = None
    label: str | None = None
    duration: float | None = None
    tracks: int = 1

    def describe(self) -> str:
        """What the clip was, in a few words: ``"a calm piano" · elevenlabs-music · take 2``."""
        parts = [repr(self.prompt) if self.prompt else "(unknown prompt)", self.model or "?"]
        if self.take is not None:
            parts.append(f"take {self.take}")
        if self.tracks > 1:
            parts.append(f"track {self.track + 1} of {self.tracks}")
        return " · ".join(parts)


@public
@dataclass(frozen=True)
class Reveal:
    """What a listening test found, over every listener so far.

    ``clips`` says what each neutral name was. In ratings mode ``by_clip``, ``by_prompt`` and
    ``by_model`` hold the scores (1 to 5) of each; in pairs mode they hold the share of its
    comparisons each won (1 a win, 0.5 no preference, 0 a loss; comparisons within one group left
    out). ``pairs`` has every pair of clips with its wins and sign-test p-value (in ratings mode
    a listener's higher score is a win). ``verdict`` is one line: ``"B wins, p = 0.03, over 12
    listeners"`` when the leading clip beats the runner-up at p < 0.05, else ``"No clear winner:
    ..."``; ``winner`` is that clip's name or ``None``.
    """

    mode: str
    clips: tuple[Clip, ...]
    listeners: int
    judgements: int
    by_clip: tuple[GroupStats, ...]
    by_prompt: tuple[GroupStats, ...]
    by_model: tuple[GroupStats, ...]
    pairs: tuple[PairStats, ...]
    verdict: str
    winner: str | None = None
    leader: str | None = field(default=None, repr=False)
    runner_up: str | None = field(default=None, repr=False)

    @property
    def scale(self) -> str:
        """What the means of the group tables are."""
        return "rating (1 to 5)" if self.mode == RATING else "share of comparisons won"

    def pair(self, a: str, b: str) -> PairStats | None:
        """The comparison of clips ``a`` and ``b``, seen from ``a``'s side; ``None`` if never made."""
        for stats in self.pairs:
            if (stats.a, stats.b) == (a, b):
                return stats
            if (stats.a, stats.b) == (b, a):
                return PairStats(a, b, stats.wins_b, stats.wins_a, stats.ties, stats.listeners, stats.p_value)
        return None

    def __str__(self) -> str:
        lines = [self.verdict, ""]
        lines += [f"{c.name}: {c.describe()}" for c in self.clips]
        for title, table in (("clip", self.by_clip), ("prompt", self.by_prompt), ("model", self.by_model)):
            if table:
                lines += ["", f"{self.scale} by {title}:"]
                lines += [f"  {_short(g.group)}: {g.mean:.2f} ± {_sd(g.sd)} (n = {g.n})" for g in table]
        if self.pairs:
            lines += ["", "pairs (wins, ties, sign test):"]
            lines += [f"  {p.a} vs {p.b}: {p.wins_a}-{p.wins_b}, {p.ties} ties, {format_p(p.p_value)}"
                      for p in self.pairs]
        return "\n".join(lines)


@public
class ListenerRun:
    """One listener taking the test: their judgements until :meth:`submit` records them.

    In ratings mode :meth:`rate` scores a clip from 1 to 5 (again to change it); in pairs mode
    :attr:`pairs` lists the comparisons in this listener's order, each ``(first, second)`` as
    shown, and :meth:`prefer` answers one. ``session`` names this run in the ledger.
    """

    def __init__(self, test: ListeningTest, listener: str, session: str, pairs: tuple[tuple[str, str], ...]):
        self.test = test
        self.listener = listener
        self.session = session
        self.pairs = pairs
        self.ratings: dict[str, int] = {}
        self.preferences: dict[tuple[str, str], int] = {}
        self.submitted = False

    @property
    def total(self) -> int:
        """How many judgements the test asks of this listener."""
        return len(self.pairs) if self.test.pairs else len(self.test.clips)

    @property
    def judged(self) -> int:
        """How many are made so far."""
        return len(self.preferences) if self.test.pairs else len(self.ratings)

    @property
    def complete(self) -> bool:
        return self.judged == self.total

    def rate(self, clip: str, score: int) -> None:
        """Score ``clip`` from 1 (worst) to 5 (best)."""
        self._open()
        if self.test.pairs:
            raise ValueError("this test asks for preferences between pairs (prefer), not ratings")
        self.test.clip(clip)
        if score not in SCORES:
            raise ValueError(f"a rating is 1 to 5, not {score!r}")
        self.ratings[clip] = score

    def prefer(self, first: str, second: str, choice: str | None) -> None:
        """Answer the comparison of ``first`` and ``second`` (as :attr:`pairs` lists it):
        ``choice`` is the clip preferred, or ``None`` for no preference."""
        self._open()
        if not self.test.pairs:
            raise ValueError("this test asks for ratings (rate), not preferences between pairs")
        if (first, second) not in self.pairs:
            raise ValueError(f"{first} vs {second} is not a comparison of this test")
        if choice not in (first, second, None):
            raise ValueError(f"choose {first}, {second} or None (no preference), not {choice!r}")
        self.preferences[(first, second)] = 1 if choice == first else -1 if choice == second else 0

    def records(self) -> list[RatingRecord]:
        """The judgements made so far, as the ledger stores them."""
        records = []
        if self.test.pairs:
            for first, second in self.pairs:
                if (first, second) not in self.preferences:
                    continue
                a, b = self.test.clip(first), self.test.clip(second)
                records.append(RatingRecord(
                    self.session, self.listener, PAIR, a.name, a.job_id, a.track,
                    self.preferences[(first, second)], other_clip=b.name, other_job_id=b.job_id,
                    other_track=b.track,
                ))
        else:
            for clip in self.test.clips:
                if clip.name in self.ratings:
                    records.append(RatingRecord(
                        self.session, self.listener, RATING, clip.name, clip.job_id, clip.track,
                        self.ratings[clip.name],
                    ))
        return records

    def submit(self) -> list[RatingRecord]:
        """Record this listener's judgements (in the test, and in its ledger if it has one) and
        end the run. A run with no judgement records nothing.

        Raises :class:`~apiframe_magic.ledger.LedgerUnavailable` if the ledger cannot be written;
        the judgements are kept in the test all the same."""
        self._open()
        self.submitted = True
        now = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
        records = [replace(record, created_at=now) for record in self.records()]
        self.test._record(records)
        return records

    def _open(self) -> None:
        if self.submitted:
            raise RuntimeError(f"{self.listener}'s run is submitted; start another with test.listener(name)")

    def __repr__(self) -> str:
        return f"<ListenerRun {self.listener!r}: {self.judged} of {self.total} judged>"


@public
class ListeningTest:
    """A blind listening test of the tracks of a batch or of a list of results.

    ``source`` is a :class:`~apiframe_magic.Batch` (its finished jobs), a
    :class:`~apiframe_magic.MusicResult` or a list of them; every track is a clip, and at least
    two are needed. The clips are shuffled by ``seed`` (a random one, kept in :attr:`seed`, when
    ``None``: the same seed gives the same names) and named ``A``, ``B``, ... With ``pairs``
    each listener compares every unordered pair once instead of rating each clip.

    Listeners take it in turn: ``run = test.listener("Ana")``, ``run.rate("A", 4)`` (or
    ``run.prefer(...)``), ``run.submit()``. Every listener's judgements pool in
    :attr:`judgements` and :meth:`reveal`; with a ``ledger`` they are also recorded there
    (``apiframe_magic.history()`` then shows them) and it supplies the takes of plain results:
    a :class:`~apiframe_magic.ledger.Ledger`, a path to one, or ``True`` for the ledger the
    results were recorded in (else the default one, as ``history()`` finds it).
    :meth:`to_csv` exports them.
    """

    def __init__(
        self,
        source: Batch | MusicResult | Sequence[MusicResult],
        *,
        pairs: bool = False,
        seed: int | None = None,
        ledger: Ledger | bool | str | os.PathLike[str] | None = None,
    ) -> None:
        ledger = _ledger_for(source, ledger)
        found = _clips_of(source, ledger)
        if len(found) < 2:
            raise ValueError(
                f"a listening test needs at least two clips; {_what(source)} has {len(found)} "
                f"finished track{'s' if len(found) != 1 else ''}"
            )
        self.seed = seed if seed is not None else secrets.randbelow(2**32)
        random.Random(self.seed).shuffle(found)
        self.clips: tuple[Clip, ...] = tuple(replace(c, name=clip_name(i)) for i, c in enumerate(found))
        self.pairs = pairs
        self.ledger = ledger
        self.id = f"listen-{secrets.token_hex(4)}"
        self.judgements: list[RatingRecord] = []
        self.runs: list[ListenerRun] = []
        self._by_name = {clip.name: clip for clip in self.clips}

    @property
    def mode(self) -> str:
        """:data:`~apiframe_magic.ledger.PAIR` or :data:`~apiframe_magic.ledger.RATING`."""
        return PAIR if self.pairs else RATING

    def clip(self, name: str) -> Clip:
        """The clip named ``name`` (``KeyError`` naming the clips if there is none)."""
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"no clip {name!r}; the clips are {', '.join(self._by_name)}") from None

    def listener(self, name: str) -> ListenerRun:
        """Start a listener's run: a session of its own (``<test id>/<n>``), and in pairs mode
        every unordered pair once, in an order and with sides drawn for this run from the seed."""
        name = " ".join(name.split())
        if not name:
            raise ValueError("a listener needs a name")
        number = len(self.runs) + 1
        comparisons: tuple[tuple[str, str], ...] = ()
        if self.pairs:
            draw = random.Random(f"{self.seed}/{number}")
            found = [
                (a.name, b.name) if draw.random() < 0.5 else (b.name, a.name)
                for a, b in itertools.combinations(self.clips, 2)
            ]
            draw.shuffle(found)
            comparisons = tuple(found)
        run = ListenerRun(self, name, f"{self.id}/{number}", comparisons)
        self.runs.append(run)
        return run

    @property
    def listeners(self) -> int:
        """How many runs have judgements recorded."""
        return len({record.session for record in self.judgements})

    def _record(self, records: Sequence[RatingRecord]) -> None:
        self.judgements.extend(records)
        if self.ledger is not None and records:
            self.ledger.rate(records)

    def reveal(self) -> Reveal:
        """What each clip was and what every listener so far made of it (see :class:`Reveal`)."""
        return _reveal(self.mode, self.clips, self.judgements)

    def rows(self) -> list[dict[str, Any]]:
        """One dict per judgement, with the keys of :data:`CSV_COLUMNS`."""
        rows = []
        for record in self.judgements:
            clip = self._by_name.get(record.clip)
            rows.append({
                "test": self.id, "session": record.session, "listener": record.listener,
                "kind": record.kind, "clip": record.clip, "job_id": record.job_id,
                "track": record.track, "prompt": clip.prompt if clip else None,
                "model": clip.model if clip else None, "take": clip.take if clip else None,
                "score": record.score, "other_clip": record.other_clip,
                "other_job_id": record.other_job_id, "other_track": record.other_track,
                "created_at": record.created_at,
            })
        return rows

    def to_csv(self, path: str | os.PathLike[str]) -> Path:
        """Write every judgement to a CSV file (:data:`CSV_COLUMNS`), creating its folder; the
        path written. :func:`read_ratings_csv` reads it back. A text cell a spreadsheet would run
        as a formula (a listener named ``=HYPERLINK(...)``) starts with ``'`` (the rule of
        :mod:`apiframe_magic._csv`, undone on reading)."""
        target = Path(path).expanduser()
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("w", newline="", encoding="utf-8") as file:
            write_rows(file, CSV_COLUMNS, self.rows())
        return target

    def __repr__(self) -> str:
        mode = "pairs" if self.pairs else "ratings"
        return (f"<ListeningTest {self.id}: {len(self.clips)} clips, {mode}, "
                f"{self.listeners} listeners, {len(self.judgements)} judgements>")


def read_ratings_csv(path: str | os.PathLike[str]) -> list[RatingRecord]:
    """The judgements of a CSV file written by :meth:`ListeningTest.to_csv`, each text as it was
    typed (the ``'`` in front of a would-be formula removed)."""

    def number(text: str) -> int | None:
        return int(text) if text else None

    with Path(path).open(newline="", encoding="utf-8") as file:
        return [
            RatingRecord(
                row["session"], row["listener"], row["kind"], row["clip"], row["job_id"],
                int(row["track"]), int(row["score"]), other_clip=row["other_clip"] or None,
                other_job_id=row["other_job_id"] or None, other_track=number(row["other_track"]),
                created_at=row["created_at"] or None,
            )
            for row in read_rows(file)
        ]


def _what(source: object) -> str:
    if isinstance(source, Batch):
        return "the batch"
    return "the result" if isinstance(source, MusicResult) else "the list"


def _ledger_for(
    source: Batch | MusicResult | Sequence[MusicResult], given: Ledger | bool | str | os.PathLike[str] | None
) -> Ledger | None:
    """The ledger ``given`` names: itself, ``None``/``False`` for none, a path, or ``True`` for the
    one the results were recorded in, else the default one (a ledger that cannot be opened:
    :class:`~apiframe_magic.ledger.LedgerUnavailable`; none at all: :class:`ValueError`)."""
    if given is None or given is False:
        return None
    if isinstance(given, Ledger):
        return given
    if given is True:
        results = source.results if isinstance(source, Batch) else (
            [source] if isinstance(source, MusicResult) else list(source))
        recorded = next((r.ledger_path for r in results if r.ledger_path), None)
        path = Path(recorded) if recorded else resolve_ledger_path(None, DEFAULT_OUTPUT_DIR)
        if path is None:
            raise ValueError("ledger=True: the job ledger is off ($APIFRAME_LEDGER=off); pass ledger=PATH")
        return Ledger.open(path)
    return Ledger.open(given)


def _clips_of(source: Batch | MusicResult | Sequence[MusicResult], ledger: Ledger | None) -> list[Clip]:
    """Every track of ``source`` as an unnamed clip, each once."""
    given: list[tuple[MusicResult, int | None, str | None]] = []
    if isinstance(source, Batch):
        given = [(e.result, e.take, e.label) for e in source.entries if e.result is not None]
    elif isinstance(source, MusicResult):
        given = [(source, None, None)]
    elif isinstance(source, Sequence) and not isinstance(source, (str, bytes)):
        for index, item in enumerate(source):
            if not isinstance(item, MusicResult):
                raise TypeError(f"item {index} of the list is a {type(item).__name__}, not a MusicResult")
            given.append((item, None, None))
    else:
        raise TypeError(
            f"a listening test takes a Batch, a MusicResult or a list of them, not a {type(source).__name__}"
        )
    clips: dict[tuple[str, int], Clip] = {}
    for result, take, label in given:
        if take is None:
            take = _take(ledger, result.job_id)
        for track in result.tracks:
            clips.setdefault((result.job_id, track.index), Clip(
                name="", job_id=result.job_id, track=track.index, path=track.path,
                prompt=result.prompt, model=result.model, take=take, label=label,
                duration=track.duration, tracks=len(result.tracks),
            ))
    return list(clips.values())


def _take(ledger: Ledger | None, job_id: str) -> int | None:
    if ledger is None:
        return None
    try:
        record = ledger.get(job_id)
    except LedgerUnavailable:
        return None
    return record.take if record is not None else None


def _outcomes(mode: str, judgements: Iterable[RatingRecord]) -> list[tuple[str, str, int, str]]:
    """Every comparison the judgements make: ``(first, second, score, session)``. A pair is one;
    in ratings mode each two clips a listener rated are one (the higher score wins)."""
    found: list[tuple[str, str, int, str]] = []
    if mode == PAIR:
        for record in judgements:
            if record.kind == PAIR and record.other_clip is not None:
                found.append((record.clip, record.other_clip, record.score, record.session))
        return found
    by_session: dict[str, dict[str, int]] = {}
    for record in judgements:
        if record.kind == RATING:
            by_session.setdefault(record.session, {})[record.clip] = record.score
    for session, scores in by_session.items():
        for (a, score_a), (b, score_b) in itertools.combinations(scores.items(), 2):
            found.append((a, b, (score_a > score_b) - (score_a < score_b), session))
    return found


def _reveal(mode: str, clips: Sequence[Clip], judgements: Sequence[RatingRecord]) -> Reveal:
    by_name = {clip.name: clip for clip in clips}
    names = [clip.name for clip in clips]
    keys: dict[str, Callable[[Clip], str]] = {
        "clip": lambda c: c.name,
        "prompt": lambda c: c.prompt or "(unknown)",
        "model": lambda c: c.model or "?",
    }
    tables: dict[str, list[GroupStats]] = {}
    outcomes = _outcomes(mode, judgements)
    for what, key in keys.items():
        scores: dict[str, list[float]] = {key(c): [] for c in clips}
        if mode == RATING:
            for record in judgements:
                if record.kind == RATING and record.clip in by_name:
                    scores[key(by_name[record.clip])].append(record.score)
        else:
            for first, second, score, _ in outcomes:
                a, b = key(by_name[first]), key(by_name[second])
                if a == b:
                    continue
                share = 1.0 if score > 0 else 0.0 if score < 0 else 0.5
                scores[a].append(share)
                scores[b].append(1.0 - share)
        tables[what] = group_stats(scores)
    pairs = pairwise(names, outcomes)
    listeners = len({record.session for record in judgements})
    reveal = Reveal(
        mode=mode, clips=tuple(clips), listeners=listeners, judgements=len(judgements),
        by_clip=tuple(tables["clip"]), by_prompt=tuple(tables["prompt"]),
        by_model=tuple(tables["model"]), pairs=tuple(pairs), verdict="",
    )
    return _with_verdict(reveal, names)


def _with_verdict(reveal: Reveal, names: Sequence[str]) -> Reveal:
    """The reveal with its one-line verdict: the leading clip against the runner-up."""
    over = f"over {reveal.listeners} listener{'s' if reveal.listeners != 1 else ''}"
    ranked = sorted(reveal.by_clip, key=lambda g: (-g.mean, names.index(g.group)))
    if len(ranked) < 2:
        return replace(reveal, verdict="No verdict yet: no listener has judged two clips.")
    leader, runner = ranked[0].group, ranked[1].group
    stats = reveal.pair(leader, runner)
    p = stats.p_value if stats is not None else 1.0
    if stats is not None and stats.wins_a > stats.wins_b and p < ALPHA:
        verdict, winner = f"{leader} wins, {format_p(p)}, {over}", leader
    else:
        verdict, winner = f"No clear winner: {leader} leads {runner}, {format_p(p)}, {over}", None
    return replace(reveal, verdict=verdict, winner=winner, leader=leader, runner_up=runner)


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _sd(sd: float | None) -> str:
    return f"{sd:.2f}" if sd is not None else "-"
