"""The sandbox composer: prompt words -> :class:`MusicPlan` -> a score of timed notes.

Everything here is pure Python driven by :class:`random.Random` seeded from the SHA-256 of the
normalized prompt, so the plan and every note (pitch, start, duration, velocity) are identical on
every platform and Python version. Rendering the score to samples is :mod:`._synth`'s job.

How a prompt steers the plan:

* **style**: ten families, each recognised by the words people write (see :data:`STYLES`); the
  family with the most keyword hits wins, a prompt naming none gets one picked by its seed.
* **tempo**: ``slow``/``mellow``/``upbeat``/``driving``/... move the tempo inside (or just past)
  the style's range; an explicit ``"N bpm"`` is honoured exactly.
* **key and mode**: ``"in D minor"``, ``"key of F#"``; mood words (``happy``, ``dark``, ``sad``,
  ``epic``) pick major or minor; otherwise the style's usual mode, by seed.
* **instruments**: named instruments join the band (``flute`` takes over the melody, ``strings``
  the pad, ...); ``solo piano`` leaves only the piano; ``no drums`` removes the kit.
* **texture**: ``vinyl crackle``, ``reverb`` / ``spacious``, ``lo-fi`` (band-limited, tape
  wow), ``rock`` / ``distorted`` (overdriven guitars).
* **voice**: a prompt mentioning vocals, singing or a voice gets a vowel-like sung lead on the
  melody unless ``force_instrumental`` is set.

Structure: an intro, verse/chorus sections that recur with variation (melody ornaments,
instrumentation and drum fills differ on every pass), an optional bridge, and an outro ending on an
authentic cadence whose final chord rings to exactly the requested length while the master fades.
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "STYLES",
    "MusicPlan",
    "Note",
    "StyleSpec",
    "compose_score",
    "normalize_prompt",
    "plan_music",
    "prompt_seed",
    "take_seed",
]

NOTE_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
MODE_STEPS = {"major": (0, 2, 4, 5, 7, 9, 11), "minor": (0, 2, 3, 5, 7, 8, 10)}
STEPS_PER_BAR = 16  # sixteenth-note grid, 4/4 throughout


@dataclass(frozen=True)
class StyleSpec:
    """One style family: how it is recognised and what its band plays by default."""

    name: str
    label: str
    keywords: tuple[str, ...]
    tempo: tuple[int, int]
    minor_bias: float  # probability of minor when the prompt names no mood or key
    roles: tuple[tuple[str, str], ...]  # (role, instrument) in mixing order
    drums: str  # drum pattern family, "" for none
    swing: float  # fraction of a 16th the off-beats are delayed by
    progressions_major: tuple[tuple[int, ...], ...]
    progressions_minor: tuple[tuple[int, ...], ...]
    sevenths: bool
    comp: str  # how the chord instrument plays: block, arp, strum, pulse, stab, sustain
    bass: str  # root, octave, walk, pulse, sustain
    melody_density: float  # 0..1, share of eighth slots carrying a note
    reverb: float
    chord_bars: int = 1  # bars per chord


STYLES: dict[str, StyleSpec] = {
    s.name: s
    for s in (
        StyleSpec(
            "lofi", "lo-fi hip hop",
            ("lofi", "lo-fi", "lo fi", "hip hop", "hiphop", "hip-hop", "chillhop", "study",
             "beats to", "boom bap", "jazzy beat", "chill beat"),
            (70, 90), 0.5,
            (("pad", "pads"), ("chords", "electric piano"), ("bass", "bass"),
             ("lead", "electric piano"), ("drums", "drums")),
            "boombap", 0.28, ((1, 4, 0, 5), (3, 2, 5, 0), (0, 5, 1, 4)),
            ((0, 5, 3, 4), (3, 6, 0, 0), (0, 3, 6, 2)), True, "block", "root", 0.35, 0.35,
        ),
        StyleSpec(
            "synthwave", "synthwave",
            ("synthwave", "synth wave", "retrowave", "outrun", "80s", "eighties", "retro",
             "neon", "vaporwave", "darksynth"),
            (90, 118), 0.7,
            (("pad", "pads"), ("arp", "synth"), ("bass", "synth bass"), ("lead", "synth lead"),
             ("drums", "drums")),
            "synthwave", 0.0, ((0, 4, 5, 3), (5, 3, 0, 4)),
            ((0, 5, 2, 6), (0, 6, 5, 6), (0, 5, 3, 4)), False, "sustain", "octave", 0.45, 0.45,
        ),
        StyleSpec(
            "cinematic", "orchestral / cinematic",
            ("orchestral", "orchestra", "cinematic", "film score", "soundtrack", "epic",
             "trailer", "symphonic", "heroic", "score", "fantasy", "adventure", "battle"),
            (70, 100), 0.7,
            (("pad", "strings"), ("arp", "strings"), ("bass", "low strings"), ("lead", "brass"),
             ("counter", "flute"), ("drums", "orchestral drums")),
            "cinematic", 0.0, ((0, 4, 5, 3), (3, 0, 4, 5)),
            ((0, 5, 2, 6), (0, 3, 5, 4), (5, 3, 0, 4)), False, "arp", "sustain", 0.3, 0.6,
        ),
        StyleSpec(
            "ambient", "ambient",
            ("ambient", "drone", "atmospheric", "ethereal", "meditation", "meditative",
             "calm", "sleep", "floating", "space", "dreamy", "soundscape", "relaxing"),
            (60, 80), 0.4,
            (("pad", "pads"), ("arp", "bells"), ("bass", "sub bass"), ("lead", "soft synth")),
            "", 0.0, ((0, 3), (5, 3), (0, 4, 5, 3)), ((0, 5), (0, 3), (0, 5, 3, 6)),
            True, "sustain", "sustain", 0.18, 0.8, 2,
        ),
        StyleSpec(
            "house", "house / EDM / techno",
            ("house", "edm", "techno", "trance", "dance", "club", "rave", "electronic dance",
             "four on the floor", "deep house", "festival", "banger", "disco"),
            (120, 128), 0.55,
            (("pad", "pads"), ("chords", "synth stabs"), ("bass", "synth bass"),
             ("lead", "synth lead"), ("drums", "drums")),
            "house", 0.0, ((0, 4, 5, 3), (5, 3, 0, 4)), ((0, 5, 2, 6), (0, 6, 5, 6), (0, 3, 5, 4)),
            True, "stab", "pulse", 0.3, 0.4,
        ),
        StyleSpec(
            "chiptune", "chiptune",
            ("chiptune", "chip tune", "8-bit", "8 bit", "8bit", "16-bit", "retro game",
             "video game", "arcade", "nes", "gameboy", "game boy", "pixel"),
            (130, 160), 0.3,
            (("arp", "square arp"), ("bass", "triangle bass"), ("lead", "square lead"),
             ("drums", "noise drums")),
            "chiptune", 0.0, ((0, 4, 5, 3), (0, 5, 3, 4), (0, 3, 4, 0)),
            ((0, 5, 6, 0), (0, 3, 4, 0), (0, 6, 5, 4)), False, "arp", "octave", 0.6, 0.1,
        ),
        StyleSpec(
            "indie", "indie pop / rock",
            ("indie", "rock", "pop rock", "guitar", "guitars", "band", "alternative", "garage",
             "pop", "punk", "anthem", "britpop", "power chords"),
            (100, 130), 0.35,
            (("chords", "guitar"), ("bass", "bass"), ("lead", "lead guitar"), ("drums", "drums")),
            "rock", 0.0, ((0, 4, 5, 3), (0, 3, 0, 4), (5, 3, 0, 4)),
            ((0, 5, 2, 6), (0, 3, 5, 4)), False, "strum", "pulse", 0.45, 0.3,
        ),
        StyleSpec(
            "jazz", "jazz",
            ("jazz", "jazzy", "swing", "bebop", "bossa", "smooth jazz", "trio", "lounge",
             "speakeasy", "big band", "cocktail", "upright bass", "saxophone", "sax"),
            (96, 140), 0.35,
            (("chords", "piano"), ("bass", "upright bass"), ("lead", "vibraphone"),
             ("drums", "brush kit")),
            "jazz", 0.6, ((1, 4, 0, 5), (0, 5, 1, 4), (2, 5, 1, 4)),
            ((1, 4, 0, 0), (0, 3, 1, 4)), True, "block", "walk", 0.5, 0.35,
        ),
        StyleSpec(
            "piano", "solo piano / classical",
            ("piano", "classical", "solo piano", "sonata", "nocturne", "etude", "prelude",
             "chopin", "satie", "debussy", "mozart", "romantic", "chamber", "waltz"),
            (66, 96), 0.45,
            (("chords", "piano"), ("lead", "piano")),
            "", 0.0, ((0, 5, 3, 4), (0, 3, 4, 0), (0, 4, 5, 3)), ((0, 3, 4, 0), (0, 5, 3, 4)),
            False, "arp", "", 0.4, 0.5,
        ),
        StyleSpec(
            "folk", "folk / acoustic",
            ("folk", "acoustic", "campfire", "country", "bluegrass", "americana", "celtic",
             "singer-songwriter", "unplugged", "fingerpicking", "banjo", "pastoral", "rustic"),
            (84, 112), 0.25,
            (("chords", "acoustic guitar"), ("bass", "bass"), ("lead", "flute"),
             ("drums", "light percussion")),
            "folk", 0.0, ((0, 3, 0, 4), (0, 4, 5, 3), (0, 3, 4, 0)), ((0, 6, 5, 6), (0, 3, 4, 0)),
            False, "arp", "root", 0.4, 0.3,
        ),
    )
}

# Words that name an instrument -> (instrument, role it takes when the style lacks it).
_INSTRUMENT_WORDS: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (("piano", "keys"), "piano", "chords"),
    (("rhodes", "electric piano", "wurlitzer"), "electric piano", "chords"),
    (("strings", "violin", "violins", "cello", "string section", "orchestra"), "strings", "pad"),
    (("guitar", "guitars"), "guitar", "chords"),
    (("bass", "bassline", "bass line"), "bass", "bass"),
    (("synth", "synths", "synthesizer"), "synth lead", "lead"),
    (("pad", "pads"), "pads", "pad"),
    (("brass", "horn", "horns", "trumpet", "trumpets", "trombone"), "brass", "counter"),
    (("flute", "flutes", "whistle", "recorder"), "flute", "lead"),
    (("bells", "bell", "glockenspiel", "chimes", "music box", "celesta"), "bells", "arp"),
    (("drums", "drum", "beat", "beats", "percussion"), "drums", "drums"),
)
_VOCAL_WORDS = ("vocal", "vocals", "voice", "voices", "sing", "singing", "sung", "singer",
                "choir", "vox", "lyrics", "hum", "humming")
_TEMPO_WORDS: tuple[tuple[tuple[str, ...], float], ...] = (
    (("very slow", "glacial", "adagio", "largo", "ballad"), 0.0),
    (("slow", "slowly", "lazy", "sleepy"), 0.1),
    (("mellow", "chill", "relaxed", "laid back", "laid-back", "gentle", "calm", "soft"), 0.25),
    (("upbeat", "lively", "bouncy", "happy", "energetic", "fast"), 0.85),
    (("driving", "intense", "frantic", "high energy", "high-energy", "racing"), 1.0),
)
_MAJOR_WORDS = ("happy", "bright", "uplifting", "cheerful", "joyful", "sunny", "hopeful",
                "triumphant", "playful", "optimistic", "summer", "warm")
_MINOR_WORDS = ("dark", "sad", "melancholic", "melancholy", "moody", "epic", "sombre",
                "somber", "gloomy", "tense", "mysterious", "haunting", "lonely", "night",
                "nostalgic", "ominous", "tragic", "eerie")


@dataclass(frozen=True)
class MusicPlan:
    """What the sandbox composer decided to play for one prompt and length.

    ``sections`` are ``(name, start_s, end_s)`` covering ``[0, length_ms / 1000]`` exactly;
    ``instruments`` are the names of everything in the band; ``roles`` says which instrument
    plays which part (lead, chords, pad, arp, counter, bass, drums).
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

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able summary (used in job metadata and the gallery)."""
        return {
            "style": self.style,
            "style_label": self.style_label,
            "tempo_bpm": self.tempo_bpm,
            "key": self.key,
            "mode": self.mode,
            "instruments": list(self.instruments),
            "sections": [[n, s, e] for n, s, e in self.sections],
            "sung_lead": self.sung_lead,
            "seed": self.seed,
            "length_ms": self.length_ms,
            "roles": {role: inst for role, inst in self.roles},
            "drums": self.drums,
            "textures": list(self.textures),
            "progressions": {name: list(chords) for name, chords in self.progressions},
        }

    @property
    def beat_s(self) -> float:
        return 60.0 / self.tempo_bpm

    @property
    def bar_s(self) -> float:
        return 4 * self.beat_s


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


def _has(text: str, phrase: str) -> bool:
    return re.search(r"(?<![a-z0-9])" + re.escape(phrase) + r"(?![a-z0-9])", text) is not None


def _count(text: str, phrases: tuple[str, ...]) -> int:
    return sum(1 for p in phrases if _has(text, p))


def _pick_style(text: str, rng: random.Random) -> StyleSpec:
    scores = {name: _count(text, spec.keywords) for name, spec in STYLES.items()}
    # "piano" alone is an instrument request in most styles; it means solo piano only when
    # nothing else names a style.
    if scores["piano"] and sum(scores.values()) > scores["piano"]:
        scores["piano"] -= 1 if not _has(text, "solo piano") else 0
    # "guitar" likewise only makes it indie when nothing else claims the prompt.
    if scores["indie"] and _count(text, ("guitar", "guitars")) and any(
        v for k, v in scores.items() if k not in ("indie",)
    ):
        scores["indie"] -= 1
    best = max(scores.values())
    if best <= 0:
        return STYLES[rng.choice(sorted(STYLES))]
    return STYLES[next(name for name, v in scores.items() if v == best)]


def _parse_key(text: str) -> tuple[int | None, str | None]:
    """Tonic pitch class and mode of an explicit key (``in D minor``, ``key of F#``, ``Bb major``)."""
    for m in re.finditer(
        r"(?:\b(in|key of)\s+)?(?<![a-z0-9#])([a-g])(#|♯|b|♭|-sharp| sharp|-flat| flat)?"
        r"(?:\s*(major|minor))?(?![a-z0-9#])",
        text,
    ):
        prefix, letter, accidental, mode = m.groups()
        if not prefix and not mode:
            continue  # a bare letter is a word ("a"), not a key
        if letter == "b" and accidental is None and not mode and not prefix:
            continue
        pc = {"c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11}[letter]
        if accidental:
            pc += 1 if ("#" in accidental or "♯" in accidental or "sharp" in accidental) else -1
        return pc % 12, mode
    return None, None


def _parse_bpm(text: str) -> float | None:
    m = re.search(r"(\d{2,3}(?:\.\d+)?)\s*-?\s*bpm\b", text) or re.search(
        r"\bbpm\s*(?:of\s*|=\s*|:\s*)?(\d{2,3}(?:\.\d+)?)", text
    )
    if not m:
        return None
    return min(240.0, max(40.0, float(m.group(1))))


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
    style = _pick_style(text, rng)

    # Tempo: explicit bpm wins; otherwise tempo words place it in (or just past) the range.
    bpm = _parse_bpm(text)
    if bpm is None:
        lo, hi = style.tempo
        hits = [pos for words, pos in _TEMPO_WORDS if _count(text, words)]
        pos = sum(hits) / len(hits) if hits else rng.uniform(0.3, 0.7)
        span = hi - lo
        bpm = float(round(lo - 0.15 * span + pos * 1.3 * span))
    # Key and mode.
    tonic_pc, mode = _parse_key(text)
    if mode is None:
        major_votes = _count(text, _MAJOR_WORDS)
        minor_votes = _count(text, _MINOR_WORDS)
        if major_votes != minor_votes:
            mode = "major" if major_votes > minor_votes else "minor"
        else:
            mode = "minor" if rng.random() < style.minor_bias else "major"
    if tonic_pc is None:
        tonic_pc = rng.randrange(12)
    key = NOTE_NAMES[tonic_pc]

    # Band: the style's roles, changed by the instruments the prompt names.
    roles = dict(style.roles)
    no_drums = any(_has(text, w) for w in ("no drums", "without drums", "drumless", "no beat",
                                             "no percussion", "without percussion"))
    solo_piano = _has(text, "solo piano") or (style.name == "piano" and _has(text, "solo"))
    if solo_piano:
        roles = {"chords": "piano", "lead": "piano"}
    else:
        for words, inst, role in _INSTRUMENT_WORDS:
            if not _count(text, words) or inst in roles.values() or (inst == "drums" and no_drums):
                continue
            if inst == "drums":
                roles["drums"] = {"cinematic": "orchestral drums", "chiptune": "noise drums",
                                  "jazz": "brush kit"}.get(style.name, "drums")
            elif (inst == "bass" and "bass" in roles) or (inst == "guitar" and style.name == "folk"):
                continue
            elif role == "lead" and "lead" in roles and roles["lead"] != "piano":
                # The named instrument takes the melody; the old lead moves to counter-melody.
                roles.setdefault("counter", roles["lead"])
                roles["lead"] = inst
            elif role in roles:
                # Its usual part is taken: it doubles the melody as a counter line, or fills in.
                for alt in (("arp", "counter") if role != "chords" else ("chords", "arp")):
                    if alt not in roles:
                        roles[alt] = inst
                        break
                else:
                    roles["counter"] = inst
            else:
                roles[role] = inst
    if style.name in ("piano", "ambient") and "drums" in roles:
        roles["drums"] = "light percussion"
    if no_drums:
        roles.pop("drums", None)
    sung = (not force_instrumental) and _count(text, _VOCAL_WORDS) > 0
    if sung:
        if "lead" in roles and roles["lead"] not in ("piano",):
            roles.setdefault("counter", roles["lead"])
        roles["lead"] = "voice"

    textures: list[str] = []
    if _count(text, ("vinyl", "crackle", "record", "dusty")) or style.name == "lofi":
        textures.append("vinyl crackle")
    if _count(text, ("lofi", "lo-fi", "lo fi", "tape", "dusty", "warm", "muffled")):
        textures.append("lo-fi")
    if _count(text, ("rock", "distorted", "distortion", "overdrive", "grunge", "punk", "metal",
                     "garage", "power chords", "heavy")):
        textures.append("distortion")
    reverb = style.reverb
    if _count(text, ("reverb", "spacious", "cavernous", "hall", "cathedral", "washed", "echo")):
        textures.append("reverb")
        reverb = min(1.0, reverb + 0.35)
    if _count(text, ("dry", "intimate", "close")):
        reverb = max(0.1, reverb - 0.2)

    # Sections over the whole length.
    length_s = length_ms / 1000.0
    bar_s = 240.0 / bpm
    sections = _layout_sections(length_s, bar_s, rng)

    # One progression per distinct section kind.
    pool = style.progressions_minor if mode == "minor" else style.progressions_major
    kinds = sorted({_kind(n) for n, _, _ in sections})
    start = rng.randrange(len(pool))
    progressions: dict[str, tuple[int, ...]] = {}
    for i, kind in enumerate(("verse", "chorus", "bridge", "intro", "outro")):
        if kind in kinds:
            progressions[kind] = pool[(start + i) % len(pool)]
    if "bridge" in progressions:
        progressions["bridge"] = (3, 4, 5, 4) if mode == "major" else (5, 6, 3, 4)
    if "intro" in progressions:
        progressions["intro"] = progressions.get("verse", pool[start])
    progressions["outro"] = (0, 3, 4, 0) if style.name != "jazz" else (0, 1, 4, 0)

    roman = tuple(
        (kind, tuple(_roman(d, mode, style.sevenths) for d in degs))
        for kind, degs in progressions.items()
    )
    if mode == "minor":
        # The cadence borrows the harmonic-minor leading tone: its dominant is major.
        roman = tuple(
            (kind, tuple("V" + r[1:] if kind == "outro" and r in ("v", "v7") else r
                         for r in chords))
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
        swing=style.swing,
        textures=tuple(textures),
        progressions=roman,
        reverb=reverb,
        tonic_midi=60 + (tonic_pc if tonic_pc < 7 else tonic_pc - 12),
    )


def _kind(section_name: str) -> str:
    return section_name.rstrip("0123456789 '")


def _layout_sections(
    length_s: float, bar_s: float, rng: random.Random
) -> tuple[tuple[str, float, float], ...]:
    """Intro, recurring verse/chorus (and a bridge in longer pieces), outro to the exact end."""
    bars = max(1, int(length_s / bar_s + 1e-9))
    intro = 0 if bars < 6 else 1 if bars < 12 else 2 if bars < 40 else 4
    outro = 1 if bars < 10 else 2 if bars < 40 else 4
    body = max(0, bars - intro - outro)
    phrase = 4 if body < 32 else 8
    plan: list[tuple[str, int]] = []
    if intro:
        plan.append(("intro", intro))
    cycle = ["verse", "chorus", "verse", "chorus", "bridge", "chorus"]
    if rng.random() < 0.5:
        cycle = ["verse", "chorus", "verse", "chorus", "bridge", "verse", "chorus"]
    counts: dict[str, int] = {}
    i = 0
    while body > 0:
        kind = cycle[i % len(cycle)]
        if kind == "bridge" and body < phrase * 2:
            kind = "chorus"  # no room for a bridge and a chorus after it: end on the chorus
        n = min(phrase, body)
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
    return tuple(out)


# --- The score ------------------------------------------------------------------------------

#: Drum ids used in the score.
KICK, SNARE, HAT, OPEN_HAT, CLAP, RIDE, SHAKER, TOM, CRASH, RIM = range(10)

_DRUM_PATTERNS: dict[str, dict[int, str]] = {
    # 16 steps per bar; digits are velocity levels (1-9), "." is a rest.
    "boombap": {KICK: "9.....6..7......", SNARE: "....9.......9...", HAT: "5.4.5.4.5.4.5.44",
                RIM: "..............3."},
    "synthwave": {KICK: "9.......9.......", SNARE: "....9.......9...", HAT: "4.4.4.4.4.4.4.4.",
                  CLAP: "....6.......6..."},
    "cinematic": {TOM: "9.....7.9...6.5.", KICK: "9.......8.......", SHAKER: "3.3.3.3.3.3.3.3."},
    "house": {KICK: "9...9...9...9...", CLAP: "....8.......8...", HAT: "..6...6...6...6.",
              SHAKER: "3333333333333333"},
    "chiptune": {KICK: "9.....9.9.......", SNARE: "....9.......9...", HAT: "5.5.5.5.5.5.5.5."},
    "rock": {KICK: "9.....7.9.......", SNARE: "....9.......9...", HAT: "6.5.6.5.6.5.6.5."},
    "jazz": {RIDE: "7...5.7.7...5.7.", KICK: "4.......3.......", RIM: "....5.......5..."},
    "folk": {SHAKER: "5.3.5.3.5.3.5.3.", KICK: "7.......6.......", RIM: "....5.......5..."},
    "light": {SHAKER: "4.2.4.2.4.2.4.2.", KICK: "6.......5......."},
}


def _scale_pitch(plan: MusicPlan, degree: int, octave: int = 0) -> int:
    steps = MODE_STEPS[plan.mode]
    return plan.tonic_midi + 12 * (octave + degree // 7) + steps[degree % 7]


def _chord_pitches(plan: MusicPlan, degree: int, sevenths: bool, cadence: bool) -> list[int]:
    """Chord tones (MIDI, root position around the tonic) of a scale-degree chord."""
    tones = [_scale_pitch(plan, degree + k) for k in ((0, 2, 4, 6) if sevenths else (0, 2, 4))]
    if plan.mode == "minor" and degree % 7 == 4 and cadence:
        tones[1] += 1  # harmonic-minor leading tone: a real V in the cadence
    return tones


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


_HUMAN_STYLES = frozenset({"lofi", "jazz", "folk", "piano", "indie", "cinematic"})


@dataclass
class _Ctx:
    plan: MusicPlan
    style: StyleSpec
    rng: random.Random
    step_s: float
    notes: list[Note]

    def add(self, part: str, step: float, dur_steps: float, pitch: int, vel: float) -> None:
        """Add a note at a 16th-note step (swing applied to off-beat 16ths/8ths)."""
        swing = self.plan.swing
        start = step
        frac = step % 4
        if swing and part != "pad":
            if self.style.name == "jazz" and abs(frac - 2) < 1e-9:
                start += swing * 2 * 0.55  # swung eighths
            elif abs(frac % 2 - 1) < 1e-9:
                start += swing
        t = start * self.step_s
        if part in ("lead", "counter"):
            # Only the melody is humanized: accompaniment and drum bars stay identical copies,
            # which lets the renderer synthesize each distinct bar once.
            vel *= 1 + self.rng.uniform(-0.06, 0.06)
            if self.style.name in _HUMAN_STYLES:
                t = max(0.0, t + self.rng.uniform(-0.008, 0.008))
        t = round(t, 6)
        d = round(max(0.05, dur_steps * self.step_s), 6)
        vel = max(0.05, min(1.0, vel))
        self.notes.append(Note(part, t, d, pitch, round(vel, 4)))


def compose_score(plan: MusicPlan) -> tuple[Note, ...]:
    """Every note of the piece, sorted by start time (deterministic from the plan's seed)."""
    style = STYLES[plan.style]
    rng = random.Random(plan.seed ^ 0x5EED)
    ctx = _Ctx(plan, style, rng, plan.beat_s / 4, [])
    roles = dict(plan.roles)
    degrees = {
        kind: tuple(_degree_of(r) for r in chords) for kind, chords in plan.progressions
    }
    bar_s = plan.bar_s
    length_s = plan.length_ms / 1000
    motifs: dict[str, list[tuple[int, int, int]]] = {}
    prev_voicing: list[int] = []
    melody_prev = 4
    occurrence: dict[str, int] = {}
    for index, (name, start_s, end_s) in enumerate(plan.sections):
        kind = _kind(name)
        occurrence[kind] = occurrence.get(kind, 0) + 1
        occ = occurrence[kind]
        bar0 = round(start_s / bar_s)
        is_last = index == len(plan.sections) - 1
        # The last section's final bar starts on a bar line and rings on to the exact end.
        nbars = max(1, int((end_s - start_s) / bar_s + 1e-6))
        prog = degrees.get(kind) or degrees.get("verse") or (0,)
        if kind not in motifs:
            motifs[kind] = _make_motif(rng, style, kind)
        # Every pass of a section starts the tune from the same place, so it is recognisably
        # the same melody (the variation comes from the per-pass changes in _play_melody).
        melody_prev = {"verse": 2, "chorus": 4, "bridge": 5, "intro": 4}.get(kind, 2)
        energy = {"intro": 0, "verse": 1, "chorus": 2, "bridge": 1, "outro": 1}.get(kind, 1)
        if kind == "chorus" and occ > 1:
            energy = 3
        for b in range(nbars):
            bar = bar0 + b
            step0 = bar * STEPS_PER_BAR
            chord_idx = (b // style.chord_bars) % len(prog)
            degree = prog[chord_idx]
            final_bar = is_last and b == nbars - 1
            if is_last:
                # Authentic cadence into the final bar: (I ...) IV-V-I, ii-V-I in jazz.
                to_final = nbars - 1 - b
                degree = {0: 0, 1: 4, 2: 1 if style.name == "jazz" else 3}.get(to_final, 0)
            cadence = is_last or (b == nbars - 1 and kind in ("chorus", "bridge"))
            tones = _chord_pitches(plan, degree, style.sevenths, cadence)
            ring_steps = max(4.0, (length_s - bar * bar_s) / ctx.step_s) if final_bar else 16.0
            _play_harmony(ctx, roles, style, step0, tones, degree, energy, ring_steps, final_bar,
                          prev_voicing)
            prev_voicing = _voice_lead(prev_voicing, tones, 55, 72)
            if "bass" in roles:
                next_deg = prog[(chord_idx + 1) % len(prog)]
                _play_bass(ctx, style, step0, tones, next_deg, energy, ring_steps, final_bar)
            if "lead" in roles and (energy > 0 or b >= 1):
                melody_prev = _play_melody(
                    ctx, roles, style, kind, occ, b, nbars, step0, tones, degree,
                    motifs[kind], melody_prev, final_bar, ring_steps, energy,
                )
            if plan.drums and not final_bar:
                fill = b == nbars - 1 and not is_last and nbars > 1
                _play_drums(ctx, style, roles.get("drums", ""), step0, energy, fill, kind,
                            b == 0 and kind == "chorus")
            elif plan.drums and final_bar:
                # The last downbeat: a cymbal where the style has one, and a soft kick.
                if style.drums in ("jazz", "folk"):
                    ctx.add("drums", step0, 4, RIDE, 0.6)
                elif style.drums:
                    ctx.add("drums", step0, 4, CRASH, 0.7)
                ctx.add("drums", step0, 4, KICK, 0.8 if style.drums else 0.5)
    notes = [n for n in ctx.notes if n.start_s < length_s - 0.02]
    notes.sort(key=lambda n: (n.start_s, n.part, n.pitch))
    return tuple(notes)


def _degree_of(roman: str) -> int:
    base = roman.rstrip("°7maj").lower()
    return ("i", "ii", "iii", "iv", "v", "vi", "vii").index(base)


def _make_motif(rng: random.Random, style: StyleSpec, kind: str) -> list[tuple[int, int, int]]:
    """A two-bar rhythmic/melodic cell: (step, length in steps, scale-step offset)."""
    density = style.melody_density + (0.15 if kind == "chorus" else 0.0)
    cells: list[tuple[int, int, int]] = []
    step = 0
    contour = rng.choice((1, -1))
    while step < 32:
        if rng.random() < density or step in (0, 16):
            length = rng.choice((2, 2, 4, 4, 6, 8) if density < 0.5 else (1, 2, 2, 2, 4))
            if style.name == "chiptune":
                length = rng.choice((1, 2, 2, 4))
            move = rng.choice((0, 1, 1, 2, -1, -1, -2, 3, -3)) * contour
            if rng.random() < 0.25:
                contour = -contour
            cells.append((step, min(length, 32 - step), move))
            step += length
        else:
            step += 2
    return cells


def _play_harmony(
    ctx: _Ctx, roles: dict[str, str], style: StyleSpec, step0: int, tones: list[int],
    degree: int, energy: int, ring: float, final: bool, prev: list[int],
) -> None:
    voicing = _voice_lead(prev, tones, 55, 72)
    if "pad" in roles:
        low = _voice_lead([], tones, 48, 67)
        for p in low:
            ctx.add("pad", step0, ring, p, 0.55 if energy < 3 else 0.7)
    if "chords" in roles:
        comp = "block" if final else style.comp
        vel = 0.5 + 0.08 * energy
        if comp == "block":
            hits: tuple[tuple[float, float], ...] = ((0, 8), (8, 8))
            if style.name == "jazz":
                hits = ((0, 6), (6, 2), (8, 6), (14, 2))
            elif style.name == "lofi":
                hits = ((0, 7), (7, 9))
            if final:
                hits = ((0, ring),)
            for s, d in hits:
                for p in voicing:
                    ctx.add("chords", step0 + s, d, p, vel)
        elif comp == "arp":
            # Left-hand figure: the chord root below, then the voicing up and back.
            root = tones[0] - 12 if tones[0] - 12 >= 45 else tones[0]
            pattern = [root, voicing[0], voicing[1], voicing[-1],
                       voicing[0] + 12, voicing[-1], voicing[1], voicing[0]]
            step_len = 2
            for i, p in enumerate(pattern * (16 // (step_len * len(pattern)) or 1)):
                ctx.add("chords", step0 + i * step_len, step_len * 2.5, p, vel * (1 - 0.1 * (i % 2)))
        elif comp == "strum":
            rhythm = (0, 3, 6, 8, 10, 12, 14) if energy >= 2 else (0, 6, 8, 12)
            for i, s in enumerate(rhythm):
                down = i % 2 == 0
                order = [*voicing, voicing[0] + 12] if down else [voicing[0] + 12, *voicing[::-1]]
                for j, p in enumerate(order):
                    ctx.add("chords", step0 + s + j * 0.12, 3, p, vel * (0.9 if down else 0.7))
        elif comp == "stab":
            for s in (2, 6, 10, 14) if energy >= 2 else (2, 10):
                for p in voicing:
                    ctx.add("chords", step0 + s, 1.5, p, vel)
        else:  # sustain
            for p in voicing:
                ctx.add("chords", step0, ring, p, vel * 0.8)
    if "arp" in roles and (energy >= 1 or style.name in ("ambient", "chiptune", "cinematic")):
        inst = roles["arp"]
        up = [tones[0], tones[1], tones[2], tones[0] + 12]
        if final:
            ctx.add("arp", step0, ring, tones[0] + 12, 0.4)
        elif style.name == "chiptune":
            seq = [p + 12 for p in up] * 4
            for i, p in enumerate(seq):
                ctx.add("arp", step0 + i, 1, p, 0.45)
        elif inst == "bells" or style.name == "ambient":
            picks = ctx.rng.sample(range(4), 2) if energy < 2 else [0, 1, 2, 3]
            for i in sorted(picks):
                ctx.add("arp", step0 + 4 * i, 8, up[(i + degree) % 4] + 12, 0.4)
        elif style.name == "synthwave":
            for i in range(16):
                ctx.add("arp", step0 + i, 1, up[i % 4] + (12 if i % 8 >= 4 else 0), 0.4)
        else:
            for i in range(8):
                ctx.add("arp", step0 + 2 * i, 2, up[i % 4] + 12 * (i // 4), 0.4)


def _play_bass(
    ctx: _Ctx, style: StyleSpec, step0: int, tones: list[int], next_degree: int, energy: int,
    ring: float, final: bool,
) -> None:
    root = tones[0] - 24 if tones[0] >= 60 else tones[0] - 12
    if final or style.bass == "sustain" or energy == 0:
        ctx.add("bass", step0, ring if final else 16, root, 0.8)
        return
    kind = style.bass
    if kind == "root":
        for s, d in ((0, 6), (7, 2), (10, 6)):
            ctx.add("bass", step0 + s, d, root if s != 10 else root + 7, 0.8)
    elif kind == "octave":
        for i in range(8):
            ctx.add("bass", step0 + 2 * i, 1.6, root + (12 if i % 2 else 0), 0.75)
    elif kind == "pulse":
        for i in range(8):
            if style.name == "house" and i % 2 == 0:
                continue  # off-beat bass under a four-on-the-floor kick
            ctx.add("bass", step0 + 2 * i, 1.7, root, 0.8)
    elif kind == "walk":
        target = _scale_pitch(ctx.plan, next_degree) - 24
        walk = [root, root + (tones[1] - tones[0]), root + 7, target + (1 if target < root else -1)]
        for i, p in enumerate(walk):
            ctx.add("bass", step0 + 4 * i, 3.6, p, 0.8)


def _play_melody(
    ctx: _Ctx, roles: dict[str, str], style: StyleSpec, kind: str, occ: int, b: int, nbars: int,
    step0: int, tones: list[int], degree: int, motif: list[tuple[int, int, int]], prev: int,
    final: bool, ring: float, energy: int,
) -> int:
    """One bar of melody from the section's motif; returns the last scale position used."""
    plan = ctx.plan
    octave = 1 if roles.get("lead") not in ("voice", "brass", "synth lead") else 0
    if style.name in ("piano", "chiptune", "lofi") and roles.get("lead") != "voice":
        octave = 1
    base = plan.tonic_midi + 12 * octave
    steps = MODE_STEPS[plan.mode]
    chord_pcs = {t % 12 for t in tones}
    if final:
        ctx.add("lead", step0, ring, base, 0.7)
        return 0
    half = (b % 2) * 16
    cells = [c for c in motif if half <= c[0] < half + 16]
    # Variation: each recurrence changes some pitches and splits or merges some notes.
    var_rng = random.Random(plan.seed * 31 + occ * 977 + b * 7 + len(kind))
    pos = prev
    last_phrase_bar = b == nbars - 1 or (b % 4 == 3)
    for s, length, move in cells:
        move2 = move
        if occ > 1 and var_rng.random() < 0.3 + 0.1 * occ:
            move2 = move + var_rng.choice((-2, -1, 1, 2))
        target = pos + move2
        target = max(-2, min(8, target))
        # Snap strong beats to chord tones.
        if (s % 8 == 0) or length >= 4:
            target = _nearest_chord_tone(target, steps, chord_pcs, plan.tonic_midi)
        pos = target
        local = s - half
        dur = length
        if last_phrase_bar and local >= 8:
            dur = 16 - local
            pos = _nearest_chord_tone(pos, steps, chord_pcs, plan.tonic_midi)
        pitch = base + 12 * (pos // 7) + steps[pos % 7]
        vel = 0.62 + (0.12 if s % 8 == 0 else 0) + 0.04 * energy
        if occ > 1 and var_rng.random() < 0.2 and dur >= 2:
            # Ornament: a quick neighbour note before the main one.
            ctx.add("lead", step0 + local, 1, pitch + (2 if var_rng.random() < 0.5 else -1),
                    vel * 0.8)
            ctx.add("lead", step0 + local + 1, dur - 1, pitch, vel)
        else:
            ctx.add("lead", step0 + local, dur, pitch, vel)
        if "counter" in roles and energy >= 2:
            ctx.add("counter", step0 + local, dur, pitch - 12, vel * 0.6)
        if last_phrase_bar and local >= 8:
            break
    return pos


def _nearest_chord_tone(pos: int, steps: tuple[int, ...], chord_pcs: set[int], tonic: int) -> int:
    for delta in (0, -1, 1, -2, 2, 3, -3):
        cand = pos + delta
        if (tonic + steps[cand % 7]) % 12 in chord_pcs:
            return cand
    return pos


def _play_drums(
    ctx: _Ctx, style: StyleSpec, kit: str, step0: int, energy: int, fill: bool, kind: str,
    crash: bool,
) -> None:
    family = style.drums or "light"
    if kit == "light percussion" and style.drums == "":
        family = "light"
    pattern = _DRUM_PATTERNS[family]
    for drum, row in pattern.items():
        if energy == 0 and drum in (KICK, SNARE, CLAP, TOM):
            continue
        if kind == "bridge" and drum == KICK and family in ("house", "synthwave"):
            continue  # breakdown
        if energy == 1 and drum in (SHAKER, CLAP) and family == "house":
            continue
        for s, ch in enumerate(row):
            if ch == "." or (fill and s >= 12 and drum in (HAT, RIDE, SHAKER)):
                continue
            ctx.add("drums", step0 + s, 1, drum, int(ch) / 9 * (0.85 + 0.05 * energy))
    if fill and family != "light":
        for s in (12, 13, 14, 15):
            ctx.add("drums", step0 + s, 1, SNARE if family not in ("cinematic", "folk") else TOM,
                    0.45 + 0.1 * (s - 12))
    if crash and family not in ("jazz", "light", "folk"):
        ctx.add("drums", step0, 4, CRASH, 0.6)
