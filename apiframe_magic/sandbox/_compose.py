"""The sandbox composer's first half: prompt words -> :class:`MusicPlan` (the score is
:mod:`._score`'s job).

Everything here is pure Python driven by :class:`random.Random` seeded from the SHA-256 of the
normalized prompt (and the take), so the plan (and, from it, every note of the score) is
identical on every platform and Python version. Rendering the score to samples is
:mod:`._synth`'s job.

How a prompt steers the plan:

* **style**: over forty families (:data:`._styles.STYLES`), recognised by the words people
  write; a prompt naming none is placed by its mood, setting and instrument words
  (:data:`._styles.FALLBACK`), and only a prompt with none of those gets a broad family by seed.
* What a prompt asks for in so many words (a tempo, a key, a metre) is read by the catalog's
  rules (:func:`apiframe_magic.catalog.asks_of`), which the measurements of a track also use.
* **metre and feel**: the style's metre (a waltz is in 3/4, a jig in 6/8, a blues shuffle in
  12/8) unless the prompt names one (``"in 3/4"``, ``"6/8"``, ``"waltz time"``); ``swing``,
  ``swung`` or ``shuffle`` swing the off-beats (see :mod:`._rhythm`).
* **tempo**: ``slow``/``mellow``/``upbeat``/``driving``/... move the tempo inside (or just past)
  the style's range; an explicit ``"N bpm"`` is honoured exactly. The tempo counts the metre's
  beats (dotted quarters in 6/8 and 12/8).
* **key and mode**: ``"in D minor"``, ``"key of F#"``; mood words (``happy``, ``dark``, ``sad``)
  pick major or minor; otherwise the style's usual mode, by seed.
* **instruments**: named instruments are heard, leading where the prompt says so
  (:mod:`._instruments`); ``no drums`` removes the kit.
* **texture**: ``vinyl crackle``, ``reverb`` / ``spacious``, ``lo-fi`` (band-limited, tape
  wow), ``distorted`` (overdriven guitars).
* **voice**: a prompt mentioning vocals, singing or a voice gets a vowel-like sung lead on the
  melody unless ``force_instrumental`` is set.

Form: an intro, verse/chorus sections that recur with variation (the melody is varied on every
pass, the counter-melody and pad come and go, drum patterns change between sections), and in
longer pieces a breakdown without drums, a build, a solo over new chords and a middle part in
the key a fourth up before the return home. The outro ends on an authentic cadence whose final
chord rings to exactly the requested length while the master fades.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from typing import Any

from ..catalog import parse_bpm, parse_key, parse_metre
from ._instruments import apply_instruments, no_drums
from ._rhythm import METRES, Metre
from ._styles import STYLES, StyleSpec, count, pick_style

__all__ = [
    "MODE_STEPS", "NOTE_NAMES", "STYLES", "MusicPlan", "Note", "StyleSpec", "normalize_prompt",
    "plan_music", "prompt_seed", "take_seed",
]

NOTE_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
MODE_STEPS = {"major": (0, 2, 4, 5, 7, 9, 11), "minor": (0, 2, 3, 5, 7, 8, 10)}

_VOCAL_WORDS = ("vocal", "vocals", "voice", "voices", "sing", "singing", "sung", "singer",
                "vox", "lyrics", "hum", "humming")
_TEMPO_WORDS: tuple[tuple[tuple[str, ...], float], ...] = (
    (("very slow", "glacial", "adagio", "largo"), 0.0),
    (("slow", "slowly", "lazy", "sleepy"), 0.1),
    (("mellow", "chill", "relaxed", "laid back", "laid-back", "gentle", "calm", "soft"), 0.25),
    (("upbeat", "lively", "bouncy", "happy", "energetic", "fast"), 0.85),
    (("driving", "intense", "frantic", "high energy", "high-energy", "racing"), 1.0),
)
_MAJOR_WORDS = ("happy", "bright", "uplifting", "cheerful", "joyful", "sunny", "hopeful",
                "triumphant", "playful", "optimistic", "summer", "warm")
_MINOR_WORDS = ("dark", "sad", "melancholic", "melancholy", "moody", "sombre",
                "somber", "gloomy", "tense", "mysterious", "haunting", "lonely", "night",
                "nostalgic", "ominous", "tragic", "eerie")
_SWING_WORDS = ("swing", "swung", "shuffle", "shuffled", "swinging")


@dataclass(frozen=True)
class MusicPlan:
    """What the sandbox composer decided to play for one prompt and length.

    ``sections`` are ``(name, start_s, end_s)`` covering ``[0, length_ms / 1000]`` exactly;
    ``section_shifts`` transposes each section (semitones, 0 at home); ``instruments`` are the
    names of everything in the band; ``roles`` says which instrument plays which part (lead,
    chords, pad, arp, counter, bass, drums). ``tempo_bpm`` counts the metre's beats.
    """

    style: str
    style_label: str
    tempo_bpm: float
    key: str
    mode: str
    instruments: tuple[str, ...]
    sections: tuple[tuple[str, float, float], ...]
    sung_lead: bool
    seed: int
    length_ms: int
    roles: tuple[tuple[str, str], ...]
    drums: bool
    swing: float
    textures: tuple[str, ...]
    progressions: tuple[tuple[str, tuple[str, ...]], ...]
    reverb: float
    tonic_midi: int = field(repr=False, default=60)
    metre: str = "4/4"
    section_shifts: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able summary (used in job metadata and the gallery)."""
        return {
            "style": self.style,
            "style_label": self.style_label,
            "tempo_bpm": self.tempo_bpm,
            "metre": self.metre,
            "key": self.key,
            "mode": self.mode,
            "instruments": list(self.instruments),
            "sections": [[n, s, e] for n, s, e in self.sections],
            "section_shifts": list(self.section_shifts),
            "sung_lead": self.sung_lead,
            "seed": self.seed,
            "length_ms": self.length_ms,
            "roles": {role: inst for role, inst in self.roles},
            "drums": self.drums,
            "swing": self.swing,
            "textures": list(self.textures),
            "progressions": {name: list(chords) for name, chords in self.progressions},
        }

    @property
    def metre_spec(self) -> Metre:
        return METRES[self.metre]

    @property
    def beat_s(self) -> float:
        return 60.0 / self.tempo_bpm

    @property
    def bar_s(self) -> float:
        return self.metre_spec.beats * self.beat_s

    @property
    def step_s(self) -> float:
        """Seconds per grid unit (a sixteenth note)."""
        return self.beat_s / self.metre_spec.beat_units


