"""The music models Apiframe serves, as data: one :class:`ModelSpec` per model.

This is the single source of model knowledge: params with their types and bounds, prompt
limits, tracks per job, prices, which options (``--length``, ``--instrumental``, ``--seed``,
lyrics) a model takes. It also owns the rules every caller applies to them: the options and
``--param KEY=VALUE`` turned into params (:meth:`ModelSpec.params_for`,
:meth:`ModelSpec.parse_param`), what a job costs (:func:`price_bounds`) and when two prompts are
the same prompt (:func:`normalize_prompt`). The client validates requests with it, the sandbox
emulates every model from it, and the magic documents and parses options from it. Add a model by
adding a module with its spec and listing it in ``_registry.py``.
"""

from __future__ import annotations

from ._elevenlabs import ELEVENLABS_MUSIC, MAX_LENGTH_MS, MIN_LENGTH_MS
from ._formats import DEFAULT_OUTPUT_FORMAT, MP3_DEFAULT, OUTPUT_FORMATS, AudioFormat
from ._length import credit_cost, format_length, parse_length
from ._lyria import LYRIA_3_CLIP, LYRIA_3_PRO
from ._mureka import MUREKA
from ._price import price_bounds
from ._producer import PRODUCER
from ._prompt import normalize_prompt
from ._registry import DEFAULT_MODEL, MODELS, get_spec
from ._rules import (
    OPTIONS,
    OptionError,
    length_rule,
    models_with,
    params_for,
    parse_param,
    parse_param_among,
    split_param,
)
from ._spec import Lyrics, ModelSpec, ParamKind, ParamSpec, parse_bool
from ._suno import SUNO
from ._udio import UDIO
from ._validate import PROMPT_MAX, WEBHOOK_EVENTS, validate_body

__all__ = [
    "DEFAULT_MODEL",
    "DEFAULT_OUTPUT_FORMAT",
    "ELEVENLABS_MUSIC",
    "LYRIA_3_CLIP",
    "LYRIA_3_PRO",
    "MAX_LENGTH_MS",
    "MIN_LENGTH_MS",
    "MODELS",
    "MP3_DEFAULT",
    "MUREKA",
    "OPTIONS",
    "OUTPUT_FORMATS",
    "PRODUCER",
    "PROMPT_MAX",
    "SUNO",
    "UDIO",
    "WEBHOOK_EVENTS",
    "AudioFormat",
    "Lyrics",
    "ModelSpec",
    "OptionError",
    "ParamKind",
    "ParamSpec",
    "credit_cost",
    "format_length",
    "get_spec",
    "length_rule",
    "models_with",
    "normalize_prompt",
    "params_for",
    "parse_bool",
    "parse_length",
    "parse_param",
    "parse_param_among",
    "price_bounds",
    "split_param",
    "validate_body",
]
