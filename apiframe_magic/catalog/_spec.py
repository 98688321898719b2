"""What a music model accepts, as data: :class:`ModelSpec` and its :class:`ParamSpec` rows.

One spec per model is the single source for everything model-specific: the client checks a
request against it before anything is sent, the sandbox answers ``400`` with ``details`` from
the same checks, the magic maps its options (``--length``, ``--instrumental``, ``--seed``,
``--param KEY=VALUE``) onto it, and ``%%music?``, ``--dry-run`` and ``%music models`` describe
models from it. Adding a model means adding one spec (see the modules beside this one).

Nothing here knows about HTTP or IPython.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

from .._public import public
from ._formats import DEFAULT_OUTPUT_FORMAT, MP3_DEFAULT, OUTPUT_FORMATS, AudioFormat

__all__ = ["Lyrics", "ModelSpec", "ParamKind", "ParamSpec", "is_http_url", "parse_bool"]

ParamKind = Literal["int", "float", "bool", "str", "enum", "uri_list"]

_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})


def parse_bool(text: str) -> bool:
    """``true/yes/on/1`` and ``false/no/off/0`` (any case); anything else is a ``ValueError``."""
    word = text.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ValueError("must be true or false")


def is_http_url(text: str) -> bool:
    """Whether ``text`` is an absolute http(s) URL (malformed text is simply not one)."""
    try:
        parts = urlsplit(text)
    except ValueError:  # e.g. "http://[" (an unclosed IPv6 literal)
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


@public
@dataclass(frozen=True)
class ParamSpec:
    """One key of a model's params object, with the rules the API enforces on its value.

    ``help`` is shown by ``%music models`` and ``%%music?``; ``default`` is the service's
    documented default (informational: unset keys are left out of the request).
    ``exclusive_minimum`` makes ``minimum`` itself refused (a Suno extension's ``continueAt`` is
    more than 0 seconds); ``min_length`` is the shortest text accepted. A ``uri_list`` with
    ``upload_kinds`` (Lyria's ``reference_images``: images) may be given local files of those
    kinds, which the client uploads with ``POST /v2/uploads`` and replaces by their URLs before
    sending (:meth:`check_given` accepts them; :meth:`check`, the body's rule, does not).
    """

    name: str
    kind: ParamKind
    help: str = ""
    minimum: float | None = None
    maximum: float | None = None
    step: int | None = None
    choices: tuple[str, ...] = ()
    max_length: int | None = None
    max_items: int | None = None
    default: Any = None
    min_length: int | None = None
    exclusive_minimum: bool = False
    upload_kinds: tuple[str, ...] = ()

    def check(self, value: Any) -> str | None:
        """Why ``value`` (decoded JSON) is not acceptable, or ``None`` when it is."""
        if self.kind == "bool":
            return None if isinstance(value, bool) else "must be true or false"
        if self.kind == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                return "must be an integer"
            return self._check_range(value)
        if self.kind == "float":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or (
                isinstance(value, float) and not math.isfinite(value)
            ):
                return "must be a number"
            return self._check_range(value)
        if self.kind == "uri_list":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                return "must be a list of URLs"
            if self.max_items is not None and len(value) > self.max_items:
                return f"must have at most {self.max_items} items"
            if not all(is_http_url(v) for v in value):
                return "must hold absolute http(s) URLs"
            return None
        if not isinstance(value, str):
            return "must be a string"
        if self.kind == "enum" and value not in self.choices:
            return "must be one of " + ", ".join(self.choices)
        too_short = self.min_length is not None and len(value) < self.min_length
        if too_short or (self.max_length is not None and len(value) > self.max_length):
            if self.min_length is None:
                return f"must be at most {self.max_length} characters"
            if self.max_length is None:
                return f"must be at least {self.min_length} characters"
            return f"must be {self.min_length} to {self.max_length} characters"
        return None

    def check_given(self, value: Any) -> str | None:
        """As :meth:`check`, for a value as a user gives it: a param with ``upload_kinds`` may
        hold local files besides URLs (see :meth:`local_files`)."""
        if not self.upload_kinds or not isinstance(value, list):
            return self.check(value)
        if any(isinstance(v, str) and not v.strip() for v in value):
            return "must not hold an empty item"
        files = set(self.local_files(value))
        return self.check(["https://file.invalid/" if v in files else v for v in value])

    def local_files(self, value: Any) -> list[str]:
        """The items of ``value`` that are local files to upload (neither an http(s) URL nor
        any other URL); empty for a param that takes no files."""
        if not self.upload_kinds or not isinstance(value, list):
            return []
        return [v for v in value if isinstance(v, str) and "://" not in v]

    def _check_range(self, value: float) -> str | None:
        low = "" if self.minimum is None else f"{self.minimum:g}"
        high = "" if self.maximum is None else f"{self.maximum:g}"
        too_low = self.minimum is not None and (
            value <= self.minimum if self.exclusive_minimum else value < self.minimum
        )
        if too_low or (self.maximum is not None and value > self.maximum):
            if self.exclusive_minimum:
                above = f"must be more than {low}"
                return above if self.maximum is None else f"{above} and at most {high}"
            if self.maximum is None:
                return f"must be at least {low}"
            if self.minimum is None:
                return f"must be at most {high}"
            return f"must be between {low} and {high}"
        if self.step and (value - (self.minimum or 0)) % self.step:
            return f"must be a multiple of {self.step}"
        return None

    def parse(self, text: str) -> Any:
        """The typed value of ``text`` as written in ``--param KEY=VALUE``; ``ValueError`` says why not.

        The value is only converted here; :meth:`check` judges it.
        """
        if self.kind == "bool":
            return parse_bool(text)
        if self.kind == "int":
            try:
                return int(text.strip().replace("_", ""))
            except ValueError:
                raise ValueError("must be an integer") from None
        if self.kind == "float":
            try:
                return float(text.strip())
            except ValueError:
                raise ValueError("must be a number") from None
        if self.kind == "uri_list":
            return [part.strip() for part in text.split(",") if part.strip()]
        return text

    def describe(self) -> str:
        """The accepted values in a few words: ``number 0 to 1``, ``one of V4, V5``, ..."""
        if self.kind == "enum":
            return "one of " + ", ".join(self.choices)
        if self.kind == "bool":
            return "true or false"
        if self.kind in ("int", "float"):
            noun = "integer" if self.kind == "int" else "number"
            if self.minimum is not None and self.maximum is not None:
                return f"{noun} {self.minimum:g} to {self.maximum:g}"
            if self.minimum is not None:
                return f"{noun} {'more than' if self.exclusive_minimum else 'from'} {self.minimum:g}"
            return noun
        if self.kind == "uri_list":
            most = f", at most {self.max_items}" if self.max_items else ""
            files = f" or local {' or '.join(self.upload_kinds)} files" if self.upload_kinds else ""
            return f"comma-separated URLs{files}{most}"
        return f"text up to {self.max_length} characters" if self.max_length else "text"


@dataclass(frozen=True)
class Lyrics:
    """Where a model takes lyrics.

    ``param`` names the params key that holds them; ``None`` means the prompt itself becomes the
    lyrics (Suno's custom mode), in which case ``sets`` are the params that mode needs and the
    description the user wrote moves to ``description_param``.
    """

    param: str | None
    sets: tuple[tuple[str, Any], ...] = ()
    description_param: str | None = None


@public
@dataclass(frozen=True)
class ModelSpec:
    """A music model served by ``POST /v2/music/generate``: its params object and its facts.

    Options the magic offers for every model map onto params through the fields below; a field
    left ``None`` means the model has no such thing and the option is refused for it:

    * ``length_param``: ``--length`` (milliseconds), ``format_param``: ``--format``;
    * ``instrumental``: the ``(param, value)`` that ``--instrumental`` sets;
    * ``seed_param``: ``--seed``; ``lyrics``: where the lyrics part of a cell goes.

    ``credits_per_job`` / ``credits_per_track`` / ``credits_by_length`` are documented prices;
    ``sandbox_credits`` is what the offline sandbox charges where no price is documented.
    """

    id: str
    label: str
    description: str
    params_key: str
    params: tuple[ParamSpec, ...]
    prompt_max: int = 5000
    relaxed_prompt_max: tuple[tuple[str, int], ...] = ()
    tracks: int = 1
    tracks_param: str | None = None
    length_param: str | None = None
    length_bounds_ms: tuple[int, int] | None = None
    format_param: str | None = None
    instrumental: tuple[str, Any] | None = None
    seed_param: str | None = None
    lyrics: Lyrics | None = None
    credits_per_job: int | None = None
    credits_per_track: int | None = None
    credits_by_length: tuple[tuple[int, int], ...] = ()
    sandbox_credits: int = 10
    average_seconds: float | None = None
    clip_seconds: float | None = None
    rules: tuple[Callable[[Mapping[str, Any]], tuple[str, str] | None], ...] = field(
        default=(), compare=False, repr=False
    )

    def apply_lyrics(
        self, prompt: str, lyrics: str, params: Mapping[str, Any]
    ) -> tuple[str, dict[str, Any]]:
        """The prompt and params that carry ``lyrics`` for this model; ``ValueError`` when the model
        takes no lyrics."""
        if self.lyrics is None:
            raise ValueError(f"{self.id} takes no lyrics")
        merged = dict(params)
        if self.lyrics.param is not None:
            merged[self.lyrics.param] = lyrics
            return prompt, merged
        merged.update(self.lyrics.sets)
        if self.lyrics.description_param is not None and prompt:
            merged.setdefault(self.lyrics.description_param, prompt)
        return lyrics, merged

    def param(self, name: str) -> ParamSpec | None:
        return next((p for p in self.params if p.name == name), None)

    def parse_param(self, key: str, text: str) -> Any:
        """The value of ``--param KEY=VALUE``, typed by this model's param ``key`` and checked;
        a one-line ``OptionError`` (a ``RequestValidationError``) naming the param otherwise."""
        from ._rules import parse_param  # _rules reads the registry, which imports this module

        return parse_param(self, key, text)

    def params_for(
        self,
        *,
        length: str | float | None = None,
        length_ms: int | None = None,
        format: str | None = None,
        instrumental: bool = False,
        seed: int | str | None = None,
        params: Mapping[str, Any] | None = None,
        spelled: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """The params for the options every model is asked about (``--length``, ``--format``,
        ``--instrumental``, ``--seed``) merged into ``params``; an option this model does not take
        is a one-line ``OptionError`` naming the option and the models that take it.
        See :func:`apiframe_magic.catalog.params_for`."""
        from ._rules import params_for

        return params_for(self, length=length, length_ms=length_ms, format=format,
                          instrumental=instrumental, seed=seed, params=params, spelled=spelled)

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    def prompt_limit(self, params: Mapping[str, Any]) -> int:
        """The prompt's maximum length for these params (Suno allows more in custom mode)."""
        for flag, limit in self.relaxed_prompt_max:
            if params.get(flag) is True:
                return limit
        return self.prompt_max

    def track_count(self, params: Mapping[str, Any]) -> int:
        """How many tracks a job with these params returns."""
        if self.tracks_param is not None:
            value = params.get(self.tracks_param)
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            spec = self.param(self.tracks_param)
            if spec is not None and isinstance(spec.default, int):
                return spec.default
        return self.tracks

    def cost(self, params: Mapping[str, Any]) -> int | None:
        """Documented credits for one job with these params; ``None`` where none is documented
        (or, for a length-priced model, when the length is left to the model)."""
        if self.credits_by_length and self.length_param is not None:
            length = params.get(self.length_param)
            if not isinstance(length, int):
                return None
            return next((c for most, c in self.credits_by_length if length <= most), None)
        if self.credits_per_track is not None:
            return self.credits_per_track * self.track_count(params)
        return self.credits_per_job

    def cost_range(self) -> tuple[int, int] | None:
        """The lowest and highest documented price of one job, or ``None`` when undocumented."""
        if self.credits_by_length:
            prices = [c for _, c in self.credits_by_length]
            return min(prices), max(prices)
        if self.credits_per_track is not None:
            counts = [self.tracks]
            n = self.param(self.tracks_param) if self.tracks_param else None
            if n is not None and n.minimum is not None and n.maximum is not None:
                counts = [int(n.minimum), int(n.maximum)]
            return self.credits_per_track * min(counts), self.credits_per_track * max(counts)
        if self.credits_per_job is not None:
            return self.credits_per_job, self.credits_per_job
        return None

    def price_bounds(self, params: Mapping[str, Any] | None = None) -> tuple[int, int] | None:
        """The lowest and highest credits of a job with ``params`` (``None``: of any job of this
        model); ``None`` when no price is published. See :func:`apiframe_magic.catalog.price_bounds`."""
        from ._price import price_bounds

        return price_bounds(self, params)

    def charge(self, params: Mapping[str, Any], length_ms: int | None = None) -> int:
        """What the sandbox charges: the documented price (for ``length_ms`` when the length was
        left to the model), else :attr:`sandbox_credits`."""
        if self.credits_by_length and self.length_param is not None and length_ms is not None:
            params = {**params, self.length_param: params.get(self.length_param, length_ms)}
        documented = self.cost(params)
        return documented if documented is not None else self.sandbox_credits

    def audio_format(self, params: Mapping[str, Any]) -> AudioFormat:
        """The format a job with these params returns (MP3 for models without a format choice)."""
        if self.format_param is None:
            return MP3_DEFAULT
        name = params.get(self.format_param)
        if not (isinstance(name, str) and name in OUTPUT_FORMATS):
            name = DEFAULT_OUTPUT_FORMAT
        return OUTPUT_FORMATS[name]

    def check_params(self, params: Mapping[str, Any]) -> dict[str, list[str]]:
        """Problems with a params object, by JSON path (``sunoParams.style``); empty when valid.

        Unknown keys are refused, as the service's ``additionalProperties: false`` does.
        """
        problems: dict[str, list[str]] = {}
        for name, value in params.items():
            path = f"{self.params_key}.{name}"
            spec = self.param(str(name))
            if spec is None:
                problems.setdefault(path, []).append("is not an allowed property")
            elif (why := spec.check(value)) is not None:
                problems.setdefault(path, []).append(why)
        if not problems:
            for rule in self.rules:
                found = rule(params)
                if found is not None:
                    name, why = found
                    problems.setdefault(f"{self.params_key}.{name}", []).append(why)
        return problems
