"""The sandbox composer's second half: a :class:`~._compose.MusicPlan` becomes a score of notes.

:func:`compose_score` walks the plan's sections bar by bar and asks each part for its bar:
the chords (:func:`_comp_hits` says how each comp style strikes them, in any metre), the
arpeggio, the bass, the melody (a two-bar motif per section kind, varied on every pass and
phrase) and the drums (the style's groove, see :mod:`._rhythm`). Every other phrase varies the
arrangement (a substitute chord, another voicing register, other drum figures, the tune doubled)
so long pieces do not cycle. Everything is driven by :class:`random.Random` seeded from the plan,
so the notes are identical on every platform.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from ._compose import MODE_STEPS, MusicPlan, Note, _kind
from ._instruments import LEAD_OCTAVE
from ._rhythm import (
    CLAP,
    CONGA_HI,
    CONGA_LO,
    CRASH,
    HAT,
    KICK,
    OPEN_HAT,
    RIDE,
    SHAKER,
    SNARE,
    TAMBOURINE,
    TIMPANI,
    TOM,
    Metre,
    groove,
)
from ._styles import STYLES, StyleSpec

__all__ = ["compose_score"]


def _scale_pitch(plan: MusicPlan, degree: int, octave: int = 0) -> int:
    steps = MODE_STEPS[plan.mode]
    return plan.tonic_midi + 12 * (octave + degree // 7) + steps[degree % 7]


def _chord_pitches(plan: MusicPlan, degree: int, sevenths: bool, cadence: bool) -> list[int]:
    """Chord tones (MIDI, root position around the tonic) of a scale-degree chord."""
    tones = [_scale_pitch(plan, degree + k) for k in ((0, 2, 4, 6) if sevenths else (0, 2, 4))]
    if plan.mode == "minor" and degree % 7 == 4 and (cadence or STYLES[plan.style].harmonic_v):
        tones[1] += 1  # harmonic-minor leading tone: a real V
    return tones


_HUMAN_STYLES = frozenset({"lofi", "jazz", "swing", "folk", "piano", "indie", "cinematic",
                           "bossa", "blues", "chamber", "celtic", "country", "bluegrass",
                           "flamenco", "rnb", "gospel", "tango", "waltz", "lullaby"})


@dataclass
class _Ctx:
    plan: MusicPlan
    style: StyleSpec
    metre: Metre
    rng: random.Random
    step_s: float
    notes: list[Note]
    shift: int = 0

    def add(self, part: str, step: float, dur_steps: float, pitch: int, vel: float) -> None:
        """Add a note at a 16th-note step (swing applied to off-beat 16ths/8ths; pitched parts
        transposed by the current section's shift)."""
        swing = self.plan.swing
        start = step
        if swing and part != "pad" and not self.metre.compound:
            frac = step % 4
            if swing >= 0.5 and abs(frac - 2) < 1e-9:
                start += swing * 1.1  # swung eighths, close to a triplet
            elif abs(frac % 2 - 1) < 1e-9:
                start += swing * (0.5 if swing >= 0.5 else 1.0)
        t = start * self.step_s
        if part in ("lead", "counter"):
            # Only the melody is humanized: accompaniment and drum bars stay identical copies,
            # which lets the renderer synthesize each distinct bar once.
            vel *= 1 + self.rng.uniform(-0.06, 0.06)
            if self.style.name in _HUMAN_STYLES:
                t = max(0.0, t + self.rng.uniform(-0.008, 0.008))
        if part != "drums":
            pitch += self.shift
        t = round(t, 6)
        d = round(max(0.05, dur_steps * self.step_s), 6)
        vel = max(0.05, min(1.0, vel))
        self.notes.append(Note(part, t, d, pitch, round(vel, 4)))


class _BarBound:
    """A :class:`_Ctx` stand-in that drops notes starting past ``end`` (a 4/4 figure played in a
    shorter bar)."""

    def __init__(self, ctx: _Ctx, end: float) -> None:
        self.ctx = ctx
        self.end = end
        self.plan = ctx.plan
        self.metre = ctx.metre

    def add(self, part: str, step: float, dur_steps: float, pitch: int, vel: float) -> None:
        if step < self.end:
            self.ctx.add(part, step, dur_steps, pitch, vel)


_ENERGY = {"intro": 0, "verse": 1, "chorus": 2, "bridge": 1, "break": 0, "build": 1,
           "solo": 2, "outro": 1}


def compose_score(plan: MusicPlan) -> tuple[Note, ...]:
    """Every note of the piece, sorted by start time (deterministic from the plan's seed)."""
    style = STYLES[plan.style]
    metre = plan.metre_spec
    units = metre.units
    rng = random.Random(plan.seed ^ 0x5EED)
    ctx = _Ctx(plan, style, metre, rng, plan.step_s, [])
    roles = dict(plan.roles)
    degrees = {
        kind: tuple(_degree_of(r) for r in chords) for kind, chords in plan.progressions
    }
    bar_s = plan.bar_s
    length_s = plan.length_ms / 1000
    motifs: dict[str, list[tuple[int, int, int]]] = {}
    prev_voicing: list[int] = []
    occurrence: dict[str, int] = {}
    shifts = plan.section_shifts or (0,) * len(plan.sections)
    for index, (name, start_s, end_s) in enumerate(plan.sections):
        kind = _kind(name)
        occurrence[kind] = occurrence.get(kind, 0) + 1
        occ = occurrence[kind]
        ctx.shift = shifts[index]
        bar0 = round(start_s / bar_s)
        is_last = index == len(plan.sections) - 1
        # The last section's final bar starts on a bar line and rings on to the exact end.
        nbars = max(1, int((end_s - start_s) / bar_s + 1e-6))
        prog = degrees.get(kind) or degrees.get("verse") or (0,)
        motif_key = kind if not (kind == "verse" and occ >= 3) else "verse'"
        if motif_key not in motifs:
            motifs[motif_key] = _make_motif(rng, style, metre, kind)
        # Every pass of a section starts the tune from the same place, so it is recognisably
        # the same melody (the variation comes from the per-pass changes in _play_melody).
        melody_prev = {"verse": 2, "chorus": 4, "bridge": 5, "intro": 4, "solo": 3}.get(kind, 2)
        energy = _ENERGY.get(kind, 1)
        if kind == "chorus" and occ > 1:
            energy = 3
        for b in range(nbars):
            bar = bar0 + b
            step0 = bar * units
            chord_idx = (b // style.chord_bars) % len(prog)
            degree = prog[chord_idx]
            # Every other phrase (and pass) varies: a substitute chord, a higher voicing,
            # different drum figures, so no two passes through a section sound the same.
            var = (occ - 1 + b // 4) % 3 if kind not in ("intro", "outro") else 0
            alt = var == 1
            if var and chord_idx == (1 if alt else 2) % len(prog) and (len(prog) > 1 or alt):
                degree = _SUBSTITUTE.get(degree, degree)
            final_bar = is_last and b == nbars - 1
            if is_last:
                # Authentic cadence into the final bar: (I ...) IV-V-I, ii-V-I in jazz.
                to_final = nbars - 1 - b
                degree = {0: 0, 1: 4, 2: 1 if style.name in ("jazz", "swing") else 3}.get(
                    to_final, 0)
            cadence = is_last or (b == nbars - 1 and kind in ("chorus", "bridge"))
            tones = _chord_pitches(plan, degree, style.sevenths, cadence)
            ring_steps = max(4.0, (length_s - bar * bar_s) / ctx.step_s) if final_bar else units
            bar_energy = energy
            if kind == "build":
                bar_energy = 1 + (2 * b) // max(1, nbars)
            _play_harmony(ctx, roles, style, step0, tones, degree, bar_energy, ring_steps,
                          final_bar, prev_voicing, var, kind)
            prev_voicing = _voice_lead(prev_voicing, tones, 55, 72)
            if "bass" in roles and not (kind == "break" and b < nbars // 2):
                next_deg = prog[(chord_idx + 1) % len(prog)]
                _play_bass(ctx, style, roles["bass"], step0, tones, next_deg, bar_energy,
                           ring_steps, final_bar)
            if "lead" in roles and (energy > 0 or b >= 1) and kind != "build":
                _play_melody(ctx, roles, style, kind, occ, b, nbars, step0, tones,
                             motifs[motif_key], melody_prev, final_bar, ring_steps, energy, var)
            elif "lead" in roles and kind == "build" and "counter" not in roles:
                # A rising line into the next section.
                for i in range(0, units, metre.beat_units):
                    ctx.add("lead", step0 + i, metre.beat_units, tones[(b + i // 4) % len(tones)]
                            + 12, 0.5 + 0.05 * b)
            if plan.drums and not final_bar and kind != "break":
                fill = b == nbars - 1 and not is_last and nbars > 1
                _play_drums(ctx, style, roles.get("drums", ""), step0, bar_energy, fill, kind,
                            b == 0 and kind in ("chorus", "solo"), var, b, nbars)
            elif plan.drums and final_bar:
                # The last downbeat: a cymbal where the style has one, and a soft kick.
                if style.drums in ("jazz", "folk", "light", ""):
                    ctx.add("drums", step0, 4, RIDE if style.drums == "jazz" else SHAKER, 0.6)
                else:
                    ctx.add("drums", step0, 4, CRASH, 0.7)
                ctx.add("drums", step0, 4, KICK if style.drums not in ("salsa", "afro", "tabla",
                                                                        "celtic", "flamenco")
                        else CONGA_LO, 0.8 if style.drums else 0.5)
    notes = [n for n in ctx.notes if n.start_s < length_s - 0.02]
    notes.sort(key=lambda n: (n.start_s, n.part, n.pitch))
    return tuple(notes)


#: Diatonic substitutes sharing two notes with the chord they replace (I-vi, IV-ii, V-iii).
_SUBSTITUTE = {0: 5, 5: 0, 3: 1, 1: 3, 4: 2, 2: 4, 6: 4}


def _degree_of(roman: str) -> int:
    base = roman.rstrip("°7maj").lower()
    return ("i", "ii", "iii", "iv", "v", "vi", "vii").index(base)


def _make_motif(
    rng: random.Random, style: StyleSpec, metre: Metre, kind: str
) -> list[tuple[int, int, int]]:
    """A two-bar rhythmic/melodic cell: (step, length in steps, scale-step offset)."""
    density = style.melody_density + (0.15 if kind in ("chorus", "solo") else 0.0)
    span = 2 * metre.units
    cells: list[tuple[int, int, int]] = []
    step = 0
    contour = rng.choice((1, -1))
    if metre.compound:
        lengths: tuple[int, ...] = (2, 2, 4, 6) if density < 0.5 else (2, 2, 2, 4)
    else:
        lengths = (2, 2, 4, 4, 6, 8) if density < 0.5 else (1, 2, 2, 2, 4)
    if style.name in ("chiptune", "bluegrass", "baroque"):
        lengths = (1, 2, 2, 4) if not metre.compound else (2, 2, 2, 4)
    while step < span:
        if rng.random() < density or step % metre.units == 0:
            length = rng.choice(lengths)
            move = rng.choice((0, 1, 1, 2, -1, -1, -2, 3, -3)) * contour
            if rng.random() < 0.25:
                contour = -contour
            cells.append((step, min(length, span - step), move))
            step += length
        else:
            step += 2
    return cells


def _play_harmony(
    ctx: _Ctx, roles: dict[str, str], style: StyleSpec, step0: int, tones: list[int],
    degree: int, energy: int, ring: float, final: bool, prev: list[int], var: int, kind: str,
) -> None:
    metre = ctx.metre
    units, bu = metre.units, metre.beat_units
    lo, hi = ((55, 72), (60, 79), (50, 67))[var]
    voicing = _voice_lead(prev, tones, lo, hi)
    if "pad" in roles and (energy >= 1 or kind in ("intro", "break") or style.drums == ""):
        low = _voice_lead([], tones, *((48, 67), (57, 76), (43, 62))[var])
        for p in low:
            ctx.add("pad", step0, ring if final else units, p, 0.55 if energy < 3 else 0.7)
    if "chords" in roles and not (kind == "break" and "pad" in roles):
        comp = "block" if final else style.comp
        vel = 0.5 + 0.08 * energy
        hits = [(0.0, ring, "all")] if final else [
            h for h in _comp_hits(comp, metre, energy) if h[0] < units]  # 4/4 figures in 3/4
        for s, d, which in hits:
            if which == "root":
                root = tones[0] - 12 if tones[0] - 12 >= 43 else tones[0]
                ctx.add("chords", step0 + s, d, root, vel)
                continue
            if which.startswith("arp"):
                i = int(which[3:])
                root = tones[0] - 12 if tones[0] - 12 >= 45 else tones[0]
                pattern = [root, voicing[0], voicing[1], voicing[-1], voicing[0] + 12,
                           voicing[-1], voicing[1], voicing[0]]
                # Accent the beat so the pulse reads at the tempo, not at the eighth notes.
                ctx.add("chords", step0 + s, d, pattern[i % len(pattern)],
                        vel * (1.0 if s % bu == 0 else 0.6))
                continue
            notes = voicing
            if which == "power":
                notes = [tones[0] - 12, tones[0] - 5, tones[0]]
            elif which in ("up", "ghost"):
                notes = voicing[1:]
            for j, p in enumerate(notes):
                strum = 0.12 * j if comp in ("strum", "rasgueado") else 0.0
                level = {"up": 0.75, "ghost": 0.45}.get(which, 0.9)
                ctx.add("chords", step0 + s + strum, d, p, vel * level)
    if "arp" in roles and (energy >= 1 or style.name in ("ambient", "chiptune", "cinematic",
                                                        "trailer", "game")):
        inst = roles["arp"]
        up = [tones[0], tones[1], tones[2], tones[0] + 12]
        if final:
            ctx.add("arp", step0, ring, tones[0] + 12, 0.4)
        elif style.name == "chiptune":
            for i in range(units):
                ctx.add("arp", step0 + i, 1, up[i % 4] + 12, 0.45)
        elif inst in ("bells", "glockenspiel") or style.name == "ambient":
            picks = ctx.rng.sample(range(metre.beats), min(2, metre.beats)) if energy < 2 \
                else list(range(metre.beats))
            for i in sorted(picks):
                ctx.add("arp", step0 + bu * i, 2 * bu, up[(i + degree) % 4] + 12, 0.4)
        elif style.name in ("synthwave", "trance") or inst == "synth":
            for i in range(units):
                ctx.add("arp", step0 + i, 1, up[i % 4] + (12 if i % 8 >= 4 else 0),
                        0.45 if i % bu == 0 else 0.3)
        elif inst == "banjo":
            roll = (0, 1, 2, 3, 1, 2, 3, 1)
            for i in range(units):
                ctx.add("arp", step0 + i, 2, up[roll[i % 8]] + 12, 0.4 + 0.1 * (i % 4 == 0))
        elif inst == "organ":
            for s in range(2, units, 4) if not metre.compound else range(2, units, 2):
                for p in voicing[:3]:
                    ctx.add("arp", step0 + s, 1.5, p + 12, 0.35)
        else:
            for i in range(units // 2):
                ctx.add("arp", step0 + 2 * i, 2, up[i % 4] + 12 * ((i // 4) % 2),
                        0.45 if (2 * i) % bu == 0 else 0.25)


def _comp_hits(comp: str, metre: Metre, energy: int) -> list[tuple[float, float, str]]:
    """(step, length, which notes) of one bar of the chord part: ``all``, ``up`` (the voicing
    without its bass), ``root``, ``power`` (root-fifth-octave) or ``arpN`` (Nth note of a
    broken-chord figure)."""
    units, bu, beats = metre.units, metre.beat_units, metre.beats
    full = energy >= 2
    if comp == "arp" or comp == "alberti":
        step = 2 if comp == "arp" else 1
        if metre.compound:
            step = 2
        return [(float(i), step * 2.5 if comp == "arp" else 1.5, f"arp{(i // step) % 8}")
                for i in range(0, units, step)]
    if comp == "strum":
        if metre.compound:
            return [(float(s), 2.0, "all") for s in range(0, units, 2)]
        if beats == 3:
            return [(0.0, 4.0, "all"), (4.0, 2.0, "all"), (6.0, 2.0, "all"), (8.0, 4.0, "all")]
        rhythm = (0, 3, 6, 8, 10, 12, 14) if full else (0, 6, 8, 12)
        return [(float(s), 3.0, "all") for s in rhythm]
    if comp == "rasgueado":
        return [(0.0, 3.0, "all"), (4.0, 2.0, "all"), (6.0, 2.0, "all"), (8.0, 1.0, "all"),
                (9.0, 1.0, "all"), (10.0, 2.0, "all")][: units] if beats == 3 else \
            [(float(s), 2.0, "all") for s in range(0, units, 2)]
    if comp == "power":
        return [(float(s), 1.7, "power") for s in range(0, units, 2)] if full else \
            [(float(s), 3.5 if s % 8 == 0 else 1.7, "power") for s in range(0, units, 2)
             if s % 8 in (0, 6)]
    if comp == "pulse":
        return [(float(s), 1.6, "all") for s in range(0, units, 2)]
    if comp == "stab":
        return [(float(s), 1.5, "all") for s in ((2, 6, 10, 14) if full else (2, 10))
                if s < units]
    if comp == "chank":
        # Muted scratches on 2 and 4 with a sixteenth pickup (and the off-beats when full).
        hits = [(3.0, 0.5, "ghost"), (4.0, 0.8, "up"), (11.0, 0.5, "ghost"), (12.0, 0.8, "up")]
        if full:
            hits += [(6.0, 0.5, "ghost"), (14.0, 0.5, "ghost")]
        return hits
    if comp == "skank":
        return [(float(s), 1.2, "up") for s in range(bu, units, 2 * bu)]
    if comp == "montuno":
        return [(float(s), 1.0, "up") for s in (0, 3, 6, 8, 11, 14)]
    if comp == "bossa":
        # Bass note on the beat, the syncopated chord pushes lighter on top.
        return [(0.0, 2.0, "root"), (3.0, 2.0, "ghost"), (6.0, 2.0, "up"), (8.0, 2.0, "root"),
                (10.0, 2.0, "up"), (13.0, 2.0, "ghost")]
    if comp == "charleston":
        return [(0.0, 2.5, "all"), (6.0, 2.0, "all")] + ([(10.0, 2.0, "all")] if full else [])
    if comp == "shuffle":
        # Boogie riff on 12/8: root+fifth, root+sixth on the long-short triplet.
        return [(float(b * bu + o), 3.5 if o == 0 else 1.8, "power" if (b % 2) == 0 else "up")
                for b in range(beats) for o in (0, 4)]
    if comp == "marcato":
        return [(float(s), 1.5, "all") for s in range(0, units, bu)]
    if comp == "waltz" or comp == "oompah":
        return [(float(s), 1.6, "up") for s in range(bu, units, bu)] if comp == "waltz" else \
            [(float(s), 1.6, "up") for s in range(2, units, 4)]
    if comp == "chop":
        return [(float(s), 1.0, "up") for s in range(bu, units, 2 * bu)]
    if comp == "bowed":
        return [(float(s), 2 * bu - 0.2, "up") for s in range(0, units, 2 * bu)] if \
            metre.beats % 2 == 0 else [(0.0, float(units) - 0.2, "up")]
    if comp == "ostinato":
        return [(float(s), 1.5, "all" if s % 8 == 0 else "up") for s in range(0, units, 2)]
    if comp == "sustain":
        return [(0.0, float(units), "all")]
    # block
    if metre.compound or metre.beats == 3:
        return [(float(s), float(bu), "all") for s in range(0, units, bu)]
    return [(0.0, 8.0, "all"), (8.0, 8.0, "all")]


def _play_bass(
    ctx: _Ctx, style: StyleSpec, inst: str, step0: int, tones: list[int], next_degree: int,
    energy: int, ring: float, final: bool,
) -> None:
    metre = ctx.metre
    units, bu, beats = metre.units, metre.beat_units, metre.beats
    bass = _BarBound(ctx, step0 + units)
    root = tones[0] - 24 if tones[0] >= 60 else tones[0] - 12
    fifth = root + 7 if root + 7 <= 52 else root - 5
    kind = style.bass or "root"
    if inst in ("cello", "tuba") and kind in ("sustain", "root"):
        kind = "bowed" if inst == "cello" else "march"
    if final or kind == "sustain" or energy == 0:
        bass.add("bass", step0, ring if final else units, root, 0.8)
        return
    if kind == "root":
        if metre.compound or beats == 3:
            bass.add("bass", step0, bu * 1.5, root, 0.8)
            if beats > 2 or metre.compound:
                bass.add("bass", step0 + (beats - 1) * bu, bu, fifth if beats == 3 else root, 0.7)
        else:
            for s, d, p in ((0, 6, root), (7, 2, root), (10, 6, fifth)):
                bass.add("bass", step0 + s, d, p, 0.8)
    elif kind == "octave":
        for i in range(units // 2):
            bass.add("bass", step0 + 2 * i, 1.6, root + (12 if i % 2 else 0), 0.75)
    elif kind == "pulse":
        for i in range(units // 2):
            bass.add("bass", step0 + 2 * i, 1.7, root, 0.8 if i % 2 == 0 else 0.7)
    elif kind == "offbeat":
        for s in range(2, units, 4):
            bass.add("bass", step0 + s, 1.7, root, 0.8)
    elif kind in ("walk", "bowed"):
        target = _scale_pitch(ctx.plan, next_degree) - 24
        walk = [root, root + (tones[1] - tones[0]), fifth, target + (1 if target < root else -1)]
        for i in range(beats):
            bass.add("bass", step0 + bu * i, bu - 0.4, walk[i % 4], 0.8 if i == 0 else 0.72)
    elif kind == "twostep":
        for i in range(0, units, 2 * bu if beats % 2 == 0 else bu):
            bass.add("bass", step0 + i, bu, root if (i // (2 * bu)) % 2 == 0 else fifth, 0.8)
    elif kind in ("march", "waltz", "marcato"):
        for i in range(beats):
            if kind == "waltz" and i:
                continue
            p = root if i % 2 == 0 else fifth
            bass.add("bass", step0 + bu * i, bu * (0.9 if kind != "waltz" else 2.5), p,
                    0.85 if i == 0 else 0.7)
    elif kind == "reggae":
        for s, d, p in ((0, 3, root), (3, 1, root), (6, 2, fifth), (8, 4, root + 12 if root < 40
                                                                    else root), (12, 3, fifth)):
            bass.add("bass", step0 + s, d, p, 0.85)
    elif kind == "tumbao":
        for s, d, p in ((3, 4, fifth), (7, 3, root), (11, 4, fifth), (14, 2, root)):
            bass.add("bass", step0 + s, d, p, 0.8)
    elif kind == "funk":
        for s, d, p in ((0, 2, root), (3, 1, root + 12), (4, 2, root), (7, 1, root + 10),
                        (8, 2, root), (11, 1, root + 12), (12, 2, fifth), (14, 1, root + 10)):
            bass.add("bass", step0 + s, d, p, 0.8 if s % 4 == 0 else 0.6)
    elif kind == "boogie":
        line = (root, root + 4, fifth if fifth > root else root + 7, root + 9)
        for b in range(beats):
            bass.add("bass", step0 + b * bu, 3.5, line[b % 4], 0.8)
            bass.add("bass", step0 + b * bu + 4, 1.8, line[b % 4], 0.6)
    elif kind == "808":
        for s, d in ((0, 7), (7, 3), (10, 6)):
            bass.add("bass", step0 + s, d, root, 0.85)
    elif kind == "wobble":
        for i in range(units // 2):
            bass.add("bass", step0 + 2 * i, 1.8, root, 0.9 if i % 2 == 0 else 0.55)
    else:
        bass.add("bass", step0, units, root, 0.8)


def _play_melody(
    ctx: _Ctx, roles: dict[str, str], style: StyleSpec, kind: str, occ: int, b: int, nbars: int,
    step0: int, tones: list[int], motif: list[tuple[int, int, int]], prev: int,
    final: bool, ring: float, energy: int, var: int,
) -> int:
    """One bar of melody from the section's motif; returns the last scale position used.
    ``var`` 2 doubles the tune an octave up (when no counter-melody does something else)."""
    plan = ctx.plan
    metre = ctx.metre
    units = metre.units
    lead = roles.get("lead", "")
    octave = LEAD_OCTAVE.get(lead, 1)
    if style.name in ("piano", "chiptune", "lofi") and lead not in ("voice",) and octave == 0:
        octave = 1
    base = plan.tonic_midi + 12 * octave
    steps = MODE_STEPS[plan.mode]
    chord_pcs = {t % 12 for t in tones}
    if final:
        ctx.add("lead", step0, ring, base, 0.7)
        return 0
    half = (b % 2) * units
    cells = [c for c in motif if half <= c[0] < half + units]
    # Variation: each recurrence, and each phrase after a section's first, changes some
    # pitches and splits or merges some notes.
    phrase = b // 4
    var_rng = random.Random(plan.seed * 31 + occ * 977 + b * 7 + len(kind))
    change = 0.0 if occ == 1 and phrase == 0 else 0.2 + 0.1 * occ + 0.1 * phrase
    if kind == "solo":
        change = 0.6
    pos = prev
    last_phrase_bar = b == nbars - 1 or (b % 4 == 3)
    for s, length, move in cells:
        move2 = move
        if var_rng.random() < change:
            move2 = move + var_rng.choice((-2, -1, 1, 2))
        target = pos + move2
        target = max(-2, min(8, target))
        # Snap strong beats to chord tones.
        if (s % (2 * metre.beat_units) == 0) or length >= 4:
            target = _nearest_chord_tone(target, steps, chord_pcs, plan.tonic_midi)
        pos = target
        local = s - half
        dur = length
        if last_phrase_bar and local >= units // 2:
            dur = units - local
            pos = _nearest_chord_tone(pos, steps, chord_pcs, plan.tonic_midi)
        pitch = base + 12 * (pos // 7) + steps[pos % 7]
        if plan.mode == "minor" and style.harmonic_v and (pitch - plan.tonic_midi) % 12 == 10 \
                and 11 % 12 in {(t - plan.tonic_midi) % 12 for t in tones}:
            pitch += 1  # the raised leading tone over the dominant
        vel = 0.62 + (0.12 if s % metre.beat_units == 0 else 0) + 0.04 * energy
        if var_rng.random() < change * 0.6 and dur >= 2:
            # Ornament: a quick neighbour note before the main one.
            ctx.add("lead", step0 + local, 1, pitch + (2 if var_rng.random() < 0.5 else -1),
                    vel * 0.8)
            ctx.add("lead", step0 + local + 1, dur - 1, pitch, vel)
        else:
            ctx.add("lead", step0 + local, dur, pitch, vel)
        if var == 2 and energy >= 1 and "counter" not in roles:
            ctx.add("lead", step0 + local, dur, pitch + 12, vel * 0.45)  # octave doubling
        if "counter" in roles and (energy >= 2 or (occ > 1 and kind == "verse")):
            # A harmony a third/sixth below in choruses, an answering line in later verses.
            off = -12 if energy >= 2 else -5
            ctx.add("counter", step0 + local, dur, pitch + off, vel * 0.6)
        if last_phrase_bar and local >= units // 2:
            break
    return pos


def _play_drums(
    ctx: _Ctx, style: StyleSpec, kit: str, step0: int, energy: int, fill: bool, kind: str,
    crash: bool, var: int, b: int, nbars: int,
) -> None:
    metre = ctx.metre
    units, bu = metre.units, metre.beat_units
    family = style.drums or "light"
    if kit in ("light percussion",) and style.drums == "":
        family = "light"
    elif kit == "hand drums" and family in ("light", "rock", "pop"):
        family = "afro"
    elif kit == "tabla":
        family = "tabla"
    elif kit == "marching":
        family = "march"
    elif kit == "orchestral drums" and family not in ("cinematic", "trailer"):
        family = "cinematic"
    pattern = groove(family, metre)
    alt = var == 1
    dense = energy >= 3 or kind == "solo" or var == 2
    for drum, row in pattern.items():
        if energy == 0 and drum in (KICK, SNARE, CLAP, TOM, TIMPANI):
            continue
        if kind == "bridge" and drum == KICK and family in ("house", "techno", "trance",
                                                           "synthwave"):
            continue  # breakdown
        if energy == 1 and drum in (SHAKER, CLAP, TAMBOURINE) and family in ("house", "pop"):
            continue
        if kind == "build" and drum not in (KICK, SNARE, TIMPANI, TOM, CONGA_LO):
            continue
        hit = drum
        if alt and drum == HAT and family in ("rock", "pop", "funk", "boombap", "synthwave",
                                              "country", "punk", "disco", "gospel"):
            hit = RIDE  # the second phrase moves from the hi-hat to the ride
        for s, ch in enumerate(row[:units]):
            if ch == "." or (fill and s >= units - bu and drum in (HAT, RIDE, SHAKER)):
                continue
            # Cymbals and shakers sit under the kick and the backbeat, so the pulse reads at
            # the tempo rather than at the subdivision.
            level = 0.75 if drum in (HAT, OPEN_HAT, SHAKER, RIDE) else 1.0
            if family in ("trap", "dubstep", "dnb", "boombap"):
                level = 1.0  # half-time and boom-bap grooves: the hats carry the tempo
            ctx.add("drums", step0 + s, 1, hit, level * int(ch) / 9 * (0.85 + 0.05 * energy))
        if dense and drum == HAT and family not in ("trap", "house", "techno"):
            # Later choruses: the hats open up on the off-beats.
            for s in range(2, units, 4):
                ctx.add("drums", step0 + s, 1, OPEN_HAT, 0.35)
    if kind == "build":
        # Snare roll getting denser towards the next section.
        step = 4 if b < nbars // 2 else 2 if b < nbars - 1 else 1
        for s in range(0, units, step):
            ctx.add("drums", step0 + s, 1, SNARE, 0.3 + 0.5 * (b + s / units) / max(1, nbars))
    elif fill and family != "light":
        drum = SNARE if family not in ("cinematic", "folk", "trailer", "celtic", "tabla",
                                       "salsa", "afro") else TOM
        if family in ("tabla", "salsa", "afro", "celtic"):
            drum = CONGA_HI
        for s in range(units - bu, units):
            ctx.add("drums", step0 + s, 1, drum, 0.45 + 0.1 * (s - units + bu))
    if crash and family not in ("jazz", "light", "folk", "tabla", "celtic", "flamenco",
                                "bossa", "waltz"):
        ctx.add("drums", step0, 4, CRASH, 0.6)


def _voice_lead(prev: list[int], tones: list[int], low: int, high: int) -> list[int]:
    """The inversion of ``tones`` inside [low, high] that moves least from ``prev``."""
    pcs = [t % 12 for t in tones]
    candidates: list[list[int]] = []
    for inversion in range(len(pcs)):
        rotated = pcs[inversion:] + pcs[:inversion]
        for base in range(low - 12, high):
            voicing: list[int] = []
            cur = base - 1
            for pc in rotated:
                nxt = cur + 1 + ((pc - (cur + 1)) % 12)
                voicing.append(nxt)
                cur = nxt
            if voicing[0] >= low and voicing[-1] <= high and voicing[0] % 12 == rotated[0]:
                candidates.append(voicing)
    if not candidates:
        return tones
    if not prev:
        mid = (low + high) / 2
        return min(candidates, key=lambda v: (abs(sum(v) / len(v) - mid), v))
    return min(candidates, key=lambda v: (sum(abs(a - b) for a, b in zip(v, prev, strict=False)), v))


def _nearest_chord_tone(pos: int, steps: tuple[int, ...], chord_pcs: set[int], tonic: int) -> int:
    for delta in (0, -1, 1, -2, 2, 3, -3):
        cand = pos + delta
        if (tonic + steps[cand % 7]) % 12 in chord_pcs:
            return cand
    return pos
