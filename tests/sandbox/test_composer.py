"""The sandbox composer's plan and score: prompt words steer style, tempo, key, band, structure.

These run on the plan and the note list only (no audio), so they are fast. Audio-level checks
(measured tempo, spectra, formats, levels) are in test_sandbox_audio.py.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import subprocess
import sys

import pytest

from apiframe_magic.sandbox._audio import compose_score, plan_music
from apiframe_magic.sandbox._compose import MODE_STEPS, NOTE_NAMES, STYLES


def plan(prompt: str, length_ms: int = 60_000, **kw: bool):  # type: ignore[no-untyped-def]
    return plan_music(prompt, length_ms=length_ms, **kw)


def score_digest(prompt: str, length_ms: int = 60_000) -> str:
    p = plan(prompt, length_ms)
    notes = [(n.part, n.start_s, n.dur_s, n.pitch, n.velocity) for n in compose_score(p)]
    return hashlib.sha256(json.dumps([p.to_dict(), notes]).encode()).hexdigest()


@pytest.mark.parametrize(
    ("prompt", "style"),
    [
        ("lo-fi hip hop beats to study and relax to", "lofi"),
        ("chill lofi beat with jazzy chords", "lofi"),
        ("80s synthwave night drive with neon vibes", "synthwave"),
        ("epic orchestral film score for a battle scene", "cinematic"),
        ("cinematic trailer music", "cinematic"),
        ("calm ambient drone for meditation", "ambient"),
        ("deep house track for the club", "house"),
        ("hard techno rave", "techno"),
        ("EDM festival banger", "house"),
        ("8-bit chiptune level music for a retro video game", "chiptune"),
        ("indie rock song with jangly guitars", "indie"),
        ("upbeat indie pop", "indie"),
        ("smooth jazz trio in a late-night lounge", "jazz"),
        ("solo piano nocturne in the style of Chopin", "piano"),
        ("classical piano sonata", "piano"),
        ("acoustic folk song around a campfire", "folk"),
        ("country bluegrass with banjo", "bluegrass"),
    ],
)
def test_style_families_are_chosen_by_the_words_people_write(prompt: str, style: str) -> None:
    assert plan(prompt).style == style


def test_there_are_at_least_thirty_style_families() -> None:
    assert len(STYLES) >= 30


def test_a_prompt_naming_no_style_still_gets_a_coherent_plan_from_its_seed() -> None:
    styles = {plan(f"a piece of music number {i}").style for i in range(40)}
    assert len(styles) >= 5  # spread over the families by seed
    p = plan("something for my afternoon")
    assert p.style in STYLES
    assert p.instruments and p.sections and 40 <= p.tempo_bpm <= 240


@pytest.mark.parametrize("bpm", [64, 97, 128, 174])
def test_explicit_bpm_is_honoured(bpm: int) -> None:
    assert plan(f"lofi hip hop at {bpm} bpm").tempo_bpm == bpm
    assert plan(f"chiptune, {bpm}bpm, upbeat").tempo_bpm == bpm


def test_tempo_words_move_the_tempo() -> None:
    for style_words in ("lofi hip hop", "jazz", "folk song", "synthwave"):
        slow = plan(f"slow {style_words}").tempo_bpm
        mellow = plan(f"mellow {style_words}").tempo_bpm
        upbeat = plan(f"upbeat {style_words}").tempo_bpm
        driving = plan(f"driving {style_words}").tempo_bpm
        assert slow < mellow < upbeat <= driving, style_words


@pytest.mark.parametrize(
    ("prompt", "key", "mode"),
    [
        ("piano piece in D minor", "D", "minor"),
        ("synthwave in F# major", "F#", "major"),
        ("ambient pads in Bb minor", "Bb", "minor"),
        ("folk tune in the key of G", "G", None),
        ("jazz ballad in Eb major", "Eb", "major"),
        ("house track in A minor", "A", "minor"),
        ("happy lofi hip hop in C", "C", "major"),
    ],
)
def test_explicit_key_is_honoured(prompt: str, key: str, mode: str | None) -> None:
    p = plan(prompt)
    assert p.key == key
    if mode:
        assert p.mode == mode


def test_mood_words_pick_the_mode() -> None:
    for style_words in ("lofi hip hop", "synthwave", "folk", "orchestral", "piano", "house"):
        assert plan(f"happy uplifting {style_words}").mode == "major"
        assert plan(f"dark sad {style_words}").mode == "minor"
    assert plan("epic orchestral battle").mode == "minor"


def test_named_instruments_join_the_band() -> None:
    assert "flute" in plan("lofi hip hop with a flute").instruments
    assert dict(plan("lofi hip hop with a flute").roles)["lead"] == "flute"
    assert "strings" in plan("house track with strings").instruments
    assert "brass" in plan("synthwave with brass").instruments
    assert "bells" in plan("indie rock with bells").instruments
    assert "piano" in plan("house with piano").instruments
    assert "guitar" in plan("synthwave with guitar").instruments
    assert "pads" in plan("jazz trio with pads").instruments
    assert any("bass" in i for i in plan("ambient with bass").instruments)
    assert plan("calm piano with drums").drums


def test_no_drums_and_solo_piano() -> None:
    for prompt in ("calm ambient with pads, no drums", "piano, without percussion",
                   "house track with no drums", "drumless chiptune"):
        assert not plan(prompt).drums, prompt
    p = plan("lofi hip hop, no drums")
    assert not p.drums and "drums" not in p.instruments
    assert all(n.part != "drums" for n in compose_score(p))
    solo = plan("solo piano, sad, in E minor")
    assert solo.instruments == ("piano",)
    assert {n.part for n in compose_score(solo)} <= {"chords", "lead"}


def test_textures() -> None:
    assert "vinyl crackle" in plan("jazz with vinyl crackle").textures
    assert "lo-fi" in plan("dusty lo-fi piano").textures
    wet = plan("folk song with lots of reverb")
    dry = plan("folk song")
    assert "reverb" in wet.textures and wet.reverb > dry.reverb


def test_sung_lead_only_when_vocals_are_asked_for_and_allowed() -> None:
    for prompt in ("pop song with female vocals", "folk tune with singing",
                   "ambient with a choir voice", "lofi with a singer"):
        assert plan(prompt).sung_lead, prompt
        assert dict(plan(prompt).roles)["lead"] == "voice"
        forced = plan(prompt, force_instrumental=True)
        assert not forced.sung_lead and "voice" not in forced.instruments
    assert not plan("indie rock with guitars").sung_lead


@pytest.mark.parametrize("length_ms", [5_000, 7_000, 30_000, 61_000, 180_000, 300_000])
def test_sections_cover_the_whole_length_and_end_with_an_outro(length_ms: int) -> None:
    for prompt in ("lofi hip hop", "chiptune 160 bpm", "slow ambient", "jazz"):
        p = plan(prompt, length_ms)
        secs = p.sections
        assert secs[0][1] == 0.0
        assert secs[-1][2] == length_ms / 1000
        assert secs[-1][0] == "outro"
        for (_, _, end), (_, start, _) in itertools.pairwise(secs):
            assert end == start
        if length_ms >= 30_000:
            assert secs[0][0] == "intro"


def test_long_pieces_have_recurring_sections_that_vary() -> None:
    p = plan("upbeat indie pop with guitars", 180_000)
    names = [name for name, _, _ in p.sections]
    assert sum(n.startswith("chorus") for n in names) >= 2
    assert sum(n.startswith("verse") for n in names) >= 2
    score = compose_score(p)
    by_section: dict[str, list[tuple[float, int, float]]] = {}
    for name, start, end in p.sections:
        # Onsets on the sixteenth grid (the melody's timing is humanized by a few ms).
        by_section[name] = [(round((n.start_s - start) / (p.beat_s / 4)), n.pitch, n.dur_s)
                            for n in score if n.part == "lead" and start <= n.start_s < end]
    chorus = [by_section[n] for n in names if n.startswith("chorus")]
    assert chorus[0] and chorus[1]
    assert chorus[0] != chorus[1]  # recurs with variation, not pasted verbatim
    # ...but clearly the same tune: most of the rhythm is shared.
    onsets0 = {t for t, _, _ in chorus[0]}
    onsets1 = {t for t, _, _ in chorus[1]}
    assert len(onsets0 & onsets1) >= 0.5 * min(len(onsets0), len(onsets1))


def test_the_piece_ends_on_the_tonic() -> None:
    for prompt in ("sad piano in D minor", "happy folk in G major", "synthwave in A minor"):
        p = plan(prompt, 40_000)
        score = compose_score(p)
        tonic = NOTE_NAMES.index(p.key)
        last_start = max(n.start_s for n in score if n.part != "drums")
        final = {n.pitch % 12 for n in score if n.part != "drums" and n.start_s == last_start}
        assert tonic in final
        chord = {(tonic + MODE_STEPS[p.mode][i]) % 12 for i in (0, 2, 4, 6)}
        assert final <= chord
        # ...approached from the dominant: the bar before the last has V in the bass.
        bar = p.bar_s
        before = [n for n in score if n.part in ("bass", "chords")
                  and last_start - bar - 1e-6 <= n.start_s < last_start - 1e-6]
        dominant = (tonic + 7) % 12
        assert min(before, key=lambda n: n.pitch).pitch % 12 == dominant


def test_plan_to_dict_is_json_able() -> None:
    d = plan("lofi hip hop with vocals").to_dict()
    again = json.loads(json.dumps(d))
    assert again["style"] == "lofi" and again["sung_lead"] is True
    assert {"style", "tempo_bpm", "key", "mode", "instruments", "sections", "sung_lead",
            "seed"} <= set(d)


def test_plans_are_deterministic_and_prompt_normalized() -> None:
    a = score_digest("Lo-fi   hip hop with Vinyl crackle")
    assert a == score_digest("lo-fi hip hop with vinyl crackle")
    assert a != score_digest("lo-fi hip hop with vinyl crackle!")
    p = plan("lo-fi hip hop with vinyl crackle")
    digest = hashlib.sha256(b"lo-fi hip hop with vinyl crackle").digest()
    assert p.seed == int.from_bytes(digest[:8], "big") >> 1


def test_different_prompts_give_different_plans() -> None:
    prompts = ["lofi hip hop", "lofi hip hop beat", "jazz", "jazz trio", "ambient", "rain"]
    digests = {score_digest(p) for p in prompts}
    assert len(digests) == len(prompts)


def test_score_is_independent_of_python_hash_randomization() -> None:
    code = (
        "import hashlib, json;"
        "from apiframe_magic.sandbox._audio import compose_score, plan_music;"
        "p = plan_music('dark synthwave with vocals', length_ms=45000);"
        "n = [(x.part, x.start_s, x.dur_s, x.pitch, x.velocity) for x in compose_score(p)];"
        "print(hashlib.sha256(json.dumps([p.to_dict(), n]).encode()).hexdigest())"
    )
    outs = {
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                       env={**os.environ, "PYTHONHASHSEED": seed}).stdout.strip()
        for seed in ("0", "12345")
    }
    assert len(outs) == 1
    assert outs == {score_digest("dark synthwave with vocals", 45_000)}


# The plan and every note of one reference prompt, pinned: the same on every platform and
# Python version. If you change the composer on purpose, update both values.
GOLDEN_PLAN = ("synthwave", 109.0, "A", "minor")
GOLDEN_SCORE = "173d8f153719d57db5139706078faedb01106704ebf41b4bc95d9c6a402bf44a"


def test_the_reference_plan_and_score_are_pinned() -> None:
    p = plan("dark synthwave with vocals", 45_000)
    assert (p.style, p.tempo_bpm, p.key, p.mode) == GOLDEN_PLAN
    assert score_digest("dark synthwave with vocals", 45_000) == GOLDEN_SCORE


def test_takes_of_one_prompt_differ_but_keep_what_the_prompt_names() -> None:
    """A multi-track job's takes are audibly different pieces in the style the prompt asked for;
    take 0 is the prompt's own plan, so single-track jobs are unchanged."""
    from apiframe_magic.sandbox._audio import plan_music

    prompt = "lofi hip hop beat for studying"
    plans = [plan_music(prompt, length_ms=30_000, variation=v) for v in range(3)]
    assert plans[0] == plan_music(prompt, length_ms=30_000)
    assert {p.style for p in plans} == {plans[0].style}
    summaries = {(p.tempo_bpm, p.key, p.mode, p.seed) for p in plans}
    assert len(summaries) == 3
    assert plan_music(prompt, length_ms=30_000, variation=2) == plans[2]
