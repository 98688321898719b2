"""The sandbox's musical range, judged from the audio: styles, instruments, metre, form, takes.

The prompts here appear nowhere else in the project. Plan-level checks say what the composer
decided; the audio checks measure what a listener would hear with numpy features written here
(onset envelope, accent periodicity, band energies, envelope sustain, chroma) and with librosa
as an independent beat tracker. Renders are short (6-20 s at 22050 Hz) except one 300 s track
for the monotony check; shared renders live in module-scoped fixtures. Nothing is timed.
"""

from __future__ import annotations

import functools
import itertools
import math
import warnings

import numpy as np
import numpy.typing as npt
import pytest

from apiframe_magic.sandbox._audio import plan_music, render_audio, render_pcm
from apiframe_magic.sandbox._instruments import INSTRUMENT_WORDS
from apiframe_magic.sandbox._styles import FALLBACK, NEUTRAL, STYLES
from apiframe_magic.sandbox._synth import VOICES

SR = 22050
HOP = 256
Mono = npt.NDArray[np.float64]


@functools.lru_cache(maxsize=256)
def mono(prompt: str, length_ms: int = 20_000, variation: int = 0) -> Mono:
    x = render_pcm(prompt, length_ms=length_ms, sample_rate=SR, variation=variation)
    return x.mean(axis=0).astype(np.float64)


def onset_envelope(y: Mono, max_hz: float = SR / 2) -> Mono:
    """Half-wave-rectified log spectral flux (of the bins below ``max_hz``), one value per
    ``HOP`` samples."""
    win = 1024
    frames = 1 + (len(y) - win) // HOP
    idx = np.arange(win)[None, :] + HOP * np.arange(frames)[:, None]
    mag = np.abs(np.fft.rfft(y[idx] * np.hanning(win), axis=1))
    mag = mag[:, np.fft.rfftfreq(win, 1 / SR) < max_hz]
    flux = np.maximum(0.0, np.diff(np.log1p(100 * mag), axis=0)).sum(axis=1)
    out: Mono = np.maximum(0.0, flux - np.convolve(flux, np.ones(32) / 32, mode="same"))
    return out


#: Envelope value ``i`` measures the change into STFT frame ``i + 1``, centred half a window
#: later: its time in hops.
LATENCY = 1 + 512 / HOP


def beat_strengths(y: Mono, bpm: float, skip_s: float = 2.0) -> Mono:
    """Low-band onset strength (the bass and kick that mark a bar's downbeat) at each beat of
    the plan's tempo (beat grid aligned to bar 1 at t=0)."""
    env = onset_envelope(y, max_hz=400)
    fps = SR / HOP
    period = 60.0 / bpm * fps
    first = math.ceil(skip_s * fps / period)
    out = []
    k = first
    while (k + 1) * period + 3 < len(env):
        c = round(k * period - LATENCY)
        out.append(float(env[max(0, c - 2) : c + 3].max()))
        k += 1
    return np.array(out)


def phase_profile(y: Mono, bpm: float, bins: int = 12) -> Mono:
    """Mean onset strength by position inside the beat (``bins`` phases per beat)."""
    env = onset_envelope(y)
    fps = SR / HOP
    period = 60.0 / bpm * fps
    t = np.arange(len(env)) + LATENCY  # frame index -> time in frames
    phase = ((t / period) % 1.0 * bins).round().astype(int) % bins
    start = int(2 * fps)
    prof = np.bincount(phase[start:], weights=env[start:], minlength=bins)
    counts = np.bincount(phase[start:], minlength=bins).clip(1)
    out: Mono = prof / counts
    return out


def autocorr(x: Mono, lag: int) -> float:
    x = x - x.mean()
    return float(np.dot(x[:-lag], x[lag:]) / (np.dot(x, x) + 1e-12))


