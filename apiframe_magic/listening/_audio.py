"""The audio a blind test plays: every clip re-encoded, so its bytes give nothing away.

A clip played with the very file a labelled player elsewhere on the page (the batch's grid) holds
could be paired with its card by hashing the two sources. :func:`blind_mp3` decodes the track and
encodes it again as an MP3 at :data:`BLIND_KBPS` with ``lameenc``: other frames, other bytes,
the same music, and every clip through the same encoder, so a WAV among MP3s sounds no different
for its container. :func:`anchor_mp3` makes the low anchor of a MUSHRA-style test: the clip
low-passed at :data:`ANCHOR_HZ` (a clearly worse version a listener should rate lowest).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = ["ANCHOR_HZ", "BLIND_KBPS", "anchor_mp3", "blind_mp3"]

BLIND_KBPS = 192
"""The bitrate every clip of a blind test is re-encoded at."""

ANCHOR_HZ = 3500.0
"""The cut-off of the low anchor (MUSHRA's 3.5 kHz low-pass)."""


def blind_mp3(path: str | os.PathLike[str]) -> bytes:
    """The track at ``path`` decoded and encoded again as an MP3 (see the module)."""
    from ..analysis._measure import decode

    data, rate = decode(path)
    return _mp3(data, rate)


def anchor_mp3(path: str | os.PathLike[str], cutoff_hz: float = ANCHOR_HZ) -> bytes:
    """The track at ``path`` low-passed at ``cutoff_hz`` (a brick-wall filter in the frequency
    domain), as an MP3."""
    import numpy as np

    from ..analysis._measure import decode

    data, rate = decode(path)
    spectrum = np.fft.rfft(data, axis=0)
    spectrum[np.fft.rfftfreq(len(data), 1 / rate) > cutoff_hz] = 0
    return _mp3(np.fft.irfft(spectrum, n=len(data), axis=0), rate)


def _mp3(data: npt.NDArray[np.float64], rate: int) -> bytes:
    """Frames x channels floats in [-1, 1] as a constant-bitrate MP3 (mono or stereo)."""
    import lameenc  # type: ignore[import-untyped, unused-ignore]  # no type hints
    import numpy as np

    channels = min(data.shape[1], 2)
    pcm = np.clip(np.rint(data[:, :channels] * 32767.0), -32768, 32767).astype("<i2")
    encoder = lameenc.Encoder()
    encoder.set_bit_rate(BLIND_KBPS)
    encoder.set_in_sample_rate(rate)
    encoder.set_channels(channels)
    encoder.set_quality(2)
    return bytes(encoder.encode(pcm.tobytes())) + bytes(encoder.flush())

