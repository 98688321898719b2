"""The sandbox's music: a prompt becomes a composition plan, a score, and a finished audio file.

This is the entry point the sandbox server uses. :func:`plan_music` decides style, metre, tempo,
key, band and structure from the prompt's words (see :mod:`._compose`); :func:`render_audio`
composes the score (:mod:`._score`), synthesizes it with numpy (:mod:`._synth`) at the format's
sample rate and encodes it (:mod:`._encode`) as 16-bit WAV or gapless CBR MP3 whose decoded
length is exactly ``length_ms * sample_rate / 1000`` samples.

Same prompt and settings -> same plan and notes on every platform (seeded from SHA-256 of the
normalized prompt) and the same bytes in one environment.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ..catalog import OUTPUT_FORMATS
from ._compose import MusicPlan, Note
from ._compose import plan_music as _plan_music
from ._encode import encode_mp3, encode_wav
from ._score import compose_score
from ._synth import render_score

__all__ = ["MusicPlan", "Note", "compose_score", "plan_music", "render_audio", "render_pcm"]


def plan_music(
    prompt: str, *, length_ms: int, force_instrumental: bool = False, variation: int = 0
) -> MusicPlan:
    """The composition plan for ``prompt``: style, tempo, key/mode, instruments, sections.

    ``variation`` picks another take of the same prompt (0 is the prompt's own).
    ``MusicPlan.to_dict()`` gives a JSON-able summary for job metadata.
    """
    if length_ms <= 0:
        raise ValueError("length_ms must be positive")
    return _plan_music(
        prompt, length_ms=length_ms, force_instrumental=force_instrumental, variation=variation
    )


def render_pcm(
    prompt: str, *, length_ms: int, sample_rate: int = 44100, force_instrumental: bool = False,
    variation: int = 0,
) -> npt.NDArray[np.float32]:
    """The finished stereo master as float32 samples shaped ``(2, n)`` (before encoding)."""
    plan = plan_music(
        prompt, length_ms=length_ms, force_instrumental=force_instrumental, variation=variation
    )
    return render_score(plan, compose_score(plan), sample_rate)


def render_audio(
    prompt: str, *, length_ms: int, output_format: str, force_instrumental: bool = False,
    variation: int = 0,
) -> bytes:
    """Complete file bytes (MP3 or WAV per ``OUTPUT_FORMATS[output_format]``) of exactly length_ms.

    ``variation`` picks another take of the same prompt. Raises :class:`KeyError` for an unknown
    ``output_format`` and :class:`ValueError` for a non-positive length.
    """
    fmt = OUTPUT_FORMATS[output_format]
    audio = render_pcm(
        prompt, length_ms=length_ms, sample_rate=fmt.sample_rate,
        force_instrumental=force_instrumental, variation=variation,
    )
    if fmt.container == "mp3":
        return encode_mp3(audio, fmt.sample_rate, fmt.bitrate_kbps or 192)
    wav = encode_wav(audio, fmt.sample_rate)
    del audio  # drop the float master before bytes() copies the file
    return bytes(wav)
