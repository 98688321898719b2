"""Expanding what a user asked for into the jobs of a batch: prompts times models, lengths,
formats and takes, each labelled by what varies between them.

:func:`expand` (from prompts and option values) and :func:`expand_rows` (from the rows of a table)
return :class:`BatchItem` objects, one per job. Everything is checked before anything runs: an
option a model does not take is a :class:`~apiframe_magic.RequestValidationError`, as for a
single ``%%music`` cell.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .._exceptions import RequestValidationError
from .._public import public
from ..catalog import DEFAULT_MODEL, MODELS, ModelSpec, format_length, parse_length
from ..client import MusicRequest

__all__ = ["BatchItem", "expand", "expand_rows"]

# How a prompt names itself in a label: its first few words.
_SHORT_WORDS = 4
_SHORT_WORDS_MAX = 8
_SHORT_CHARS = 32
_SEPARATOR = " · "


# ---------------------------------------------------------------------------------------------
# Items: what to run
# ---------------------------------------------------------------------------------------------


@public
@dataclass(frozen=True)
class BatchItem:
    """One job of a batch: its ``request``, which ``take`` of that request it is (re-running a
    batch answers take 1 of a request from the job ledger, take 2 is another), and its ``label``,
    naming what sets it apart from the other items."""

    label: str
    request: MusicRequest
    take: int = 1

    @property
    def prompt(self) -> str:
        return self.request.prompt

    @property
    def model(self) -> str:
        return self.request.model


@dataclass(frozen=True)
class _Spec:
    """One combination before it is labelled: what the caller asked for, option by option."""

    prompt: str
    model: str
    length_ms: int | None
    format: str | None
    params: Mapping[str, Any]
    request: MusicRequest
    takes: int


@public
def expand(
    prompts: str | Iterable[Any],
    *,
    models: str | Iterable[str] = (DEFAULT_MODEL,),
    lengths: str | float | Iterable[str | float | None] | None = (None,),
    formats: str | Iterable[str | None] | None = (None,),
    takes: int = 1,
    params: Mapping[str, Any] | None = None,
    instrumental: bool = False,
    seed: int | str | None = None,
    webhook_url: str | None = None,
    webhook_events: Sequence[str] | None = None,
) -> list[BatchItem]:
    """Every combination of ``prompts`` x ``models`` x ``lengths`` x ``formats``, ``takes`` takes
    of each, in that order, as labelled :class:`BatchItem` objects.

    ``prompts`` is one prompt, or an iterable of them (a list, a pandas Series; a DataFrame's
    ``prompt`` column). ``lengths`` are written as for ``--length`` (``"30s"``, ``"1m30s"``, or a
    number of seconds; ``None``: the model picks) and ``formats`` are ``output_format`` names
    (``None``: the default); a single value may be given bare. ``params`` (a model's own params),
    ``instrumental`` and ``seed`` apply to every item. The same request asked for twice (a
    prompt listed twice) gets the next take numbers, so it runs twice rather than once.

    Each label names only what varies between the items, in the order prompt, model, length,
    format, take (``"lofi beat · suno"``, ``"take 2"``); a prompt is named by its first words.
    Anything a model does not take (``lengths`` for Suno, ``seed`` for ElevenLabs Music, an
    unknown param) raises :class:`~apiframe_magic.RequestValidationError` before anything runs.
    """
    texts = _prompts(prompts)
    model_ids = _values(models, "models")
    length_values = _values(lengths, "lengths")
    format_values = _values(formats, "formats")
    specs = [
        _spec(prompt, model, length, fmt, params or {}, takes=takes, instrumental=instrumental,
              seed=seed, webhook_url=webhook_url, webhook_events=webhook_events)
        for prompt, model, length, fmt in itertools.product(texts, model_ids, length_values, format_values)
    ]
    return _label(specs)


@public
def expand_rows(
    rows: Iterable[Mapping[str, Any]],
    *,
    model: str = DEFAULT_MODEL,
    length: str | float | None = None,
    format: str | None = None,
    takes: int = 1,
    params: Mapping[str, Any] | None = None,
    instrumental: bool = False,
    seed: int | str | None = None,
) -> list[BatchItem]:
    """One or more items per row of a table (a CSV read with :class:`csv.DictReader`): each row
    has a ``prompt`` and may set ``model``, ``length``, ``format``, ``takes`` and ``params``
    (a mapping, or a JSON object as text, merged over ``params``); an empty or missing cell
    falls back to the keyword argument. Labels and checks are those of :func:`expand`."""
    specs: list[_Spec] = []
    for number, row in enumerate(rows, start=1):
        def cell(name: str, row: Mapping[str, Any] = row) -> Any:
            value = row.get(name)
            return None if value is None or (isinstance(value, str) and not value.strip()) else value

        prompt = cell("prompt")
        if prompt is None:
            raise RequestValidationError(
                f"rows[{number}].prompt", row.get("prompt"), "every row needs a prompt"
            )
        row_takes = cell("takes")
        if isinstance(row_takes, str):
            try:
                row_takes = int(row_takes.strip())
            except ValueError:
                raise RequestValidationError(
                    f"rows[{number}].takes", row_takes, "must be a positive whole number"
                ) from None
        merged = {**(params or {}), **_row_params(cell("params"), number)}
        specs.append(_spec(
            _prompt(prompt), str(cell("model") or model), cell("length") or length,
            cell("format") or format, merged, takes=row_takes if row_takes is not None else takes,
            instrumental=instrumental, seed=seed,
        ))
    if not specs:
        raise RequestValidationError("rows", [], "must hold at least one row")
    return _label(specs)


def _row_params(value: Any, number: int) -> Mapping[str, Any]:
    if value is None:
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            value = None
    if not isinstance(value, Mapping):
        raise RequestValidationError(
            f"rows[{number}].params", value, 'must be a JSON object, e.g. {"n": 3}'
        )
    return value


def _prompts(prompts: str | Iterable[Any]) -> list[str]:
    if isinstance(prompts, str):
        items: list[Any] = [prompts]
    elif (columns := getattr(prompts, "columns", None)) is not None:
        # A DataFrame iterates over its column names; its prompt column is what is meant.
        if "prompt" not in columns:
            raise RequestValidationError(
                "prompts", list(columns), "a DataFrame needs a prompt column (or pass one column)"
            )
        items = list(prompts["prompt"])  # type: ignore[index]
    else:
        items = list(prompts)
    if not items:
        raise RequestValidationError("prompts", items, "must hold at least one prompt")
    return [_prompt(p) for p in items]


def _prompt(value: Any) -> str:
    if not isinstance(value, str):
        raise RequestValidationError("prompt", value, "must be text")
    text = value.strip()
    if not text:
        raise RequestValidationError("prompt", value, "must contain some text")
    return text


def _values(given: Any, name: str) -> list[Any]:
    if given is None or isinstance(given, (str, int, float)):
        return [given]
    values = list(given)
    if not values:
        raise RequestValidationError(name, values, "must hold at least one value")
    return values


def _models_with(has: Callable[[ModelSpec], object]) -> str:
    return ", ".join(m.id for m in MODELS.values() if has(m)) or "none"


def _spec(
    prompt: str,
    model: str,
    length: str | float | None,
    fmt: str | None,
    params: Mapping[str, Any],
    *,
    takes: Any,
    instrumental: bool,
    seed: int | str | None,
    webhook_url: str | None = None,
    webhook_events: Sequence[str] | None = None,
) -> _Spec:
    """The request for one combination; whatever the model does not take is refused, as the
    magic refuses it (the same catalogue fields: ``length_param``, ``format_param``, ...)."""
    if isinstance(takes, bool) or not isinstance(takes, int) or takes < 1:
        raise RequestValidationError("takes", takes, "must be a positive whole number")
    spec = MODELS.get(model)
    if spec is None:
        raise RequestValidationError("model", model, "must be one of " + ", ".join(MODELS))
    merged = dict(params)

    def put(option: str, name: str, value: Any) -> None:
        if name in merged and merged[name] != value:
            raise RequestValidationError(option, value, f"{name} is already set by params")
        merged[name] = value

    def refuse(option: str, value: Any, has: Callable[[ModelSpec], object]) -> RequestValidationError:
        return RequestValidationError(
            option, value, f"{spec.id} does not take it; models that do: {_models_with(has)}"
        )

    length_ms: int | None = None
    if length is not None:
        if spec.length_param is None:
            raise refuse("length", length, lambda m: m.length_param)
        try:
            length_ms = parse_length(length)
        except ValueError as e:
            raise RequestValidationError("length", length, str(e)) from None
        put("length", spec.length_param, length_ms)
    if fmt is not None:
        if spec.format_param is None:
            raise refuse("format", fmt, lambda m: m.format_param)
        put("format", spec.format_param, fmt)
    if instrumental:
        if spec.instrumental is None:
            raise refuse("instrumental", True, lambda m: m.instrumental)
        put("instrumental", *spec.instrumental)
    if seed is not None:
        seed_spec = spec.param(spec.seed_param) if spec.seed_param else None
        if seed_spec is None:
            raise refuse("seed", seed, lambda m: m.seed_param)
        try:
            value = seed_spec.parse(seed) if isinstance(seed, str) else seed
        except ValueError as e:
            raise RequestValidationError("seed", seed, str(e)) from None
        put("seed", seed_spec.name, value)
    request = MusicRequest(
        prompt, model, params=merged, webhook_url=webhook_url, webhook_events=webhook_events,
    )
    shown = {k: v for k, v in params.items() if k not in (spec.length_param, spec.format_param)}
    return _Spec(prompt, model, length_ms, fmt, shown, request, takes)


def _label(specs: Sequence[_Spec]) -> list[BatchItem]:
    """Number the takes and name every item by what varies between them."""
    takes_used: dict[str, int] = {}
    numbered: list[tuple[_Spec, int]] = []
    for spec in specs:
        key = json.dumps(spec.request.to_json(), sort_keys=True)
        first = takes_used.get(key, 0)
        takes_used[key] = first + spec.takes
        numbered.extend((spec, first + n) for n in range(1, spec.takes + 1))

    def varies(values: Iterable[Any]) -> bool:
        return len({json.dumps(v, sort_keys=True, default=str) for v in values}) > 1

    short = _short_forms([s.prompt for s, _ in numbered])
    param_keys = sorted(
        name for name in {k for s, _ in numbered for k in s.params}
        if varies(s.params.get(name) for s, _ in numbered)
    )
    show = {
        "prompt": varies(s.prompt for s, _ in numbered),
        "model": varies(s.model for s, _ in numbered),
        "length": varies(s.length_ms for s, _ in numbered),
        "format": varies(s.format for s, _ in numbered),
        "take": varies(t for _, t in numbered),
    }
    items: list[BatchItem] = []
    for spec, take in numbered:
        parts: list[str] = []
        if show["prompt"]:
            parts.append(short[spec.prompt])
        if show["model"]:
            parts.append(spec.model)
        if show["length"]:
            parts.append(format_length(spec.length_ms) if spec.length_ms is not None else "any length")
        if show["format"]:
            parts.append(spec.format or spec.request.audio_format.name)
        parts.extend(
            f"{name}={_shown(spec.params[name])}" for name in param_keys if name in spec.params
        )
        if show["take"]:
            parts.append(f"take {take}")
        items.append(BatchItem(_SEPARATOR.join(parts) or short[spec.prompt], spec.request, take))
    return items


def _shown(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= 20 else text[:19] + "…"


def _short_forms(prompts: Sequence[str]) -> dict[str, str]:
    """A short name for each distinct prompt: its first words, as many as it takes (up to a
    point) to tell the prompts apart; prompts alike even then are numbered."""
    distinct = list(dict.fromkeys(prompts))
    for words in range(_SHORT_WORDS, _SHORT_WORDS_MAX + 1):
        names = {p: _short(p, words) for p in distinct}
        if len(set(names.values())) == len(distinct):
            return names
    return {p: f"{n}. {names[p]}" for n, p in enumerate(distinct, start=1)}


def _short(prompt: str, words: int) -> str:
    split = prompt.split()
    text = " ".join(split[:words])
    limit = _SHORT_CHARS + 4 * (words - _SHORT_WORDS)
    if len(text) > limit:
        text = text[: limit - 1].rstrip()
    elif len(split) <= words:
        return text
    return text + "…"
