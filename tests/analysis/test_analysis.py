"""Measuring audio files (:mod:`apiframe_magic.analysis`) on synthetic signals whose answers are
known: the loudness of sines per ITU-R BS.1770, peaks and clipped samples counted by hand, the
tempo of a click track, the key of a chord progression; undecodable files; the pictures and the
plot.

Files are real WAVs written with soundfile and read back through :func:`measure`."""

from __future__ import annotations

import math
import struct
import sys
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
import soundfile  # type: ignore[import-untyped, unused-ignore]

from apiframe_magic.analysis import (
    CLIP_LEVEL,
    MEASUREMENT_KEYS,
    Measurements,
    measure,
    plot_measurements,
    spectrogram_png,
    waveform_svg,
)
from apiframe_magic.analysis._measure import estimate_key
from apiframe_magic.ledger import MEASUREMENT_COLUMNS

RATE = 48_000


def sine(
    frequency: float, amplitude: float, seconds: float = 5.0, rate: int = RATE
) -> npt.NDArray[np.float64]:
    t = np.arange(int(seconds * rate)) / rate
    return amplitude * np.sin(2 * np.pi * frequency * t)


def wav(path: Path, samples: npt.NDArray[np.float64], rate: int = RATE) -> Path:
    soundfile.write(str(path), samples, rate, subtype="FLOAT")
    return path


# -- loudness, peak, clipping ------------------------------------------------------------------


def test_a_full_scale_997_hz_sine_is_minus_3_01_lufs(tmp_path: Path) -> None:
    # BS.1770-4: a 0 dBFS 997 Hz sine in one channel reads -3.01 LKFS (the -0.691 dB offset of
    # the formula cancels the K-weighting's gain there).
    measured = measure(wav(tmp_path / "997.wav", sine(997, 1.0)), extra=False)
    assert measured.loudness_lufs == pytest.approx(-3.01, abs=0.1)
    assert measured.peak_dbfs == pytest.approx(0.0, abs=0.01)
    assert measured.duration_s == pytest.approx(5.0)
    assert measured.note is None


@pytest.mark.parametrize("amplitude", [0.5, 0.1, 0.02])
def test_loudness_of_a_1_khz_sine_follows_its_amplitude(tmp_path: Path, amplitude: float) -> None:
    measured = measure(wav(tmp_path / "1k.wav", sine(1000, amplitude)), requested_seconds=5, extra=False)
    level = 20 * math.log10(amplitude)
    assert measured.loudness_lufs == pytest.approx(level - 3.01, abs=0.15)
    assert measured.peak_dbfs == pytest.approx(level, abs=0.01)
    assert measured.clipped_samples == 0
    assert measured.requested_s == 5


def test_clipped_samples_are_those_at_full_scale_in_any_channel(tmp_path: Path) -> None:
    left, right = sine(440, 0.5), sine(660, 0.5)
    left[1000:1037] = 1.0  # 37 samples at +full scale
    right[5000:5005] = -1.0  # 5 at -full scale
    right[9000] = CLIP_LEVEL  # exactly at the level: counts
    left[9000] = CLIP_LEVEL - 0.001  # just under: does not
    measured = measure(wav(tmp_path / "clip.wav", np.stack([left, right], axis=1)), extra=False)
    assert measured.clipped_samples == 37 + 5 + 1
    assert measured.peak_dbfs == pytest.approx(0.0, abs=1e-6)


def test_silence_and_a_too_short_file_measure_what_they_can(tmp_path: Path) -> None:
    silent = measure(wav(tmp_path / "silent.wav", np.zeros(RATE)))
    assert silent.duration_s == pytest.approx(1.0)
    assert silent.loudness_lufs is None and silent.peak_dbfs is None and silent.tempo_bpm is None
    assert silent.clipped_samples == 0 and silent.note is not None and "silent" in silent.note
    short = measure(wav(tmp_path / "short.wav", sine(1000, 0.5, seconds=0.2)), extra=False)
    assert short.duration_s == pytest.approx(0.2)
    assert short.loudness_lufs is None and short.note is not None and "loudness" in short.note
    assert short.peak_dbfs == pytest.approx(20 * math.log10(0.5), abs=0.01)


