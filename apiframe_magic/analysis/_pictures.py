"""Two small pictures of a track, for its card: a waveform (SVG) and a spectrogram (PNG).

Both are made for the weight of a saved notebook: the waveform is one SVG path of
:data:`WAVE_COLUMNS` vertical strokes with integer coordinates (about 1 KB), the spectrogram a
:data:`SPEC_WIDTH` x :data:`SPEC_HEIGHT` PNG of 16 colours (4 bits a pixel) written with numpy
and zlib (about 1 KB, a third more as base64). No GUI backend and no image library is involved,
and the same file always gives the same bytes. Attributes are single-quoted, so a notebook's JSON
need not escape them.
"""

from __future__ import annotations

import functools
import os
import struct
import zlib
from typing import TYPE_CHECKING

from ._measure import decode

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = [
    "SPEC_HEIGHT",
    "SPEC_WIDTH",
    "WAVE_COLUMNS",
    "card_pictures",
    "spectrogram_png",
    "waveform_svg",
]

WAVE_COLUMNS = 120
WAVE_HEIGHT = 32
SPEC_WIDTH = 120
SPEC_HEIGHT = 32
SPEC_FFT = 1024
SPEC_LOW_HZ = 40.0
SPEC_RANGE_DB = 72.0

# 16 colours from dark blue through green to yellow (viridis-like), darkest = quietest.
_PALETTE = bytes.fromhex(
    "440154" "481a6c" "472f7d" "414487" "39568c" "31688e" "2a788e" "23888e"
    "1f988b" "22a884" "35b779" "54c568" "7ad151" "a5db36" "d2e21b" "fde725"
)


def _mono(path: str | os.PathLike[str]) -> tuple[npt.NDArray[np.float64], int]:
    samples, rate = decode(path)
    return samples.mean(axis=1), rate


def card_pictures(path: str | os.PathLike[str]) -> tuple[str, bytes]:
    """Both pictures of the file, :func:`waveform_svg` and :func:`spectrogram_png`, from one
    decoding, remembered by path, modification time and size: a card drawn again, or drawn after
    the measuring thread made them, costs nothing, and a file written again is drawn again.
    ``("", b"")`` for a file that cannot be read (never raises)."""
    try:
        info = os.stat(path)
    except OSError:
        return "", b""
    return _card_pictures(os.fspath(path), info.st_mtime_ns, info.st_size)


@functools.lru_cache(maxsize=256)
def _card_pictures(path: str, mtime_ns: int, size: int) -> tuple[str, bytes]:
    try:
        mono, rate = _mono(path)
    except Exception:
        return "", b""
    if mono.size == 0:
        return "", b""
    return _waveform(mono), _png(_levels(mono, rate))


def waveform_svg(path: str | os.PathLike[str], *, color: str = "#1565c0") -> str:
    """The track's waveform as an inline ``<svg>``: for each of :data:`WAVE_COLUMNS` slices of
    time, a stroke (2 px apart) from the slice's lowest to its highest sample. ``""`` for a file
    that cannot be decoded (never raises)."""
    try:
        mono, _ = _mono(path)
    except Exception:
        return ""
    return _waveform(mono, color=color) if mono.size else ""


def _waveform(mono: npt.NDArray[np.float64], *, color: str = "#1565c0") -> str:
    import numpy as np

    edges = np.linspace(0, mono.size, WAVE_COLUMNS + 1).astype(int)
    half = WAVE_HEIGHT / 2
    strokes: list[str] = []
    previous_end: tuple[int, int] | None = None
    for column in range(WAVE_COLUMNS):
        chunk = mono[edges[column] : max(edges[column + 1], edges[column] + 1)]
        high, low = float(np.max(chunk)), float(np.min(chunk))
        top = round(half - max(0.0, min(1.0, high)) * (half - 1))
        bottom = round(half - max(-1.0, min(0.0, low)) * (half - 1))
        length = max(1, bottom - top)
        if previous_end is None:
            strokes.append(f"M0 {top}v{length}")
        else:
            # Relative moves keep every number short.
            strokes.append(f"m2 {top - previous_end[1]}v{length}")
        previous_end = (column, top + length)
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{2 * WAVE_COLUMNS}' height='{WAVE_HEIGHT}' "
        f"class='apiframe-waveform'><path d='{''.join(strokes)}' stroke='{color}' "
        f"stroke-width='1.6' fill='none'/></svg>"
    )


def spectrogram_png(path: str | os.PathLike[str]) -> bytes:
    """The track's spectrogram as PNG bytes: :data:`SPEC_WIDTH` frames across the whole track,
    :data:`SPEC_HEIGHT` log-spaced bands from 40 Hz to the Nyquist frequency (low at the bottom),
    :data:`SPEC_RANGE_DB` dB below the loudest band in 16 colours. ``b""`` for a file that cannot
    be decoded (never raises)."""
    try:
        mono, rate = _mono(path)
    except Exception:
        return b""
    if mono.size == 0:
        return b""
    return _png(_levels(mono, rate))


def _levels(mono: npt.NDArray[np.float64], rate: int) -> npt.NDArray[np.uint8]:
    """Rows of palette indexes (0 to 15), the highest band first."""
    import numpy as np

    padded = np.concatenate([mono, np.zeros(SPEC_FFT)])
    starts = np.linspace(0, max(0, mono.size - SPEC_FFT // 2), SPEC_WIDTH).astype(int)
    frames = np.stack([padded[s : s + SPEC_FFT] for s in starts])
    power = np.abs(np.fft.rfft(frames * np.hanning(SPEC_FFT), axis=1)) ** 2
    nyquist = rate / 2
    bin_hz = rate / SPEC_FFT
    edges = np.geomspace(SPEC_LOW_HZ, nyquist, SPEC_HEIGHT + 1)
    bands = np.empty((SPEC_HEIGHT, SPEC_WIDTH))
    for band in range(SPEC_HEIGHT):
        low = int(edges[band] / bin_hz)
        high = max(low + 1, int(edges[band + 1] / bin_hz))
        bands[band] = power[:, low:high].mean(axis=1)
    db = 10.0 * np.log10(bands + 1e-20)
    top = float(db.max())
    scaled = np.clip((db - (top - SPEC_RANGE_DB)) / SPEC_RANGE_DB, 0.0, 1.0)
    levels = np.minimum(15, (scaled * 16).astype(np.uint8))
    return np.ascontiguousarray(levels[::-1])


def _png(levels: npt.NDArray[np.uint8]) -> bytes:
    """A 4-bit palette PNG of ``levels`` (rows of indexes 0 to 15)."""
    import numpy as np

    height, width = levels.shape
    if width % 2:
        levels = np.concatenate([levels, np.zeros((height, 1), dtype=np.uint8)], axis=1)
    packed = (levels[:, 0::2] << 4) | levels[:, 1::2]
    # Filter type 0 (none) before every row.
    raw = np.concatenate([np.zeros((height, 1), dtype=np.uint8), packed], axis=1).tobytes()

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 4, 3, 0, 0, 0)  # 4 bits, palette colour
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"PLTE", _PALETTE)
        + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    )