def timbre_vector(y: Mono) -> Mono:
    """Log band energies (28 log-spaced bands, level-normalized) plus envelope shape."""
    win = 2048
    frames = 1 + (len(y) - win) // 512
    idx = np.arange(win)[None, :] + 512 * np.arange(frames)[:, None]
    spec = np.abs(np.fft.rfft(y[idx] * np.hanning(win), axis=1)) ** 2
    freqs = np.fft.rfftfreq(win, 1 / SR)
    edges = np.geomspace(60, 10_000, 29)
    bands = np.stack([spec[:, (freqs >= a) & (freqs < b)].sum(axis=1)
                      for a, b in itertools.pairwise(edges)], axis=1)
    total = bands.sum(axis=0)
    logb = np.log10(total / total.sum() + 1e-9)
    rms = np.sqrt(spec.sum(axis=1))
    loud = rms[rms > 0.05 * rms.max()]
    sustain = float(np.median(loud) / np.percentile(loud, 95))
    flux = np.maximum(0.0, np.diff(np.log1p(spec[:, freqs < 8000]), axis=0)).mean()
    out: Mono = np.concatenate([logb, [4 * sustain, 2 * math.log10(flux + 1e-9)]])
    return out


def band_share(y: Mono, lo: float, hi: float) -> float:
    spec = np.abs(np.fft.rfft(y)) ** 2
    freqs = np.fft.rfftfreq(len(y), 1 / SR)
    return float(spec[(freqs >= lo) & (freqs < hi)].sum() / spec.sum())


# --- styles -----------------------------------------------------------------------------------

#: Prompts of our own (one or more per family) and the family each must get.
STYLE_PROMPTS = {
    "rainy sunday lofi with a mellow rhodes": "lofi",
    "90s boom bap instrumental for a rapper": "hiphop",
    "hard drill beat with heavy 808s": "trap",
    "late night neo-soul slow jam": "rnb",
    "slap bass funk jam": "funk",
    "roller disco night with strings": "disco",
    "catchy k-pop chorus": "pop",
    "jangly indie guitar song about summer": "indie",
    "classic rock anthem with a guitar solo": "rock",
    "thrash metal riff in E minor": "metal",
    "fast pop-punk skate song": "punk",
    "tech house groove for a warehouse party": "house",
    "dark berlin techno": "techno",
    "euphoric uplifting trance": "trance",
    "liquid drum and bass": "dnb",
    "filthy dubstep drop": "dubstep",
    "outrun night drive": "synthwave",
    "deep space ambient drone": "ambient",
    "nes boss music in 8-bit": "chiptune",
    "jrpg overworld theme": "game",
    "cool jazz quartet in a smoky club": "jazz",
    "1940s big band dance": "swing",
    "bossa nova by the sea": "bossa",
    "slow chicago blues shuffle": "blues",
    "sunday morning gospel with a choir": "gospel",
    "roots reggae one drop": "reggae",
    "havana salsa with congas": "latin",
    "passionate flamenco guitar": "flamenco",
    "argentine tango for two dancers": "tango",
    "afrobeat groove with horns": "afrobeat",
    "calypso steel drum party": "caribbean",
    "bollywood dance number with sitar": "indian",
    "arabic oud improvisation": "middle_eastern",
    "japanese koto garden": "asian",
    "irish jig at the pub": "celtic",
    "honky tonk country song": "country",
    "appalachian bluegrass breakdown": "bluegrass",
    "fingerpicking folk song": "folk",
    "romantic chopin nocturne": "piano",
    "string quartet in the style of haydn": "chamber",
    "bach harpsichord invention": "baroque",
    "sweeping symphonic film music": "cinematic",
    "epic trailer with taiko drums": "trailer",
    "viennese waltz": "waltz",
    "gregorian chant in a cathedral": "choral",
    "a lullaby for a sleepy baby": "lullaby",
    "sousa marching band": "march",
}


def test_there_are_at_least_thirty_style_families_covering_the_common_genres() -> None:
    assert len(STYLES) >= 30
    assert set(STYLE_PROMPTS.values()) == set(STYLES)  # every family is reachable


