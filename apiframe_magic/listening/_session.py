"""A blind listening test: clips under neutral names, listeners in turn, judgements, the reveal.

A :class:`ListeningTest` is made from a :class:`~apiframe_magic.Batch` or a list of
:class:`~apiframe_magic.MusicResult` objects (every track of a result is a clip), shuffled with a
seed and named ``A``, ``B``, ... ``Z``, ``AA``, ...: the names the reveal uses. Each listener
takes it as a :class:`ListenerRun` (one session in the ledger) and hears the clips in an order of
their own, drawn from the test's seed and their number, under letters of their own (the first
clip they hear is their ``A``), so listeners cannot share notes and order effects even out; every
judgement records the letter and position the listener had. They give a score from 1 to 5 per
clip, or in ``pairs`` mode a preference for every unordered pair, in an order and with sides of
their own. Controls are optional: hidden reference clips, a low anchor (a clip low-passed at
3.5 kHz), and a clip heard twice to check each listener's consistency.
:meth:`ListeningTest.reveal` pools every listener's judgements into a :class:`Reveal`.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._csv import read_rows, write_rows
from .._public import public
from ..jobs import DEFAULT_OUTPUT_DIR, Batch, MusicResult
from ..ledger import (
    PAIR,
    RATING,
    TEST_ROLE,
    Ledger,
    LedgerUnavailable,
    RatingRecord,
    resolve_ledger_path,
)
from ._stats import (
    ALPHA,
    GroupStats,
    PairStats,
    Strength,
    bradley_terry,
    format_p,
    group_stats,
    pairwise,
)

if TYPE_CHECKING:
    from ._kit import KitAnswers

__all__ = [
    "ANCHOR",
    "CSV_COLUMNS",
    "REFERENCE",
    "REPEAT",
    "Clip",
    "ListenerRun",
    "ListeningTest",
    "Rank",
    "Repeat",
    "Reveal",
    "Slot",
    "clip_name",
    "read_ratings_csv",
]

CSV_COLUMNS = (
    "test", "session", "listener", "kind", "clip", "job_id", "track", "prompt", "model", "take",
    "score", "other_clip", "other_job_id", "other_track", "created_at", "shown_as",
    "other_shown_as", "position", "role",
)
"""The columns of :meth:`ListeningTest.to_csv`: one row per judgement, with what the clip was
and the letter and position its listener had it under."""

SCORES = (1, 2, 3, 4, 5)
REFERENCE = "reference"  # a hidden reference clip: a control
ANCHOR = "anchor"  # a clip low-passed at 3.5 kHz, which a listener should rate lowest
REPEAT = "repeat"  # a clip (or a pair) heard a second time, to check the listener
MANIFEST_FORMAT = "apiframe-listening-test/1"


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
    (``None`` where unknown) and how many tracks its job made. ``role`` is ``"test"`` for a clip
    under test, :data:`REFERENCE` or :data:`ANCHOR` for a control (an anchor is clip ``of``
    low-passed)."""

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
    role: str = TEST_ROLE
    of: str | None = None

    def describe(self) -> str:
        """What the clip was, in a few words: ``"a calm piano" · elevenlabs-music · take 2``
        (a control says so: ``hidden reference: ...``, ``anchor: C low-passed at 3.5 kHz``)."""
        if self.role == ANCHOR:
            return f"anchor: {self.of} low-passed at 3.5 kHz"
        parts = [repr(self.prompt) if self.prompt else "(unknown prompt)", self.model or "?"]
        if self.role == REFERENCE:
            parts.insert(0, "hidden reference:")
        if self.take is not None:
            parts.append(f"take {self.take}")
        if self.tracks > 1:
            parts.append(f"track {self.track + 1} of {self.tracks}")
        return " · ".join(parts)


@dataclass(frozen=True)
class Slot:
    """A place in one listener's order: the ``letter`` they hear it under, the test's clip
    ``clip``, and its ``role`` for them (:data:`REPEAT` for the second hearing of a clip)."""

    letter: str
    clip: str
    role: str


