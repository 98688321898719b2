"""The sandbox's rendered music, measured: formats, exact lengths, levels, tempo, spectra.

Decoding uses ``soundfile`` (libsndfile with mpg123, which honours the LAME tag's encoder delay
and padding the way ffmpeg and other gapless decoders do). Lengths are kept short (5-20 s) except
where length matters; nothing here is timed.
"""

from __future__ import annotations

import functools
import io
import math
import struct

import numpy as np
import numpy.typing as npt
import pytest

from apiframe_magic.catalog import OUTPUT_FORMATS
from apiframe_magic.sandbox._audio import plan_music, render_audio, render_pcm

sf = pytest.importorskip("soundfile")

Mono = npt.NDArray[np.float64]
MINUS_1_DBFS = 10 ** (-1 / 20)


@functools.lru_cache(maxsize=64)
def rendered(prompt: str, length_ms: int, output_format: str, instrumental: bool = False) -> bytes:
    return render_audio(prompt, length_ms=length_ms, output_format=output_format,
                        force_instrumental=instrumental)


@functools.lru_cache(maxsize=64)
def pcm(prompt: str, length_ms: int = 20_000, sr: int = 22050) -> npt.NDArray[np.float32]:
    return render_pcm(prompt, length_ms=length_ms, sample_rate=sr)


def decode(data: bytes) -> tuple[npt.NDArray[np.float64], int]:
    audio, sr = sf.read(io.BytesIO(data), dtype="float64", always_2d=True)
    return audio, sr


def estimate_bpm(mono: Mono, sr: int) -> float:
    """Tempo from the autocorrelation of a spectral-flux onset envelope (50-220 bpm)."""
    win, hop = 1024, 256
    frames = 1 + (len(mono) - win) // hop
    idx = np.arange(win)[None, :] + hop * np.arange(frames)[:, None]
    mag = np.abs(np.fft.rfft(mono[idx] * np.hanning(win), axis=1))
    flux = np.maximum(0.0, np.diff(np.log1p(100 * mag), axis=0)).sum(axis=1)
    flux = np.maximum(0.0, flux - np.convolve(flux, np.ones(16) / 16, mode="same"))
    ac = np.correlate(flux, flux, mode="full")[len(flux) - 1 :]
    fps = sr / hop
    lo, hi = int(fps * 60 / 220), int(fps * 60 / 50)
    lag = lo + int(np.argmax(ac[lo:hi]))
    a, b, c = ac[lag - 1], ac[lag], ac[lag + 1]
    shift = 0.5 * (a - c) / (a - 2 * b + c) if a - 2 * b + c else 0.0
    return float(60 * fps / (lag + shift))


def band_shares(mono: Mono, sr: int) -> dict[str, float]:
    """Share of energy per band, and the spectral centroid in Hz."""
    spec = np.abs(np.fft.rfft(mono)) ** 2
    freqs = np.fft.rfftfreq(len(mono), 1 / sr)
    total = float(spec.sum())
    bands = {"low": (0, 150), "lowmid": (150, 600), "mid": (600, 2500), "high": (2500, 1e9)}
    out = {k: float(spec[(freqs >= a) & (freqs < b)].sum()) / total for k, (a, b) in bands.items()}
    out["centroid"] = float((spec * freqs).sum()) / total
    return out


def rms_db(x: npt.NDArray[np.floating]) -> float:
    return 20 * math.log10(float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) + 1e-12)


# --- formats and exact lengths ----------------------------------------------------------------


