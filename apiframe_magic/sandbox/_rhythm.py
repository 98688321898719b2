"""Metres and drum grooves of the sandbox composer.

The score's grid unit is always a sixteenth note. A :class:`Metre` says how many units a beat
has (4 in simple metres, 6 in compound ones, where the beat is a dotted quarter) and how many
beats a bar has, so 4/4 is 16 units, 3/4 and 6/8 are 12 and 12/8 is 24. The plan's tempo counts
the metre's beats: a bar of 6/8 at 60 bpm is two dotted-quarter beats, two seconds.

A groove is one bar of drum hits per metre: a string per drum, one character per unit, ``"."``
a rest and ``1``-``9`` a velocity level. Grooves put the kick and the backbeat (or the beat-one
accent of 3/4 and compound metres) well above the subdivisions, so an onset-based beat tracker
locks onto the written tempo rather than twice or half of it.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "CLAP", "CLAVE", "CONGA_HI", "CONGA_LO", "COWBELL", "CRASH", "DRUM_NAMES", "GROOVES", "HAT",
    "KICK", "METRES", "OPEN_HAT", "RIDE", "RIM", "SHAKER", "SNARE", "TAMBOURINE", "TIMPANI",
    "TOM", "Metre", "groove",
]

#: Drum ids used in the score (the ``pitch`` of a drum note).
KICK, SNARE, HAT, OPEN_HAT, CLAP, RIDE, SHAKER, TOM, CRASH, RIM = range(10)
CONGA_HI, CONGA_LO, TIMPANI, TAMBOURINE, COWBELL, CLAVE = range(10, 16)

DRUM_NAMES = ("kick", "snare", "hat", "open hat", "clap", "ride", "shaker", "tom", "crash", "rim",
              "conga high", "conga low", "timpani", "tambourine", "cowbell", "clave")


@dataclass(frozen=True)
class Metre:
    """A time signature on the sixteenth-note grid."""

    name: str
    beats: int  # beats per bar (the pulse a listener taps)
    beat_units: int  # sixteenths per beat: 4 simple, 6 compound

    @property
    def units(self) -> int:
        """Sixteenths per bar."""
        return self.beats * self.beat_units

    @property
    def compound(self) -> bool:
        return self.beat_units == 6


METRES: dict[str, Metre] = {
    m.name: m for m in (Metre("4/4", 4, 4), Metre("3/4", 3, 4), Metre("6/8", 2, 6),
                        Metre("12/8", 4, 6))
}

# One bar per groove and metre. Keys: groove name -> metre name -> {drum: row}.
GROOVES: dict[str, dict[str, dict[int, str]]] = {
    "rock": {"4/4": {KICK: "9.....7.9.......", SNARE: "....9.......9...",
                     HAT: "5.3.5.3.5.3.5.3."}},
    "pop": {"4/4": {KICK: "9.......9.7.....", SNARE: "....9.......9...",
                    HAT: "4.3.4.3.4.3.4.3.", CLAP: "....6.......6..."}},
    "punk": {"4/4": {KICK: "9...8...9...8...", SNARE: "....9.......9...",
                     HAT: "7.2.7.2.7.2.7.2."}},
    "metal": {"4/4": {KICK: "9.7.9.7.9.7.9.7.", SNARE: "....9.......9...",
                      CRASH: "5.......5......."}},
    "boombap": {"4/4": {KICK: "9.......7.6.....", SNARE: "....9.......9...",
                        HAT: "4.2.4.2.4.2.4.22", RIM: "..............3."}},
    "trap": {"4/4": {KICK: "9.........7.....", SNARE: "........9.......",
                     HAT: "7.4.7.4.7.4.7434", CLAP: "........7......."}},
    "house": {"4/4": {KICK: "9...9...9...9...", CLAP: "....8.......8...",
                      HAT: "..6...6...6...6.", SHAKER: "2121212121212121"}},
    "techno": {"4/4": {KICK: "9...9...9...9...", HAT: "..6...6...6...6.",
                       RIM: "...3..3....3..3.", CLAP: "....6.......6..."}},
    "trance": {"4/4": {KICK: "9...9...9...9...", OPEN_HAT: "..5...5...5...5.",
                       CLAP: "....7.......7..."}},
    "disco": {"4/4": {KICK: "9...9...9...9...", SNARE: "....8.......8...",
                      OPEN_HAT: "..6...6...6...6.", HAT: "3.3.3.3.3.3.3.3."}},
    "funk": {"4/4": {KICK: "9.......9.7.....", SNARE: "....9..2.2..9...",
                     HAT: "6.2.5.2.6.2.5.2."}},
    "dnb": {"4/4": {KICK: "9.........8.....", SNARE: "....9.......9...",
                    HAT: "6.5.6.5.6.5.6.5.", RIDE: "..4...4...4...4."}},
    "dubstep": {"4/4": {KICK: "9.......9.......", SNARE: "........9.......",
                        HAT: "4.3.4.3.4.3.4.3."}},
    "synthwave": {"4/4": {KICK: "9.......9.......", SNARE: "....9.......9...",
                          HAT: "3.3.3.3.3.3.3.3.", CLAP: "....6.......6..."}},
    "chiptune": {"4/4": {KICK: "9.....9.9.......", SNARE: "....9.......9...",
                         HAT: "4.4.4.4.4.4.4.4."}},
    "jazz": {"4/4": {RIDE: "7...5.7.7...5.7.", KICK: "4.......3.......", RIM: "....5.......5..."},
             "3/4": {RIDE: "7...5.7.5...", KICK: "4...........", RIM: "....4...4..."},
             "12/8": {RIDE: "7...4.6...4.7...4.6...4.", RIM: "......5...........5....."}},
    "bossa": {"4/4": {RIM: "3..2..2...2..2..", KICK: "8.......8.......",
                      SHAKER: "7.2.6.2.7.2.6.2."}},
    "shuffle": {"12/8": {KICK: "9.....7.....9.....7.....", SNARE: "......9...........9.....",
                         HAT: "4...2.4...2.4...2.4...2."}},
    "reggae": {"4/4": {KICK: "........9.......", RIM: "........8.......",
                       HAT: "5...3...5...3...", SNARE: "....4.......4..."}},
    "salsa": {"4/4": {CLAVE: "6..6...6..6.6...", CONGA_HI: "....7.5.....7.5.",
                      CONGA_LO: "......7.......77", COWBELL: "8...6...8...6...",
                      KICK: "9.......8......."}},
    "afro": {"4/4": {KICK: "9.....7...9.....", CONGA_HI: "..6.6...6.6..6..", CONGA_LO: "7.....7.....7...",
                     SHAKER: "3232323232323232", SNARE: "....7.......7..."}},
    "flamenco": {"12/8": {CLAP: "9.....6...7...8...6...7.",
                          CONGA_LO: "9...........7..........."},
                 "3/4": {CLAP: "9...6...7...", CONGA_LO: "9..........."}},
    "tabla": {"4/4": {CONGA_LO: "9.....6...7.....", CONGA_HI: "..5.7.5.5...6.5.",
                      SHAKER: "3.2.3.2.3.2.3.2."}},
    "march": {"4/4": {KICK: "9.......9.......", SNARE: "6.33..6.6.33..6.",
                      CRASH: "....6.......6..."}},
    "country": {"4/4": {KICK: "9.......9.......", SNARE: "4.7.4.7.4.7.4.7."}},
    "celtic": {"6/8": {CONGA_LO: "9.....7.....", CONGA_HI: "..4.4...4.4.",
                       SHAKER: "3.2.2.3.2.2."},
               "4/4": {CONGA_LO: "9.......7.......", CONGA_HI: "..4.4.4...4.4.4.",
                       SHAKER: "3.2.3.2.3.2.3.2."}},
    "gospel": {"4/4": {KICK: "9.....6.9.......", SNARE: "....9.......9...", CLAP: "....8.......8...",
                       TAMBOURINE: "2.4.2.4.2.4.2.4."},
               "12/8": {KICK: "9.....5.....8.....5.....", SNARE: "......9...........9.....",
                        TAMBOURINE: "3...2.3...2.3...2.3...2."}},
    "waltz": {"3/4": {KICK: "7...........", SNARE: "....4...4...", SHAKER: "3.2.3.2.3.2."}},
    "cinematic": {"4/4": {TIMPANI: "9.......8.......", TOM: "9...6...8...6.5.",
                          SHAKER: "4.2.3.2.4.2.3.2."},
                  "3/4": {TIMPANI: "9...........", TOM: "7...5...5..."},
                  "6/8": {TIMPANI: "9.....7.....", TOM: "6.4.4.6.4.4."},
                  "12/8": {TIMPANI: "9.....7.....8.....7.....", TOM: "6.4.4.6.4.4.6.4.4.6.4.4."}},
    "trailer": {"4/4": {TIMPANI: "9.......9.......", TOM: "9...6...9...6.6.",
                        KICK: "9.......9......."}},
    "folk": {"4/4": {SHAKER: "5.3.5.3.5.3.5.3.", KICK: "7.......6.......", RIM: "....5.......5..."},
             "3/4": {SHAKER: "5.3.4.3.4.3.", KICK: "7..........."},
             "6/8": {SHAKER: "5.3.3.5.3.3.", KICK: "7.....6....."}},
    "tango": {"4/4": {KICK: "9...8...8...8.7.", SNARE: "................", SHAKER: "5.......5......."}},
    "light": {"4/4": {SHAKER: "5.2.4.2.5.2.4.2.", KICK: "6.......4......."},
              "3/4": {SHAKER: "5.2.3.2.3.2.", KICK: "6..........."},
              "6/8": {SHAKER: "5.2.2.4.2.2.", KICK: "6.....4....."},
              "12/8": {SHAKER: "5.2.2.4.2.2.5.2.2.4.2.2.", KICK: "6...........4..........."}},
}


def _generic(metre: Metre) -> dict[int, str]:
    """A plain kit groove for a metre a groove has no bar for: kick on one, accents on beats."""
    u, bu = metre.units, metre.beat_units
    kick = "".join("9" if i == 0 else ("6" if metre.beats == 4 and i == 2 * bu else ".")
                   for i in range(u))
    if metre.beats == 3:
        snare = "".join("6" if i % bu == 0 and i else "." for i in range(u))
    else:
        snare = "".join("8" if i % (2 * bu) == bu else "." for i in range(u))
    hat = "".join(("4" if i % bu == 0 else "3") if i % 2 == 0 else "." for i in range(u))
    return {KICK: kick, SNARE: snare, HAT: hat}


def groove(name: str, metre: Metre) -> dict[int, str]:
    """The bar of ``name`` in ``metre`` (a generic one when the groove lacks that metre)."""
    bars = GROOVES.get(name) or GROOVES["light"]
    bar = bars.get(metre.name)
    if bar is not None:
        return bar
    if name in ("light", "folk", "celtic", "waltz", "cinematic") and "4/4" in bars:
        light = GROOVES["light"].get(metre.name)
        if light is not None:
            return light
    return _generic(metre)