@pytest.mark.parametrize(("prompt", "style"), sorted(STYLE_PROMPTS.items()))
def test_each_family_is_picked_by_what_people_type(prompt: str, style: str) -> None:
    assert plan_music(prompt, length_ms=30_000).style == style


@pytest.mark.parametrize(
    ("prompt", "style"),
    [
        ("something to focus on while studying", "lofi"),
        ("music for a baby's bedtime", "lullaby"),
        ("a lazy afternoon at the beach", "reggae"),
        ("floating through outer space", "ambient"),
        ("a sad, reflective piece", "piano"),
        ("a tense horror scene", "trailer"),
        ("a happy, playful tune", "pop"),
        ("workout motivation", "house"),
        ("a dragon and a kingdom story", "cinematic"),
        ("a melody on the violin", "chamber"),
        ("a cello and a harp", "chamber"),
        ("saxophone at midnight", "jazz"),
        ("harmonica by the railroad", "blues"),
        ("grumpy accordion", "tango"),
    ],
)
def test_a_prompt_naming_no_family_is_placed_by_its_other_words(prompt: str, style: str) -> None:
    assert plan_music(prompt, length_ms=30_000).style == style


def test_the_fallback_map_only_names_real_families_and_defaults_stay_broad() -> None:
    assert {name for _, name in FALLBACK} <= set(STYLES)
    assert set(NEUTRAL) <= set(STYLES)
    picked = {plan_music(f"track number {i}", length_ms=30_000).style for i in range(30)}
    assert picked <= set(NEUTRAL)
    assert len(picked) >= 4


def test_the_failures_the_issue_reported_are_gone() -> None:
    """The independent check's examples: each now gets its own family and band."""
    def plan(prompt: str):  # type: ignore[no-untyped-def]
        return plan_music(prompt, length_ms=30_000)

    assert plan("drum and bass").style == "dnb"
    assert plan("reggae").style == "reggae"
    assert plan("flamenco").style == "flamenco"
    assert plan("a marching band").style == "march"
    lullaby = plan("a lullaby")
    assert lullaby.style == "lullaby" and not lullaby.drums and lullaby.tempo_bpm < 70
    assert plan("a gospel choir").style == "gospel"
    trio = {plan(p).style for p in ("dubstep", "bossa nova", "a blues shuffle")}
    assert trio == {"dubstep", "bossa", "blues"}
    quartet = plan("a string quartet")
    assert quartet.style == "chamber" and "piano" not in quartet.instruments
    assert dict(plan("folk tune on a fiddle").roles)["lead"] == "fiddle"
    assert "cello" in plan("a cello").instruments
    assert "harpsichord" in plan("a harpsichord").instruments
    assert "organ" in plan("pop song with an organ").instruments
    assert plan("folk song in 3/4").metre == "3/4"


def test_a_lullaby_is_slow_and_soft_with_no_kick_on_every_beat() -> None:
    y = mono("a lullaby for a sleepy baby")
    plan = plan_music("a lullaby for a sleepy baby", length_ms=20_000)
    house = mono("tech house groove for a warehouse party")
    # Next to no energy where a kick drum thumps, against a house track's.
    assert band_share(y, 30, 90) < 0.1 * band_share(house, 30, 90)
    assert plan.tempo_bpm * (2 if plan.metre == "6/8" else 1) < 130


def test_both_maps_are_documented_in_the_sandbox_docs() -> None:
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "sandbox.md").read_text(encoding="utf-8")
    for spec in STYLES.values():
        assert f"| {spec.label} | " in doc, spec.name
    for words, name in FALLBACK:
        assert f"| {', '.join(words)} | {STYLES[name].label} |" in doc, words


# --- instruments ------------------------------------------------------------------------------


def test_there_are_at_least_twenty_five_distinct_timbres() -> None:
    named = {timbre for _, timbre, part in INSTRUMENT_WORDS if part != "drums"}
    assert named <= set(VOICES)
    assert len(named) >= 25