@dataclass(frozen=True)
class Rank:
    """A clip's place in the reveal's ranking: ``rank`` from 1 (clips with equal values share
    it, ``tied``), its ``value`` (mean rating, or Bradley-Terry strength in pairs mode) with its
    95 % confidence interval ``ci`` (``None`` when the data cannot give one) over ``n``
    judgements."""

    name: str
    rank: int
    value: float
    ci: tuple[float, float] | None
    n: int
    tied: bool = False


@dataclass(frozen=True)
class Repeat:
    """One listener's two hearings of the same clip (ratings: the two scores) or of the same pair
    (pairs: the preference for ``clip`` each time, 1, 0 or -1). ``agrees``: the same answer."""

    listener: str
    session: str
    clip: str
    first: int
    again: int
    other_clip: str | None = None

    @property
    def agrees(self) -> bool:
        return self.first == self.again


@public
@dataclass(frozen=True)
class Reveal:
    """What a listening test found, over every listener so far.

    ``ranking`` leads: the clips under test from best to worst, with the mean rating and its
    95 % confidence interval, or in pairs mode each clip's Bradley-Terry strength (``strengths``)
    and its interval; equal values are tied. ``clips`` says what each neutral name was. In ratings
    mode ``by_clip``, ``by_prompt`` and ``by_model`` hold the scores (1 to 5) of each; in pairs
    mode the share of its comparisons each won (1 a win, 0.5 no preference, 0 a loss;
    comparisons within one group left out). ``pairs`` has every pair of clips with its wins and
    sign-test p-value, corrected by Holm when there are several (in ratings mode a listener's
    higher score is a win). Controls count in none of these: ``controls`` holds the reference
    and anchor clips' values, ``repeats`` each listener's two answers to what they heard twice.
    ``verdict`` is one line: ``"B wins, p = 0.03, over 12 listeners"`` when the leader beats the
    runner-up at p < 0.05, else ``"No clear winner: ..."``; ``winner`` is that clip or ``None``.
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
    ranking: tuple[Rank, ...] = ()
    strengths: tuple[Strength, ...] = ()
    controls: tuple[GroupStats, ...] = ()
    repeats: tuple[Repeat, ...] = ()

    @property
    def scale(self) -> str:
        """What the means of the group tables are."""
        return "rating (1 to 5)" if self.mode == RATING else "share of comparisons won"

    @property
    def ranked_by(self) -> str:
        """What the ranking's values are."""
        return "mean rating (1 to 5)" if self.mode == RATING else "Bradley-Terry strength"

    def clip(self, name: str) -> Clip | None:
        return next((c for c in self.clips if c.name == name), None)

    def pair(self, a: str, b: str) -> PairStats | None:
        """The comparison of clips ``a`` and ``b``, seen from ``a``'s side; ``None`` if never made."""
        for stats in self.pairs:
            if (stats.a, stats.b) == (a, b):
                return stats
            if (stats.a, stats.b) == (b, a):
                return replace(stats, a=a, b=b, wins_a=stats.wins_b, wins_b=stats.wins_a)
        return None

    def __str__(self) -> str:
        lines = [self.verdict]
        if self.ranking:
            lines += ["", f"ranking ({self.ranked_by}, 95 % confidence interval):"]
            lines += [f"  {_rank(r)} {r.name}: {_value(r.value)} {_interval(r.ci)} (n = {r.n})"
                      for r in self.ranking]
        lines.append("")
        lines += [f"{c.name}: {c.describe()}" for c in self.clips]
        if self.controls:
            lines += ["", f"controls ({self.scale}):"]
            lines += [f"  {g.group}: {g.mean:.2f} (n = {g.n})" for g in self.controls]
        if self.repeats:
            agree = sum(r.agrees for r in self.repeats)
            lines += ["", f"heard twice: {agree} of {len(self.repeats)} listeners gave the same answer"]
        for title, table in (("clip", self.by_clip), ("prompt", self.by_prompt), ("model", self.by_model)):
            if table and (title == "clip" or len(table) > 1):
                lines += ["", f"{self.scale} by {title}:"]
                lines += [f"  {_short(g.group)}: {g.mean:.2f} ± {_sd(g.sd)} (n = {g.n})" for g in table]
        if self.pairs:
            corrected = " (Holm-corrected)" if len(self.pairs) > 1 else ""
            lines += ["", f"pairs (wins, ties, sign test{corrected}):"]
            lines += [f"  {p.a} vs {p.b}: {p.wins_a}-{p.wins_b}, {p.ties} ties, {format_p(p.p)}"
                      for p in self.pairs]
        return "\n".join(lines)


