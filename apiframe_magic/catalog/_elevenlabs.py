"""ElevenLabs Music (``elevenlabs-music``): one track of 5 s to 5 min, priced by length."""

from __future__ import annotations

from ._formats import OUTPUT_FORMATS
from ._spec import ModelSpec, ParamSpec

__all__ = ["ELEVENLABS_MUSIC", "MAX_LENGTH_MS", "MIN_LENGTH_MS"]

MIN_LENGTH_MS = 5_000
MAX_LENGTH_MS = 300_000

ELEVENLABS_MUSIC = ModelSpec(
    id="elevenlabs-music",
    label="ElevenLabs Music",
    description="Studio-grade songs and instrumentals from a text prompt, 5 s to 5 min, one track.",
    params_key="elevenlabsParams",
    params=(
        ParamSpec("music_length_ms", "int", "length in milliseconds; unset: the model picks",
                  minimum=MIN_LENGTH_MS, maximum=MAX_LENGTH_MS, step=1000),
        ParamSpec("force_instrumental", "bool", "no vocals", default=False),
        ParamSpec("output_format", "enum", "audio format", choices=tuple(OUTPUT_FORMATS),
                  default="mp3_high_quality"),
    ),
    length_param="music_length_ms",
    length_bounds_ms=(MIN_LENGTH_MS, MAX_LENGTH_MS),
    format_param="output_format",
    instrumental=("force_instrumental", True),
    credits_by_length=((30_000, 10), (120_000, 20), (MAX_LENGTH_MS, 30)),
    average_seconds=60,
)
