"""Mureka (``mureka``): one to three songs per job, priced per song."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._spec import Lyrics, ModelSpec, ParamSpec

__all__ = ["MUREKA"]


def _no_lyrics_when_instrumental(params: Mapping[str, Any]) -> tuple[str, str] | None:
    if params.get("instrumental") is True and params.get("lyrics"):
        return "lyrics", "cannot be given with instrumental=true"
    return None


MUREKA = ModelSpec(
    id="mureka",
    label="Mureka",
    description="Songs with or without your lyrics, one to three takes per job (n).",
    params_key="murekaParams",
    params=(
        ParamSpec("model_version", "enum", "Mureka model version",
                  choices=("auto", "mureka-7.6", "mureka-o2", "mureka-8", "mureka-9"), default="auto"),
        ParamSpec("lyrics", "str", "the words to sing (not with instrumental)", max_length=3000),
        ParamSpec("instrumental", "bool", "no vocals"),
        ParamSpec("n", "int", "how many songs", minimum=1, maximum=3, default=2),
    ),
    prompt_max=1024,
    tracks=2,
    tracks_param="n",
    instrumental=("instrumental", True),
    lyrics=Lyrics(param="lyrics"),
    credits_per_track=6,
    rules=(_no_lyrics_when_instrumental,),
)
