"""Measuring one audio file: :class:`Measurements` and :func:`measure`.

What is measured, and how:

* ``duration_s``: decoded frames over the sample rate (``requested_s`` is what was asked for,
  to compare with);
* ``loudness_lufs``: integrated loudness per ITU-R BS.1770-4 (K-weighted, gated), with
  pyloudnorm; ``None`` for silence or a file shorter than one 400 ms gating block;
* ``peak_dbfs``: the largest absolute sample value of any channel, in dB relative to full scale
  (a sample peak, not a true peak: no oversampling);
* ``clipped_samples``: how many samples (over all channels) reach :data:`CLIP_LEVEL` (0.999 of
  full scale, about -0.009 dBFS) in absolute value. A 16-bit full-scale sample (32767/32768)
  counts; the level sits just below 1.0 because decoders and encoders rarely land exactly on it;
* with librosa (the ``analysis`` extra): ``tempo_bpm``, librosa's estimate
  (``librosa.feature.tempo``: the autocorrelation of the onset strength, weighted towards
  120 bpm) of a spectral-flux envelope, and ``key``: the chroma summed over the track, matched
  against the Krumhansl-Kessler major and minor profiles in all 12 transpositions
  (``"A minor"``). Both are estimates, and only given with the extra.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

    import numpy as np
    import numpy.typing as npt

__all__ = [
    "CLIP_LEVEL", "MEASUREMENT_KEYS", "NEEDS_EXTRA", "Measurements", "decode", "extra_installed", "measure",
]

CLIP_LEVEL = 0.999

NEEDS_EXTRA = "tempo and key need the analysis extra: pip install 'apiframe-magic[analysis]'"
"""The note of a track measured without librosa (measuring it again with the extra fills them in)."""


def extra_installed() -> bool:
    """Whether the ``analysis`` extra (librosa) can be imported, without importing it."""
    import importlib.util

    return importlib.util.find_spec("librosa") is not None
"""A sample at or above this absolute value (of full scale, 1.0) counts as clipped."""

PITCH_CLASSES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
# Krumhansl & Kessler (1982) probe-tone profiles, tonic first.
MAJOR_PROFILE = (6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88)
MINOR_PROFILE = (6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17)


@dataclass(frozen=True)
class Measurements:
    """What was measured in one track (every field ``None`` when it could not be measured).

    ``note`` says, in a few words, why something is missing (an undecodable file, silence, no
    ``analysis`` extra for tempo and key); ``None`` when nothing is. The names are those the job
    ledger stores and the tables show (``loudness_lufs``, ``peak_dbfs``, ``clipped_samples``,
    ``tempo_bpm``, ``key``).
    """

    duration_s: float | None = None
    requested_s: float | None = None
    loudness_lufs: float | None = None
    peak_dbfs: float | None = None
    clipped_samples: int | None = None
    tempo_bpm: float | None = None
    key: str | None = None
    note: str | None = None

    @property
    def needs_extra(self) -> bool:
        """Whether tempo and key are missing only because the ``analysis`` extra was not
        installed when the track was measured (measuring again with it fills them in)."""
        return self.tempo_bpm is None and self.key is None and NEEDS_EXTRA in (self.note or "")

    @property
    def empty(self) -> bool:
        """Whether nothing at all could be measured (an undecodable file)."""
        return self.duration_s is None

    def as_dict(self) -> dict[str, Any]:
        """Every field by name (:data:`MEASUREMENT_KEYS`), JSON-ready: what the ledger stores."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Measurements:
        """The measurements a dict of :meth:`as_dict` (from the ledger) holds; unknown keys are
        ignored and missing ones are ``None``, so older and newer ledgers both read."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def summary(self) -> str:
        """One short line: ``-14.2 LUFS · peak -1.0 dBFS · 0 clipped · 120 bpm · A minor``."""
        parts: list[str] = []
        if self.duration_s is not None:
            length = f"{self.duration_s:.1f} s"
            if self.requested_s is not None:
                length += f" of {self.requested_s:g} s asked"
            parts.append(length)
        if self.loudness_lufs is not None:
            parts.append(f"{self.loudness_lufs:.1f} LUFS")
        if self.peak_dbfs is not None:
            parts.append(f"peak {self.peak_dbfs:.1f} dBFS")
        if self.clipped_samples is not None:
            parts.append(f"{self.clipped_samples} clipped")
        if self.tempo_bpm is not None:
            parts.append(f"{self.tempo_bpm:.0f} bpm")
        if self.key is not None:
            parts.append(self.key)
        if self.note:
            parts.append(self.note)
        return " · ".join(parts)


# Pickles and reprs name the package, not the private module it is defined in.
Measurements.__module__ = "apiframe_magic.analysis"

MEASUREMENT_KEYS = tuple(f.name for f in fields(Measurements))
"""The keys of :meth:`Measurements.as_dict`, in order."""


def decode(path: str | os.PathLike[str]) -> tuple[npt.NDArray[np.float64], int]:
    """The samples of an audio file (frames x channels, floats in [-1, 1]) and its sample rate.
    Raises whatever soundfile raises for a file it cannot read."""
    import numpy as np
    import soundfile  # type: ignore[import-untyped, unused-ignore]  # no type hints

    data, rate = soundfile.read(os.fspath(path), dtype="float64", always_2d=True)
    return np.asarray(data, dtype=np.float64), int(rate)


def measure(
    path: str | os.PathLike[str], *, requested_seconds: float | None = None, extra: bool = True
) -> Measurements:
    """Measure the audio file at ``path`` (see the module docstring for what and how).

    ``requested_seconds`` is the length that was asked for, kept alongside the measured one.
    ``extra`` (with librosa installed) adds the tempo and key. Never raises: an undecodable file
    gives empty measurements whose ``note`` says why.
    """
    try:
        samples, rate = decode(path)
    except Exception as exc:  # any decoder error is a note, never a failed cell
        reason = " ".join(str(exc).split())[:120] or type(exc).__name__
        return Measurements(requested_s=requested_seconds, note=f"could not decode the file: {reason}")
    return measure_samples(samples, rate, requested_seconds=requested_seconds, extra=extra)


def measure_samples(
    samples: npt.NDArray[np.float64],
    rate: int,
    *,
    requested_seconds: float | None = None,
    extra: bool = True,
) -> Measurements:
    """:func:`measure` on samples already decoded (frames x channels, or one channel)."""
    import numpy as np

    notes: list[str] = []
    data = samples if samples.ndim == 2 else samples.reshape(-1, 1)
    frames = data.shape[0]
    duration = frames / rate if rate > 0 else 0.0
    if frames == 0:
        return Measurements(duration_s=0.0, requested_s=requested_seconds, note="no audio in the file")
    peak = float(np.max(np.abs(data)))
    clipped = int(np.count_nonzero(np.abs(data) >= CLIP_LEVEL))
    peak_dbfs = 20.0 * math.log10(peak) if peak > 0 else None
    loudness = _loudness(data, rate, notes)
    tempo = key = None
    if peak == 0:
        notes.append("silent")
    elif extra:
        tempo, key = _tempo_and_key(data, rate, notes)
    return Measurements(
        duration_s=round(duration, 3),
        requested_s=requested_seconds,
        loudness_lufs=None if loudness is None else round(loudness, 2),
        peak_dbfs=None if peak_dbfs is None else round(peak_dbfs, 2),
        clipped_samples=clipped,
        tempo_bpm=None if tempo is None else round(tempo, 1),
        key=key,
        note="; ".join(notes) or None,
    )


def _loudness(data: npt.NDArray[np.float64], rate: int, notes: list[str]) -> float | None:
    try:
        import pyloudnorm  # type: ignore[import-untyped, unused-ignore]  # no type hints
    except ImportError:
        notes.append("no loudness: pyloudnorm is not installed")
        return None
    try:
        meter = pyloudnorm.Meter(rate)
        value = float(meter.integrated_loudness(data))
    except Exception as exc:  # shorter than one gating block, an odd rate
        notes.append(f"no loudness: {' '.join(str(exc).split())[:80]}")
        return None
    return value if math.isfinite(value) else None


def _tempo_and_key(
    data: npt.NDArray[np.float64], rate: int, notes: list[str]
) -> tuple[float | None, str | None]:
    try:
        import librosa  # type: ignore[import-untyped, import-not-found, unused-ignore]  # an extra
    except ImportError:
        notes.append(NEEDS_EXTRA)
        return None, None
    import numpy as np

    mono = data.mean(axis=1)
    # One STFT, made here with numpy: librosa's own spectral functions compile numba code on
    # their first call (seconds); its tempo estimator on a given envelope needs no more.
    magnitude = _stft_magnitude(mono)
    if magnitude.shape[1] < 2:
        return None, None
    tempo: float | None = None
    try:
        found = np.atleast_1d(librosa.feature.tempo(
            onset_envelope=_onset_envelope(magnitude, rate), sr=rate, hop_length=_HOP,
        ))
        tempo = float(found[0]) if found.size and float(found[0]) > 0 else None
    except Exception as exc:
        notes.append(f"no tempo: {type(exc).__name__}")
    return tempo, estimate_key(chroma(magnitude, rate))


_FFT = 2048
_HOP = 512


def _stft_magnitude(mono: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """|STFT| (bins x frames) with a Hann window of :data:`_FFT` samples every :data:`_HOP`."""
    import numpy as np

    padded = np.pad(mono, _FFT // 2)
    if padded.size < _FFT:
        return np.zeros((_FFT // 2 + 1, 0))
    frames = np.lib.stride_tricks.sliding_window_view(padded, _FFT)[::_HOP]
    window = np.hanning(_FFT + 1)[:-1]
    return np.abs(np.fft.rfft(frames * window, axis=1)).T


def _onset_envelope(magnitude: npt.NDArray[np.float64], rate: int) -> npt.NDArray[np.float64]:
    """Spectral flux, as librosa's onset strength computes it: the rise of log power in 64
    log-spaced bands from 30 Hz, from one frame to the next, averaged over the bands."""
    import numpy as np

    bins = np.fft.rfftfreq(_FFT, 1.0 / rate)
    edges = np.geomspace(30.0, rate / 2, 65)
    band = np.clip(np.searchsorted(edges, bins) - 1, 0, 63)
    power = np.zeros((64, magnitude.shape[1]))
    np.add.at(power, band, magnitude**2)
    db = 10.0 * np.log10(np.maximum(power, 1e-10))
    db = np.maximum(db, db.max() - 80.0)
    flux = np.maximum(0.0, np.diff(db, axis=1)).mean(axis=0)
    return np.concatenate([[0.0], flux])


def chroma(magnitude: npt.NDArray[np.float64], rate: int) -> npt.NDArray[np.float64]:
    """A 12-bin chroma vector (C first): the energy of every STFT bin between 55 Hz and 5 kHz,
    summed over time, given to the pitch class nearest its frequency."""
    import numpy as np

    bins = np.fft.rfftfreq(_FFT, 1.0 / rate)
    used = (bins >= 55.0) & (bins <= 5000.0)
    classes = (np.round(12.0 * np.log2(bins[used] / 440.0)).astype(int) + 9) % 12
    energy = (magnitude[used] ** 2).sum(axis=1)
    vector = np.zeros(12)
    np.add.at(vector, classes, energy)
    return vector


def estimate_key(chroma: npt.NDArray[np.float64]) -> str | None:
    """The key whose Krumhansl-Kessler profile correlates best with a 12-bin chroma vector
    (C first): ``"C major"``, ``"A minor"``; ``None`` for a flat (or empty) vector."""
    import numpy as np

    vector = np.asarray(chroma, dtype=np.float64)
    if vector.shape != (12,) or not np.isfinite(vector).all() or np.ptp(vector) == 0:
        return None
    best: tuple[float, str] | None = None
    for mode, profile in (("major", MAJOR_PROFILE), ("minor", MINOR_PROFILE)):
        for tonic in range(12):
            score = float(np.corrcoef(vector, np.roll(profile, tonic))[0, 1])
            if best is None or score > best[0]:
                best = (score, f"{PITCH_CLASSES[tonic]} {mode}")
    return best[1] if best is not None else None
