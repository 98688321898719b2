"""The music models Apiframe serves, as data: one :class:`ModelSpec` per model.

This is the single source of model knowledge: params with their types and bounds, prompt
limits, tracks per job, prices, which options (``--length``, ``--instrumental``, ``--seed``,
lyrics) a model takes. It also owns the rules every caller applies to them: the options and
``--param KEY=VALUE`` turned into params (:meth:`ModelSpec.params_for`,
:meth:`ModelSpec.parse_param`), what a job costs (:func:`price_bounds`) and when two prompts are
the same prompt (:func:`normalize_prompt`). The client validates requests with it, the sandbox
emulates every model from it, and the magic documents and parses options from it. Add a model by
adding a module with its spec and listing it in ``_registry.py``.

The follow-up actions on a Suno track (``extend``, ``cover``, ``add_vocals``, ``stems``) are
data too: one :class:`ActionSpec` each (:data:`ACTIONS`), checked by
:func:`validate_action_body` and priced by the same :func:`price_bounds`. What
``POST /v2/uploads`` takes (types sniffed from the bytes, size limits) is :func:`upload_problem`.
"""

from __future__ import annotations

from ._actions import (
    ACTION_PATH,
    ACTIONS,
    ADD_VOCALS,
    COVER,
    EXTEND,
    STEMS,
    ActionSpec,
    continue_at_problem,
    get_action,
    parent_problem,
    validate_action_body,
)
from ._asks import PromptAsks, asks_of, parse_bpm, parse_key, parse_metre
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
from ._spec import Lyrics, ModelSpec, ParamKind, ParamSpec, is_http_url, parse_bool
from ._suno import SUNO
from ._udio import UDIO
from ._uploads import (
    SNIFF_BYTES,
    UPLOAD_LIMITS,
    UPLOAD_TYPES,
    UploadKind,
    UploadType,
    format_size,
    sniff_upload,
    upload_problem,
)
from ._validate import PROMPT_MAX, WEBHOOK_EVENTS, validate_body

__all__ = [
    "ACTIONS",
    "ACTION_PATH",
    "ADD_VOCALS",
    "COVER",
    "DEFAULT_MODEL",
    "DEFAULT_OUTPUT_FORMAT",
    "ELEVENLABS_MUSIC",
    "EXTEND",
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
    "SNIFF_BYTES",
    "STEMS",
    "SUNO",
    "UDIO",
    "UPLOAD_LIMITS",
    "UPLOAD_TYPES",
    "WEBHOOK_EVENTS",
    "ActionSpec",
    "AudioFormat",
    "Lyrics",
    "ModelSpec",
    "OptionError",
    "ParamKind",
    "ParamSpec",
    "PromptAsks",
    "UploadKind",
    "UploadType",
    "asks_of",
    "continue_at_problem",
    "credit_cost",
    "format_length",
    "format_size",
    "get_action",
    "get_spec",
    "is_http_url",
    "length_rule",
    "models_with",
    "normalize_prompt",
    "params_for",
    "parent_problem",
    "parse_bool",
    "parse_bpm",
    "parse_key",
    "parse_length",
    "parse_metre",
    "parse_param",
    "parse_param_among",
    "price_bounds",
    "sniff_upload",
    "split_param",
    "upload_problem",
    "validate_action_body",
    "validate_body",
]