@dataclass(frozen=True)
class Note:
    """One event of the score. ``pitch`` is a MIDI note, or a drum id for the drum parts."""

    part: str  # role, e.g. "lead", "drums"
    start_s: float
    dur_s: float
    pitch: int
    velocity: float


def normalize_prompt(prompt: str) -> str:
    """Lower-case, whitespace-collapsed prompt text: what the seed and the word matching see."""
    return " ".join(prompt.lower().split())


def prompt_seed(prompt: str) -> int:
    """A stable 63-bit seed: SHA-256 of the normalized prompt (never Python's ``hash()``, which
    is salted per process). Length and ``force_instrumental`` do not change it, so a longer
    render of the same prompt is the same piece, laid out over more bars."""
    text = normalize_prompt(prompt)
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def take_seed(prompt: str, variation: int = 0) -> int:
    """The seed of take ``variation`` of ``prompt``: :func:`prompt_seed` for take 0, and a
    well-mixed, stable derivative of it for every other take."""
    seed = prompt_seed(prompt)
    if variation == 0:
        return seed
    digest = hashlib.sha256(f"{seed}:{variation}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def _roman(degree: int, mode: str, seventh: bool) -> str:
    quality = _chord_quality(degree, mode)
    numeral = ("i", "ii", "iii", "iv", "v", "vi", "vii")[degree % 7]
    name = numeral.upper() if quality in ("maj", "dom") else numeral
    if quality == "dim":
        name += "°"
    if seventh:
        name += "maj7" if quality == "maj" and degree % 7 in (0, 3) else "7"
    return name


def _chord_quality(degree: int, mode: str) -> str:
    steps = MODE_STEPS[mode]
    root = steps[degree % 7]
    third = (steps[(degree + 2) % 7] - root) % 12
    fifth = (steps[(degree + 4) % 7] - root) % 12
    if fifth == 6:
        return "dim"
    return "maj" if third == 4 else "min"


def plan_music(
    prompt: str, *, length_ms: int, force_instrumental: bool = False, variation: int = 0
) -> MusicPlan:
    """The composition plan for ``prompt`` and ``length_ms`` (deterministic, pure Python).

    ``variation`` picks another take of the same prompt (0 is the prompt's own): the words still
    decide what they name (style, tempo words, key, instruments), the seed decides the rest.
    """
    text = normalize_prompt(prompt)
    seed = take_seed(prompt, variation)
    rng = random.Random(seed)
    style = pick_style(text, rng)

    metre_name = parse_metre(text) or style.metre
    metre = METRES[metre_name]
    swing = style.swing
    if count(text, _SWING_WORDS) and not metre.compound:
        swing = max(swing, 0.6)
    if count(text, ("straight", "no swing", "unswung")):
        swing = 0.0

    # Tempo: explicit bpm wins; otherwise tempo words place it in (or just past) the range.
    bpm = parse_bpm(text)
    if bpm is None:
        lo, hi = style.tempo
        if metre.compound and not METRES[style.metre].compound:
            lo, hi = round(lo * 0.7), round(hi * 0.7)  # the beat is now a dotted quarter
        elif METRES[style.metre].compound and not metre.compound:
            lo, hi = round(lo * 1.4), round(hi * 1.4)
        hits = [pos for words, pos in _TEMPO_WORDS if count(text, words)]
        pos = sum(hits) / len(hits) if hits else rng.uniform(0.3, 0.7)
        span = hi - lo
        bpm = float(round(lo - 0.15 * span + pos * 1.3 * span))
        bpm = min(240.0, max(40.0, bpm))
    # Key and mode.
    tonic_pc, mode = parse_key(text)
    if mode is None:
        major_votes = count(text, _MAJOR_WORDS)
        minor_votes = count(text, _MINOR_WORDS)
        if major_votes != minor_votes:
            mode = "major" if major_votes > minor_votes else "minor"
        else:
            mode = "minor" if rng.random() < style.minor_bias else "major"
    if tonic_pc is None:
        tonic_pc = rng.randrange(12)
    key = NOTE_NAMES[tonic_pc]

    # Band: the style's roles, changed by the instruments the prompt names.
    roles = apply_instruments(text, style, dict(style.roles))
    if no_drums(text):
        roles.pop("drums", None)
    # "singing bowl" is a bell, not a singer.
    sung = (not force_instrumental) and count(text.replace("singing bowl", ""), _VOCAL_WORDS) > 0
    if sung:
        if "lead" in roles and roles["lead"] not in ("piano", "voice"):
            roles.setdefault("counter", roles["lead"])
        roles["lead"] = "voice"
    if not roles:
        roles = {"lead": "piano", "chords": "piano"}

    textures: list[str] = list(style.textures)
    if count(text, ("vinyl", "crackle", "record", "dusty")) and "vinyl crackle" not in textures:
        textures.append("vinyl crackle")
    if count(text, ("lofi", "lo-fi", "lo fi", "tape", "dusty", "muffled")) and "lo-fi" not in textures:
        textures.append("lo-fi")
    if count(text, ("distorted", "distortion", "overdrive", "overdriven", "grunge", "heavy",
                    "fuzz")) and "distortion" not in textures:
        textures.append("distortion")
    reverb = style.reverb
    if count(text, ("reverb", "spacious", "cavernous", "hall", "cathedral", "washed", "echo")):
        textures.append("reverb")
        reverb = min(1.0, reverb + 0.35)
    if count(text, ("dry", "intimate", "close")):
        reverb = max(0.1, reverb - 0.2)

    # Sections over the whole length.
    length_s = length_ms / 1000.0
    bar_s = metre.beats * 60.0 / bpm
    sections, shifts = _layout_sections(length_s, bar_s, rng, style)

    # One progression per distinct section kind.
    pool = style.progressions_minor if mode == "minor" else style.progressions_major
    kinds = {_kind(n) for n, _, _ in sections}
    start = rng.randrange(len(pool))
    progressions: dict[str, tuple[int, ...]] = {}
    for i, kind in enumerate(("verse", "chorus", "bridge", "intro", "break", "build", "solo",
                              "outro")):
        if kind in kinds:
            progressions[kind] = pool[(start + i) % len(pool)]
    if "bridge" in progressions and len(pool[0]) == 4:
        progressions["bridge"] = (3, 4, 5, 4) if mode == "major" else (5, 6, 3, 4)
    if "intro" in progressions:
        progressions["intro"] = progressions.get("verse", pool[start])
    if "build" in progressions:
        progressions["build"] = (3, 4) if len(pool[0]) > 1 else pool[start]
    if "solo" in progressions and len(pool[0]) == 4:
        progressions["solo"] = (5, 3, 0, 4) if mode == "major" else (0, 3, 6, 2)
    if "break" in progressions:
        progressions["break"] = progressions.get("chorus", pool[start])
    progressions["outro"] = (0, 3, 4, 0) if style.name not in ("jazz", "swing") else (0, 1, 4, 0)

    roman = tuple(
        (kind, tuple(_roman(d, mode, style.sevenths) for d in degs))
        for kind, degs in progressions.items()
    )
    if mode == "minor":
        # The cadence borrows the harmonic-minor leading tone: its dominant is major.
        roman = tuple(
            (kind, tuple("V" + r[1:] if (kind == "outro" or style.harmonic_v)
                         and r in ("v", "v7") else r for r in chords))
            for kind, chords in roman
        )
    instruments = tuple(dict.fromkeys(roles.values()))
    role_order = ("pad", "chords", "arp", "bass", "lead", "counter", "drums")
    return MusicPlan(
        style=style.name,
        style_label=style.label,
        tempo_bpm=float(bpm),
        key=key,
        mode=mode,
        instruments=instruments,
        sections=sections,
        sung_lead=sung,
        seed=seed,
        length_ms=length_ms,
        roles=tuple((r, roles[r]) for r in role_order if r in roles),
        drums="drums" in roles,
        swing=swing,
        textures=tuple(textures),
        progressions=roman,
        reverb=reverb,
        tonic_midi=60 + (tonic_pc if tonic_pc < 7 else tonic_pc - 12),
        metre=metre_name,
        section_shifts=shifts,
    )


def _kind(section_name: str) -> str:
    return section_name.rstrip("0123456789 '")


def _layout_sections(
    length_s: float, bar_s: float, rng: random.Random, style: StyleSpec
) -> tuple[tuple[tuple[str, float, float], ...], tuple[int, ...]]:
    """Sections to the exact end, and each one's transposition.

    Short pieces: intro, verse/chorus, outro. Long ones (40+ bars) develop: after two rounds of
    verse and chorus comes a breakdown (no drums), a build, a chorus, a solo over new chords and
    a bridge, all in the key a fourth up, then the home key returns for the last choruses.
    """
    bars = max(1, int(length_s / bar_s + 1e-9))
    intro = 0 if bars < 6 else 1 if bars < 12 else 2 if bars < 40 else 4
    outro = 1 if bars < 10 else 2 if bars < 40 else 4
    body = max(0, bars - intro - outro)
    phrase = 4 if body < 32 else 8
    plan: list[tuple[str, int]] = []
    if intro:
        plan.append(("intro", intro))
    if body >= 40:
        cycle = ["verse", "chorus", "verse", "chorus", "break", "build", "chorus", "solo",
                 "bridge", "chorus", "verse", "chorus", "solo", "chorus"]
        if rng.random() < 0.5:
            cycle[2:2] = []
        else:
            cycle[6:8] = ["solo", "chorus"]
    else:
        cycle = ["verse", "chorus", "verse", "chorus", "bridge", "chorus"]
        if rng.random() < 0.5:
            cycle = ["verse", "chorus", "verse", "chorus", "bridge", "verse", "chorus"]
    counts: dict[str, int] = {}
    i = 0
    while body > 0:
        kind = cycle[i % len(cycle)]
        if kind in ("bridge", "break", "build", "solo") and body < phrase * 2:
            kind = "chorus"  # no room for it and a chorus after it: end on the chorus
        n = min(phrase if kind != "build" else max(2, phrase // 2), body)
        if body - n < max(2, phrase // 2):
            n = body  # fold a short remainder into this section
        if plan and plan[-1][0].startswith(kind):
            # Never the same section twice in a row: lengthen the previous one instead.
            name, prev = plan[-1]
            plan[-1] = (name, prev + n)
        else:
            counts[kind] = counts.get(kind, 0) + 1
            plan.append((f"{kind} {counts[kind]}", n))
        body -= n
        i += 1
    plan.append(("outro", outro if bars > 1 else 0))
    out: list[tuple[str, float, float]] = []
    t = 0.0
    for idx, (name, n) in enumerate(plan):
        end = length_s if idx == len(plan) - 1 else round(t + n * bar_s, 6)
        if end > t or idx == len(plan) - 1:
            out.append((name, round(t, 6), round(end, 6)))
        t = end
    # The middle part (from the first breakdown to the last solo or bridge) moves a fourth up.
    names = [_kind(n) for n, _, _ in out]
    shifts = [0] * len(out)
    if "break" in names:
        first = names.index("break")
        last = max(j for j, k in enumerate(names) if k in ("solo", "bridge", "break"))
        for j in range(first, last + 1):
            shifts[j] = 5
    return tuple(out), tuple(shifts)
