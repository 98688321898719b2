"""Follow-up actions on a finished piece (``extend``, ``cover``, ``add_vocals``, ``stems``).

A track is rebuilt from its *lineage*: the generation it came from (``base``: the text the
composer heard, the length, the instrumental flag and the take's variation) and the actions
applied since (``steps``, each the action's body plus the ``take`` it made). :func:`piece_of`
turns a lineage into a :class:`Piece` (a render plan and every note on a timeline), and
:func:`render_lineage` renders one track of an action job to file bytes. Nothing but the
lineage is needed, so a later process renders the same track again.

* ``extend``: the parent's notes up to ``continueAt`` are kept and the rest of a longer
  composition of the same plan (same tempo, key, metre, style and instruments; a new seed per
  take, so a new take of what comes next) follows, on the same timeline, so beats and ringing
  notes carry on. The extension is that timeline from the parent's sample
  ``round(continueAt * rate)`` on, levelled with the parent's gain, and crossfaded from the
  parent's own audio over its first 100 ms: its first sample is the parent's sample there, so
  the whole song (parent up to ``continueAt``, then the extension) has no step at the join.
* ``cover``: the parent's notes (melody, harmony, bass, timing) played by the band of the
  style the prompt or ``style`` names, with that style's textures and room.
* ``add_vocals``: a sung line (the formant ``voice``) over the parent, one note per syllable of
  the lyrics (syllables counted as vowel groups), pitched on the melody sounding at that moment.
* ``stems``: the parent's voice parts and everything else, rendered apart and mastered with the
  parent's one set of fades, gain and limiter curve, so they add up to the parent.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from ..catalog import OUTPUT_FORMATS
from ._compose import MusicPlan, Note, plan_music
from ._encode import encode_mp3, encode_wav
from ._score import compose_score
from ._synth import PEAK_CEILING_DBFS, master, mix_score

__all__ = ["ACTIONS", "Piece", "Rendered", "piece_of", "render_lineage", "render_piece",
           "syllables"]

Audio = npt.NDArray[np.float32]
ACTIONS = ("extend", "cover", "add_vocals", "stems")
#: The instrument of sung parts: what the vocal stem holds.
VOICE = "voice"
CROSSFADE_S = 0.1
_FADE_IN_S = 0.01
_VOCAL_RANGE = (57, 72)
_TAG_LINE = re.compile(r"^\s*[\[(].*[\])]\s*$")
_VOWEL_GROUP = re.compile(r"[aeiouy]+")
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


@dataclass(frozen=True)
class Piece:
    """One track as notes on a timeline.

    ``plan`` says how notes are rendered (band, textures, room, timbre seed) and what a longer
    composition of the same music would be (``text``, ``variation``, ``force_instrumental``
    re-plan it); ``score`` is every note on the timeline; the track is the timeline from
    ``origin`` (seconds, kept as the sum of the continue points so samples add up exactly) for
    ``track_ms``. ``join`` is the piece an extension continues and where (seconds into its
    track): the extension starts with a crossfade from it and takes its gain.
    """

    text: str
    variation: int
    force_instrumental: bool
    plan: MusicPlan
    score: tuple[Note, ...]
    origin: tuple[float, ...]
    track_ms: int
    join: tuple[Piece, float] | None = None

    def origin_samples(self, sr: int) -> int:
        return sum(round(part * sr) for part in self.origin)

    def origin_s(self) -> float:
        return sum(self.origin)


@dataclass(frozen=True)
class Rendered:
    """A track rendered as its two stems (float32, shape ``(2, n)``, mastered) and its gain.

    ``vocals`` is ``None`` for a piece with no sung part (a silent stem, never allocated)."""

    vocals: Audio | None
    instrumental: Audio
    gain: float

    def mix(self) -> Audio:
        ceiling = np.float32(10 ** (PEAK_CEILING_DBFS / 20))
        both = self.instrumental if self.vocals is None else self.vocals + self.instrumental
        out: Audio = np.clip(both, -ceiling, ceiling)
        return out

    def vocal_stem(self) -> Audio:
        if self.vocals is None:
            return np.zeros_like(self.instrumental)
        return self.vocals


def syllables(lyrics: str) -> list[list[int]]:
    """Syllable counts of the lyrics' words, one list per sung line (vowel groups, a final
    silent ``e`` not counted; at least one per word). Lines that are only a tag such as
    ``[Chorus]`` are not sung."""
    lines: list[list[int]] = []
    for line in lyrics.splitlines():
        if _TAG_LINE.match(line):
            continue
        words = [_syllable_count(w.lower()) for w in _WORD.findall(line)]
        if words:
            lines.append(words)
    return lines


def _syllable_count(word: str) -> int:
    """Vowel groups, less a silent final ``e`` (``home``, not ``little``); at least one."""
    groups = len(_VOWEL_GROUP.findall(word))
    if groups > 1 and word.endswith("e") and not word.endswith(("le", "ee")):
        groups -= 1
    return max(1, groups)


def _seed(*parts: object) -> int:
    digest = hashlib.sha256(json.dumps(parts, default=str).encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def _base(base: Mapping[str, Any]) -> Piece:
    text = str(base["text"])
    variation = int(base["variation"])
    instrumental = bool(base["force_instrumental"])
    length_ms = int(base["length_ms"])
    plan = plan_music(text, length_ms=length_ms, force_instrumental=instrumental,
                      variation=variation)
    return Piece(text, variation, instrumental, plan, compose_score(plan), (0.0,), length_ms)


def _composing_plan(piece: Piece, length_ms: int, seed: int) -> MusicPlan:
    """The plan of a longer composition of ``piece``'s music: its form laid out to
    ``length_ms``, its band and style as they are now (after a cover, the cover's), a new seed."""
    fresh = plan_music(piece.text, length_ms=length_ms,
                       force_instrumental=piece.force_instrumental, variation=piece.variation)
    now = piece.plan
    roles = tuple((role, inst) for role, inst in now.roles if role != "vocal")
    return replace(fresh, style=now.style, style_label=now.style_label, roles=roles,
                   instruments=tuple(dict.fromkeys(inst for _, inst in roles)),
                   drums=any(role == "drums" for role, _ in roles), swing=now.swing,
                   textures=now.textures, reverb=now.reverb, tempo_bpm=now.tempo_bpm,
                   key=now.key, mode=now.mode, tonic_midi=now.tonic_midi, metre=now.metre,
                   # A continuation stays in the parent's key: no section of it modulates.
                   section_shifts=(0,) * len(fresh.sections), seed=seed)


def extend(parent: Piece, continue_at: float, take: int) -> Piece:
    """The continuation of ``parent`` from ``continue_at`` seconds into its track (see the
    module docstring); as long as the parent's track."""
    join_s = parent.origin_s() + continue_at
    whole_ms = math.ceil(join_s * 1000) + parent.track_ms
    composing = _composing_plan(
        parent, whole_ms, _seed("extend", parent.plan.seed, continue_at, take))
    kept = [n for n in parent.score if n.start_s < join_s]
    new = [n for n in compose_score(composing) if n.start_s >= join_s]
    plan = replace(composing, roles=parent.plan.roles, instruments=parent.plan.instruments,
                   seed=parent.plan.seed)
    return Piece(parent.text, parent.variation, parent.force_instrumental, plan,
                 tuple(kept + new), (*parent.origin, continue_at), parent.track_ms,
                 join=(parent, continue_at))


def cover(parent: Piece, style_text: str, take: int) -> Piece:
    """``parent``'s notes played by the band of the style ``style_text`` names."""
    target = plan_music(style_text, length_ms=max(1000, parent.track_ms),
                        variation=_seed("cover", parent.plan.seed, take) % 1_000_000 + 1)
    theirs = dict(target.roles)
    mine = dict(parent.plan.roles)
    fallback = theirs.get("chords") or theirs.get("pad") or theirs.get("lead") or "piano"
    roles: dict[str, str] = {}
    for role, inst in mine.items():
        if inst == VOICE:
            roles[role] = VOICE  # a cover is sung again
        elif role == "drums":
            if "drums" in theirs:
                roles[role] = theirs["drums"]
        elif role == "lead":
            roles[role] = next((theirs[r] for r in ("lead", "counter") if
                                r in theirs and theirs[r] != VOICE), fallback)
        else:
            roles[role] = theirs.get(role) or fallback
    score = tuple(n for n in parent.score if n.part in roles)
    plan = replace(parent.plan, style=target.style, style_label=target.style_label,
                   roles=tuple(roles.items()), instruments=tuple(dict.fromkeys(roles.values())),
                   drums="drums" in roles, textures=target.textures, reverb=target.reverb,
                   seed=target.seed)
    return replace(parent, plan=plan, score=score, join=None)


def add_vocals(parent: Piece, lyrics: str, take: int) -> Piece:
    """``parent`` with a sung line over it: one note per syllable, on the beat (on the half or
    quarter beat when the lyrics are many; what still does not fit is left unsung), a breath
    between lines, from the second bar to the last; each note takes the pitch of the melody
    sounding then, moved into a singer's range."""
    plan = parent.plan
    origin = parent.origin_s()
    track_s = parent.track_ms / 1000
    start = origin + min(plan.bar_s, track_s / 4)
    end = origin + track_s - min(plan.bar_s, track_s / 8)
    lines = syllables(lyrics) or [[1]]
    count = sum(sum(words) for words in lines) + len(lines)
    slot = plan.beat_s
    while count * slot > end - start and slot > plan.beat_s / 4:
        slot /= 2
    melodic = {"lead": 0, "counter": 1, "chords": 2, "pad": 3}
    pitched = sorted((n for n in parent.score if n.part in melodic),
                     key=lambda n: (melodic[n.part], -n.pitch))
    tonic = plan.tonic_midi
    notes: list[Note] = []
    t = start
    shape = _seed("add_vocals", plan.seed, lyrics, take)
    for words in lines:
        for index in range(sum(words)):
            if t + slot > end:
                break
            sounding = next((n for n in pitched if n.start_s <= t < n.start_s + n.dur_s), None)
            pitch = sounding.pitch if sounding is not None else tonic
            if sounding is None or sounding.part != "lead":
                # Off the tune: a neighbouring chord tone, varied per take.
                pitch += (0, 0, 3, 4, -3)[(shape >> (index % 16)) % 5]
            low, high = _VOCAL_RANGE
            while pitch < low:
                pitch += 12
            while pitch > high:
                pitch -= 12
            notes.append(Note("vocal", round(t, 6), round(slot * 0.9, 6), pitch, 0.8))
            t += slot
        t += slot
    roles = (*tuple(r for r in plan.roles if r[0] != "vocal"), ("vocal", VOICE))
    sung = replace(plan, roles=roles, instruments=tuple(dict.fromkeys(i for _, i in roles)),
                   sung_lead=True)
    score = tuple(sorted((*parent.score, *notes), key=lambda n: (n.start_s, n.part, n.pitch)))
    return replace(parent, plan=sung, score=score, join=None)


def piece_of(lineage: Mapping[str, Any]) -> Piece:
    """The piece a lineage describes: its base generation, then each step (every step carries
    its ``take``). A ``stems`` step changes nothing: its tracks are the parent's two stems."""
    piece = _base(lineage["base"])
    for step in lineage.get("steps", ()):
        action, take = step["action"], int(step["take"])
        if action == "extend":
            at = step.get("continueAt")
            piece = extend(piece, float(at) if at is not None else piece.track_ms / 1000, take)
        elif action == "cover":
            text = " ".join(str(step[k]) for k in ("style", "prompt") if step.get(k)).strip()
            piece = cover(piece, text or piece.text, take)
        elif action == "add_vocals":
            piece = add_vocals(piece, str(step.get("prompt") or ""), take)
    return piece


def render_piece(piece: Piece, sr: int) -> Rendered:
    """The track of ``piece`` as two mastered stems (voice parts, the rest) that add up to it."""
    n = piece.track_ms * sr // 1000
    origin = piece.origin_samples(sr)
    roles = dict(piece.plan.roles)
    voiced = [note for note in piece.score if note.part != "drums" and roles[note.part] == VOICE]
    rest = [note for note in piece.score if note.part == "drums" or roles[note.part] != VOICE]
    # The timeline, just long enough for the track's last sample (for a generation exactly its
    # own length, so the vinyl crackle falls where it did).
    plan = replace(piece.plan, length_ms=-(-(origin + n) * 1000 // sr))

    def stem(notes: Sequence[Note], crackle: bool) -> Audio:
        out: Audio = mix_score(plan, notes, sr, crackle=crackle)[:, origin : origin + n].copy()
        return out

    before = render_piece(piece.join[0], sr) if piece.join is not None else None
    cut = round(piece.join[1] * sr) if piece.join is not None else 0
    left = 0 if before is None else before.instrumental.shape[1] - cut
    # An extension takes its parent's level; it fades in only where the parent has ended.
    level = None if before is None else before.gain
    fade_in = before is None or left < int(_FADE_IN_S * sr)
    instrumental = stem(rest, True)
    vocals: Audio | None = None
    if voiced:
        vocals = stem(voiced, False)
        gain = master(vocals + instrumental, sr, stems=(vocals, instrumental), gain=level,
                      fade_in=fade_in)
    else:
        gain = master(instrumental, sr, gain=level, fade_in=fade_in)
    if before is not None:
        width = max(0, min(int(CROSSFADE_S * sr), left, n))
        if width and (vocals is not None or before.vocals is not None):
            vocals = vocals if vocals is not None else np.zeros_like(instrumental)
        fade = np.cos(np.linspace(0.0, math.pi, width, dtype=np.float32)) * 0.5 + 0.5
        pairs = [(instrumental, before.instrumental)]
        if vocals is not None:
            pairs.append((vocals, before.vocal_stem()))
        for own, theirs in pairs:
            own[:, :width] = theirs[:, cut : cut + width] * fade + own[:, :width] * (1 - fade)
    return Rendered(vocals, instrumental, gain)


def _stems_bytes(lineage: Mapping[str, Any], fmt_name: str) -> tuple[bytes, bytes]:
    """Both stems of a stems job as file bytes: the vocals, the instrumental."""
    fmt = OUTPUT_FORMATS[fmt_name]
    rendered = render_piece(piece_of(lineage), fmt.sample_rate)
    return (_encode(rendered.vocal_stem(), fmt_name), _encode(rendered.instrumental, fmt_name))


def _encode(audio: Audio, fmt_name: str) -> bytes:
    fmt = OUTPUT_FORMATS[fmt_name]
    if fmt.container == "mp3":
        return encode_mp3(audio, fmt.sample_rate, fmt.bitrate_kbps or 192)
    return bytes(encode_wav(audio, fmt.sample_rate))


@functools.lru_cache(maxsize=4)
def _stems_cached(lineage_json: str, fmt_name: str) -> tuple[bytes, bytes]:
    # Both tracks of a stems job come from one rendering; the encoded files are kept, not the
    # samples, so the cache stays small.
    return _stems_bytes(json.loads(lineage_json), fmt_name)


def render_lineage(lineage: Mapping[str, Any], take: int, output_format: str) -> bytes:
    """File bytes of track ``take`` of an action job whose lineage (its last step without a
    take) is ``lineage``: for ``stems``, take 0 is the vocals and take 1 the instrumental."""
    steps = [dict(s) for s in lineage.get("steps", ())]
    if steps and steps[-1]["action"] == "stems":
        steps[-1]["take"] = 0
        key = json.dumps({"base": lineage["base"], "steps": steps}, sort_keys=True)
        return _stems_cached(key, output_format)[0 if take == 0 else 1]
    if steps:
        steps[-1]["take"] = take
    rendered = render_piece(piece_of({"base": lineage["base"], "steps": steps}),
                            OUTPUT_FORMATS[output_format].sample_rate)
    return _encode(rendered.mix(), output_format)
