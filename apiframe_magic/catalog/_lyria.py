"""Google Lyria 3 (``lyria-3-clip``, ``lyria-3-pro``): one track, steered by reference images."""

from __future__ import annotations

from ._spec import ModelSpec, ParamSpec

__all__ = ["LYRIA_3_CLIP", "LYRIA_3_PRO"]

# Local image files are uploaded (POST /v2/uploads) and sent as their URLs.
_REFERENCE_IMAGES = ParamSpec(
    "reference_images", "uri_list", "images whose mood the music follows", max_items=10,
    upload_kinds=("image",),
)

LYRIA_3_CLIP = ModelSpec(
    id="lyria-3-clip",
    label="Lyria 3 Clip",
    description="A 30-second instrumental clip from a prompt and optional reference images.",
    params_key="lyriaParams",
    params=(_REFERENCE_IMAGES,),
    average_seconds=20,
    clip_seconds=30,
    sandbox_credits=5,
)

LYRIA_3_PRO = ModelSpec(
    id="lyria-3-pro",
    label="Lyria 3 Pro",
    description="Tracks of up to about 3 minutes (ask for the length in the prompt).",
    params_key="lyriaParams",
    params=(_REFERENCE_IMAGES,),
    sandbox_credits=15,
)
