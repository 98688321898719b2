"""Suno (``suno``): two songs per job; custom mode takes the prompt as lyrics."""

from __future__ import annotations

from ._spec import Lyrics, ModelSpec, ParamSpec

__all__ = ["SUNO"]

SUNO = ModelSpec(
    id="suno",
    label="Suno",
    description="Full songs with vocals or instrumentals, two takes per job; custom mode sets "
                "lyrics, style and title.",
    params_key="sunoParams",
    params=(
        ParamSpec("custom_mode", "bool", "the prompt is the lyrics; style and title set the rest",
                  default=False),
        ParamSpec("instrumental", "bool", "no vocals", default=False),
        ParamSpec("model_version", "enum", "Suno model version",
                  choices=("V4", "V4_5", "V4_5ALL", "V4_5PLUS", "V5", "V5_5"), default="V4_5PLUS"),
        ParamSpec("title", "str", "song title", max_length=80),
        ParamSpec("style", "str", "musical style (custom mode)", max_length=1000),
        ParamSpec("negative_tags", "str", "styles to avoid", max_length=500),
        ParamSpec("vocal_gender", "enum", "singer's voice", choices=("m", "f")),
        ParamSpec("style_weight", "float", "how strongly the style is followed", minimum=0, maximum=1),
        ParamSpec("weirdness_constraint", "float", "how adventurous", minimum=0, maximum=1),
        ParamSpec("auto_lyrics", "bool", "write lyrics from the prompt"),
    ),
    prompt_max=500,
    relaxed_prompt_max=(("custom_mode", 5000),),
    tracks=2,
    instrumental=("instrumental", True),
    lyrics=Lyrics(param=None, sets=(("custom_mode", True),), description_param="style"),
    credits_per_job=11,
)
