"""Every music model on the endpoint, by id."""

from __future__ import annotations

from ._elevenlabs import ELEVENLABS_MUSIC
from ._lyria import LYRIA_3_CLIP, LYRIA_3_PRO
from ._mureka import MUREKA
from ._producer import PRODUCER
from ._spec import ModelSpec
from ._suno import SUNO
from ._udio import UDIO

__all__ = ["DEFAULT_MODEL", "MODELS", "get_spec"]

DEFAULT_MODEL = ELEVENLABS_MUSIC.id

MODELS: dict[str, ModelSpec] = {
    spec.id: spec
    for spec in (ELEVENLABS_MUSIC, SUNO, UDIO, PRODUCER, LYRIA_3_CLIP, LYRIA_3_PRO, MUREKA)
}


def get_spec(model: str) -> ModelSpec:
    """The spec of ``model``; ``KeyError`` naming the known models when there is none."""
    try:
        return MODELS[model]
    except KeyError:
        raise KeyError(f"unknown model {model!r}: one of {', '.join(MODELS)}") from None