@pytest.mark.parametrize(
    ("prompt", "role", "instrument"),
    [
        ("reggae with a cello solo", "lead", "cello"),
        ("baroque minuet on harpsichord", "chords", "harpsichord"),
        ("gospel with a hammond organ", "chords", "organ"),
        ("indie rock with a fiddle", "lead", "fiddle"),
        ("house track with a saxophone", "lead", "saxophone"),
        ("lofi with a flute melody", "lead", "flute"),
        ("folk song featuring banjo", "lead", "banjo"),
        ("jazz trio with a trumpet", "lead", "trumpet"),
        ("synthwave with a choir", "pad", "choir"),
        ("ambient with a kalimba", "arp", "kalimba"),
        ("techno with a marimba", "arp", "marimba"),
        ("pop song with a ukulele", "chords", "ukulele"),
        ("hip hop beat with a sitar", "lead", "sitar"),
        ("celtic tune with bagpipes", "lead", "bagpipe"),
        ("tango with a clarinet", "lead", "clarinet"),
        ("cinematic with tabla", "drums", "tabla"),
        ("folk song with congas", "drums", "hand drums"),
        ("blues on the acoustic guitar", "chords", "acoustic guitar"),
        ("country with pedal steel", "lead", "steel guitar"),
        ("piano ballad with strings", "pad", "strings"),
        ("trap beat with a music box", "lead", "music box"),
    ],
)
def test_a_named_instrument_is_in_the_band_where_the_prompt_puts_it(
    prompt: str, role: str, instrument: str
) -> None:
    roles = dict(plan_music(prompt, length_ms=30_000).roles)
    assert roles.get(role) == instrument, roles


def test_solo_instrument_plays_alone() -> None:
    for word, timbre in (("cello", "cello"), ("harpsichord", "harpsichord"),
                         ("organ", "organ"), ("violin", "violin")):
        plan = plan_music(f"solo {word}", length_ms=20_000)
        assert set(plan.instruments) == {timbre}
        assert not plan.drums


#: Solo renders that must be told apart by their sound alone.
TIMBRES = ("piano", "organ", "harpsichord", "cello", "violin", "flute", "trumpet", "saxophone",
           "clarinet", "acoustic guitar", "banjo", "harp", "marimba", "sitar", "accordion",
           "steel drum", "music box", "harmonica", "oboe", "tuba")


@pytest.fixture(scope="module")
def timbre_vectors() -> dict[tuple[str, int], Mono]:
    out = {}
    for word in TIMBRES:
        for take, key in enumerate(("in C major", "in F minor")):
            out[(word, take)] = timbre_vector(mono(f"solo {word} {key}", 8_000))
    return out


def test_solo_instruments_are_recognisable_from_their_sound() -> None:
    """Nearest neighbour on librosa's MFCCs (an independent timbre measure) plus envelope
    sustain: an instrument's render in one key is closest to its own render in another key.
    Chance would get 1 of 20 right; close relatives (oboe and clarinet, harp and marimba) may
    be confused."""
    librosa = pytest.importorskip("librosa")
    vectors = {}
    for word in TIMBRES:
        for take, key in enumerate(("in C major", "in F minor")):
            y = mono(f"solo {word} {key}", 8_000).astype(np.float32)
            mfcc = librosa.feature.mfcc(y=y, sr=SR, n_mfcc=8)
            rms = librosa.feature.rms(y=y)[0]
            loud = rms > 0.1 * rms.max()
            sustain = np.median(rms[loud]) / np.percentile(rms[loud], 95)
            vectors[(word, take)] = np.r_[mfcc[1:, loud[: mfcc.shape[1]]].mean(axis=1),
                                          2 * sustain]
    stack = np.stack(list(vectors.values()))
    mu, sd = stack.mean(axis=0), stack.std(axis=0) + 1e-9
    norm = {k: (v - mu) / sd for k, v in vectors.items()}
    wrong = []
    for word in TIMBRES:
        probe = norm[(word, 0)]
        nearest = min((k for k in norm if k != (word, 0)),
                      key=lambda k: float(np.linalg.norm(norm[k] - probe)))
        if nearest[0] != word:
            wrong.append((word, nearest[0]))
    assert len(wrong) <= 6, wrong


