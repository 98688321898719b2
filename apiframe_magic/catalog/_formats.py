"""Audio formats: ElevenLabs Music's documented ``output_format`` values, and plain MP3 for the
models that offer no choice."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .._public import public

__all__ = ["DEFAULT_OUTPUT_FORMAT", "MP3_DEFAULT", "OUTPUT_FORMATS", "AudioFormat"]


@public
@dataclass(frozen=True)
class AudioFormat:
    """One ``output_format`` value and what it produces."""

    name: str
    container: Literal["mp3", "wav"]
    sample_rate: int
    bitrate_kbps: int | None = None

    @property
    def extension(self) -> str:
        return self.container

    @property
    def mime_type(self) -> str:
        return "audio/mpeg" if self.container == "mp3" else "audio/wav"

    @property
    def label(self) -> str:
        if self.bitrate_kbps:
            return f"MP3 {self.bitrate_kbps} kbps, {self.sample_rate / 1000:g} kHz"
        return f"WAV {self.sample_rate / 1000:g} kHz"


OUTPUT_FORMATS: dict[str, AudioFormat] = {
    f.name: f
    for f in (
        AudioFormat("mp3_standard", "mp3", 44100, 128),
        AudioFormat("mp3_high_quality", "mp3", 44100, 192),
        AudioFormat("wav_16khz", "wav", 16000),
        AudioFormat("wav_22khz", "wav", 22050),
        AudioFormat("wav_24khz", "wav", 24000),
        AudioFormat("wav_cd_quality", "wav", 44100),
    )
}
DEFAULT_OUTPUT_FORMAT = "mp3_high_quality"
MP3_DEFAULT = OUTPUT_FORMATS[DEFAULT_OUTPUT_FORMAT]
