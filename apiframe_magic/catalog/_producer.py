"""Producer (``producer``): two tracks per job, with lyrics and a string seed."""

from __future__ import annotations

from ._spec import Lyrics, ModelSpec, ParamSpec

__all__ = ["PRODUCER"]

PRODUCER = ModelSpec(
    id="producer",
    label="Producer",
    description="Songs with your lyrics or instrumentals, two takes per job (FUZZ models).",
    params_key="producerParams",
    params=(
        ParamSpec("model_version", "enum", "FUZZ model version",
                  choices=("FUZZ_2_PRO", "FUZZ_2", "FUZZ_2_RAW", "FUZZ_1_1_PRO", "FUZZ_1_PRO", "FUZZ_1"),
                  default="FUZZ_2_PRO"),
        ParamSpec("instrumental", "bool", "no vocals"),
        ParamSpec("lyrics", "str", "the words to sing", max_length=5000),
        ParamSpec("lyrics_strength", "float", "how closely the lyrics are followed", minimum=0, maximum=1),
        ParamSpec("sound_strength", "float", "how closely the sound prompt is followed",
                  minimum=0.2, maximum=1),
        ParamSpec("weirdness", "float", "how adventurous", minimum=0, maximum=1),
        ParamSpec("seed", "str", "repeatable randomness"),
        ParamSpec("title", "str", "song title", max_length=80),
    ),
    tracks=2,
    instrumental=("instrumental", True),
    seed_param="seed",
    lyrics=Lyrics(param="lyrics"),
    average_seconds=45,
)