@pytest.mark.parametrize("content", [b"", b"not audio at all" * 100, b"ID3\x03\x00" + bytes(500)])
def test_an_undecodable_file_gives_empty_measurements_and_a_note(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "broken.mp3"
    path.write_bytes(content)
    measured = measure(path, requested_seconds=30)
    assert measured.empty and measured.loudness_lufs is None and measured.clipped_samples is None
    assert measured.requested_s == 30
    assert measured.note is not None and measured.note.startswith("could not decode the file")
    missing = measure(tmp_path / "gone.wav")
    assert missing.empty and missing.note is not None


def test_measurements_round_trip_through_the_ledgers_keys() -> None:
    measured = Measurements(duration_s=5.0, requested_s=5.0, loudness_lufs=-14.2, peak_dbfs=-1.0,
                            clipped_samples=0, tempo_bpm=120.0, key="A minor")
    data = measured.as_dict()
    assert tuple(data) == MEASUREMENT_KEYS
    assert set(MEASUREMENT_COLUMNS) <= set(data), "the ledger's columns are measurement names"
    assert Measurements.from_dict(data) == measured
    assert Measurements.from_dict({"loudness_lufs": -9.0, "from_a_newer_version": 1}) == Measurements(
        loudness_lufs=-9.0)
    assert "-14.2 LUFS" in measured.summary() and "A minor" in measured.summary()


# -- tempo and key (librosa, the analysis extra) -----------------------------------------------

TEMPO_RATE = 24_576  # 48 frames of 512 samples a second: 120 bpm is exactly 24 frames a beat


@pytest.fixture(scope="module")
def click_track(tmp_path_factory: pytest.TempPathFactory) -> Measurements:
    """A 120 bpm click track, measured once for the module (librosa's first call is slow)."""
    pytest.importorskip("librosa")
    samples = np.zeros(TEMPO_RATE * 12)
    click = np.random.default_rng(7).standard_normal(600) * np.exp(-np.arange(600) / 80)
    for start in range(0, samples.size - 600, TEMPO_RATE // 2):
        samples[start : start + 600] += 0.8 * click
    path = tmp_path_factory.mktemp("tempo") / "clicks.wav"
    soundfile.write(str(path), samples, TEMPO_RATE, subtype="FLOAT")
    return measure(path)


def test_the_tempo_of_a_click_track_at_120_bpm(click_track: Measurements) -> None:
    assert click_track.tempo_bpm == pytest.approx(120.0, abs=1.0)


def chord(notes: list[float], seconds: float, rate: int = 22_050) -> npt.NDArray[np.float64]:
    t = np.arange(int(seconds * rate)) / rate
    tone = sum(np.sin(2 * np.pi * f * t) + 0.3 * np.sin(4 * np.pi * f * t) for f in notes)
    return np.asarray(0.15 * tone * np.minimum(1.0, 20 * t), dtype=np.float64)


def test_the_key_of_an_a_minor_progression(tmp_path: Path) -> None:
    pytest.importorskip("librosa")

    def hz(midi: int) -> float:
        return 440.0 * 2 ** ((midi - 69) / 12)

    a_minor, d_minor, e_major = [57, 60, 64], [62, 65, 69], [64, 68, 71]  # i, iv, V
    progression = np.concatenate([
        chord([hz(n) for n in notes], 1.5) for notes in (a_minor, d_minor, e_major, a_minor, a_minor)
    ])
    measured = measure(wav(tmp_path / "am.wav", progression, rate=22_050))
    assert measured.key == "A minor"


def test_the_key_profile_match_on_plain_chroma_vectors() -> None:
    c_major = np.zeros(12)
    c_major[[0, 4, 7]] = 1.0
    c_major[[2, 5, 9, 11]] = 0.4
    assert estimate_key(c_major) == "C major"
    assert estimate_key(np.roll(c_major, 2)) == "D major"
    assert estimate_key(np.ones(12)) is None


def test_without_the_analysis_extra_tempo_and_key_stay_empty_and_say_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from apiframe_magic.analysis import NEEDS_EXTRA, extra_installed

    monkeypatch.setitem(sys.modules, "librosa", None)  # as if the extra were not installed
    measured = measure(wav(tmp_path / "1k.wav", sine(1000, 0.5)))
    assert measured.tempo_bpm is None and measured.key is None and measured.note == NEEDS_EXTRA
    assert measured.needs_extra and not extra_installed()
    assert measured.loudness_lufs is not None
    assert "pip install 'apiframe-magic[analysis]'" in measured.summary()


# -- pictures and the plot ---------------------------------------------------------------------


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR"
    assert zlib.crc32(data[12 : 16 + length]) == struct.unpack(">I", data[16 + length : 20 + length])[0]
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_pictures_are_small_deterministic_and_well_formed(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    music = sine(220, 0.3, seconds=30, rate=22_050) + 0.05 * rng.standard_normal(30 * 22_050)
    path = wav(tmp_path / "music.wav", music, rate=22_050)
    svg, png = waveform_svg(path), spectrogram_png(path)
    assert svg.startswith("<svg") and svg.endswith("</svg>") and '"' not in svg
    assert len(svg) <= 2048
    assert png_size(png) == (120, 32)
    assert len(png) * 4 / 3 <= 2048, "base64 of the spectrogram within 2 KB"
    assert waveform_svg(path) == svg and spectrogram_png(path) == png
    (tmp_path / "broken.wav").write_bytes(b"nope")
    assert waveform_svg(tmp_path / "broken.wav") == "" and spectrogram_png(tmp_path / "broken.wav") == b""


def test_the_plot_is_a_figure_that_renders_as_png_without_pyplot() -> None:
    rows: list[dict[str, Any]] = [
        {"label": "calm · suno", "model": "suno", "loudness_lufs": -14.0, "peak_dbfs": -1.0,
         "clipped_samples": 0, "tempo_bpm": 92.0, "key": "A minor"},
        {"label": "calm · udio", "model": "udio", "loudness_lufs": -9.5, "peak_dbfs": 0.0,
         "clipped_samples": 120, "tempo_bpm": None, "key": None},
        {"label": "failed", "model": "udio"},
    ]
    figure = plot_measurements(rows)
    from matplotlib.figure import Figure

    assert isinstance(figure, Figure)
    assert len(figure.axes) == 4
    assert figure._repr_png_()[:8] == b"\x89PNG\r\n\x1a\n"  # type: ignore[attr-defined]
    assert "matplotlib.pyplot" not in sys.modules or not __import__("matplotlib.pyplot").pyplot.get_fignums()


def test_the_plot_names_its_extra_when_matplotlib_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "apiframe_magic.analysis._plot", raising=False)
    for name in [m for m in sys.modules if m.split(".")[0] == "matplotlib"] + ["matplotlib"]:
        monkeypatch.setitem(sys.modules, name, None)  # as if the extra were not installed
    with pytest.raises(ImportError, match=r"'plot' extra: pip install 'apiframe-magic\[plot\]'"):
        plot_measurements([{"label": "a", "loudness_lufs": -14.0}])