@pytest.mark.parametrize("output_format", sorted(OUTPUT_FORMATS))
@pytest.mark.parametrize("length_ms", [5_000, 7_333])
def test_every_format_decodes_to_the_exact_sample_count_and_rate(
    output_format: str, length_ms: int
) -> None:
    fmt = OUTPUT_FORMATS[output_format]
    data = rendered("lofi hip hop beat with piano", length_ms, output_format)
    audio, sr = decode(data)
    assert sr == fmt.sample_rate
    assert audio.shape == (length_ms * fmt.sample_rate // 1000, 2)
    if fmt.container == "mp3":
        assert data[:2] == b"\xff\xfb"  # MPEG-1 Layer III, no ID3: starts with the Info frame
    else:
        assert data[:4] == b"RIFF"


def test_a_minute_of_mp3_decodes_to_exactly_a_minute() -> None:
    # Without the LAME tag a decoder returns ~1,300 extra samples per minute.
    for output_format in ("mp3_standard", "mp3_high_quality"):
        audio, _ = decode(rendered("ambient pads", 60_000, output_format))
        assert audio.shape[0] == 60 * 44100


def test_mp3_info_frame_and_lame_tag() -> None:
    for output_format, kbps, frame_len in (("mp3_standard", 128, 417),
                                           ("mp3_high_quality", 192, 626)):
        data = rendered("lofi hip hop beat with piano", 5_000, output_format)
        header = int.from_bytes(data[:4], "big")
        assert header >> 21 == 0x7FF and (header >> 19) & 3 == 3 and (header >> 17) & 3 == 1
        assert (header >> 12) & 0xF == {128: 9, 192: 11}[kbps]
        assert data[36:40] == b"Info"
        flags, frames, nbytes = struct.unpack(">III", data[40:52])
        assert flags & 0x3 == 0x3 and nbytes == len(data)
        assert frames == (len(data) - frame_len) // (144_000 * kbps // 44100)  # CBR, no pad
        lame = data[156:192]
        assert lame[:4] == b"LAME"
        delay_pad = int.from_bytes(lame[21:24], "big")
        delay, padding = delay_pad >> 12, delay_pad & 0xFFF
        assert delay == 576
        assert frames * 1152 - delay - padding == 5 * 44100
        assert struct.unpack(">I", lame[28:32])[0] == len(data)
        # The audio frames right after the Info frame.
        assert data[frame_len : frame_len + 2] == b"\xff\xfb"


def test_mp3_is_sample_aligned_with_the_master() -> None:
    master = render_pcm("indie rock with guitars", length_ms=6_000, sample_rate=44100)
    audio, _ = decode(rendered("indie rock with guitars", 6_000, "mp3_high_quality"))
    ref = master[0].astype(np.float64)
    got = audio[:, 0]
    lags = range(-4, 5)
    corr = [float(np.dot(ref[5000:-5000], got[5000 + lag : len(got) - 5000 + lag])) for lag in lags]
    assert lags[int(np.argmax(corr))] == 0
    assert np.corrcoef(ref, got)[0, 1] > 0.95


@pytest.mark.parametrize("output_format", ["wav_16khz", "wav_22khz", "wav_24khz", "wav_cd_quality"])
def test_wav_header(output_format: str) -> None:
    fmt = OUTPUT_FORMATS[output_format]
    data = rendered("jazz trio", 5_000, output_format)
    riff, size, wave_, fmt_id, fmt_size = struct.unpack("<4sI4s4sI", data[:20])
    assert (riff, wave_, fmt_id, fmt_size) == (b"RIFF", b"WAVE", b"fmt ", 16)
    assert size == len(data) - 8
    tag, channels, rate, byte_rate, align, bits = struct.unpack("<HHIIHH", data[20:36])
    assert (tag, channels, rate, bits, align) == (1, 2, fmt.sample_rate, 16, 4)
    assert byte_rate == fmt.sample_rate * 4
    data_id, data_size = struct.unpack("<4sI", data[36:44])
    assert data_id == b"data" and data_size == len(data) - 44
    assert data_size == 5 * fmt.sample_rate * 4


# --- levels and cleanliness -------------------------------------------------------------------

STYLE_PROMPTS = {
    "lofi": "lo-fi hip hop beat with vinyl crackle",
    "synthwave": "synthwave night drive",
    "cinematic": "orchestral film score",
    "ambient": "calm ambient pads",
    "house": "deep house club track",
    "chiptune": "8-bit chiptune video game music",
    "indie": "indie rock with guitars",
    "jazz": "jazz trio in a lounge",
    "piano": "solo piano nocturne",
    "folk": "acoustic folk campfire song",
}


def test_style_prompts_pick_their_styles() -> None:
    for style, prompt in STYLE_PROMPTS.items():
        assert plan_music(prompt, length_ms=20_000).style == style


@pytest.mark.parametrize("style", sorted(STYLE_PROMPTS))
def test_clean_master_no_clipping_no_dc_peak_below_minus_1_dbfs(style: str) -> None:
    data = rendered(STYLE_PROMPTS[style], 12_000, "wav_22khz")
    pcm16 = np.frombuffer(data[44:], dtype="<i2").reshape(-1, 2)
    peak = int(np.abs(pcm16.astype(np.int32)).max())
    assert peak <= 32767 * MINUS_1_DBFS
    assert peak > 32767 * 10 ** (-12 / 20)  # and not silent either
    assert np.abs(pcm16.mean(axis=0)).max() < 0.001 * 32767  # no DC offset
    x = pcm16.astype(np.float64) / 32768
    # No flat-topped runs (clipping): the peak value never holds for 3 samples.
    at_peak = np.abs(pcm16) >= peak - 1
    assert not (at_peak[2:] & at_peak[1:-1] & at_peak[:-2]).any()
    # Starts from silence and fades out to it.
    assert np.abs(x[:8]).max() < 0.01
    assert rms_db(x[-200:]) < rms_db(x) - 30


def test_decoded_mp3_also_peaks_at_or_below_minus_1_dbfs() -> None:
    for prompt in ("deep house club track", "epic orchestral trailer", "synthwave night drive",
                   "indie rock with guitars"):
        for output_format in ("mp3_standard", "mp3_high_quality"):
            audio, _ = decode(rendered(prompt, 8_000, output_format))
            assert np.abs(audio).max() <= MINUS_1_DBFS, (prompt, output_format)


def test_loudness_is_consistent_across_styles() -> None:
    levels = {}
    for style, prompt in STYLE_PROMPTS.items():
        x = pcm(prompt, 12_000)
        body = x[:, int(0.15 * x.shape[1]) : int(0.8 * x.shape[1])]
        levels[style] = rms_db(body)
    spread = max(levels.values()) - min(levels.values())
    assert spread < 4.0, levels


def test_no_clicks_at_note_boundaries() -> None:
    # A click is broadband. These drumless styles have no partial above 12 kHz, so energy up
    # there in any 6 ms window would be a discontinuity at a note start or end.
    for prompt in ("solo piano nocturne", "calm ambient pads"):
        x = pcm(prompt, 12_000, 44100).astype(np.float64).mean(axis=0)
        win = 256
        frames = x[: len(x) // win * win].reshape(-1, win) * np.hanning(win)
        spec = np.abs(np.fft.rfft(frames, axis=1)) ** 2
        freqs = np.fft.rfftfreq(win, 1 / 44100)
        hf = np.sqrt(spec[:, freqs > 15_000].sum(axis=1) / spec.sum(axis=1).clip(1e-12))
        loud = spec.sum(axis=1) > 1e-6 * spec.sum(axis=1).max()
        assert hf[loud].max() < 0.002, prompt


def test_every_note_and_drum_starts_and_ends_at_silence() -> None:
    # The mechanism behind click-free boundaries: attack ramps and release tapers.
    from apiframe_magic.sandbox._synth import VOICES, note_tail_s, render_drum, render_note

    for inst in VOICES:
        for midi in (40, 64, 88):
            wave = render_note(inst, midi, 0.5 + note_tail_s(inst), 44100, 1)
            assert abs(float(wave[0])) < 1e-3, inst
            # Rising over >= 2 ms: the first half millisecond stays far below the peak.
            assert np.abs(wave[:22]).max() < 0.2 * np.abs(wave).max(), inst
    for drum in range(16):
        for kit in ("drums", "noise drums", "brush kit", "808 kit", "hand drums", "tabla",
                    "marching", "orchestral drums"):
            hit = render_drum(drum, kit, 44100, 1)
            assert abs(float(hit[0])) < 1e-3 and abs(float(hit[-1])) < 1e-3, (drum, kit)


# --- the prompt steers what is heard ----------------------------------------------------------


@pytest.mark.parametrize(
    "prompt",
    ["deep house club track", "indie rock with guitars 112 bpm", "8-bit chiptune 140 bpm",
     "lo-fi hip hop beat 84 bpm", "synthwave night drive", "jazz trio in a lounge"],
)
def test_measured_tempo_matches_the_plan(prompt: str) -> None:
    plan = plan_music(prompt, length_ms=20_000)
    measured = estimate_bpm(pcm(prompt).mean(axis=0).astype(np.float64), 22050)
    ratios = [measured / (plan.tempo_bpm * k) for k in (0.5, 1.0, 2.0)]
    assert min(abs(r - 1) for r in ratios) < 0.03, (measured, plan.tempo_bpm)


def test_explicit_bpm_is_heard() -> None:
    for bpm in (96, 132):
        measured = estimate_bpm(pcm(f"house track {bpm} bpm").mean(axis=0).astype(np.float64),
                                22050)
        assert min(abs(measured / (bpm * k) - 1) for k in (0.5, 1.0, 2.0)) < 0.03


def test_styles_differ_in_spectral_balance() -> None:
    shares = {s: band_shares(pcm(p, 12_000).mean(axis=0).astype(np.float64), 22050)
              for s, p in STYLE_PROMPTS.items()}
    # Bright, buzzy chiptune and synthwave vs dark, soft lo-fi and ambient.
    for bright in ("chiptune", "synthwave"):
        for dark in ("lofi", "ambient"):
            assert shares[bright]["centroid"] > 1.5 * shares[dark]["centroid"], (bright, dark)
    # A bass-and-kick dance track has more low end than a solo piano.
    assert shares["house"]["low"] > 3 * shares["piano"]["low"]
    # Lo-fi is band-limited: almost nothing above 2.5 kHz compared with indie rock.
    assert shares["lofi"]["high"] < 0.5 * shares["indie"]["high"]
    # No two styles have the same balance.
    vectors = [tuple(round(v, 3) for v in s.values()) for s in shares.values()]
    assert len(set(vectors)) == len(vectors)


def test_sung_lead_is_audible_only_when_allowed() -> None:
    prompt = "folk song with a voice singing"
    sung = render_pcm(prompt, length_ms=10_000, sample_rate=22050)
    plain = render_pcm(prompt, length_ms=10_000, sample_rate=22050, force_instrumental=True)
    assert plan_music(prompt, length_ms=10_000).sung_lead
    assert not plan_music(prompt, length_ms=10_000, force_instrumental=True).sung_lead
    assert not np.array_equal(sung, plain)
    # The vowel formants put extra energy around 600-1200 Hz into the sung version.
    s = band_shares(sung.mean(axis=0).astype(np.float64), 22050)
    p = band_shares(plain.mean(axis=0).astype(np.float64), 22050)
    assert s != p


def test_deterministic_and_different_prompts_differ() -> None:
    a = render_audio("dark synthwave", length_ms=5_000, output_format="wav_16khz")
    b = render_audio("dark synthwave", length_ms=5_000, output_format="wav_16khz")
    c = render_audio("dark synthwave!", length_ms=5_000, output_format="wav_16khz")
    assert a == b
    assert a != c
    m1 = render_audio("calm piano", length_ms=5_000, output_format="mp3_standard")
    m2 = render_audio("calm piano", length_ms=5_000, output_format="mp3_standard")
    assert m1 == m2


def test_unknown_format_and_bad_length_are_rejected() -> None:
    with pytest.raises(KeyError):
        render_audio("x", length_ms=5_000, output_format="flac")
    with pytest.raises(ValueError):
        render_audio("x", length_ms=0, output_format="wav_16khz")