def test_organ_sustains_harpsichord_decays_and_cello_sits_low(
    timbre_vectors: dict[tuple[str, int], Mono],
) -> None:
    def sustain(word: str) -> float:
        return float(timbre_vectors[(word, 0)][-2]) / 4

    assert sustain("organ") > sustain("harpsichord") + 0.15
    assert sustain("cello") > sustain("harpsichord") + 0.15
    cello = mono("solo cello in C major", 8_000)
    violin = mono("solo violin in C major", 8_000)
    harpsichord = mono("solo harpsichord in C major", 8_000)
    assert band_share(cello, 60, 400) > 2 * band_share(violin, 60, 400)
    assert band_share(harpsichord, 2000, 8000) > 2 * band_share(cello, 2000, 8000)


def test_drums_are_heard_only_when_the_band_has_them() -> None:
    def hf_flux(y: Mono) -> float:
        win = 512
        frames = y[: len(y) // win * win].reshape(-1, win)
        spec = np.abs(np.fft.rfft(frames * np.hanning(win), axis=1))
        freqs = np.fft.rfftfreq(win, 1 / SR)
        hf = np.log1p(1000 * spec[:, freqs > 5000].sum(axis=1))
        return float(np.maximum(0.0, np.diff(hf)).mean())

    for prompt in ("funk jam", "calm piano"):
        with_kit = hf_flux(mono(f"{prompt} with drums", 12_000))
        without = hf_flux(mono(f"{prompt}, no drums", 12_000))
        assert with_kit > 1.4 * without, prompt


# --- tempo and metre --------------------------------------------------------------------------

TEMPO_PROMPTS = (
    "rainy sunday lofi with a mellow rhodes", "90s boom bap instrumental for a rapper",
    "late night neo-soul slow jam", "catchy k-pop chorus", "slap bass funk jam",
    "roller disco night with strings", "classic rock anthem with a guitar solo",
    "tech house groove for a warehouse party", "dark berlin techno", "euphoric uplifting trance",
    "outrun night drive", "cool jazz quartet in a smoky club", "1940s big band dance",
    "roots reggae one drop", "havana salsa with congas", "argentine tango for two dancers",
    "afrobeat groove with horns", "calypso steel drum party", "bollywood dance number with sitar",
    "arabic oud improvisation", "japanese koto garden", "honky tonk country song",
    "appalachian bluegrass breakdown", "fingerpicking folk song", "sousa marching band",
    "sweeping symphonic film music", "epic trailer with taiko drums", "jrpg overworld theme",
    "string quartet in the style of haydn", "viennese waltz", "passionate flamenco guitar",
    "irish jig at the pub", "sunday morning gospel with a choir", "delta blues",
)


@pytest.fixture(scope="module")
def librosa_tempi() -> dict[str, float]:
    librosa = pytest.importorskip("librosa")
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for prompt in TEMPO_PROMPTS:
            tempo, _ = librosa.beat.beat_track(y=mono(prompt).astype(np.float32), sr=SR)
            out[prompt] = float(np.atleast_1d(tempo)[0])
    return out


@pytest.mark.parametrize("prompt", TEMPO_PROMPTS)
def test_a_beat_tracker_reads_the_intended_tempo_not_double_or_half(
    prompt: str, librosa_tempi: dict[str, float]
) -> None:
    planned = plan_music(prompt, length_ms=20_000).tempo_bpm
    assert abs(librosa_tempi[prompt] / planned - 1) < 0.05, (librosa_tempi[prompt], planned)


@pytest.mark.parametrize(
    ("prompt", "metre"),
    [
        ("viennese waltz", "3/4"),
        ("passionate flamenco guitar", "3/4"),
        ("folk song in 3/4", "3/4"),
        ("jazz waltz in 3/4 time", "3/4"),
        ("irish jig at the pub", "6/8"),
        ("a lullaby for a sleepy baby", "6/8"),
        ("rock ballad in 6/8", "6/8"),
        ("slow chicago blues shuffle", "12/8"),
        ("sunday morning gospel with a choir", "12/8"),
        ("pop song in 12/8", "12/8"),
        ("classic rock anthem with a guitar solo", "4/4"),
    ],
)
def test_metre_is_what_the_prompt_or_style_implies(prompt: str, metre: str) -> None:
    assert plan_music(prompt, length_ms=20_000).metre == metre


@pytest.mark.parametrize(
    ("prompt", "beats"),
    [("viennese waltz", 3), ("folk song in 3/4", 3), ("passionate flamenco guitar", 3),
     ("honky tonk country song", 4), ("classic rock anthem with a guitar solo", 4),
     ("folk song in 4/4", 4)],
)
def test_bar_accents_repeat_every_three_or_four_beats(prompt: str, beats: int) -> None:
    plan = plan_music(prompt, length_ms=20_000)
    strengths = beat_strengths(mono(prompt), plan.tempo_bpm)
    three, four = autocorr(strengths, 3), autocorr(strengths, 4)
    if beats == 3:
        assert three > four + 0.1, (three, four)
    else:
        assert four > three + 0.1, (three, four)


@pytest.mark.parametrize(
    ("prompt", "compound"),
    [("irish jig at the pub", True), ("slow chicago blues shuffle", True),
     ("sunday morning gospel with a choir", True), ("rock ballad in 6/8", True),
     ("classic rock anthem with a guitar solo", False), ("catchy k-pop chorus", False),
     ("honky tonk country song", False)],
)
def test_compound_metres_divide_the_beat_in_three(prompt: str, compound: bool) -> None:
    plan = plan_music(prompt, length_ms=20_000)
    prof = phase_profile(mono(prompt), plan.tempo_bpm, bins=12)
    triple = (prof[4] + prof[8]) / 2  # 1/3 and 2/3 of the beat
    duple = prof[6]  # the half beat
    if compound:
        assert triple > 1.3 * duple, prof.round(2)
    else:
        assert duple > 1.3 * triple, prof.round(2)


def test_swing_is_heard_as_a_long_short_pair() -> None:
    plan = plan_music("cool jazz quartet in a smoky club", length_ms=20_000)
    prof = phase_profile(mono("cool jazz quartet in a smoky club"), plan.tempo_bpm, bins=12)
    assert prof[8] > 1.3 * prof[6], prof.round(2)  # the off-beat lands at 2/3, not 1/2


# --- form and takes ---------------------------------------------------------------------------


def chroma_band_frames(y: Mono) -> npt.NDArray[np.float64]:
    """Per-frame unit vectors: 12 chroma bins and 8 standardized log band energies."""
    win, hop = 2048, 512
    frames = 1 + (len(y) - win) // hop
    out = np.empty((frames, 20))
    freqs = np.fft.rfftfreq(win, 1 / SR)
    valid = (freqs > 55) & (freqs < 5000)
    pcs = (np.round(12 * np.log2(freqs[valid] / 440.0)).astype(int) + 9) % 12
    edges = np.geomspace(30, SR / 2, 9)
    idx_band = np.clip(np.searchsorted(edges, freqs) - 1, 0, 7)
    for s0 in range(0, frames, 512):
        s1 = min(frames, s0 + 512)
        idx = np.arange(win)[None, :] + hop * np.arange(s0, s1)[:, None]
        spec = np.abs(np.fft.rfft(y[idx] * np.hanning(win), axis=1)) ** 2
        chroma = np.zeros((s1 - s0, 12))
        for pc in range(12):
            chroma[:, pc] = spec[:, valid][:, pcs == pc].sum(axis=1)
        bands = np.stack([spec[:, idx_band == b].sum(axis=1) for b in range(8)], axis=1)
        out[s0:s1, :12] = chroma / (np.linalg.norm(chroma, axis=1, keepdims=True) + 1e-12)
        out[s0:s1, 12:] = np.log10(bands + 1e-10)
    b = out[:, 12:]
    out[:, 12:] = 0.35 * (b - b.mean(axis=0)) / (b.std(axis=0) + 1e-9)
    result: npt.NDArray[np.float64] = out / np.linalg.norm(out, axis=1, keepdims=True)
    return result


def repeated_fraction(y: Mono, threshold: float = 0.98) -> float:
    """Share of 1-s windows whose frames nearly equal (mean per-frame cosine > ``threshold``)
    those of some earlier, non-adjacent stretch of the track, at any frame offset."""
    feats = chroma_band_frames(y)
    w = round(SR / 512)
    n = len(feats) // w
    hits = 0
    for i in range(1, n):
        a = i * w
        m = a - w + 1
        if m <= 0:
            continue
        sims = feats[a : a + w] @ feats[:a].T
        acc = np.zeros(m)
        for k in range(w):
            acc += sims[k, k : k + m]
        hits += acc.max() / w > threshold
    return hits / n


@pytest.fixture(scope="module")
def five_minute_track() -> Mono:
    return mono("driving indie rock with bright guitars", 300_000)


def test_a_five_minute_track_develops_instead_of_cycling_bars(five_minute_track: Mono) -> None:
    plan = plan_music("driving indie rock with bright guitars", length_ms=300_000)
    kinds = {name.rstrip("0123456789 ") for name, _, _ in plan.sections}
    assert {"intro", "verse", "chorus", "break", "build", "solo", "outro"} <= kinds
    assert any(plan.section_shifts)  # a middle part in another key
    # Listen-proxy: near-identical 1-s moments are rare (the issue measured 20-25 %).
    assert repeated_fraction(five_minute_track) < 0.1


def test_the_breakdown_drops_the_drums_and_the_build_rises(five_minute_track: Mono) -> None:
    plan = plan_music("driving indie rock with bright guitars", length_ms=300_000)
    sections = {name: (s, e) for name, s, e in plan.sections}
    s, e = sections["break 1"]
    chorus = sections["chorus 1"]

    def kick_share(a: float, b: float) -> float:
        return band_share(five_minute_track[int(a * SR) : int(b * SR)], 30, 120)

    assert kick_share(s, (s + e) / 2) < 0.5 * kick_share(*chorus)


def test_same_prompt_twice_gives_two_pieces_in_the_same_style_each_reproducible() -> None:
    prompt = "roots reggae one drop"
    plans = [plan_music(prompt, length_ms=10_000, variation=v) for v in (3, 4)]
    assert plans[0].style == plans[1].style == "reggae"
    a = render_audio(prompt, length_ms=6_000, output_format="wav_16khz", variation=3)
    b = render_audio(prompt, length_ms=6_000, output_format="wav_16khz", variation=4)
    assert a != b
    assert a == render_audio(prompt, length_ms=6_000, output_format="wav_16khz", variation=3)


@pytest.mark.parametrize("prompt", ["viennese waltz", "filthy dubstep drop", "a lullaby for a "
                                    "sleepy baby", "sousa marching band", "bach harpsichord "
                                    "invention", "havana salsa with congas"])
def test_new_styles_are_levelled_and_unclipped(prompt: str) -> None:
    x = render_pcm(prompt, length_ms=10_000, sample_rate=SR)
    body = x[:, int(0.15 * x.shape[1]) : int(0.8 * x.shape[1])].astype(np.float64)
    level = 10 * math.log10(float(np.mean(body**2)))
    assert -20 < level < -13
    assert float(np.abs(x).max()) <= 10 ** (-1 / 20)