@public
class ListenerRun:
    """One listener taking the test: their judgements until :meth:`submit` records them.

    :attr:`slots` is this listener's order: the letter each clip has for them (``A`` is the
    first they hear), drawn for this run; :meth:`letter` finds a clip's letter. In ratings mode
    :meth:`rate` scores a letter from 1 to 5 (again to change it); in pairs mode :attr:`pairs`
    lists the comparisons in this listener's order, each ``(first, second)`` by letter as shown,
    and :meth:`prefer` answers one. ``session`` names this run in the ledger.
    """

    def __init__(
        self, test: ListeningTest, listener: str, session: str, slots: tuple[Slot, ...],
        pairs: tuple[tuple[str, str], ...], repeated_pair: int | None = None,
    ):
        self.test = test
        self.listener = listener
        self.session = session
        self.slots = slots
        self.pairs = pairs
        self.repeated_pair = repeated_pair
        self.ratings: dict[str, int] = {}
        self.preferences: dict[tuple[str, str], int] = {}
        self.submitted = False
        self._slots = {slot.letter: slot for slot in slots}

    @property
    def letters(self) -> tuple[str, ...]:
        """This listener's letters, in the order they hear them."""
        return tuple(slot.letter for slot in self.slots)

    def letter(self, clip: str) -> str:
        """The letter this listener has the test's clip ``clip`` under (its first hearing)."""
        for slot in self.slots:
            if slot.clip == clip:
                return slot.letter
        raise KeyError(f"no clip {clip!r}; the clips are {', '.join(c.name for c in self.test.clips)}")

    def slot(self, letter: str) -> Slot:
        """What this listener's ``letter`` is (``KeyError`` naming their letters if nothing)."""
        try:
            return self._slots[letter]
        except KeyError:
            raise KeyError(f"no clip {letter!r}; the clips are {', '.join(self._slots)}") from None

    @property
    def total(self) -> int:
        """How many judgements the test asks of this listener."""
        return len(self.pairs) if self.test.pairs else len(self.slots)

    @property
    def judged(self) -> int:
        """How many are made so far."""
        return len(self.preferences) if self.test.pairs else len(self.ratings)

    @property
    def complete(self) -> bool:
        return self.judged == self.total

    def rate(self, letter: str, score: int) -> None:
        """Score the clip this listener hears as ``letter`` from 1 (worst) to 5 (best)."""
        self._open()
        if self.test.pairs:
            raise ValueError("this test asks for preferences between pairs (prefer), not ratings")
        self.slot(letter)
        if score not in SCORES:
            raise ValueError(f"a rating is 1 to 5, not {score!r}")
        self.ratings[letter] = score

    def prefer(self, first: str, second: str, choice: str | None) -> None:
        """Answer the comparison of ``first`` and ``second`` (letters, as :attr:`pairs` lists
        it): ``choice`` is the letter preferred, or ``None`` for no preference."""
        self._open()
        if not self.test.pairs:
            raise ValueError("this test asks for ratings (rate), not preferences between pairs")
        if (first, second) not in self.pairs:
            raise ValueError(f"{first} vs {second} is not a comparison of this test")
        if choice not in (first, second, None):
            raise ValueError(f"choose {first}, {second} or None (no preference), not {choice!r}")
        self.preferences[(first, second)] = 1 if choice == first else -1 if choice == second else 0

    def records(self) -> list[RatingRecord]:
        """The judgements made so far, as the ledger stores them: the test's clip names, with
        the letter and position this listener had."""
        records = []
        if self.test.pairs:
            for position, (first, second) in enumerate(self.pairs):
                if (first, second) not in self.preferences:
                    continue
                one, two = self.slot(first), self.slot(second)
                a, b = self.test.clip(one.clip), self.test.clip(two.clip)
                role = REPEAT if position == self.repeated_pair else next(
                    (r for r in (a.role, b.role) if r != TEST_ROLE), TEST_ROLE)
                records.append(RatingRecord(
                    self.session, self.listener, PAIR, a.name, a.job_id, a.track,
                    self.preferences[(first, second)], other_clip=b.name, other_job_id=b.job_id,
                    other_track=b.track, shown_as=first, other_shown_as=second, position=position,
                    role=role,
                ))
        else:
            for position, slot in enumerate(self.slots):
                if slot.letter in self.ratings:
                    clip = self.test.clip(slot.clip)
                    records.append(RatingRecord(
                        self.session, self.listener, RATING, clip.name, clip.job_id, clip.track,
                        self.ratings[slot.letter], shown_as=slot.letter, position=position,
                        role=slot.role,
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


Source = Batch | MusicResult | Sequence[MusicResult]


@public
class ListeningTest:
    """A blind listening test of the tracks of a batch or of a list of results.

    ``source`` is a :class:`~apiframe_magic.Batch` (its finished jobs), a
    :class:`~apiframe_magic.MusicResult` or a list of them; every track is a clip, and at least
    two are needed. The clips are shuffled by ``seed`` (a random one, kept in :attr:`seed`, when
    ``None``: the same seed gives the same names and the same listener orders) and named ``A``,
    ``B``, ... for the reveal; each listener hears them in an order and under letters of their
    own. With ``pairs`` each listener compares every unordered pair once instead of rating each
    clip.

    Controls, none by default: ``reference`` (a result, a batch or a list) adds its tracks as
    hidden reference clips; ``anchor`` adds one clip low-passed at 3.5 kHz; ``repeat`` has each
    listener hear one clip (in pairs mode, one pair, sides swapped) a second time. Controls are
    judged like any clip and reported apart (:attr:`Reveal.controls`, :attr:`Reveal.repeats`);
    they count in no statistic of the clips under test.

    Listeners take it in turn: ``run = test.listener("Ana")``, ``run.rate(run.letter("A"), 4)``
    (or ``run.prefer(...)``), ``run.submit()``. Every listener's judgements pool in
    :attr:`judgements` and :meth:`reveal`; with a ``ledger`` they are also recorded there
    (``apiframe_magic.history()`` then shows them) and it supplies the takes of plain results:
    a :class:`~apiframe_magic.ledger.Ledger`, a path to one, or ``True`` for the ledger the
    results were recorded in (else the default one, as ``history()`` finds it).
    :meth:`to_csv` exports them; :meth:`save` writes the test's definition for :meth:`load`
    (a listening kit's answers are collected against it).
    """

    def __init__(
        self,
        source: Source,
        *,
        pairs: bool = False,
        seed: int | None = None,
        ledger: Ledger | bool | str | os.PathLike[str] | None = None,
        reference: Source | None = None,
        anchor: bool = False,
        repeat: bool = False,
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
        clips = [replace(c, name=clip_name(i)) for i, c in enumerate(found)]
        if reference is not None:
            known = {(c.job_id, c.track) for c in clips}
            for extra in _clips_of(reference, ledger):
                if (extra.job_id, extra.track) in known:
                    raise ValueError(f"the reference {extra.job_id} is also a clip under test")
                clips.append(replace(extra, name=clip_name(len(clips)), role=REFERENCE))
        if anchor:
            of = random.Random(f"{self.seed}/anchor").choice(clips[: len(found)])
            clips.append(replace(of, name=clip_name(len(clips)), role=ANCHOR, of=of.name))
        self._setup(tuple(clips), pairs=pairs, repeat=repeat, ledger=ledger,
                    test_id=f"listen-{secrets.token_hex(4)}")

    def _setup(
        self, clips: tuple[Clip, ...], *, pairs: bool, repeat: bool, ledger: Ledger | None, test_id: str,
    ) -> None:
        self.clips = clips
        self.pairs = pairs
        self.repeat = repeat
        self.ledger = ledger
        self.id = test_id
        self.judgements: list[RatingRecord] = []
        self.runs: list[ListenerRun] = []
        self._by_name = {clip.name: clip for clip in self.clips}
        self._audio: dict[str, bytes] = {}

    @property
    def mode(self) -> str:
        """:data:`~apiframe_magic.ledger.PAIR` or :data:`~apiframe_magic.ledger.RATING`."""
        return PAIR if self.pairs else RATING

    @property
    def tested(self) -> tuple[Clip, ...]:
        """The clips under test (the controls left out)."""
        return tuple(c for c in self.clips if c.role == TEST_ROLE)

    def clip(self, name: str) -> Clip:
        """The clip named ``name`` (``KeyError`` naming the clips if there is none)."""
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"no clip {name!r}; the clips are {', '.join(self._by_name)}") from None

    def audio(self, name: str) -> bytes:
        """The MP3 a listener hears for clip ``name``: the track re-encoded (an anchor also
        low-passed), so its bytes match no other player's (made once, then kept)."""
        if name not in self._audio:
            from ._audio import anchor_mp3, blind_mp3

            clip = self.clip(name)
            self._audio[name] = anchor_mp3(clip.path) if clip.role == ANCHOR else blind_mp3(clip.path)
        return self._audio[name]

    def listener(self, name: str) -> ListenerRun:
        """Start a listener's run: a session of its own (``<test id>/<n>``) with an order and
        letters drawn for it from the seed (see :meth:`order`)."""
        name = " ".join(name.split())
        if not name:
            raise ValueError("a listener needs a name")
        number = len(self.runs) + 1
        slots, comparisons, repeated = self.order(number)
        run = ListenerRun(self, name, f"{self.id}/{number}", slots, comparisons, repeated)
        self.runs.append(run)
        return run

    def order(
        self, number: int | str
    ) -> tuple[tuple[Slot, ...], tuple[tuple[str, str], ...], int | None]:
        """Listener ``number``'s order, drawn from the seed: their slots (every clip shuffled,
        lettered ``A``, ``B``, ... in the order heard; with ``repeat`` in ratings mode one clip
        under test twice, never back to back), and in pairs mode every unordered pair once, in
        an order and with sides of their own (with ``repeat``, one pair again, sides swapped,
        later on), with the place of that repeated pair."""
        draw = random.Random(f"{self.seed}/{number}")
        names = [clip.name for clip in self.clips]
        draw.shuffle(names)
        roles = [self.clip(name).role for name in names]
        if self.repeat and not self.pairs:
            again = draw.choice([c.name for c in self.tested])
            first = names.index(again)
            # Where the second hearing may go: not next to the first.
            places = [p for p in range(len(names) + 1) if p not in (first, first + 1)]
            place = draw.choice(places)
            names.insert(place, again)
            roles.insert(place, REPEAT)
        slots = tuple(
            Slot(clip_name(i), name, role) for i, (name, role) in enumerate(zip(names, roles, strict=True)))
        comparisons: list[tuple[str, str]] = []
        repeated: int | None = None
        if self.pairs:
            letters = [slot.letter for slot in slots]
            comparisons = [
                (a, b) if draw.random() < 0.5 else (b, a) for a, b in itertools.combinations(letters, 2)
            ]
            draw.shuffle(comparisons)
            if self.repeat:
                tested = {slot.letter for slot in slots if slot.role == TEST_ROLE}
                candidates = [i for i, (a, b) in enumerate(comparisons) if a in tested and b in tested]
                # Not the last one, so the second hearing need not follow it straight away.
                chosen = draw.choice([i for i in candidates if i < len(comparisons) - 1] or candidates)
                a, b = comparisons[chosen]
                repeated = draw.randint(min(chosen + 2, len(comparisons)), len(comparisons))
                comparisons.insert(repeated, (b, a))
        return slots, tuple(comparisons), repeated

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
                "created_at": record.created_at, "shown_as": record.shown_as,
                "other_shown_as": record.other_shown_as, "position": record.position,
                "role": record.role,
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

    # -- the test's definition, for collecting a kit's answers ---------------------------------

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the test's definition (its id, seed, mode and what every clip is) as JSON, for
        :meth:`load`; the path written. It names the clips: keep it with the notebook, never
        give it to listeners."""
        target = Path(path).expanduser()
        target.parent.mkdir(parents=True, exist_ok=True)
        clips = [
            {"name": c.name, "job_id": c.job_id, "track": c.track, "path": os.fspath(c.path),
             "prompt": c.prompt, "model": c.model, "take": c.take, "label": c.label,
             "duration": c.duration, "tracks": c.tracks, "role": c.role, "of": c.of}
            for c in self.clips
        ]
        document = {"format": MANIFEST_FORMAT, "id": self.id, "seed": self.seed,
                    "pairs": self.pairs, "repeat": self.repeat, "clips": clips}
        target.write_text(json.dumps(document, indent=1, ensure_ascii=False), encoding="utf-8")
        return target

    @classmethod
    def load(
        cls, path: str | os.PathLike[str], *, ledger: Ledger | str | os.PathLike[str] | None = None
    ) -> ListeningTest:
        """The test :meth:`save` wrote, with no judgements yet (:meth:`recorded` reads back
        those the ledger holds); ``ValueError`` in one line for a file that is not one."""
        try:
            document = json.loads(Path(path).read_text(encoding="utf-8"))
            if document.get("format") != MANIFEST_FORMAT:
                raise ValueError
            clips = tuple(
                Clip(name=c["name"], job_id=c["job_id"], track=int(c["track"]), path=Path(c["path"]),
                     prompt=c["prompt"], model=c["model"], take=c["take"], label=c["label"],
                     duration=c["duration"], tracks=int(c["tracks"]), role=c["role"], of=c["of"])
                for c in document["clips"]
            )
            seed, pairs = int(document["seed"]), bool(document["pairs"])
            repeat, test_id = bool(document["repeat"]), str(document["id"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
            raise ValueError(
                f"{os.fspath(path)} is not a listening test's definition ({e or 'another format'})") from None
        test = cls.__new__(cls)
        test.seed = seed
        opened = ledger if isinstance(ledger, Ledger) or ledger is None else Ledger.open(ledger)
        test._setup(clips, pairs=pairs, repeat=repeat, ledger=opened, test_id=test_id)
        return test

    def recorded(self) -> list[RatingRecord]:
        """Every judgement of this test the ledger holds (every session ``<test id>/...``),
        taken into :attr:`judgements` in the order made; without a ledger, :attr:`judgements`."""
        if self.ledger is not None:
            known = {(r.session, r.position, r.shown_as, r.kind) for r in self.judgements}
            for record in self.ledger.ratings():
                if record.session.startswith(f"{self.id}/") and (
                        record.session, record.position, record.shown_as, record.kind) not in known:
                    self.judgements.append(record)
        return self.judgements

    def collect(self, paths: Iterable[str | os.PathLike[str]]) -> list[KitAnswers]:
        """Record the answers files a listening kit of this test handed back (see
        :func:`~apiframe_magic.listening.write_kit`), after reading back what the ledger holds
        (:meth:`recorded`); the answers newly recorded. Every file is checked before any is
        recorded (``ValueError`` in one line: not answers, or answers to another test); a file
        whose listener is already recorded is skipped, so collecting again is harmless."""
        from ._kit import read_answers

        self.recorded()
        answers = [read_answers(path, self.id) for path in paths]
        made = []
        for one in answers:
            if one.mode != self.mode:
                raise ValueError(f"{one.path.name}: {one.mode} answers, but this test asks for "
                                 f"{'pairs' if self.pairs else 'ratings'}")
            made.append((one, one.records(self)))
        seen = {record.session for record in self.judgements}
        new = []
        for one, records in made:
            session = f"{self.id}/{one.session}"
            if session in seen:
                continue
            seen.add(session)
            self._record(records)
            new.append(one)
        return new

    def __repr__(self) -> str:
        mode = "pairs" if self.pairs else "ratings"
        return (f"<ListeningTest {self.id}: {len(self.clips)} clips, {mode}, "
                f"{self.listeners} listeners, {len(self.judgements)} judgements>")


def read_ratings_csv(path: str | os.PathLike[str]) -> list[RatingRecord]:
    """The judgements of a CSV file written by :meth:`ListeningTest.to_csv`, each text as it was
    typed (the ``'`` in front of a would-be formula removed)."""

    def number(text: str | None) -> int | None:
        return int(text) if text else None

    with Path(path).open(newline="", encoding="utf-8") as file:
        return [
            RatingRecord(
                row["session"], row["listener"], row["kind"], row["clip"], row["job_id"],
                int(row["track"]), int(row["score"]), other_clip=row["other_clip"] or None,
                other_job_id=row["other_job_id"] or None, other_track=number(row["other_track"]),
                created_at=row["created_at"] or None, shown_as=row.get("shown_as") or None,
                other_shown_as=row.get("other_shown_as") or None,
                position=number(row.get("position")), role=row.get("role") or TEST_ROLE,
            )
            for row in read_rows(file)
        ]


def _what(source: object) -> str:
    if isinstance(source, Batch):
        return "the batch"
    return "the result" if isinstance(source, MusicResult) else "the list"


def _ledger_for(
    source: Source, given: Ledger | bool | str | os.PathLike[str] | None
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


def _clips_of(source: Source, ledger: Ledger | None) -> list[Clip]:
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
    """Every comparison the judgements of clips under test make: ``(first, second, score,
    session)``. A pair is one; in ratings mode each two clips a listener rated are one (the
    higher score wins). Controls are left out."""
    found: list[tuple[str, str, int, str]] = []
    if mode == PAIR:
        for record in judgements:
            if record.kind == PAIR and record.other_clip is not None and record.role == TEST_ROLE:
                found.append((record.clip, record.other_clip, record.score, record.session))
        return found
    by_session: dict[str, dict[str, int]] = {}
    for record in judgements:
        if record.kind == RATING and record.role == TEST_ROLE:
            by_session.setdefault(record.session, {})[record.clip] = record.score
    for session, scores in by_session.items():
        for (a, score_a), (b, score_b) in itertools.combinations(scores.items(), 2):
            found.append((a, b, (score_a > score_b) - (score_a < score_b), session))
    return found


def _reveal(mode: str, clips: Sequence[Clip], judgements: Sequence[RatingRecord]) -> Reveal:
    tested = [clip for clip in clips if clip.role == TEST_ROLE]
    by_name = {clip.name: clip for clip in tested}
    names = [clip.name for clip in tested]
    keys: dict[str, Callable[[Clip], str]] = {
        "clip": lambda c: c.name,
        "prompt": lambda c: c.prompt or "(unknown)",
        "model": lambda c: c.model or "?",
    }
    tables: dict[str, list[GroupStats]] = {}
    outcomes = _outcomes(mode, judgements)
    for what, key in keys.items():
        scores: dict[str, list[float]] = {key(c): [] for c in tested}
        if mode == RATING:
            for record in judgements:
                if record.kind == RATING and record.role == TEST_ROLE and record.clip in by_name:
                    scores[key(by_name[record.clip])].append(record.score)
        else:
            for first, second, score, _ in outcomes:
                if first not in by_name or second not in by_name:
                    continue
                a, b = key(by_name[first]), key(by_name[second])
                if a == b:
                    continue
                share = 1.0 if score > 0 else 0.0 if score < 0 else 0.5
                scores[a].append(share)
                scores[b].append(1.0 - share)
        tables[what] = group_stats(scores)
    pairs = pairwise(names, outcomes)
    strengths = bradley_terry(names, outcomes) if mode == PAIR else []
    listeners = len({record.session for record in judgements})
    reveal = Reveal(
        mode=mode, clips=tuple(clips), listeners=listeners, judgements=len(judgements),
        by_clip=tuple(tables["clip"]), by_prompt=tuple(tables["prompt"]),
        by_model=tuple(tables["model"]), pairs=tuple(pairs), verdict="",
        strengths=tuple(strengths), controls=tuple(_controls(mode, clips, judgements)),
        repeats=tuple(_repeats(mode, judgements)),
    )
    ranking = _ranking(reveal, names)
    return _with_verdict(replace(reveal, ranking=tuple(ranking)))


def _ranking(reveal: Reveal, names: Sequence[str]) -> list[Rank]:
    """The clips under test from best to worst; equal values share a rank."""
    values: list[tuple[str, float, tuple[float, float] | None, int]]
    if reveal.mode == RATING:
        values = [(g.group, g.mean, g.ci, g.n) for g in reveal.by_clip]
    else:
        values = [(s.group, s.strength, s.ci, s.comparisons) for s in reveal.strengths]
    values.sort(key=lambda v: (-round(v[1], 9), names.index(v[0])))
    ranking = []
    for name, value, ci, n in values:
        above = sum(1 for _, other, _, _ in values if round(other, 9) > round(value, 9))
        tied = sum(1 for _, other, _, _ in values if round(other, 9) == round(value, 9)) > 1
        ranking.append(Rank(name, above + 1, value, ci, n, tied))
    return ranking


def _controls(mode: str, clips: Sequence[Clip], judgements: Sequence[RatingRecord]) -> list[GroupStats]:
    """The values of the reference and anchor clips: their ratings, or in pairs mode the share
    of their comparisons they won."""
    controls = {c.name for c in clips if c.role != TEST_ROLE}
    scores: dict[str, list[float]] = {c.name: [] for c in clips if c.role != TEST_ROLE}
    for record in judgements:
        if record.role == REPEAT:
            continue
        if record.kind == RATING and record.clip in controls:
            scores[record.clip].append(record.score)
        elif record.kind == PAIR and record.other_clip is not None:
            share = 1.0 if record.score > 0 else 0.0 if record.score < 0 else 0.5
            if record.clip in controls:
                scores[record.clip].append(share)
            if record.other_clip in controls:
                scores[record.other_clip].append(1.0 - share)
    return group_stats(scores)


def _repeats(mode: str, judgements: Sequence[RatingRecord]) -> list[Repeat]:
    """Each listener's two answers to the clip (or pair) they heard twice."""
    found = []
    sessions: dict[str, list[RatingRecord]] = {}
    for record in judgements:
        sessions.setdefault(record.session, []).append(record)
    for session, records in sessions.items():
        for again in (r for r in records if r.role == REPEAT):
            if mode == RATING:
                first = next((r for r in records if r.role != REPEAT and r.clip == again.clip), None)
                if first is not None:
                    found.append(Repeat(again.listener, session, again.clip, first.score, again.score))
                continue
            for first in records:
                if first.role == REPEAT or first.kind != PAIR:
                    continue
                if (first.clip, first.other_clip) == (again.clip, again.other_clip):
                    found.append(Repeat(again.listener, session, first.clip, first.score, again.score,
                                        first.other_clip))
                elif (first.clip, first.other_clip) == (again.other_clip, again.clip):
                    found.append(Repeat(again.listener, session, first.clip, first.score, -again.score,
                                        first.other_clip))
    return found


def _with_verdict(reveal: Reveal) -> Reveal:
    """The reveal with its one-line verdict: the leading clip against the runner-up; clips with
    equal values tie, and no letter breaks a tie."""
    over = f"over {reveal.listeners} listener{'s' if reveal.listeners != 1 else ''}"
    ranked = reveal.ranking
    if len(ranked) < 2:
        return replace(reveal, verdict="No verdict yet: no listener has judged two clips.")
    leader, runner = ranked[0], ranked[1]
    if leader.rank == runner.rank:
        tied = [r.name for r in ranked if r.rank == leader.rank]
        names = ", ".join(tied[:-1]) + f" and {tied[-1]}"
        return replace(reveal, verdict=f"No clear winner: {names} tie at {_value(leader.value)}, {over}")
    stats = reveal.pair(leader.name, runner.name)
    p = stats.p if stats is not None else 1.0
    said = format_p(p) + (f" (Holm-corrected, {len(reveal.pairs)} pairs)" if len(reveal.pairs) > 1 else "")
    if stats is not None and stats.wins_a > stats.wins_b and p < ALPHA:
        verdict, winner = f"{leader.name} wins, {said}, {over}", leader.name
    else:
        verdict, winner = f"No clear winner: {leader.name} leads {runner.name}, {said}, {over}", None
    return replace(reveal, verdict=verdict, winner=winner, leader=leader.name, runner_up=runner.name)


def _rank(rank: Rank) -> str:
    return f"{rank.rank}{'=' if rank.tied else '.'}"


def _value(value: float) -> str:
    return f"{value:.2f}"


def _interval(ci: tuple[float, float] | None) -> str:
    return f"[{ci[0]:.2f}, {ci[1]:.2f}]" if ci is not None else "[-]"


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _sd(sd: float | None) -> str:
    return f"{sd:.2f}" if sd is not None else "-"
