"""The options every model shares, and ``--param KEY=VALUE``, turned into a model's params.

One home for what the magic, the shell and :func:`~apiframe_magic.expand` used to map each on
their own: :func:`params_for` (``--length``, ``--format``, ``--instrumental``, ``--seed`` onto
the params key each model uses for them) and :func:`parse_param` (a ``--param`` value typed and
checked). A mistake is an :class:`OptionError`: one line naming the option as the user wrote
it, never the params key it would have set.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .._exceptions import RequestValidationError
from ._length import format_length, parse_length

if TYPE_CHECKING:
    from ._spec import ModelSpec

__all__ = ["OPTIONS", "OptionError", "length_rule", "models_with", "params_for", "parse_param",
           "parse_param_among", "split_param"]

# The options every model is asked about, as the magic and the shell spell them.
OPTIONS: Mapping[str, str] = {
    "length": "--length", "format": "--format", "instrumental": "--instrumental", "seed": "--seed",
}


class OptionError(RequestValidationError):
    """An option (or ``--param``) a model does not take, or a value it cannot have.

    ``field`` is the option as the user wrote it (``--length``, ``--param n``), ``value`` what was
    given, ``allowed`` why it is refused; ``str()`` is the one line to show, e.g.
    ``--length 3: must be 5s to 5m in whole seconds (e.g. 30s, 1m30s)``.
    """

    def __init__(self, option: str, value: Any, allowed: str, message: str | None = None) -> None:
        super().__init__(option, value, allowed)
        self.args = (message or f"{option}: {allowed}",)

    def __reduce__(self) -> tuple[Any, ...]:
        return type(self), (self.field, self.value, self.allowed, self.args[0])


def models_with(has: Callable[[ModelSpec], object]) -> str:
    """The ids of the models for which ``has(spec)`` is true, comma-separated (``none``)."""
    from ._registry import MODELS  # the registry imports every spec, this module among theirs

    return ", ".join(m.id for m in MODELS.values() if has(m)) or "none"


def _shown(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def length_rule(spec: ModelSpec) -> str:
    """What a length must be for ``spec``, in words: ``must be 5s to 5m in whole seconds (...)``."""
    param = spec.param(spec.length_param) if spec.length_param else None
    bounds = spec.length_bounds_ms
    if bounds is None and param is not None and param.minimum is not None and param.maximum is not None:
        bounds = int(param.minimum), int(param.maximum)
    if bounds is None:
        return f"{spec.id} takes no length"
    low, high = bounds
    whole = " in whole seconds" if param is not None and param.step == 1000 else ""
    return f"must be {format_length(low)} to {format_length(high)}{whole} (e.g. 30s, 1m30s)"


def params_for(
    spec: ModelSpec,
    *,
    length: str | float | None = None,
    length_ms: int | None = None,
    format: str | None = None,
    instrumental: bool = False,
    seed: int | str | None = None,
    params: Mapping[str, Any] | None = None,
    spelled: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The params of a job of ``spec``'s model: ``params`` (the model's own, as given) with the
    shared options mapped onto the keys this model uses for them.

    ``length`` is written as for ``--length`` (``30s``, ``1m30s``, ``90000ms``, or a number of
    seconds) and ``length_ms`` is already milliseconds (give one of them); ``format`` is an
    ``output_format`` name; ``instrumental`` sets the model's own flag; ``seed`` is typed by the
    model's seed param (text is parsed). Each value is checked against the model's param, and an
    option the model does not take raises :class:`OptionError` naming the models that do.

    ``spelled`` renames options in messages (keys of :data:`OPTIONS`): the magic passes
    ``{"length": "MusicMagics.default_length"}`` when a length comes from its settings.
    A param set both in ``params`` and by an option, to different values, is refused.
    """
    names = {**OPTIONS, **(spelled or {})}
    given = dict(params or {})
    merged = dict(given)

    def refuse(key: str, value: Any, has: Callable[[ModelSpec], object]) -> OptionError:
        return OptionError(names[key], value,
                           f"{spec.id} does not take it; models that do: {models_with(has)}")

    def put(key: str, name: str, value: Any, shown: str, why: str | None = None) -> None:
        option = names[key]
        param = spec.param(name)
        why = why or (param.check(value) if param is not None else None)
        if why is not None:
            raise OptionError(option, shown, why, f"{option} {shown}: {why}")
        if name in given and given[name] != value:
            raise OptionError(
                f"--param {name}", given[name], f"{name} is already set by {option}",
                f"--param {name}={_shown(given[name])}: {name} is already set by {option}",
            )
        merged[name] = value

    if length is not None and length_ms is not None:
        raise OptionError(names["length"], length, "give the length once, as text or milliseconds")
    if length is not None or length_ms is not None:
        text = str(length) if length is not None else format_length(length_ms or 0)
        if spec.length_param is None:
            raise refuse("length", text, lambda m: m.length_param)
        if length is not None:
            try:
                length_ms = parse_length(length)
            except ValueError as e:
                raise OptionError(names["length"], length, str(e)) from None
        param = spec.param(spec.length_param)
        bad = param is not None and param.check(length_ms) is not None
        put("length", spec.length_param, length_ms, text, length_rule(spec) if bad else None)
    if format is not None:
        if spec.format_param is None:
            raise refuse("format", format, lambda m: m.format_param)
        put("format", spec.format_param, format, format)
    if instrumental:
        if spec.instrumental is None:
            raise refuse("instrumental", True, lambda m: m.instrumental)
        put("instrumental", *spec.instrumental, "")
    if seed is not None:
        seed_param = spec.param(spec.seed_param) if spec.seed_param else None
        if seed_param is None:
            raise refuse("seed", seed, lambda m: m.seed_param)
        try:
            value = seed_param.parse(seed) if isinstance(seed, str) else seed
        except ValueError as e:
            raise OptionError(names["seed"], seed, str(e), f"{names['seed']} {seed}: {e}") from None
        put("seed", seed_param.name, value, str(seed))
    return merged


