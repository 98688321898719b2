"""Does the music follow the prompt? What a prompt asked for, held against what was measured.

:func:`adherence` takes what was asked (a tempo, a key, a metre, a length: see
:func:`apiframe_magic.catalog.asks_of`) and a track's :class:`~._measure.Measurements`, and says,
aspect by aspect, whether the audio has it: ``"asked 120 bpm, measured 119"``.

The rules, each an allowance a listener would grant:

* **tempo**: within 4 % of the asked tempo; a beat tracker may lock on to twice or half the
  pulse, so double or half time (within 4 %) counts too and is said so;
* **key**: the same tonic, and the same mode when the prompt names one; the relative major or
  minor (same notes, other tonic) is close, not the key asked for;
* **length**: within 2 % or one second of the length asked for, whichever is more;
* **metre**: reported as asked; telling a waltz from a march reliably needs more than the
  tempo estimate gives here, so it is not judged (``met`` is ``None``).

:attr:`Adherence.score` is the share of judged asks that were met (``None`` when nothing that
can be judged was asked). This layer imports nothing else of the package.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._measure import PITCH_CLASSES, Measurements

__all__ = ["Adherence", "Check", "adherence"]

_TEMPO_TOLERANCE = 0.04
_LENGTH_TOLERANCE = 0.02
_LENGTH_MIN_S = 1.0
_FLATS = {"Db": "C#", "Eb": "D#", "Gb": "F#", "Ab": "G#", "Bb": "A#"}


@dataclass(frozen=True)
class Check:
    """One aspect asked for: what was ``asked``, what was ``measured`` (``None``: not measured),
    and whether it was ``met`` (``None``: not judged). ``how`` qualifies a match or a miss
    (``"double time"``, ``"relative minor"``)."""

    aspect: str
    asked: str
    measured: str | None
    met: bool | None
    how: str | None = None

    def __str__(self) -> str:
        measured = "not measured" if self.measured is None else f"measured {self.measured}"
        mark = "" if self.met is None else (" ✓" if self.met else " ✗")
        how = f" ({self.how})" if self.how else ""
        return f"asked {self.asked}, {measured}{how}{mark}"


@dataclass(frozen=True)
class Adherence:
    """How a track follows what its prompt asked for, one :class:`Check` per aspect asked."""

    checks: tuple[Check, ...] = ()

    @property
    def score(self) -> float | None:
        """The share of judged asks that were met, ``None`` when none could be judged."""
        judged = [c.met for c in self.checks if c.met is not None]
        return sum(judged) / len(judged) if judged else None

    def summary(self) -> str:
        """``"asked 120 bpm, measured 119 ✓; asked A minor, measured C major ✗"``, or ``""``."""
        return "; ".join(str(c) for c in self.checks)

    def __bool__(self) -> bool:
        return bool(self.checks)


def _pitch_class(name: str) -> int | None:
    tonic = name.split()[0] if name.split() else ""
    tonic = _FLATS.get(tonic, tonic)
    return PITCH_CLASSES.index(tonic) if tonic in PITCH_CLASSES else None


def _mode(name: str) -> str | None:
    parts = name.split()
    return parts[1] if len(parts) > 1 and parts[1] in ("major", "minor") else None


def _tempo(asked: float, measured: float | None) -> Check:
    shown = f"{asked:g} bpm"
    if measured is None:
        return Check("tempo", shown, None, None)
    for factor, how in ((1.0, None), (2.0, "double time"), (0.5, "half time")):
        if abs(measured - asked * factor) <= _TEMPO_TOLERANCE * asked * factor:
            return Check("tempo", shown, f"{measured:.0f}", True, how)
    return Check("tempo", shown, f"{measured:.0f}", False)


def _key(asked: str, measured: str | None) -> Check:
    if measured is None:
        return Check("key", asked, None, None)
    asked_pc, measured_pc = _pitch_class(asked), _pitch_class(measured)
    asked_mode, measured_mode = _mode(asked), _mode(measured)
    if asked_pc is None or measured_pc is None:
        return Check("key", asked, measured, None)
    if asked_pc == measured_pc and (asked_mode is None or asked_mode == measured_mode):
        return Check("key", asked, measured, True)
    # The relative key has the same notes: C major's is A minor, three semitones down.
    step = {("minor", "major"): 3, ("major", "minor"): 9}.get((asked_mode or "", measured_mode or ""))
    relative = step is not None and (asked_pc + step) % 12 == measured_pc
    return Check("key", asked, measured, False, f"relative {measured_mode}" if relative else None)


def _length(asked: float, measured: float | None) -> Check:
    shown = f"{asked:g} s"
    if measured is None:
        return Check("length", shown, None, None)
    met = abs(measured - asked) <= max(_LENGTH_MIN_S, _LENGTH_TOLERANCE * asked)
    return Check("length", shown, f"{measured:.1f} s", met)


def adherence(
    measurements: Measurements | None,
    *,
    tempo_bpm: float | None = None,
    key: str | None = None,
    metre: str | None = None,
    seconds: float | None = None,
) -> Adherence:
    """What was asked (``tempo_bpm``, ``key`` as ``"A minor"`` or ``"D"``, ``metre``,
    ``seconds``) held against ``measurements`` (``None``: not measured yet)."""
    m = measurements or Measurements()
    checks: list[Check] = []
    if tempo_bpm is not None:
        checks.append(_tempo(tempo_bpm, m.tempo_bpm))
    if key is not None:
        checks.append(_key(key, m.key))
    if metre is not None:
        checks.append(Check("metre", metre, None, None))
    if seconds is not None:
        checks.append(_length(seconds, m.duration_s))
    return Adherence(tuple(checks))
