"""Rendering a score to a stereo float32 master with numpy only.

Speed comes from doing each distinct thing once:

* every (instrument, pitch) is synthesized once, as long as its longest note; each occurrence
  is cut to its own length with a release taper;
* notes are grouped per part and bar, and a bar whose notes match an earlier one (timing, pitch,
  length, velocity) is copied instead of re-mixed: accompaniment and drums repeat a lot;
* harmonic voices are three single-cycle wavetables (partials 1-2, 3-5, 6+) read at the note's
  phase under their own decay envelopes, so brighter partials die faster and the cost per
  sample does not depend on the number of partials.

Every note has an attack ramp and a release taper and every drum hit starts and ends at zero,
so note boundaries do not click. The reverb convolves a decimated send with a synthetic
decaying-noise impulse response and comes back up through a B-spline interpolator. The master is
mean-centred (no DC), faded in and out, levelled to a common RMS across styles and held below
:data:`PEAK_CEILING_DBFS` by a block-gain limiter.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ._compose import MusicPlan, Note
from ._rhythm import (
    CLAP,
    CLAVE,
    CONGA_HI,
    CONGA_LO,
    COWBELL,
    CRASH,
    HAT,
    KICK,
    OPEN_HAT,
    RIDE,
    RIM,
    SHAKER,
    SNARE,
    TAMBOURINE,
    TIMPANI,
    TOM,
)
from ._styles import STYLES

__all__ = ["TARGET_RMS_DBFS", "master", "mix_score", "render_score"]

F32 = np.float32
Audio = npt.NDArray[np.float32]

#: Master loudness target and peak ceiling. The ceiling leaves room for MP3 overshoot (up to
#: ~0.9 dB measured) so the decoded file still peaks at or below -1 dBFS.
TARGET_RMS_DBFS = -16.0
PEAK_CEILING_DBFS = -2.0
#: Upper bound on cached bar renderings (keeps a 300 s track well under 250 MB peak).
BLOCK_CACHE_BYTES = 12 << 20


@dataclass(frozen=True)
class Voice:
    """How an instrument sounds: partial spectrum, decay, envelope, vibrato."""

    partials: int
    tilt: float  # amplitude of partial k is k**-tilt
    odd_only: bool = False
    decay0: float = 0.0  # 1/s decay of the fundamental
    decay_k: float = 0.0  # extra 1/s decay per partial number (brighter partials die faster)
    attack: float = 0.005
    release: float = 0.08
    sustain: bool = True
    vibrato: float = 0.0  # depth in semitones
    vibrato_rate: float = 5.0
    detune: float = 0.0  # cents of a second, detuned copy
    gain: float = 1.0
    formants: tuple[tuple[float, float], ...] = ()  # (centre Hz, bandwidth Hz) weighting
    pluck: float = 0.0  # pluck position: comb-weights partials like a plucked string
    noise: float = 0.0  # breath noise level (flute)
    max_hz: float = 12000.0
    spectrum: tuple[float, ...] = ()  # explicit partial amplitudes (organ drawbars), else tilt
    tremolo: float = 0.0  # amplitude modulation depth (organ, accordion, wobble bass)
    tremolo_rate: float = 5.0
    inharmonic: tuple[tuple[float, float], ...] = ()  # (frequency ratio, weight): struck bars
    glide: float = 0.0  # semitones the pitch falls from at the attack (808)


VOICES: dict[str, Voice] = {
    "piano": Voice(12, 1.5, decay0=0.9, decay_k=0.45, attack=0.003, release=0.12,
                   sustain=False, gain=0.9),
    "electric piano": Voice(6, 2.2, decay0=0.7, decay_k=0.9, attack=0.004, release=0.12,
                            sustain=False, detune=4, gain=1.0, max_hz=6000),
    "pads": Voice(10, 1.2, attack=0.35, release=0.6, detune=9, gain=0.45, max_hz=5000),
    "strings": Voice(14, 1.0, attack=0.18, release=0.35, vibrato=0.12, vibrato_rate=5.2,
                     detune=7, gain=0.45, max_hz=9000),
    "low strings": Voice(14, 1.0, attack=0.12, release=0.3, vibrato=0.08, detune=6, gain=0.6),
    "brass": Voice(12, 1.1, attack=0.06, release=0.18, vibrato=0.05, gain=0.7,
                   formants=((1200.0, 900.0),), max_hz=8000),
    "flute": Voice(5, 2.6, attack=0.06, release=0.12, vibrato=0.18, vibrato_rate=5.0,
                   noise=0.03, gain=0.8),
    "bells": Voice(1, 1.0, decay0=1.6, attack=0.002, release=0.3, sustain=False, gain=0.5),
    "vibraphone": Voice(1, 1.0, decay0=1.1, attack=0.003, release=0.25, sustain=False, gain=0.7,
                        vibrato=0.0),
    "bass": Voice(6, 1.8, decay0=0.8, decay_k=0.6, attack=0.006, release=0.06, sustain=False,
                  gain=1.0, max_hz=2500),
    "upright bass": Voice(5, 2.0, decay0=1.5, decay_k=0.8, attack=0.01, release=0.08,
                          sustain=False, gain=1.1, max_hz=2000),
    "sub bass": Voice(2, 3.0, attack=0.2, release=0.5, gain=0.8),
    "synth bass": Voice(10, 1.1, decay0=0.6, decay_k=1.0, attack=0.004, release=0.05,
                        sustain=False, gain=0.8, max_hz=3500),
    "synth": Voice(8, 1.0, decay0=2.5, decay_k=1.0, attack=0.003, release=0.06, sustain=False,
                   gain=0.5, max_hz=7000),
    "synth lead": Voice(14, 1.0, attack=0.01, release=0.1, vibrato=0.1, vibrato_rate=5.5,
                        detune=8, gain=0.45, max_hz=9000),
    "soft synth": Voice(3, 2.0, attack=0.12, release=0.4, vibrato=0.08, gain=0.7),
    "synth stabs": Voice(10, 1.0, decay0=3.0, decay_k=0.8, attack=0.004, release=0.06,
                         sustain=False, detune=10, gain=0.5, max_hz=7000),
    "square arp": Voice(9, 1.0, odd_only=True, attack=0.003, release=0.02, gain=0.45,
                        max_hz=9000),
    "square lead": Voice(11, 1.0, odd_only=True, attack=0.004, release=0.03, vibrato=0.12,
                         vibrato_rate=6.0, gain=0.6, max_hz=10000),
    "triangle bass": Voice(7, 2.0, odd_only=True, attack=0.004, release=0.03, gain=0.8),
    "guitar": Voice(14, 1.0, decay0=1.2, decay_k=0.55, attack=0.003, release=0.08,
                    sustain=False, pluck=0.18, gain=1.0, max_hz=7000),
    "acoustic guitar": Voice(14, 1.0, decay0=1.6, decay_k=0.5, attack=0.002, release=0.1,
                             sustain=False, pluck=0.13, gain=0.9, max_hz=8000),
    "lead guitar": Voice(14, 0.9, decay0=0.3, decay_k=0.15, attack=0.006, release=0.1,
                         sustain=False, vibrato=0.15, vibrato_rate=5.5, pluck=0.3, gain=0.7,
                         max_hz=6000),
    "voice": Voice(24, 1.0, attack=0.08, release=0.15, vibrato=0.35, vibrato_rate=5.6,
                   gain=1.0, max_hz=4500),
    # Keyboards.
    "organ": Voice(16, 0.0, spectrum=(1.0, 1.0, 0.7, 0.8, 0.0, 0.6, 0.0, 0.5, 0.0, 0.0,
                                      0.0, 0.0, 0.0, 0.0, 0.0, 0.3),
                   attack=0.005, release=0.03, tremolo=0.25, tremolo_rate=6.7, gain=0.5,
                   max_hz=9000),
    "pipe organ": Voice(16, 0.0, spectrum=(1.0, 0.8, 0.5, 0.6, 0.2, 0.35, 0.1, 0.3, 0.1, 0.1,
                                           0.0, 0.12, 0.0, 0.0, 0.0, 0.1),
                        attack=0.06, release=0.25, detune=3, gain=0.5, max_hz=9000),
    "harpsichord": Voice(28, 0.55, decay0=1.1, decay_k=0.12, attack=0.002, release=0.05,
                         sustain=False, pluck=0.07, detune=3, gain=0.8, max_hz=11000),
    "accordion": Voice(14, 0.9, attack=0.04, release=0.1, detune=12, tremolo=0.1,
                       tremolo_rate=5.5, formants=((1000.0, 900.0), (2500.0, 1200.0)),
                       gain=0.55, max_hz=8000),
    "melodica": Voice(12, 1.2, odd_only=False, attack=0.03, release=0.08, detune=5,
                      formants=((1200.0, 1000.0),), gain=0.6, max_hz=7000),
    "harmonica": Voice(16, 0.7, attack=0.04, release=0.1, tremolo=0.4, tremolo_rate=6.0,
                       formants=((1800.0, 500.0), (3400.0, 800.0)), noise=0.03, gain=0.6,
                       max_hz=8000),
    # Bowed and plucked strings.
    "violin": Voice(20, 0.95, attack=0.07, release=0.2, vibrato=0.22, vibrato_rate=5.8,
                    formants=((500.0, 300.0), (2800.0, 1500.0)), gain=0.55, max_hz=10000),
    "fiddle": Voice(20, 0.85, attack=0.03, release=0.1, vibrato=0.1, vibrato_rate=6.0,
                    formants=((600.0, 400.0), (2500.0, 1200.0)), gain=0.55, max_hz=10000),
    "viola": Voice(18, 1.0, attack=0.08, release=0.22, vibrato=0.18, vibrato_rate=5.5,
                   formants=((400.0, 250.0), (1900.0, 1000.0)), gain=0.55, max_hz=8000),
    "cello": Voice(18, 0.9, attack=0.09, release=0.25, vibrato=0.2, vibrato_rate=5.2,
                   formants=((250.0, 150.0), (700.0, 400.0), (1500.0, 700.0)), gain=0.65,
                   max_hz=6000),
    "pizzicato": Voice(10, 1.4, decay0=4.0, decay_k=1.5, attack=0.003, release=0.06,
                       sustain=False, pluck=0.3, gain=0.8, max_hz=5000),
    "harp": Voice(14, 1.0, decay0=0.45, decay_k=0.35, attack=0.002, release=0.3, sustain=False,
                  pluck=0.5, gain=0.8, max_hz=8000),
    "nylon guitar": Voice(12, 1.3, decay0=1.4, decay_k=0.7, attack=0.002, release=0.1,
                          sustain=False, pluck=0.2, gain=0.9, max_hz=6000),
    "steel guitar": Voice(12, 1.1, decay0=0.25, decay_k=0.2, attack=0.02, release=0.15,
                          sustain=False, vibrato=0.3, vibrato_rate=4.5, pluck=0.25, gain=0.7,
                          max_hz=6000),
    "banjo": Voice(18, 0.8, decay0=4.5, decay_k=1.2, attack=0.002, release=0.05, sustain=False,
                   pluck=0.1, formants=((700.0, 500.0),), gain=0.8, max_hz=9000),
    "mandolin": Voice(16, 0.9, decay0=3.0, decay_k=1.0, attack=0.002, release=0.05,
                      sustain=False, pluck=0.12, detune=6, gain=0.8, max_hz=9000),
    "ukulele": Voice(10, 1.4, decay0=3.0, decay_k=1.0, attack=0.002, release=0.06,
                     sustain=False, pluck=0.25, gain=0.85, max_hz=6000),
    "sitar": Voice(30, 0.3, decay0=1.6, decay_k=0.02, attack=0.002, release=0.2, sustain=False,
                   pluck=0.05, vibrato=0.15, vibrato_rate=4.0,
                   formants=((2500.0, 1500.0), (4500.0, 1500.0)), gain=0.7, max_hz=10000),
    "koto": Voice(12, 1.2, decay0=1.8, decay_k=0.8, attack=0.002, release=0.1, sustain=False,
                  pluck=0.15, vibrato=0.1, vibrato_rate=4.0, gain=0.85, max_hz=7000),
    "oud": Voice(12, 1.1, decay0=2.2, decay_k=0.8, attack=0.002, release=0.08, sustain=False,
                 pluck=0.18, formants=((300.0, 250.0), (1200.0, 800.0)), gain=0.85,
                 max_hz=6000),
    # Struck and tuned percussion (inharmonic).
    "marimba": Voice(1, 1.0, decay0=5.5, attack=0.002, release=0.1, sustain=False, gain=0.8,
                     inharmonic=((1.0, 1.0), (3.93, 0.55), (9.2, 0.15))),
    "kalimba": Voice(1, 1.0, decay0=2.4, attack=0.002, release=0.1, sustain=False, gain=0.8,
                     inharmonic=((1.0, 1.0), (5.4, 0.3), (8.9, 0.06))),
    "steel drum": Voice(1, 1.0, decay0=1.3, attack=0.002, release=0.15, sustain=False, gain=0.75,
                        inharmonic=((1.0, 1.0), (2.0, 0.7), (3.01, 0.35), (4.02, 0.2),
                                    (5.1, 0.08))),
    "music box": Voice(1, 1.0, decay0=2.0, attack=0.002, release=0.2, sustain=False, gain=0.6,
                       inharmonic=((1.0, 1.0), (4.1, 0.2), (8.3, 0.05))),
    "glockenspiel": Voice(1, 1.0, decay0=1.2, attack=0.002, release=0.2, sustain=False,
                          gain=0.55, inharmonic=((1.0, 1.0), (2.71, 0.3), (5.1, 0.1))),
    # Brass and winds.
    "trumpet": Voice(22, 0.45, attack=0.03, release=0.12, vibrato=0.08, vibrato_rate=5.5,
                     formants=((1400.0, 1200.0), (3200.0, 1800.0)), gain=0.6, max_hz=11000),
    "trombone": Voice(14, 0.9, attack=0.06, release=0.15, vibrato=0.06,
                      formants=((550.0, 400.0), (1200.0, 600.0)), gain=0.65, max_hz=6000),
    "french horn": Voice(8, 1.6, attack=0.08, release=0.2, vibrato=0.05,
                         formants=((400.0, 300.0),), gain=0.75, max_hz=4000),
    "tuba": Voice(8, 1.5, attack=0.04, release=0.1, formants=((230.0, 200.0),), gain=0.9,
                  max_hz=2500),
    "saxophone": Voice(16, 1.1, attack=0.04, release=0.12, vibrato=0.2, vibrato_rate=5.2,
                       formants=((500.0, 300.0), (1500.0, 600.0)), noise=0.05, gain=0.6,
                       max_hz=7000),
    "clarinet": Voice(15, 0.7, odd_only=True, attack=0.04, release=0.1, vibrato=0.03, gain=0.7,
                      max_hz=7000),
    "oboe": Voice(14, 1.3, attack=0.04, release=0.1, vibrato=0.12, detune=0,
                  formants=((1050.0, 180.0), (2900.0, 300.0)), gain=0.6, max_hz=7000),
    "whistle": Voice(3, 3.0, attack=0.03, release=0.08, vibrato=0.15, vibrato_rate=6.0,
                     noise=0.04, gain=0.7),
    "bagpipe": Voice(16, 0.6, attack=0.02, release=0.05, detune=4,
                     formants=((900.0, 600.0), (2700.0, 900.0)), gain=0.5, max_hz=8000),
    # Voices and pads.
    "choir": Voice(20, 1.1, attack=0.25, release=0.4, vibrato=0.18, vibrato_rate=5.0, detune=9,
                   formants=((700.0, 110.0), (1150.0, 130.0), (2800.0, 200.0)), gain=0.55,
                   max_hz=4500),
    "drone": Voice(12, 1.0, attack=0.5, release=0.6, detune=3, formants=((700.0, 500.0),),
                   gain=0.5, max_hz=5000),
    "supersaw": Voice(16, 1.0, attack=0.02, release=0.3, detune=18, gain=0.4, max_hz=9000),
    # Basses.
    "808": Voice(3, 3.0, decay0=0.5, attack=0.004, release=0.15, sustain=False, glide=7.0,
                 gain=1.0, max_hz=800),
    "reese bass": Voice(12, 1.0, attack=0.02, release=0.15, detune=25, gain=0.7, max_hz=900),
    "wobble bass": Voice(16, 0.9, attack=0.01, release=0.08, detune=15, tremolo=0.85,
                         tremolo_rate=4.67, gain=0.7, max_hz=2500),
}


# Vowel formants (Hz, bandwidth) for the sung lead: "ah", "oh", "oo", "eh", "ee".
VOWELS: tuple[tuple[tuple[float, float], ...], ...] = (
    ((800.0, 80.0), (1150.0, 90.0), (2900.0, 120.0)),
    ((450.0, 70.0), (800.0, 80.0), (2830.0, 100.0)),
    ((325.0, 50.0), (700.0, 60.0), (2700.0, 170.0)),
    ((400.0, 60.0), (1700.0, 90.0), (2600.0, 100.0)),
    ((300.0, 50.0), (2200.0, 100.0), (3000.0, 120.0)),
)

# "vocal" is the sung line an add_vocals action lays over a finished piece.
_PAN = {"pad": 0.0, "chords": -0.3, "arp": 0.35, "bass": 0.0, "lead": 0.05, "counter": 0.3,
        "drums": 0.0, "vocal": 0.0}
_PART_GAIN = {"pad": 0.5, "chords": 0.55, "arp": 0.45, "bass": 0.45, "lead": 0.8, "counter": 0.4,
              "drums": 0.9, "vocal": 0.9}
_REVERB_SEND = {"pad": 0.9, "chords": 0.55, "arp": 0.8, "bass": 0.05, "lead": 0.5,
                "counter": 0.6, "drums": 0.18, "vocal": 0.45}


def _hz(midi: int) -> float:
    return float(440.0 * 2.0 ** ((midi - 69) / 12))


TABLE_SIZE = 8192  # single-cycle wavetable length (power of two: the phase wraps with a mask)
_SINE = np.sin(np.arange(TABLE_SIZE) * (2 * math.pi / TABLE_SIZE)).astype(F32)


def _table(amps: Sequence[float], start: int) -> Audio:
    """One cycle of ``sum(amps[i] * sin((start + i + 1) * x))`` as a float32 wavetable."""
    out = np.zeros(TABLE_SIZE, dtype=F32)
    idx = np.arange(TABLE_SIZE)
    for i, a in enumerate(amps):
        if a:
            out += F32(a) * _SINE[(idx * (start + i + 1)) & (TABLE_SIZE - 1)]
    return out


def _partial_amps(
    v: Voice, f0: float, sr: int, formants: Sequence[tuple[float, float]], cap_hz: float
) -> list[float]:
    """Partial amplitudes of one note: spectral tilt, pluck comb, formants, band limit."""
    limit = min(v.max_hz, 0.45 * sr, cap_hz)
    amps: list[float] = []
    for k in range(1, v.partials + 1):
        f = k * f0
        if f >= limit:
            break
        if v.odd_only and k % 2 == 0:
            amps.append(0.0)
            continue
        a = (v.spectrum[k - 1] if k <= len(v.spectrum) else 0.0) if v.spectrum else k ** -v.tilt
        if v.pluck:
            a *= abs(math.sin(math.pi * k * v.pluck)) / (math.sin(math.pi * v.pluck) or 1.0)
        if formants:
            a *= 0.08 + sum(1.0 / (1.0 + ((f - fc) / bw) ** 2) for fc, bw in formants)
        # Roll-off towards the limit keeps the top partial from whistling.
        a *= min(1.0, 2.0 * (1.0 - f / limit) + 0.2)
        amps.append(a)
    return amps or [1.0]


def note_tail_s(inst: str) -> float:
    """Seconds a note of ``inst`` sounds after its written end (release or string ring)."""
    v = VOICES.get(inst, VOICES["synth lead"])
    return v.release if v.sustain else min(v.release + 0.25, 0.6)


def render_note(
    inst: str, midi: int, length_s: float, sr: int, seed: int, lofi: bool = False,
    drive: float = 0.0,
) -> Audio:
    """``length_s`` seconds of one sustained-or-decaying note of ``inst`` (mono float32).

    The note has its attack but no release: :func:`render_score` cuts every occurrence to its own
    length and applies the release taper there, so one rendering serves all durations.

    Harmonic voices are three wavetables (partials 1-2, 3-5, 6+) read at the note's phase, each
    under its own decay envelope, so brighter partials die faster; the cost per sample does not
    grow with the number of partials. Bells, mallets, kalimba and steel drum are inharmonic sine
    sums.
    """
    v = VOICES.get(inst, VOICES["synth lead"])
    n = max(16, int(length_s * sr))
    t = np.arange(n, dtype=F32) / F32(sr)
    f0 = _hz(midi)
    cycles = np.arange(n, dtype=np.float64) * (f0 / sr)
    if v.glide:
        # The 808's pitch drop: starts ``glide`` semitones high, settles within ~60 ms.
        excess = (2 ** (v.glide / 12) - 1) * f0 * 0.06  # integral of the decaying extra Hz
        cycles += excess * (1 - np.exp(-t.astype(np.float64) / 0.06))
    if v.vibrato:
        depth = (2 ** (v.vibrato / 12) - 1) * f0
        rate = v.vibrato_rate
        onset = np.minimum(F32(1.0), t / F32(0.35))  # vibrato grows in after the attack
        cycles -= (depth / (2 * math.pi * rate)) * onset * np.cos(F32(2 * math.pi * rate) * t)
    if lofi:
        # Tape wow: a slow, shallow pitch drift, phase-offset by pitch so chords smear a little.
        wow = (2 ** (0.09 / 12) - 1) * f0 / (2 * math.pi * 0.55)
        cycles -= wow * np.sin(F32(2 * math.pi * 0.55) * t + F32(midi * 0.7))
    mask = TABLE_SIZE - 1
    out = np.zeros(n, dtype=F32)
    if inst in ("bells", "vibraphone") or v.inharmonic:
        pairs = v.inharmonic or (
            ((1.0, 1.0), (2.76, 0.45), (5.40, 0.25), (8.93, 0.12)) if inst == "bells"
            else ((1.0, 1.0), (3.9, 0.25), (10.0, 0.05)))
        for r, w in pairs:
            if r * f0 < 0.45 * sr:
                idx = (cycles * (r * TABLE_SIZE)).astype(np.int64) & mask
                env = np.exp(t * F32(-v.decay0 * (1 + 0.7 * (r - 1))))
                out += _SINE[idx] * env * F32(w)
        if inst == "vibraphone":
            out *= F32(1.0) + F32(0.25) * np.sin(F32(2 * math.pi * 5.5) * t)
    else:
        formants = v.formants
        if inst == "voice":
            formants = VOWELS[midi % len(VOWELS)]
        cap = 3500.0 if lofi else 20000.0
        if drive and inst in ("guitar", "lead guitar"):
            cap = min(cap, 0.1 * sr)  # clipping products up to 5th order stay below Nyquist
        amps = _partial_amps(v, f0, sr, formants, cap)
        groups = ((0, 2, 1.5), (2, 5, 4.0), (5, len(amps), 8.0))
        phases = [(cycles * TABLE_SIZE).astype(np.int64) & mask]
        if v.detune:
            # A second oscillator a few cents sharp, started off-phase: chorus/ensemble width.
            ratio = 2 ** (v.detune / 1200)
            phases.append((cycles * (ratio * TABLE_SIZE) + TABLE_SIZE * 0.37).astype(np.int64) & mask)
        for lo, hi, centre in groups:
            if lo >= len(amps):
                break
            table = _table(amps[lo:hi], lo)
            part = table[phases[0]]
            for extra in phases[1:]:
                part += F32(0.7) * table[extra]
            rate = v.decay0 + v.decay_k * centre
            if rate:
                part *= np.exp(t * F32(-rate))
            out += part
        if v.noise:
            rng = np.random.default_rng(seed + midi)
            breath = rng.standard_normal(n, dtype=np.float32)
            _smooth(breath, 6)
            out += F32(v.noise) * breath * np.abs(_SINE[phases[0]])
    if v.tremolo:
        out *= F32(1.0 - v.tremolo / 2) + F32(v.tremolo / 2) * np.cos(
            F32(2 * math.pi * v.tremolo_rate) * t)
    if drive and inst in ("guitar", "lead guitar"):
        # Overdrive: soft clipping adds the odd harmonics of a driven amp.
        peak = float(np.max(np.abs(out))) or 1.0
        out = np.tanh(out * F32(drive / peak)).astype(F32)
    peak = float(np.max(np.abs(out))) or 1.0
    out *= F32(v.gain / peak)
    attack = min(n, max(2, int(v.attack * sr)))
    out[:attack] *= np.linspace(0.0, 1.0, attack, dtype=F32) ** 1.5
    return out


def render_drum(drum: int, kit: str, sr: int, seed: int) -> Audio:
    """One drum hit (mono float32)."""
    rng = np.random.default_rng(seed * 13 + drum)

    def noise(seconds: float) -> Audio:
        return rng.standard_normal(int(seconds * sr)).astype(F32)

    def decay(n: int, tau: float) -> Audio:
        out: Audio = np.exp(-np.arange(n, dtype=F32) / F32(tau * sr))
        return out

    def band(seconds: float, lo: float, hi: float) -> Audio:
        """White noise band-passed to [lo, hi] Hz (raised-cosine edges), done by FFT."""
        x = noise(seconds)
        spec = np.fft.rfft(x)
        f = np.fft.rfftfreq(len(x), 1 / sr)
        hi = min(hi, 0.45 * sr)
        mask = np.clip((f - 0.7 * lo) / (0.3 * lo), 0, 1) * np.clip((1.25 * hi - f) / (0.25 * hi), 0, 1)
        y = np.fft.irfft(spec * (0.5 - 0.5 * np.cos(np.pi * mask)), len(x)).astype(F32)
        return y / F32(np.sqrt(np.mean(y**2)) + 1e-9)

    chip = kit == "noise drums"
    soft = kit in ("brush kit", "light percussion")
    hand = kit in ("hand drums", "tabla")
    if drum in (CONGA_HI, CONGA_LO, TIMPANI):
        # Pitched skins: a short noisy slap over a damped tone; the tabla's low drum bends up.
        dur, f, tau = {CONGA_HI: (0.35, 330.0, 0.09), CONGA_LO: (0.5, 190.0, 0.14),
                       TIMPANI: (1.6, 92.0, 0.6)}[drum]
        if kit == "tabla":
            f, tau = (f * 1.6, tau * 1.6) if drum == CONGA_HI else (f * 0.55, tau * 2.2)
        n = int(dur * sr)
        tk = np.arange(n, dtype=np.float64) / sr
        bend = 1.0 + (0.25 if kit == "tabla" and drum == CONGA_LO else -0.04) * (
            1 - np.exp(-tk / 0.08))
        phase = 2 * math.pi * f * np.cumsum(bend) / sr
        body = np.sin(phase) + 0.35 * np.sin(2.3 * phase) * np.exp(-tk / (tau * 0.4))
        out = (body * np.exp(-tk / tau)).astype(F32) * F32(0.6)
        slap = int(0.02 * sr)
        out[:slap] += band(0.02, 800, 6000) * decay(slap, 0.004) * F32(0.25)
        if drum == TIMPANI:
            out *= F32(1.1)
    elif drum in (TAMBOURINE, COWBELL, CLAVE):
        n = int({TAMBOURINE: 0.3, COWBELL: 0.25, CLAVE: 0.12}[drum] * sr)
        t = np.arange(n, dtype=F32) / F32(sr)
        if drum == TAMBOURINE:
            out = band(0.3, 5000, 12000) * decay(n, 0.07) * F32(0.18)
            for f in (4100.0, 5600.0, 7300.0):
                if f < 0.45 * sr:
                    out += F32(0.02) * np.sin(F32(2 * math.pi * f) * t) * decay(n, 0.1)
        elif drum == COWBELL:
            out = (np.sign(np.sin(F32(2 * math.pi * 560) * t)) + np.sign(
                np.sin(F32(2 * math.pi * 845) * t))) * decay(n, 0.06) * F32(0.12)
        else:
            out = np.sin(F32(2 * math.pi * 2500) * t) * decay(n, 0.02) * F32(0.5)
    elif drum in (KICK, TOM):
        boom = kit == "808 kit" and drum == KICK
        dur = 0.45 if drum == KICK else 1.0
        if boom:
            dur = 0.9
        if kit == "orchestral drums" and drum == TOM:
            dur = 1.4  # taiko
        n = int(dur * sr)
        tk = np.arange(n, dtype=np.float64) / sr
        f_hi, f_lo = (130.0, 48.0) if drum == KICK else (110.0, 72.0)
        if hand:
            f_hi, f_lo = (180.0, 95.0)
        sweep = f_lo + (f_hi - f_lo) * np.exp(-tk / 0.04)
        phase = 2 * math.pi * np.cumsum(sweep) / sr
        body = np.sin(phase)
        if chip:
            body = np.sign(body) * 0.6
        tau_body = 0.16 if drum == KICK else 0.45
        if boom:
            tau_body = 0.35
        out = (body * np.exp(-tk / tau_body)).astype(F32)
        if drum == TOM:
            out += F32(0.3) * (np.sin(2 * phase) * np.exp(-tk / 0.25)).astype(F32)
            out[: int(0.03 * sr)] += noise(0.03) * decay(int(0.03 * sr), 0.01) * F32(0.3)
        elif not chip:
            # The beater's click: a few milliseconds of broadband attack, which is what makes
            # the kick (and so the beat) stand out to the ear and to onset detectors.
            m = int(0.012 * sr)
            out[:m] += band(0.012, 1500, 9000) * decay(m, 0.0025) * F32(0.35)
        out *= F32(0.7 if not soft else 0.45)
    elif drum in (SNARE, CLAP, RIM):
        if drum == RIM:
            n = int(0.05 * sr)
            t = np.arange(n, dtype=F32) / F32(sr)
            out = np.sin(F32(2 * math.pi * 1700) * t) * decay(n, 0.008) * F32(0.5)
            out += band(0.05, 2000, 8000) * decay(n, 0.004) * F32(0.2)
        elif drum == CLAP:
            n = int(0.25 * sr)
            env = decay(n, 0.06)
            for off in (0.0, 0.01, 0.022):
                i = int(off * sr)
                env[i:] += decay(n - i, 0.004)
            out = band(0.25, 900, 5000) * env * F32(0.3)
        else:
            n = int(0.3 * sr)
            t = np.arange(n, dtype=F32) / F32(sr)
            tone = np.sin(F32(2 * math.pi * (230 if kit == "marching" else 185)) * t) * decay(
                n, 0.04)
            if chip:
                nz = noise(0.3)
                nz = np.repeat(nz[:: max(1, sr // 8000)], max(1, sr // 8000))[:n] * F32(0.6)
            else:
                nz = band(0.3, 1200, 9000) * F32(0.6 if not soft else 0.35)
            tau = 0.12 if not soft else 0.16
            if kit == "marching":
                tau = 0.07  # tight, crisp rudiments
            out = tone * F32(0.5) + nz * decay(n, tau) * F32(0.45)
            if soft:  # brushed: a short swell instead of a crack
                out *= np.minimum(F32(1.0), t / F32(0.02))
    elif drum in (HAT, OPEN_HAT, SHAKER, CRASH, RIDE):
        dur, tau = {HAT: (0.12, 0.025), OPEN_HAT: (0.4, 0.12), SHAKER: (0.15, 0.04),
                    CRASH: (2.0, 0.6), RIDE: (1.0, 0.35)}[drum]
        n = int(dur * sr)
        lo, hi = {HAT: (6000, 13000), OPEN_HAT: (5000, 13000), SHAKER: (3500, 10000),
                  CRASH: (2500, 13000), RIDE: (3000, 11000)}[drum]
        nz = band(dur, lo, hi)
        if chip:
            nz = np.sign(nz) * F32(0.7)
        env = decay(n, tau)
        if drum == SHAKER:
            t = np.arange(n, dtype=F32) / F32(sr)
            env = env * np.minimum(F32(1.0), t / F32(0.025))
        out = nz * env * F32({HAT: 0.2, OPEN_HAT: 0.14, SHAKER: 0.14, CRASH: 0.1, RIDE: 0.07}[drum])
        if drum == RIDE:
            # A bell-like ping of inharmonic partials, each dying at its own rate.
            t = np.arange(n, dtype=F32) / F32(sr)
            for f, a, d in ((2870.0, 0.012, 0.5), (3950.0, 0.01, 0.35), (4710.0, 0.007, 0.3),
                            (6120.0, 0.005, 0.2)):
                if f < 0.45 * sr:
                    out += F32(a) * np.sin(F32(2 * math.pi * f) * t) * decay(n, d)
    else:
        out = np.zeros(16, dtype=F32)
    ramp = min(len(out), max(4, int(0.0008 * sr)))
    out[:ramp] *= np.linspace(0, 1, ramp, dtype=F32)
    fade = min(len(out), int(0.01 * sr))
    out[len(out) - fade :] *= np.linspace(1, 0, fade, dtype=F32)
    return out.astype(F32)


def _reverb_ir(seconds: float, sr: int, seed: int) -> npt.NDArray[np.float32]:
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    t = np.arange(n, dtype=F32) / F32(sr)
    env = np.exp(-t * F32(6.9 / seconds))  # -60 dB at the end
    ir = np.stack([rng.standard_normal(n), rng.standard_normal(n)], axis=1).astype(F32)
    ir *= env[:, None]
    predelay = int(0.02 * sr)
    ir[:predelay] = 0
    ir /= F32(math.sqrt(float(np.sum(ir[:, 0] ** 2))))
    return ir


def _fft_convolve(x: Audio, ir: Audio, lead: int) -> Audio:
    """Overlap-add FFT convolution of mono ``x`` with stereo ``ir`` (shape (m, 2)).

    Returns shape ``(2, lead + len(x))``: ``lead`` zero samples, then the first ``len(x)``
    samples of the convolution (channels first, no transposed copies).
    """
    m = len(ir)
    size = 1 << max(12, (2 * m - 1).bit_length())
    block = size - m + 1
    spec = np.fft.rfft(ir.T, size, axis=1)
    out = np.zeros((2, lead + len(x)), dtype=F32)
    for start in range(0, len(x), block):
        seg = x[start : start + block]
        y = np.fft.irfft(np.fft.rfft(seg, size)[None, :] * spec, size, axis=1)
        end = min(len(x), start + size)
        out[:, lead + start : lead + end] += y[:, : end - start]
    return out


def _bspline_phases(factor: int) -> npt.NDArray[np.float32]:
    """Polyphase taps, shape (factor, taps), of cubic B-spline interpolation by ``factor``.

    The kernel is four cascaded boxes of width ``factor``: its zeros sit on every multiple of the
    low rate, so the spectral images of the upsampled signal (which plain linear interpolation
    leaves at about -27 dB, an audible metallic haze) are suppressed.
    """
    box = np.ones(factor)
    kernel = box
    for _ in range(3):
        kernel = np.convolve(kernel, box)
    kernel = kernel / factor**3
    taps = -(-len(kernel) // factor)
    padded = np.zeros(taps * factor)
    padded[: len(kernel)] = kernel
    return padded.reshape(taps, factor).T.astype(F32)


def _reverb_into(
    master: Audio, send_low: Audio, factor: int, sr: int, amount: float, seed: int
) -> None:
    """Add the stereo reverb of the decimated send ``send_low`` into ``master`` (2, n), in place.

    The convolution runs at ``sr / factor``; the wet signal comes back up through a polyphase
    B-spline interpolator, chunk by chunk, so no full-rate temporary is allocated.
    """
    n = master.shape[1]
    ir = _reverb_ir(1.2 + 1.8 * amount, sr // factor, seed)
    phases = _bspline_phases(factor)
    taps = phases.shape[1]
    m = len(send_low)
    # (2, taps - 1 + m): taps - 1 samples of silent history in front, for the FIR below.
    wet_low = _fft_convolve(send_low, ir, taps - 1)
    wet_low *= F32(0.55 * amount + 0.1)
    chunk = 65536
    acc = np.empty((2, chunk), dtype=F32)
    tmp = np.empty((2, chunk), dtype=F32)
    for c0 in range(0, m, chunk):
        c1 = min(m, c0 + chunk)
        width = c1 - c0
        for j in range(factor):
            # Output phase j (samples j, j + factor, ...) is a short FIR over the low-rate wet.
            out = acc[:, :width]
            first = True
            for k in range(taps):
                if phases[j, k]:
                    src = wet_low[:, taps - 1 + c0 - k : taps - 1 + c1 - k]
                    if first:
                        np.multiply(src, phases[j, k], out=out)
                        first = False
                    else:
                        np.multiply(src, phases[j, k], out=tmp[:, :width])
                        out += tmp[:, :width]
            s0 = c0 * factor + j
            count = len(range(s0, n, factor))
            count = min(count, width)
            if count > 0:
                master[:, s0 : s0 + factor * count : factor] += out[:, :count]


def _smooth(x: Audio, width: int) -> Audio:
    """In-place moving-average low-pass along the last axis (cheap 'tape' dulling)."""
    acc = x.copy()
    for k in range(1, width):
        acc[..., k:] += x[..., :-k]
    acc *= F32(1.0 / width)
    x[...] = acc
    return x


@dataclass
class _PartBlock:
    """One rendered bar of one part, pre-scaled for the left and right master and the send."""

    left: Audio
    right: Audio | None  # None: same as left (centre-panned)
    send: Audio  # decimated by the reverb factor

    def nbytes(self) -> int:
        right = 0 if self.right is None else self.right.nbytes
        return int(self.left.nbytes + right + self.send.nbytes)


def render_score(plan: MusicPlan, score: Sequence[Note], sr: int) -> Audio:
    """The finished stereo master (float32, shape ``(2, n)``) of exactly ``plan.length_ms``:
    :func:`mix_score`, then :func:`master`."""
    mix = mix_score(plan, score, sr)
    master(mix, sr)
    return mix


def mix_score(plan: MusicPlan, score: Sequence[Note], sr: int, *, crackle: bool = True) -> Audio:
    """The stereo mix (float32, shape ``(2, n)``) of exactly ``plan.length_ms``, before mastering.

    Linear in the notes: the mixes of two halves of a score add up to the mix of the whole (the
    reverb is a convolution), which is what stems rely on. ``crackle=False`` leaves out the
    vinyl surface (added once, to one of the halves).

    Notes are grouped into (part, bar); a bar whose notes (relative timing, pitch, length,
    velocity) match an earlier one of the same part reuses that rendering. Blocks are added
    straight into the stereo mix and a decimated reverb send, so memory stays at the mix
    plus a quarter-rate send however long the piece.
    """
    n = plan.length_ms * sr // 1000
    roles = dict(plan.roles)
    kit = roles.get("drums", "drums")
    lofi = "lo-fi" in plan.textures
    drive = 3.0 if "distortion" in plan.textures else 0.0
    pump = STYLES[plan.style].pump
    # Each distinct (instrument, pitch) is rendered once, long enough for its longest note.
    longest: dict[tuple[str, int], float] = {}
    for note in score:
        if note.part != "drums":
            key = (roles[note.part], note.pitch)
            longest[key] = max(longest.get(key, 0.0), note.dur_s)
    cache: dict[tuple[str, int], Audio] = {}
    tapers: dict[str, Audio] = {}
    for inst in {inst for inst, _ in longest}:
        tail = max(8, int(note_tail_s(inst) * sr))
        tapers[inst] = np.cos(np.linspace(0.0, math.pi / 2, tail, dtype=F32)) ** 2
    bar_s = plan.bar_s
    bars: dict[tuple[str, int], list[Note]] = {}
    for note in score:
        bars.setdefault((note.part, int(note.start_s / bar_s + 1e-6)), []).append(note)

    factor = 4 if sr >= 32000 else 2
    out = np.zeros((2, n), dtype=F32)
    send_low = np.zeros(n // factor + 2, dtype=F32)
    blocks: dict[tuple[object, ...], _PartBlock] = {}
    cached_bytes = 0
    scratch = np.empty(int(2 * bar_s * sr) + int(8.0 * sr), dtype=F32)
    for (part, bar), notes in bars.items():
        bar_start = bar * bar_s
        offset = round(bar_start * sr)
        if offset >= n:
            continue
        signature = (part, *((round(nt.start_s - bar_start, 4), nt.pitch,
                              round(nt.dur_s, 4), nt.velocity) for nt in notes))
        block = blocks.get(signature)
        if block is None:
            length = 0
            for nt in notes:
                length = max(length, _mix_note(scratch, nt, bar_start, sr, part, roles, kit, cache,
                                               longest, tapers, plan.seed, lofi, drive,
                                               clear_to=length))
            if pump and part in ("pad", "chords", "arp"):
                _sidechain(scratch[:length], plan.beat_s, sr, pump)
            block = _scale_block(scratch[:length], part, factor)
            if part not in ("lead", "counter"):
                size = block.nbytes()
                if cached_bytes + size > BLOCK_CACHE_BYTES:
                    # Memory bound for long pieces: start over (recurring bars re-cache).
                    blocks.clear()
                    cached_bytes = 0
                blocks[signature] = block
                cached_bytes += size
        end = min(offset + len(block.left), n)
        out[0, offset:end] += block.left[: end - offset]
        right = block.left if block.right is None else block.right
        out[1, offset:end] += right[: end - offset]
        low0 = offset // factor
        low1 = min(low0 + len(block.send), len(send_low))
        send_low[low0:low1] += block.send[: low1 - low0]
    del blocks, cache, scratch
    if plan.reverb > 0:
        _reverb_into(out, send_low, factor, sr, plan.reverb, plan.seed)
    del send_low
    if crackle and "vinyl crackle" in plan.textures:
        _add_crackle(out, sr, plan.seed)
    return out


def _scale_block(mono: Audio, part: str, factor: int) -> _PartBlock:
    gain = _PART_GAIN.get(part, 0.5)
    pan = _PAN.get(part, 0.0)
    g_left = gain * math.cos((pan + 1) * math.pi / 4) * math.sqrt(2)
    g_right = gain * math.sin((pan + 1) * math.pi / 4) * math.sqrt(2)
    left = mono * F32(g_left)
    right = None if abs(g_left - g_right) < 1e-9 else mono * F32(g_right)
    m = len(mono) // factor
    # Decimate by summing the factor phases (strided adds beat a reduce over rows of 4).
    send = mono[0 : m * factor : factor].copy()
    for j in range(1, factor):
        send += mono[j : m * factor : factor]
    send *= F32(gain * _REVERB_SEND.get(part, 0.3) / factor)
    return _PartBlock(left, right, send)


def _mix_note(
    buf: Audio, note: Note, bar_start: float, sr: int, part: str, roles: dict[str, str], kit: str,
    cache: dict[tuple[str, int], Audio], longest: dict[tuple[str, int], float],
    tapers: dict[str, Audio], seed: int, lofi: bool, drive: float, clear_to: int,
) -> int:
    """Add one note into ``buf`` (a bar buffer starting at ``bar_start``); returns its end.

    ``buf`` is zero up to ``clear_to``; anything the note reaches beyond is zeroed first.
    """
    start = max(0, round((note.start_s - bar_start) * sr))
    vel = F32(note.velocity)
    if part == "drums":
        key = ("drums", note.pitch)
        wave = cache.get(key)
        if wave is None:
            wave = cache[key] = render_drum(note.pitch, kit, sr, seed)
            if lofi:
                _smooth(wave, max(2, sr // 7000))
        end = min(start + len(wave), len(buf))
        if end > clear_to:
            buf[clear_to:end] = 0.0
        buf[start:end] += wave[: end - start] * vel
        return end
    inst = roles[part]
    key = (inst, note.pitch)
    taper = tapers[inst]
    wave = cache.get(key)
    if wave is None:
        length = longest[key] + len(taper) / sr + 0.01
        wave = cache[key] = render_note(inst, note.pitch, length, sr, seed, lofi, drive)
    hold = min(len(wave) - len(taper), max(1, int(note.dur_s * sr)))
    end = min(start + hold + len(taper), len(buf))
    if end > clear_to:
        buf[clear_to:end] = 0.0
    mid = min(start + hold, end)
    buf[start:mid] += wave[: mid - start] * vel
    buf[mid:end] += wave[hold : hold + end - mid] * (taper[: end - mid] * vel)
    return end


def _sidechain(block: Audio, beat_s: float, sr: int, depth: float) -> None:
    """Dance-music pumping, in place on a bar block: the gain ducks just after every beat (as if
    keyed by the kick) and recovers over ~150 ms. The dip is eased in over a few milliseconds and
    the recovery is complete before the next beat, so the gain has no steps."""
    t = np.arange(len(block), dtype=F32) / F32(sr)
    phase = np.mod(t, F32(beat_s))
    duck = (F32(1.0) - np.exp(-phase / F32(0.006))) * np.exp(-phase / F32(0.11))
    block *= F32(1.0) - F32(depth) * duck


def _add_crackle(master: Audio, sr: int, seed: int) -> None:
    """Vinyl surface, in place on (2, n): soft hiss plus sparse, small, slightly smeared pops.

    The hiss is a 2.9 s noise tile repeated (inaudible as a loop at this level, and it spares
    generating millions of random numbers); the pops are placed one by one.
    """
    n = master.shape[1]
    rng = np.random.default_rng(seed ^ 0xC0FFEE)
    tile_n = min(n, int(2.9 * sr))
    tile = rng.standard_normal((2, tile_n), dtype=np.float32)
    tile *= F32(0.004)
    _smooth(tile, 3)
    for s0 in range(0, n, tile_n):
        s1 = min(n, s0 + tile_n)
        master[:, s0:s1] += tile[:, : s1 - s0]
    shape = np.array([0.35, 1.0, 0.6, 0.3, 0.12, 0.05], dtype=F32)
    count = int(n / sr * 7)
    where = rng.integers(0, max(1, n - len(shape)), count)
    amps = rng.random(count) ** 3 * 0.05 * rng.choice([-1.0, 1.0], count)
    for pos, amp in zip(where.tolist(), amps.tolist(), strict=True):
        master[0, pos : pos + len(shape)] += shape * F32(amp)
        master[1, pos : pos + len(shape)] += shape * F32(0.8 * amp)


def master(
    x: Audio, sr: int, *, stems: Sequence[Audio] = (), fade_in: bool = True,
    gain: float | None = None,
) -> float:
    """Master the mix ``x`` (2, n) in place: DC removal, fades, RMS levelling, peak limiting.

    Returns the levelling gain, so a continuation can be levelled like the piece it continues
    (``gain``: that gain instead of one measured here). ``fade_in=False`` starts at full level
    (a continuation's start is a crossfade instead). ``stems`` are the parts ``x`` is the sum
    of: each gets the same fades, gain and limiter curve (and loses its own mean), so they
    still add up to the master; only the master gets the final hard clip.
    """
    n = x.shape[1]
    for y in (x, *stems):
        y -= y.mean(axis=1, keepdims=True, dtype=np.float64).astype(F32)
    # Fade in a hair (no click at sample 0) and fade out the ending.
    fin = min(n, int(0.01 * sr)) if fade_in else 0
    length_s = n / sr
    fade_s = min(4.0, max(0.6, 0.08 * length_s))
    fout = min(n, int(fade_s * sr))
    for y in (x, *stems):
        if fin:
            y[:, :fin] *= np.linspace(0, 1, fin, dtype=F32)
        y[:, n - fout :] *= np.cos(np.linspace(0, math.pi / 2, fout, dtype=F32)) ** 2
    if gain is None:
        body = x[:, fin : max(fin + 1, n - fout)]
        rms = math.sqrt(float(np.vdot(body[0], body[0]) + np.vdot(body[1], body[1])) / body.size)
        gain = 10 ** (TARGET_RMS_DBFS / 20) / max(rms, 1e-9)
    for y in (x, *stems):
        y *= F32(gain)
    _limit(x, 10 ** (PEAK_CEILING_DBFS / 20), sr, stems)
    return gain


def _limit(x: Audio, ceiling: float, sr: int, stems: Sequence[Audio] = ()) -> None:
    """In-place block limiter on (2, n), then a hard clip at ``ceiling`` as a guarantee.

    ``stems`` get the gain curve measured on ``x`` (not the clip).

    Per-block gain is ``min(1, ceiling / peak)``, then the minimum over two neighbouring blocks
    on each side, linearly interpolated between block centres: every sample's gain is at most
    what its own block needs, and gain changes spread over ~20 ms instead of clicking. Works
    chunk by chunk, without full-length temporaries.
    """
    n = x.shape[1]
    block = max(64, sr // 100)
    nb = -(-n // block)
    full = n // block
    peaks = np.empty(nb, dtype=np.float32)
    if full:
        shaped = x[:, : full * block].reshape(2, full, block)
        peaks[:full] = np.maximum(shaped.max(axis=(0, 2)), -shaped.min(axis=(0, 2)))
    if nb > full:
        rest = x[:, full * block :]
        peaks[full] = max(float(rest.max()), -float(rest.min()))
    need = np.minimum(1.0, ceiling / np.maximum(peaks, 1e-9)).astype(F32)
    if float(need.min()) < 1.0:
        g = need.copy()
        for shift in (1, 2):
            g[shift:] = np.minimum(g[shift:], need[:-shift])
            g[:-shift] = np.minimum(g[:-shift], need[shift:])
        ramp = np.arange(block, dtype=F32) / F32(block)
        half = block // 2
        # Gain over [half + b*block, half + (b+1)*block) ramps from g[b] to g[b+1].
        for y in (x, *stems):
            y[:, :half] *= g[0]
        rows = 256
        for b0 in range(0, nb - 1, rows):
            b1 = min(nb - 1, b0 + rows)
            seg = g[b0:b1, None] * (F32(1.0) - ramp) + g[b0 + 1 : b1 + 1, None] * ramp
            s0 = half + b0 * block
            s1 = min(n, half + b1 * block)
            if s1 > s0:
                for y in (x, *stems):
                    y[:, s0:s1] *= seg.ravel()[: s1 - s0]
        tail0 = half + (nb - 1) * block
        if tail0 < n:
            for y in (x, *stems):
                y[:, tail0:] *= g[-1]
    np.clip(x, -ceiling, ceiling, out=x)