def split_param(item: str) -> tuple[str, str]:
    """``KEY=VALUE`` as written after ``--param``: the key (stripped) and the value's text."""
    key, sep, text = item.partition("=")
    if not sep or not key.strip():
        raise OptionError(f"--param {item}", item, "write KEY=VALUE, e.g. --param n=3")
    return key.strip(), text


def parse_param(spec: ModelSpec, key: str, text: str) -> Any:
    """The value of ``--param KEY=VALUE`` for ``spec``'s model, typed by its param and checked
    against it; :class:`OptionError` naming the param (and, for a key the model lacks, the
    params it has and the models that have that key)."""
    param = spec.param(key)
    if param is None:
        takers = models_with(lambda m: m.param(key))
        also = f"; models that do: {takers}" if takers != "none" else ""
        raise OptionError(f"--param {key}", text,
                          f"{spec.id} has no param {key}; it takes {', '.join(spec.param_names)}{also}")
    try:
        value = param.parse(text)
        why = param.check_given(value)  # local files of a param that uploads them are taken here
    except ValueError as e:
        why = str(e)
    if why is not None:
        raise OptionError(f"--param {key}", text, f"{key} {why}", f"--param {key}={text}: {key} {why}")
    return value


def parse_param_among(specs: Iterable[ModelSpec], key: str, text: str) -> Any:
    """``--param KEY=VALUE`` for a run of several models: typed and checked by the first of
    ``specs`` that has ``key``; :class:`OptionError` when none has it."""
    specs = list(specs)
    for spec in specs:
        if spec.param(key) is not None:
            return parse_param(spec, key, text)
    if len(specs) == 1:
        return parse_param(specs[0], key, text)
    takers = models_with(lambda m: m.param(key))
    raise OptionError(f"--param {key}", text,
                      f"none of {', '.join(s.id for s in specs)} has it; models that do: {takers}")
