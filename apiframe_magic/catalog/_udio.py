"""Udio (``udio``): two tracks per job, reproducible with an integer seed."""

from __future__ import annotations

from ._spec import ModelSpec, ParamSpec

__all__ = ["UDIO"]

UDIO = ModelSpec(
    id="udio",
    label="Udio",
    description="Songs and instrumentals, two takes per job; an integer seed repeats a take.",
    params_key="udioParams",
    params=(
        ParamSpec("lyrics_type", "enum", "generated lyrics, your own, or none",
                  choices=("generate", "user", "instrumental"), default="generate"),
        ParamSpec("title", "str", "song title", max_length=80),
        ParamSpec("style", "str", "musical style", max_length=1000),
        ParamSpec("negative_tags", "str", "styles to avoid", max_length=500),
        ParamSpec("seed", "int", "repeatable randomness"),
    ),
    tracks=2,
    instrumental=("lyrics_type", "instrumental"),
    seed_param="seed",
    credits_per_job=9,
)
