"""Expanding what a user asked for into the jobs of a batch: prompts times models, lengths,
formats and takes, each labelled by what varies between them.

:func:`expand` (from prompts and option values) and :func:`expand_rows` (from the rows of a table)
return :class:`BatchItem` objects, one per job. Everything is checked before anything runs: an
option a model does not take is a :class:`~apiframe_magic.RequestValidationError`, as for a
single ``%%music`` cell (the catalog's :meth:`~apiframe_magic.catalog.ModelSpec.params_for` maps
and checks the options for all three).

Requests that ask for the same music are one job: prompts equal up to spaces and Unicode form
(:func:`~apiframe_magic.catalog.normalize_prompt`, the job ledger's own rule) with the same model
and params run once, under the first spelling, and :func:`folded_note` is the line a run prints
about them. More jobs of one request are asked for with ``takes``.
"""

from __future__ import annotations

import contextlib
import itertools
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .._exceptions import RequestValidationError
from .._public import public
from ..catalog import DEFAULT_MODEL, MODELS, format_length, normalize_prompt
from ..client import AnyRequest, MusicRequest

__all__ = ["BatchItem", "expand", "expand_rows", "folded_note"]

# How a prompt names itself in a label: its first few words.
_SHORT_WORDS = 4
_SHORT_WORDS_MAX = 8
_SHORT_CHARS = 32
_SEPARATOR = " · "
# How many folded prompts the note names, and how much of each.
_NOTE_SHOWN = 3
_NOTE_CHARS = 40


# ---------------------------------------------------------------------------------------------
# Items: what to run
# ---------------------------------------------------------------------------------------------


@public
@dataclass(frozen=True)
class BatchItem:
    """One job of a batch: its ``request``, which ``take`` of that request it is (re-running a
    batch answers take 1 of a request from the job ledger, take 2 is another), and its ``label``,
    naming what sets it apart from the other items.

    ``folded`` holds the prompts, as written, that asked for this same request again (equal up to
    spaces and Unicode form) and so run as this item rather than as items of their own.
    """

    label: str
    request: AnyRequest
    take: int = 1
    folded: tuple[str, ...] = ()

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
    ``instrumental`` and ``seed`` apply to every item.

    A request asked for again (a prompt listed twice, or spelled with other spaces or another
    Unicode form: ``calm piano`` and ``calm  piano``) runs once: it is one item (or ``takes``
    items), sent with the first spelling, whose :attr:`BatchItem.folded` lists the repeats;
    :func:`folded_note` says so in one line. ``takes`` is how to ask for more of a prompt.

    Each label names only what varies between the items, in the order prompt, model, length,
    format, take (``"lofi beat · suno"``, ``"take 2"``); a prompt is named by its first words.
    Anything a model does not take (``lengths`` for Suno, ``seed`` for ElevenLabs Music, an
    unknown param) raises :class:`~apiframe_magic.RequestValidationError` before anything runs.
    """
    texts = _prompts(prompts)
    model_ids = _values(models, "models")
    length_values = _values(lengths, "lengths")
    format_values = _values(formats, "formats")
    shared = _Shared(params or {}, instrumental, seed, webhook_url, webhook_events)
    specs = [
        _spec(_Asked(prompt, model, length, fmt, takes), shared)
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
    falls back to the keyword argument. Labels, checks and the folding of repeated requests are
    those of :func:`expand` (a request repeated with other ``takes`` gets the most asked for).
    """
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
        specs.append(_spec(_Asked(
            _prompt(prompt), str(cell("model") or model), cell("length") or length,
            cell("format") or format, row_takes if row_takes is not None else takes,
        ), _Shared(merged, instrumental, seed)))
    if not specs:
        raise RequestValidationError("rows", [], "must hold at least one row")
    return _label(specs)


def _row_params(value: Any, number: int) -> Mapping[str, Any]:
    if value is None:
        return {}
    if isinstance(value, str):
        with contextlib.suppress(ValueError):  # not JSON: the error below names the text as given
            value = json.loads(value)
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


@dataclass(frozen=True)
class _Asked:
    """One combination of the sweep's axes (prompt, model, length, format) and its takes."""

    prompt: str
    model: str
    length: str | float | None
    format: str | None
    takes: Any


@dataclass(frozen=True)
class _Shared:
    """What applies to every item of a sweep alike."""

    params: Mapping[str, Any]
    instrumental: bool = False
    seed: int | str | None = None
    webhook_url: str | None = None
    webhook_events: Sequence[str] | None = None


