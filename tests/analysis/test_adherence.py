"""Whether a track has what its prompt asked for: the rules, one by one."""

from __future__ import annotations

import pytest

from apiframe_magic.analysis import Measurements, adherence


def test_tempo_within_four_percent_and_octave_errors_said_so() -> None:
    assert adherence(Measurements(tempo_bpm=119.0), tempo_bpm=120).score == 1.0
    slow = adherence(Measurements(tempo_bpm=100.0), tempo_bpm=120)
    assert slow.score == 0.0 and slow.summary() == "asked 120 bpm, measured 100 ✗"
    double = adherence(Measurements(tempo_bpm=241.0), tempo_bpm=120)
    assert double.score == 1.0 and "double time" in double.summary()


@pytest.mark.parametrize(("asked", "measured", "met", "how"), [
    ("A minor", "A minor", True, None),
    ("A minor", "A major", False, None),
    ("A minor", "C major", False, "relative major"),
    ("C major", "A minor", False, "relative minor"),
    ("D", "D minor", True, None),
    ("Bb major", "A# major", True, None),
])
def test_key(asked: str, measured: str, met: bool, how: str | None) -> None:
    (check,) = adherence(Measurements(key=measured), key=asked).checks
    assert check.met is met and check.how == how


def test_length_within_two_percent_or_a_second() -> None:
    assert adherence(Measurements(duration_s=30.8), seconds=30).score == 1.0
    assert adherence(Measurements(duration_s=28.0), seconds=30).score == 0.0
    assert adherence(Measurements(duration_s=296.0), seconds=300).score == 1.0  # 2 % of 300 s


def test_nothing_asked_is_no_score_and_an_unmeasured_metre_is_not_judged() -> None:
    assert adherence(Measurements(tempo_bpm=120.0)).score is None
    only_metre = adherence(Measurements(tempo_bpm=120.0), metre="3/4")
    assert only_metre.score is None and only_metre.summary() == "asked 3/4, not measured"
    assert adherence(None, tempo_bpm=120).checks[0].measured is None
