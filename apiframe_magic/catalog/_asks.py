"""What a prompt asks for in so many words: a tempo (``"120 bpm"``), a key (``"in D minor"``,
``"key of F#"``, ``"Bb major"``) and a metre (``"in 3/4"``, ``"6/8"``, ``"waltz time"``).

The one home of these rules: the sandbox's composer honours what they find, and the measurements
of a track say whether its audio has it (:mod:`apiframe_magic.analysis`). Only explicit asks
count; a style's usual tempo or metre ("a waltz", "a jig") is the composer's business, not an
ask a track can be held to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["METRE_WORDS", "PITCH_NAMES", "PromptAsks", "asks_of", "key_name", "parse_bpm", "parse_key",
           "parse_metre"]

PITCH_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")

METRE_WORDS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("12/8", "twelve-eight", "twelve eight"), "12/8"),
    (("6/8", "six-eight", "six eight", "compound time", "jig"), "6/8"),
    (("3/4", "three-four", "three four", "waltz time", "in three", "triple time",
      "triple metre", "triple meter"), "3/4"),
    (("4/4", "four-four", "common time"), "4/4"),
)
"""Words that name a metre, the most specific first (a jig is in 6/8, waltz time is 3/4)."""

_KEY = re.compile(
    r"(?:\b(in|key of)\s+)?(?<![a-z0-9#])([a-g])(#|♯|b|♭|-sharp| sharp|-flat| flat)?"
    r"(?:\s*(major|minor))?(?![a-z0-9#])"
)


def _words(prompt: str) -> str:
    return " ".join(prompt.lower().split())


def _phrases(words: tuple[str, ...]) -> re.Pattern[str]:
    """Any of ``words`` as a whole word (or run of words) of a lower-cased text."""
    return re.compile(r"(?<![a-z0-9])(?:" + "|".join(map(re.escape, words)) + r")(?![a-z0-9])")


_METRES = tuple((_phrases(words), name) for words, name in METRE_WORDS)
_BPM = re.compile(
    r"(?<![\d.])(\d{2,3}(?:\.\d+)?)\s*-?\s*bpm\b"  # "120 bpm"
    r"|\bbpm\s*(?:of\s*|=\s*|:\s*)?(\d{2,3}(?:\.\d+)?)"  # "bpm: 96"
)


def parse_bpm(prompt: str) -> float | None:
    """The tempo a prompt names (``"120 bpm"``, ``"bpm: 96"``), bounded to 40-240; ``None``."""
    return _bpm(_words(prompt))


def _bpm(text: str) -> float | None:
    m = _BPM.search(text)
    if not m:
        return None
    return min(240.0, max(40.0, float(m.group(1) or m.group(2))))


def parse_key(prompt: str) -> tuple[int | None, str | None]:
    """Tonic pitch class (0 = C) and mode (``"major"``, ``"minor"`` or ``None``) of a key the
    prompt names; ``(None, None)`` when it names none. A bare letter is a word ("a"), not a key."""
    return _key(_words(prompt))


def _key(text: str) -> tuple[int | None, str | None]:
    for m in _KEY.finditer(text):
        prefix, letter, accidental, mode = m.groups()
        if not prefix and not mode:
            continue
        pc = {"c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11}[letter]
        if accidental:
            pc += 1 if ("#" in accidental or "♯" in accidental or "sharp" in accidental) else -1
        return pc % 12, mode
    return None, None


def parse_metre(prompt: str) -> str | None:
    """The metre a prompt names (``"3/4"``, ``"6/8"``, ``"12/8"``, ``"4/4"``), or ``None``."""
    return _metre(_words(prompt))


def _metre(text: str) -> str | None:
    return next((name for pattern, name in _METRES if pattern.search(text)), None)


def key_name(tonic: int, mode: str | None) -> str:
    """``"A minor"``, ``"F# major"``, or ``"D"`` when the mode is not said."""
    name = PITCH_NAMES[tonic % 12]
    return f"{name} {mode}" if mode else name


@dataclass(frozen=True)
class PromptAsks:
    """What a prompt (and its request) asked for: ``tempo_bpm``, ``key`` (``"A minor"``; a key
    without a mode is just the tonic, ``"D"``), ``metre`` and ``seconds`` (the length asked
    for). ``None`` where nothing was asked."""

    tempo_bpm: float | None = None
    key: str | None = None
    metre: str | None = None
    seconds: float | None = None

    @property
    def any(self) -> bool:
        return any(v is not None for v in (self.tempo_bpm, self.key, self.metre, self.seconds))


def asks_of(prompt: str | None, seconds: float | None = None) -> PromptAsks:
    """What ``prompt`` asks for in so many words, and the length ``seconds`` its request asked."""
    if not prompt:
        return PromptAsks(seconds=seconds)
    text = _words(prompt)
    tonic, mode = _key(text)
    return PromptAsks(
        tempo_bpm=_bpm(text),
        key=key_name(tonic, mode) if tonic is not None else None,
        metre=_metre(text),
        seconds=seconds,
    )