def _spec(asked: _Asked, shared: _Shared) -> _Spec:
    """The request for one combination; whatever the model does not take is refused, in the
    catalog's words (the same message as the magic's and the shell's)."""
    takes = asked.takes
    if isinstance(takes, bool) or not isinstance(takes, int) or takes < 1:
        raise RequestValidationError("takes", takes, "must be a positive whole number")
    spec = MODELS.get(asked.model)
    if spec is None:
        raise RequestValidationError("model", asked.model, "must be one of " + ", ".join(MODELS))
    merged = spec.params_for(length=asked.length, format=asked.format, instrumental=shared.instrumental,
                             seed=shared.seed, params=shared.params)
    length_ms = merged.get(spec.length_param) if asked.length is not None and spec.length_param else None
    request = MusicRequest(
        asked.prompt, asked.model, params=merged, webhook_url=shared.webhook_url,
        webhook_events=shared.webhook_events,
    )
    shown = {k: v for k, v in shared.params.items() if k not in (spec.length_param, spec.format_param)}
    return _Spec(asked.prompt, asked.model, length_ms, asked.format, shown, request, takes)


def _identity(request: MusicRequest) -> str:
    """What makes two requests the same job: their body with the prompt in normal form (the job
    ledger's rule, so two items never share one ledger key)."""
    body = request.to_json()
    body["prompt"] = normalize_prompt(request.prompt)
    return json.dumps(body, sort_keys=True, ensure_ascii=False)


def _label(specs: Sequence[_Spec]) -> list[BatchItem]:
    """Fold repeated requests into their first, number the takes and name every item by what
    varies between them."""
    distinct: dict[str, tuple[_Spec, list[str], int]] = {}
    for spec in specs:
        key = _identity(spec.request)
        if key in distinct:
            first, repeats, takes = distinct[key]
            repeats.append(spec.prompt)
            distinct[key] = (first, repeats, max(takes, spec.takes))
        else:
            distinct[key] = (spec, [], spec.takes)
    numbered = [
        (spec, take, tuple(repeats))
        for spec, repeats, takes in distinct.values() for take in range(1, takes + 1)
    ]

    def varies(values: Iterable[Any]) -> bool:
        return len({json.dumps(v, sort_keys=True, default=str) for v in values}) > 1

    short = _short_forms([s.prompt for s, _, _ in numbered])
    param_keys = sorted(
        name for name in {k for s, _, _ in numbered for k in s.params}
        if varies(s.params.get(name) for s, _, _ in numbered)
    )
    show = {
        "prompt": varies(s.prompt for s, _, _ in numbered),
        "model": varies(s.model for s, _, _ in numbered),
        "length": varies(s.length_ms for s, _, _ in numbered),
        "format": varies(s.format for s, _, _ in numbered),
        "take": varies(t for _, t, _ in numbered),
    }
    items: list[BatchItem] = []
    for spec, take, folded in numbered:
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
        items.append(BatchItem(_SEPARATOR.join(parts) or short[spec.prompt], spec.request, take, folded))
    return items


def folded_note(items: Iterable[BatchItem]) -> str | None:
    """The one line a run prints when prompts were folded into an earlier one (see
    :func:`expand`), naming them as written; ``None`` when every prompt is its own job.

    >>> print(folded_note(expand(["calm piano", "calm  piano", "dark jazz"])))
    1 prompt repeats an earlier one (up to spaces and Unicode form) and runs once: 'calm  piano'; \
--takes N gives N takes of each prompt
    """
    # A prompt repeated in a sweep of models or lengths is folded once per combination: count it
    # once, by its normal form.
    repeats: dict[str, tuple[str, ...]] = {}
    for item in items:
        key = normalize_prompt(item.prompt)
        if len(item.folded) > len(repeats.get(key, ())):
            repeats[key] = item.folded
    spellings = [p for folded in repeats.values() for p in folded]
    if not spellings:
        return None
    count = len(spellings)
    shown = ", ".join(repr(p if len(p) <= _NOTE_CHARS else p[: _NOTE_CHARS - 1] + "…")
                      for p in spellings[:_NOTE_SHOWN])
    if count > _NOTE_SHOWN:
        shown += f" and {count - _NOTE_SHOWN} more"
    said = ("1 prompt repeats an earlier one (up to spaces and Unicode form) and runs once" if count == 1
            else f"{count} prompts repeat an earlier one (up to spaces and Unicode form) and run once")
    return f"{said}: {shown}; --takes N gives N takes of each prompt"


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
