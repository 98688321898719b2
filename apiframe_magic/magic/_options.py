"""The options of ``%%music`` and ``%music``, parsed into plain data.

Model-specific knowledge comes from :mod:`apiframe_magic.catalog`: which models take
``--length``, ``--format``, ``--instrumental`` (and which param each sets), ``--seed`` and lyrics, and
the type and bounds of every ``--param KEY=VALUE``. A cell's body is the prompt; for models that
take lyrics, a line of three or more dashes (``---``) starts the lyrics::

    %%music --model suno
    a dreamy synth-pop song about night trains
    ---
    [Verse] Lights go by ...

The argument lists are declared once, with IPython's ``magic_arguments``, and applied both to the
magic methods (so ``%%music?`` documents every option) and to module-level signatures used by
:func:`parse_music_cell` and :func:`parse_music_line`, so parsing is testable without a shell.
Every user mistake is a one-line :class:`~IPython.core.error.UsageError` raised before any request,
malformed quoting included. The ``argument(help=...)`` declarations below are the one place the
options are documented: ``%%music?``, ``%music help`` and error hints all come from them.
"""

from __future__ import annotations

import argparse
import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar
from urllib.parse import urlsplit

from IPython.core.error import UsageError
from IPython.core.magic_arguments import argument, magic_arguments
from IPython.utils.process import arg_split  # type: ignore[attr-defined]

from .._exceptions import RequestValidationError
from ..catalog import (
    DEFAULT_MODEL,
    MAX_LENGTH_MS,
    MIN_LENGTH_MS,
    MODELS,
    OUTPUT_FORMATS,
    WEBHOOK_EVENTS,
    AudioFormat,
    ModelSpec,
    format_length,
    parse_length,
    parse_param_among,
    split_param,
)

if TYPE_CHECKING:
    from ..client import AnyRequest

__all__ = [
    "ACTION_OPTIONS",
    "SUBCOMMANDS",
    "ActionCommand",
    "BatchCommand",
    "ListenCommand",
    "MusicCommand",
    "MusicDefaults",
    "MusicLineCommand",
    "Subcommand",
    "action_line",
    "action_request",
    "batch_items",
    "cell_options_help",
    "check_length",
    "check_model",
    "line_options_help",
    "music_cell_arguments",
    "music_line_arguments",
    "parse_music_cell",
    "parse_music_line",
    "takes_cell_options",
]

F = TypeVar("F", bound=Callable[..., Any])

# Which option of the magic sets each top-level field of the request body, for error messages;
# params are named by the option that set them (see _param_options).
_OPTION_FOR_FIELD = {
    "prompt": "the prompt (cell body)",
    "model": "--model",
    "webhookUrl": "--webhook",
    "webhookEvents": "--webhook-events",
}

# A line of three or more dashes, alone, starts the lyrics part of a cell.
_LYRICS_RULE = re.compile(r"^[ \t]*-{3,}[ \t]*$", re.MULTILINE)

_LENGTH_RULE = (
    f"must be {format_length(MIN_LENGTH_MS)} to {format_length(MAX_LENGTH_MS)} in whole seconds "
    f"(e.g. 30s, 1m30s)"
)

_CELL_ARGUMENTS = (
    argument("-l", "--length", metavar="LENGTH",
             help="Track length, 5s to 5m in whole seconds: 30s, 1m30s, 90000ms, or a bare number of "
                  "seconds. Unset: the %%config default, else the model picks from the prompt."),
    argument("-i", "--instrumental", action="store_true",
             help="No vocals: sets each model's own flag (force_instrumental, instrumental, "
                  "lyrics_type=instrumental)."),
    argument("-f", "--format", metavar="FORMAT",
             help="Output format (elevenlabs-music): " + ", ".join(OUTPUT_FORMATS) + "."),
    argument("-m", "--model", metavar="MODEL",
             help=f"Model id (default {DEFAULT_MODEL}): " + ", ".join(MODELS)
                  + ". %%music models lists them with their params and prices."),
    argument("-p", "--param", metavar="KEY=VALUE", action="append",
             help="A param of the model (repeatable), typed and checked before sending: "
                  "--param n=3, --param model_version=V5, --param style='dark jazz'."),
    argument("--seed", metavar="SEED",
             help="Repeatable randomness, for the models that take a seed: "
                  + ", ".join(m.id for m in MODELS.values() if m.seed_param) + "."),
    argument("-o", "--out", metavar="VAR",
             help="Store the result (a MusicResult, or a MusicJob with --no-wait) in this variable."),
    argument("-s", "--save", metavar="PATH",
             help="Save the audio to this file, or into this folder if it ends with / or exists. "
                  "A file's extension must match the format (.mp3 or .wav); without one it gets "
                  "the right one. Default: the output folder (%%config MusicMagics.output_dir)."),
    argument("-t", "--timeout", metavar="SECONDS", type=float,
             help="Give up waiting after this many seconds (the job keeps its id and can be resumed)."),
    argument("--webhook", metavar="URL", help="Ask Apiframe to POST job events to this URL."),
    argument("--webhook-events", metavar="EVENTS",
             help="Comma-separated subset of " + ", ".join(WEBHOOK_EVENTS) + " (with --webhook)."),
    argument("--take", metavar="N", type=int,
             help="Which take of this request (1 by default): re-running a cell gives take 1 again from "
                  "the job ledger at no cost; --take 2 is a second, different take."),
    argument("--fresh", action="store_true",
             help="A new take: the first take of this request never generated (submits and pays)."),
    argument("--each-line", action="store_true",
             help="Many prompts: every non-empty line of the cell is its own prompt; they run as "
                  "concurrent jobs in a live grid."),
    argument("--prompts", metavar="VAR",
             help="Many prompts from a Python list (or a pandas Series, or a DataFrame's prompt column); "
                  "the cell body holds only a # comment."),
    argument("--takes", metavar="N", type=int, help="N takes of each prompt (a batch)."),
    argument("--concurrency", metavar="N", type=int,
             help="At most N jobs of a batch at once (default: the account's maxConcurrentJobs)."),
    argument("--no-wait", action="store_true",
             help="Submit and return a job handle at once; collect it later with %%music resume."),
    argument("--dry-run", action="store_true",
             help="Show the exact request JSON and its credit cost; submit nothing."),
    argument("--extend", metavar="VAR",
             help="Work on a track of VAR (a result, a batch: each of its results, or a job id): "
                  "continue it from --at; the body, if any, says what comes next. The result's "
                  "whole_song() is the parent up to --at followed by the extension. 11 credits."),
    argument("--at", metavar="LENGTH",
             help="With --extend: where the extension starts, as --length is written (1m30s, 90s, "
                  "90); default: the end of the track. Must be before the track's end."),
    argument("--cover", metavar="VAR",
             help="A cover of a track of VAR in the style the body names "
                  "(--param audio_weight=0.6: how closely it follows). 11 credits."),
    argument("--add-vocals", metavar="VAR",
             help="Vocals singing the lyrics of the body (required) over a track of VAR. 11 credits."),
    argument("--stems", metavar="VAR",
             help="A track of VAR split into vocals and instrumental (result.vocals, "
                  "result.instrumental); no prompt. 11 credits."),
    argument("--track", metavar="N", type=int,
             help="With --extend, --cover, --add-vocals, --stems: which track of VAR (default 1)."),
)

# The options that work on a track after it is made, and the action each asks for.
ACTION_OPTIONS = {"extend": "extend", "cover": "cover", "add_vocals": "add-vocals", "stems": "stems"}
# Line forms (%music extend VAR ...): the subcommand and the action.
_ACTION_WORDS = {"extend": "extend", "cover": "cover", "add-vocals": "add_vocals",
                 "add_vocals": "add_vocals", "stems": "stems"}


@dataclass(frozen=True)
class Subcommand:
    """One ``%music`` subcommand: its name, what follows the name, and what it does in one line.
    :data:`SUBCOMMANDS` is the one list of them: parsing, ``%music help`` and ``%music?`` read it."""

    name: str
    summary: str
    arguments: str = ""

    @property
    def usage(self) -> str:
        return f"%music {self.name} {self.arguments}".rstrip()


SUBCOMMANDS = (
    Subcommand("status", "the version, which service is used, the masked key, credits and spending"),
    Subcommand("models", "every music model with its params, tracks per job and prices"),
    Subcommand("pending", "jobs submitted and not saved yet, from any kernel (the job ledger)"),
    Subcommand("resume", "wait for a job submitted earlier and save it (no JOB_ID: every pending job)",
               "JOB_ID"),
    Subcommand("history", "the jobs of the ledger, newest first (TEXT: those whose prompt contains it)",
               "[TEXT]"),
    Subcommand("listen", "a blind listening test of a batch's (or a list of results') tracks, rated by "
                         "listeners in turn (or, with --kit, in an HTML file elsewhere), then revealed "
                         "with a ranking, win rates and Holm-corrected sign tests",
               "VAR | --collect FILES"),
    Subcommand("extend", "continue a track of VAR (a result, a batch or a job id) from --at; the "
                         "same as a %%music --extend VAR cell with no body", "VAR [--at LENGTH]"),
    Subcommand("cover", "a cover of a track of VAR (the same as %%music --cover VAR, no body)", "VAR"),
    Subcommand("stems", "a track of VAR split into vocals and instrumental", "VAR [--track N]"),
    Subcommand("help", "this text (also %music --help, %music -h)"),
)

_LINE_ARGUMENTS = (
    argument("action", nargs="?", default="help", metavar="ACTION",
             help="One of " + ", ".join(c.name for c in SUBCOMMANDS) + " (see the list above)."),
    argument("job_id", nargs="?", metavar="JOB_ID",
             help="With resume: the job to resume (none: every pending job). With history: text the "
                  "prompt contains. With listen: the variable holding a batch or a list of results."),
    argument("-h", "--help", action="store_true", help="This text (the same as %%music help)."),
    argument("-o", "--out", metavar="VAR",
             help="With resume: store the result in this variable. With listen: store the "
                  "ListeningTest (for test.reveal(), test.to_csv(...))."),
    argument("-s", "--save", metavar="PATH", help="With resume: where to save the audio."),
    argument("-t", "--timeout", metavar="SECONDS", type=float,
             help="With resume: give up waiting after this many seconds."),
    argument("--limit", metavar="N", type=int, help="With history: at most N jobs (default 20)."),
    argument("-m", "--model", metavar="MODEL", help="With history: only jobs of this model."),
    argument("--reconcile", action="store_true",
             help="With history: also list the account's jobs (GET /v2/jobs) this ledger never saw, "
                  "and mark the ledger's jobs whose files the service has purged."),
    argument("--tree", action="store_true",
             help="With history: what was made from what (extensions, covers, stems under their "
                  "parent), as a tree."),
    argument("--pairs", action="store_true",
             help="With listen: compare every pair of clips (A or B?) instead of rating each 1 to 5."),
    argument("--listener", metavar="NAME", help="With listen: the first listener's name."),
    argument("--min-play", metavar="SECONDS", type=float,
             help="With listen: seconds a clip must be heard before it can be judged (default 3)."),
    argument("--seed", metavar="N", type=int,
             help="With listen: the shuffle's seed; the same seed gives the same names (default: random)."),
    argument("--csv", metavar="PATH",
             help="With listen: where Export CSV and Reveal write the judgements (default: "
                  "OUTPUT_DIR/<test id>.csv)."),
    argument("--reference", metavar="VAR",
             help="With listen: add the tracks of VAR (a result, a batch or a list) as hidden "
                  "reference clips, reported apart from the ranking."),
    argument("--no-match-loudness", dest="match_loudness", action="store_false", default=None,
             help="With listen: play every clip at its own loudness (by default each is turned down "
                  "to the quietest clip's measured loudness: unmatched loudness biases a comparison)."),
    argument("--anchor", action="store_true",
             help="With listen: add a hidden low anchor, one clip low-passed at 3.5 kHz."),
    argument("--repeat", action="store_true",
             help="With listen: each listener hears one clip (with --pairs, one pair) twice, to check "
                  "their consistency."),
    argument("--kit", metavar="PATH",
             help="With listen: write the test as one self-contained HTML file for listeners "
                  "elsewhere (clips embedded, no labels, no network); collect their answers with "
                  "--collect."),
    argument("--collect", metavar="FILE", nargs="+",
             help="With listen (no VAR): record the answers files a kit's listeners handed back "
                  "(patterns such as answers/*.json allowed) and show the reveal."),
)


def _with(arguments: tuple[Callable[[F], F], ...], name: str) -> Callable[[F], F]:
    def apply(func: F) -> F:
        for decorate in reversed(arguments):
            func = decorate(func)
        decorated: F = magic_arguments(name)(func)
        return decorated

    return apply


# IPython writes usage as "%" + name: the cell magic's name carries the second "%", so that
# %%music? shows "%%music [-l LENGTH] ..." rather than the line magic's usage.
music_cell_arguments = _with(_CELL_ARGUMENTS, "%music")
music_line_arguments = _with(_LINE_ARGUMENTS, "music")

# Every spelling of a %%music option, to recognise options that ended up in the prompt.
_CELL_OPTIONS = frozenset(o for a in _CELL_ARGUMENTS for o in a.args if o.startswith("-"))
_LONG_OPTIONS = tuple(sorted(o for o in _CELL_OPTIONS if o.startswith("--")))


@music_cell_arguments
def _cell_signature(line: str, cell: str) -> None:
    """%%music options."""


@music_line_arguments
def _line_signature(line: str) -> None:
    """%music options."""


@dataclass(frozen=True)
class MusicDefaults:
    """Defaults the options fall back to (the magic fills these from its ``%config`` traits)."""

    length: str | None = None
    format: str | None = None
    model: str = DEFAULT_MODEL
    timeout: float = 600.0


@dataclass(frozen=True)
class MusicCommand:
    """What one ``%%music`` cell asks for (or one action on a track made before)."""

    request: AnyRequest
    out: str | None = None
    save: str | None = None
    timeout: float = 600.0
    no_wait: bool = False
    dry_run: bool = False
    take: int = 1
    fresh: bool = False


@dataclass(frozen=True)
class BatchCommand:
    """What a ``%%music`` cell of many jobs asks for: every combination of its prompts (the
    cell's lines, or the list in ``prompts_var``), models, lengths and formats, ``takes`` each.
    Comma-separated ``--model``, ``--length`` and ``--format`` values make combinations."""

    prompts: tuple[str, ...] | None
    prompts_var: str | None
    models: tuple[str, ...]
    lengths: tuple[str | None, ...]
    formats: tuple[str | None, ...]
    takes: int = 1
    params: tuple[tuple[str, str], ...] = ()
    instrumental: bool = False
    seed: str | None = None
    out: str | None = None
    save: str | None = None
    timeout: float = 600.0
    no_wait: bool = False
    dry_run: bool = False
    concurrency: int | None = None


@dataclass(frozen=True)
class ListenCommand:
    """What ``%music listen VAR`` asks for: a blind listening test of the tracks in ``var``
    (a batch, a result or a list of results), rated 1 to 5 or, with ``pairs``, compared two by
    two. ``min_play`` is in seconds; ``seed`` ``None`` draws one; ``csv`` ``None`` writes to
    the output folder. ``reference`` (a variable), ``anchor`` and ``repeat`` add controls.
    ``kit`` writes the test as an HTML file instead of widgets; ``collect`` (with no ``var``)
    records the answers files of a kit instead. ``match_loudness`` plays each clip turned down to
    the quietest clip's measured loudness."""

    var: str | None
    pairs: bool = False
    listener: str | None = None
    min_play: float = 3.0
    seed: int | None = None
    csv: str | None = None
    out: str | None = None
    reference: str | None = None
    anchor: bool = False
    repeat: bool = False
    kit: str | None = None
    collect: tuple[str, ...] = ()
    match_loudness: bool = True


@dataclass(frozen=True)
class MusicLineCommand:
    """What one ``%music`` line asks for (``listen`` holds what ``%music listen`` does)."""

    action: Literal["status", "resume", "help", "models", "pending", "history", "listen"]
    job_id: str | None = None
    out: str | None = None
    save: str | None = None
    timeout: float | None = None
    text: str | None = None
    limit: int = 20
    model: str | None = None
    reconcile: bool = False
    listen: ListenCommand | None = None
    tree: bool = False


@dataclass(frozen=True)
class ActionCommand:
    """What a ``%%music --extend VAR`` (``--cover``, ``--add-vocals``, ``--stems``) cell asks for:
    ``action`` on track ``track`` of each parent ``var`` holds (a result, a batch, a job id), with
    ``fields`` of the action's body (its prompt, ``continueAt``, ``style``, its own params), typed
    and checked; the magic finds the parents and makes the requests (:func:`action_request`)."""

    action: str
    var: str
    track: int = 1
    fields: tuple[tuple[str, Any], ...] = ()
    out: str | None = None
    save: str | None = None
    timeout: float = 600.0
    no_wait: bool = False
    dry_run: bool = False
    take: int = 1
    fresh: bool = False
    concurrency: int | None = None

    @property
    def option(self) -> str:
        """The option that asked for it, as written: ``--add-vocals``."""
        return f"--{ACTION_OPTIONS[self.action]}"


def parse_music_cell(
    line: str, cell: str, defaults: MusicDefaults | None = None
) -> MusicCommand | BatchCommand | ActionCommand:
    """Parse a ``%%music`` cell into a validated :class:`MusicCommand` (one job),
    :class:`BatchCommand` (many) or :class:`ActionCommand` (work on a track made before), or
    raise ``UsageError``."""
    from ..client import MusicRequest  # httpx: when a cell runs, not at %load_ext

    defaults = defaults or MusicDefaults()
    args = _parse(_cell_signature, line, "%%music")
    actions = [name for name, option in ACTION_OPTIONS.items() if getattr(args, name) is not None]
    if actions:
        return _parse_action(args, actions, cell, defaults)
    if args.at is not None or args.track is not None:
        raise UsageError(f"{'--at' if args.at is not None else '--track'} goes with --extend, --cover, "
                         "--add-vocals or --stems VAR.")
    if _is_batch(args):
        return _parse_batch(args, cell, defaults)
    prompt = cell.strip()
    if not prompt:
        raise UsageError("%%music needs a prompt: write it in the cell body, below the %%music line.")
    _check_prompt_is_not_options(prompt.splitlines()[0])
    model = args.model or defaults.model
    spec = MODELS.get(model)
    if spec is None:
        raise UsageError(f"--model {model}: must be one of {', '.join(MODELS)}.")
    prompt, lyrics = _split_lyrics(prompt)
    params, set_by = _model_params(spec, args, defaults)
    params = _with_local_files(spec, params)
    length_text = args.length if args.length is not None else defaults.length
    if args.webhook_events and not args.webhook:
        raise UsageError("--webhook-events needs --webhook URL.")
    if args.webhook is not None:
        try:
            urlsplit(args.webhook)
        except ValueError as e:  # urlsplit refuses some text outright ("Invalid IPv6 URL")
            raise UsageError(f"--webhook {args.webhook}: {e}; must be an absolute http(s) URL.") from None
    events = (
        tuple(e.strip() for e in args.webhook_events.split(",") if e.strip())
        if args.webhook_events else None
    )
    timeout = args.timeout if args.timeout is not None else defaults.timeout
    _check_timeout(timeout)
    _check_variable(args.out)

    if lyrics is not None:
        if spec.lyrics is None:
            takers = ", ".join(m.id for m in MODELS.values() if m.lyrics is not None)
            raise UsageError(
                f"%%music: the cell has lyrics (below a --- line) but {model} takes none; "
                f"models that take lyrics: {takers}."
            )
        prompt, params = spec.apply_lyrics(prompt, lyrics, params)
        if spec.lyrics.param is not None:
            set_by[spec.lyrics.param] = "the lyrics (below ---)"
        else:
            set_by.update({name: "the lyrics (below ---)" for name, _ in spec.lyrics.sets})
    try:
        request = MusicRequest(
            prompt=prompt,
            model=model,
            params=params,
            webhook_url=args.webhook,
            webhook_events=events,
        )
    except RequestValidationError as e:
        raise UsageError(_explain(e, spec, set_by, length_text, lyrics is not None)) from None
    if args.save is not None:
        format_source = (
            f"--format {args.format}" if args.format
            else f"MusicMagics.default_format {defaults.format}" if defaults.format
            else f"--format {request.audio_format.name} (the default)"
        )
        _check_save(args.save, request.audio_format, format_source)
    if args.take is not None and args.take < 1:
        raise UsageError(f"--take {args.take}: takes are numbered from 1.")
    return MusicCommand(
        request=request, out=args.out, save=args.save, timeout=timeout,
        no_wait=args.no_wait, dry_run=args.dry_run, take=args.take or 1, fresh=args.fresh,
    )


# What a cell's body is for each action: the key of the body it fills.
_BODY_FIELD = {"extend": "prompt", "cover": "style", "add_vocals": "prompt"}


def _parse_action(
    args: argparse.Namespace, actions: list[str], cell: str, defaults: MusicDefaults
) -> ActionCommand:
    """The action form of a cell (``--extend VAR`` ...): everything checkable without the parent
    is checked here, in one line each."""
    from ..catalog import ACTIONS

    if len(actions) > 1:
        raise UsageError(f"{' and '.join('--' + ACTION_OPTIONS[a] for a in actions)}: one action per "
                         "cell.")
    action = actions[0]
    option = f"--{ACTION_OPTIONS[action]}"
    var = getattr(args, action)
    spec = ACTIONS[action]
    refused = (
        ("--length", args.length), ("--instrumental", args.instrumental or None),
        ("--format", args.format), ("--model", args.model), ("--seed", args.seed),
        ("--each-line", args.each_line or None), ("--prompts", args.prompts), ("--takes", args.takes),
        ("--webhook", args.webhook), ("--webhook-events", args.webhook_events),
    )
    for name, value in refused:
        if value is not None:
            also = " (where it starts: --at)" if name == "--length" and action == "extend" else ""
            raise UsageError(f"{name} does not go with {option}: the track keeps its parent's model "
                             f"and format{also}.")
    if args.at is not None and action != "extend":
        raise UsageError(f"--at goes with --extend, not {option}.")
    if args.track is not None and args.track not in (1, 2):
        raise UsageError(f"--track {args.track}: a Suno job has tracks 1 and 2.")
    if args.take is not None and args.take < 1:
        raise UsageError(f"--take {args.take}: takes are numbered from 1.")
    if args.concurrency is not None and args.concurrency < 1:
        raise UsageError(f"--concurrency {args.concurrency}: must be 1 or more.")
    fields: dict[str, Any] = {}
    if args.at is not None:
        try:
            fields["continueAt"] = parse_length(args.at) / 1000
        except ValueError as e:
            raise UsageError(f"--at {args.at}: {e}; write it as --length is (1m30s, 90s, 90).") from None
        if fields["continueAt"] <= 0:
            raise UsageError(f"--at {args.at}: must be after the start of the track.")
    body = "\n".join(line for line in cell.strip().splitlines()
                     if not line.lstrip().startswith("#")).strip()
    if body:
        _check_prompt_is_not_options(body.splitlines()[0])
        if action == "stems":
            raise UsageError("--stems takes no prompt: leave the cell body empty (or use %music stems VAR).")
        fields[_BODY_FIELD[action]] = body
    elif action == "add_vocals":
        raise UsageError("--add-vocals needs the lyrics: write them in the cell body, below the %%music "
                         "line.")
    for item in args.param or ():
        key, text = _param_pair(item)
        try:
            fields[key] = spec.parse_param(key, text)
        except RequestValidationError as e:
            raise UsageError(f"{e}.") from None
    timeout = args.timeout if args.timeout is not None else defaults.timeout
    _check_timeout(timeout)
    _check_variable(args.out)
    if args.save is not None:
        _check_save(args.save, spec_audio_format(), "the parent's format")
    command = ActionCommand(
        action=action, var=var, track=args.track or 1, fields=tuple(fields.items()), out=args.out,
        save=args.save, timeout=timeout, no_wait=args.no_wait, dry_run=args.dry_run,
        take=args.take or 1, fresh=args.fresh, concurrency=args.concurrency,
    )
    # Every field checked by the catalog now, against a stand-in parent: one line, nothing sent.
    action_request(command, "00000000-0000-4000-8000-000000000000")
    return command


def spec_audio_format() -> AudioFormat:
    """The format a Suno action's tracks come in (the parent's: Suno's MP3)."""
    from ..catalog import SUNO

    return SUNO.audio_format({})


def action_request(command: ActionCommand, parent_job_id: str) -> Any:
    """The :class:`~apiframe_magic.ActionRequest` of ``command`` on job ``parent_job_id``, or one
    ``UsageError`` line naming the option."""
    from ..client import ActionRequest

    fields = dict(command.fields)
    keywords = {"prompt": fields.pop("prompt", None), "continue_at": fields.pop("continueAt", None),
                **fields}
    try:
        request = ActionRequest(command.action, parent_job_id, index=command.track, **keywords)
        return ActionRequest.from_json(request.to_json())  # as its action's class (ExtendRequest ...)
    except RequestValidationError as e:
        where = {"continueAt": "--at", "continue_at": "--at", "index": "--track", "prompt": "the cell body",
                 "style": "the cell body" if command.action == "cover" else "--param style",
                 "parentJobId": command.var, "parent_job_id": command.var}.get(
            e.field, f"--param {e.field}")
        raise UsageError(f"{command.option} {command.var}: {where}: {e.allowed}.") from None
    except TypeError as e:
        raise UsageError(f"{command.option}: {e}.") from None


def action_line(line: str) -> str | None:
    """The ``%%music`` options a ``%music extend VAR ...`` line stands for (``--extend VAR ...``),
    or ``None`` when the line is not an action."""
    words = line.split(maxsplit=2)
    if not words or words[0].lower() not in _ACTION_WORDS:
        return None
    action = _ACTION_WORDS[words[0].lower()]
    if len(words) < 2 or words[1].startswith("-"):
        raise UsageError(f"%music {words[0]} needs a variable: %music {words[0]} VAR, where VAR holds a "
                         "result, a batch or a job id.")
    rest = words[2] if len(words) > 2 else ""
    return f"--{ACTION_OPTIONS[action]} {words[1]} {rest}".strip()


def _is_batch(args: argparse.Namespace) -> bool:
    return bool(
        args.each_line or args.prompts or args.takes is not None
        or any("," in (value or "") for value in (args.model, args.length, args.format))
    )


def _parse_batch(args: argparse.Namespace, cell: str, defaults: MusicDefaults) -> BatchCommand:
    """The batch form of a cell. Everything checkable without the prompts' variable is checked
    here; the magic expands the combinations (:func:`apiframe_magic.expand`) before sending."""
    if args.each_line and args.prompts:
        raise UsageError("--each-line and --prompts: give the prompts one way, not both.")
    for option, value in (("--take", args.take), ("--fresh", args.fresh or None)):
        if value is not None:
            raise UsageError(f"{option} is for one job; a batch makes takes with --takes N.")
    if args.takes is not None and args.takes < 1:
        raise UsageError(f"--takes {args.takes}: must be 1 or more.")
    if args.concurrency is not None and args.concurrency < 1:
        raise UsageError(f"--concurrency {args.concurrency}: must be 1 or more.")
    body = cell.strip()
    prompts: tuple[str, ...] | None = None
    if args.prompts:
        _check_variable(args.prompts, "--prompts")
        # IPython refuses a cell magic with an empty body: a comment line stands in.
        if any(line.strip() and not line.lstrip().startswith("#") for line in body.splitlines()):
            raise UsageError("--prompts VAR takes the prompts from VAR: the cell body may hold only "
                             "# comments.")
    elif args.each_line:
        prompts = tuple(line.strip() for line in body.splitlines() if line.strip())
    else:
        prompts = (body,) if body else ()
    if prompts is not None:
        if not prompts:
            raise UsageError("%%music needs a prompt: write it in the cell body, below the %%music line.")
        _check_prompt_is_not_options(prompts[0])
        if _LYRICS_RULE.search(body):
            raise UsageError("%%music: lyrics (below ---) go with one prompt, not a batch.")
    if args.save is not None and not (args.save.endswith(("/", os.sep)) or Path(args.save).is_dir()):
        raise UsageError(f"--save {args.save}: a batch saves many files; give a folder (ending with /).")
    _check_variable(args.out)
    timeout = args.timeout if args.timeout is not None else defaults.timeout
    _check_timeout(timeout)

    def split(value: str | None, default: str | None) -> tuple[str | None, ...]:
        text = value if value is not None else default
        return tuple(v.strip() or None for v in text.split(",")) if text else (None,)

    models = tuple(m for m in split(args.model, defaults.model) if m) or (defaults.model,)
    for model in models:
        if model not in MODELS:
            raise UsageError(f"--model {model}: must be one of {', '.join(MODELS)}.")
    command = BatchCommand(
        prompts=prompts, prompts_var=args.prompts, models=models,
        lengths=split(args.length, defaults.length if args.length is None else None),
        formats=split(args.format, defaults.format if args.format is None else None),
        takes=args.takes or 1, params=tuple(_param_pair(p) for p in args.param or ()),
        instrumental=args.instrumental, seed=args.seed, out=args.out, save=args.save,
        timeout=timeout, no_wait=args.no_wait, dry_run=args.dry_run, concurrency=args.concurrency,
    )
    if prompts is not None:
        batch_items(command, prompts)  # refuse what no model takes, before anything runs
    return command


def batch_items(command: BatchCommand, prompts: Any) -> list[Any]:
    """Every job of a batch (:func:`apiframe_magic.expand`), or one ``UsageError`` line."""
    from ..jobs import expand

    try:
        params = {name: _typed(command.models, name, text) for name, text in command.params}
        uploading = next((MODELS[m] for m in command.models if any(
            (p := MODELS[m].param(name)) is not None and p.upload_kinds for name in params)), None)
        if uploading is not None:
            params = _with_local_files(uploading, params)
        return expand(
            prompts, models=command.models, lengths=command.lengths, formats=command.formats,
            takes=command.takes, params=params, instrumental=command.instrumental, seed=command.seed,
        )
    except (RequestValidationError, ValueError) as e:
        raise UsageError(f"%%music: {e}") from None


def _param_pair(item: str) -> tuple[str, str]:
    try:
        return split_param(item)
    except RequestValidationError as e:
        raise UsageError(f"{e}.") from None


def _typed(models: tuple[str, ...], name: str, text: str) -> Any:
    """``text`` typed and checked by the first model of the batch that has param ``name``."""
    return parse_param_among([MODELS[m] for m in models], name, text)


def takes_cell_options(line: str) -> bool:
    """Whether a ``%music`` line is a ``%%music`` line with no body: it starts with one of the
    cell's options (``%music --prompts VAR --out b``), not with a subcommand or ``-h``/``--help``."""
    first = line.split(maxsplit=1)[0] if line.strip() else ""
    if not first.startswith("-") or first in ("-h", "--help"):
        return False
    return first.split("=", 1)[0] in _CELL_OPTIONS or first[:2] in _CELL_OPTIONS


def parse_music_line(line: str) -> MusicLineCommand:
    """Parse a ``%music`` line into a :class:`MusicLineCommand`, or raise ``UsageError``."""
    args = _parse(_line_signature, line, "%music")
    if args.help:
        return MusicLineCommand("help")
    action = args.action.lower()
    actions = tuple(c.name for c in SUBCOMMANDS)
    if action not in actions:
        raise UsageError(f"%music {args.action}: unknown action; use {', '.join(actions)}.")
    listening = (args.pairs, args.listener, args.min_play, args.seed, args.csv, args.reference,
                 args.anchor, args.repeat, args.kit, args.collect, args.match_loudness is False)
    if action == "listen":
        return MusicLineCommand(action="listen", listen=_parse_listen(args))
    if any(value not in (None, False) for value in listening):
        raise UsageError(f"{', '.join(_LISTEN_OPTIONS)} go with %music listen.")
    text = args.job_id if action == "history" else None
    job_id = args.job_id if action == "resume" else None
    if action not in ("resume", "history") and args.job_id:
        raise UsageError(f"%music {action} takes no job id.")
    if action != "history" and (args.limit is not None or args.model or args.reconcile or args.tree):
        raise UsageError("--limit, --model, --reconcile and --tree go with %music history.")
    if action != "resume" and (args.out or args.save or args.timeout is not None):
        raise UsageError("--out, --save and --timeout go with %music resume.")
    if action == "resume" and job_id is None and (args.out or args.save):
        raise UsageError("%music resume with no job id resumes every pending job, each saved where "
                         "its cell would have saved it: --out and --save need a JOB_ID.")
    if args.limit is not None and args.limit < 1:
        raise UsageError(f"--limit {args.limit}: must be a positive number of jobs.")
    if args.timeout is not None:
        _check_timeout(args.timeout)
    _check_variable(args.out)
    return MusicLineCommand(
        action=action, job_id=job_id, out=args.out, save=args.save, timeout=args.timeout,
        text=text, limit=args.limit or 20, model=args.model, reconcile=args.reconcile, tree=args.tree,
    )


_LISTEN_OPTIONS = ("--pairs", "--listener", "--min-play", "--seed", "--csv", "--reference", "--anchor",
                   "--repeat", "--kit", "--collect", "--no-match-loudness")


def _parse_listen(args: argparse.Namespace) -> ListenCommand:
    """The options of ``%music listen VAR``, checked (the variable itself is the magic's to find)."""
    var = args.job_id
    if args.limit is not None or args.model or args.reconcile or args.tree or args.save \
            or args.timeout is not None:
        raise UsageError(f"%music listen takes {', '.join(_LISTEN_OPTIONS)} and --out.")
    paths = ((args.csv, "--csv"), (args.kit, "--kit"), *((f, "--collect") for f in args.collect or ()))
    for given, name in paths:
        if given is not None and ("\x00" in given or not given.strip()):
            raise UsageError(f"{name} {given!r}: not a usable file path.")
    if args.collect:
        if var:
            raise UsageError("%music listen --collect FILES takes no VAR: the answers name their test.")
        others = (args.pairs, args.listener, args.min_play, args.seed, args.reference, args.anchor,
                  args.repeat, args.kit, args.match_loudness is False)
        if any(value not in (None, False) for value in others):
            raise UsageError("%music listen --collect FILES takes only --csv and --out: the test is "
                             "the one the kit was written for.")
        _check_variable(args.out)
        return ListenCommand(var=None, csv=args.csv, out=args.out, collect=tuple(args.collect))
    if not var:
        raise UsageError("%music listen needs a variable: %music listen VAR, where VAR holds a batch "
                         "(%%music --each-line --out VAR) or a list of results.")
    _check_variable(var, "%music listen")
    if args.reference is not None:
        _check_variable(args.reference, "--reference")
    listener = None
    if args.listener is not None:
        listener = " ".join(args.listener.split())
        if not listener:
            raise UsageError("--listener: give a name (or leave the option out and type it in the test).")
    min_play = 3.0 if args.min_play is None else args.min_play
    if not (min_play >= 0 and math.isfinite(min_play)):
        raise UsageError(f"--min-play {args.min_play:g}: must be 0 or more seconds.")
    _check_variable(args.out)
    return ListenCommand(
        var=var, pairs=args.pairs, listener=listener, min_play=min_play, seed=args.seed,
        csv=args.csv, out=args.out, reference=args.reference, anchor=args.anchor, repeat=args.repeat,
        kit=args.kit, match_loudness=args.match_loudness is not False,
    )


def cell_options_help() -> str:
    """The option list of ``%%music`` as ``%%music?`` shows it (from the declarations above)."""
    return _options_help(_cell_signature)


def line_options_help() -> str:
    """The arguments and options of ``%music`` (from the declarations above)."""
    return _options_help(_line_signature)


def _options_help(signature: Callable[..., None]) -> str:
    """argparse's help for ``signature``, from its argument list on (no usage, no description)."""
    text: str = signature.parser.format_help()  # type: ignore[attr-defined]
    start = min((i for i in (text.find("positional arguments:"), text.find("options:")) if i >= 0),
                default=0)
    return text[start:].rstrip()


def check_length(text: str, model: str = DEFAULT_MODEL) -> int:
    """The milliseconds of a length such as ``30s``, within ``model``'s range; else ``ValueError``
    with one line saying why (without naming the option, which the caller knows)."""
    from ..client import MusicRequest

    ms = parse_length(text)
    try:
        MusicRequest("length check", model=model, music_length_ms=ms)
    except RequestValidationError as e:
        raise ValueError(_LENGTH_RULE if e.field.endswith("music_length_ms") else str(e)) from None
    return ms


def check_model(model: str) -> None:
    """``ValueError`` unless ``model`` is a model id this package knows."""
    if model not in MODELS:
        raise ValueError("must be one of " + ", ".join(MODELS))


def _parse(signature: Callable[..., None], line: str, magic: str) -> argparse.Namespace:
    """Parse ``line`` with ``signature``'s options; every malformed line is one ``UsageError``."""
    try:
        args: argparse.Namespace = _split_and_parse(signature, line)
    except UsageError as e:
        hint = f" ({magic}? lists the options)" if "unrecognized arguments" in str(e) else ""
        raise UsageError(f"{magic}: {e}{hint}") from None
    except ValueError as e:
        # shlex: "No closing quotation", "No escaped character".
        raise UsageError(
            f"{magic}: cannot split the options ({str(e).lower()}): close every quote, "
            f"and end no option with a lone backslash."
        ) from None
    return args


def _split_and_parse(signature: Callable[..., None], line: str) -> argparse.Namespace:
    """Split ``line`` as a POSIX shell does (quotes group words and are removed, so
    ``--param style="dark jazz"`` is one value) and parse it. On Windows, where backslashes
    are path separators, IPython's own splitting is used."""
    argv = arg_split(line, posix=os.name != "nt")
    args: argparse.Namespace = signature.parser.parse_args(argv)  # type: ignore[attr-defined]
    return args


def _check_prompt_is_not_options(first_line: str) -> None:
    """Refuse a prompt that starts with options of ``%%music``: IPython ends the magic's line at
    any line break character (``\\r``, ``\\x0b``, ``\\x0c``, ``\\x85``, ``\\u2028``, ...), so what
    looks like the rest of the line, ``--dry-run`` included, arrives as the prompt."""
    token = first_line.split(maxsplit=1)[0] if first_line.split() else ""
    name = token.split("=", 1)[0]
    named = name in _CELL_OPTIONS or (
        # argparse accepts unambiguous prefixes of long options (--dry for --dry-run).
        len(name) > 2 and name.startswith("--") and any(o.startswith(name) for o in _LONG_OPTIONS)
    )
    if not named and first_line.startswith("-"):
        # Bundled or attached short options (-io, -l8s): exactly what argparse would take.
        try:
            _split_and_parse(_cell_signature, first_line)
            named = True
        except (UsageError, ValueError):
            pass
    if named:
        shown = token if len(token) <= 30 else token[:29] + "…"
        raise UsageError(
            f"%%music: the prompt starts with {shown}, an option of %%music; put options on the "
            f"%%music line itself (a line break character such as \\r, \\x0b, \\x0c, \\x85 or "
            f"\\u2028 ends that line early). Nothing was sent."
        )


def _check_save(save: str, audio_format: AudioFormat, format_source: str) -> None:
    """Refuse ``--save NAME.EXT`` when EXT is not what ``audio_format`` produces."""
    from ..jobs import SaveTarget

    if "\x00" in save:
        raise UsageError("--save: a path cannot contain a NUL character.")
    try:
        SaveTarget.parse(save, ".").check_extension(audio_format.extension)
    except RequestValidationError:
        given = Path(save).suffix
        said = next((f for f in OUTPUT_FORMATS.values() if f.extension == given[1:].lower()), None)
        fixed = str(Path(save).with_suffix(f".{audio_format.extension}"))
        if said is None:
            raise UsageError(
                f"--save {save}: {given} is not a format Apiframe makes, and {format_source} makes "
                f"{audio_format.container.upper()}; use {fixed} or a folder."
            ) from None
        other = max(
            (f for f in OUTPUT_FORMATS.values() if f.container == said.container),
            key=lambda f: (f.sample_rate, f.bitrate_kbps or 0),
        )
        raise UsageError(
            f"--save {save}: the extension says {said.container.upper()} but {format_source} makes "
            f"{audio_format.container.upper()}; use {fixed}, a folder, or --format {other.name}."
        ) from None
    except (OSError, RuntimeError) as e:  # an unknown ~user
        raise UsageError(f"--save {save}: {e}") from None


def _check_timeout(timeout: float) -> None:
    if not timeout > 0:
        raise UsageError(f"--timeout {timeout:g}: must be a positive number of seconds.")


def _check_variable(name: str | None, option: str = "--out") -> None:
    if name is not None and not name.isidentifier():
        raise UsageError(f"{option} {name}: not a valid Python variable name.")


def _split_lyrics(body: str) -> tuple[str, str | None]:
    """The prompt and the lyrics of a cell body: the lyrics follow the first line of dashes."""
    found = _LYRICS_RULE.search(body)
    if found is None:
        return body, None
    prompt, lyrics = body[: found.start()].strip(), body[found.end():].strip()
    if not lyrics:
        raise UsageError("%%music: the lyrics part (below the --- line) is empty.")
    return prompt, lyrics


def _model_params(
    spec: ModelSpec, args: argparse.Namespace, defaults: MusicDefaults
) -> tuple[dict[str, Any], dict[str, str]]:
    """The params the options ask of ``spec``'s model (mapped and checked by the catalog's
    :meth:`~apiframe_magic.catalog.ModelSpec.params_for`), and which ``--param`` set each key.

    An option the model does not take is refused; ``%config`` defaults apply only to models that
    take them (a default length means nothing to Suno), and never over a ``--param``.
    """
    given: dict[str, Any] = {}
    set_by: dict[str, str] = {}
    for item in args.param or ():
        name, value = _param_value(spec, item)
        if name in set_by:
            raise UsageError(f"--param {item}: {name} is already set by {set_by[name]}.")
        given[name] = value
        set_by[name] = f"--param {name}"
    length, fmt, spelled = args.length, args.format, {}
    if length is None and defaults.length and spec.length_param and spec.length_param not in given:
        length, spelled["length"] = defaults.length, "MusicMagics.default_length"
    if fmt is None and defaults.format and spec.format_param and spec.format_param not in given:
        fmt, spelled["format"] = defaults.format, "MusicMagics.default_format"
    try:
        params = spec.params_for(length=length, format=fmt, instrumental=args.instrumental,
                                 seed=args.seed, params=given, spelled=spelled)
    except RequestValidationError as e:
        raise UsageError(f"{e}.") from None
    return params, set_by


def _with_local_files(spec: ModelSpec, params: dict[str, Any]) -> dict[str, Any]:
    """``params`` with local files (``--param reference_images=./moodboard.png,URL``) checked,
    type and size, and standing by a URL until the run uploads them; one line for a bad one."""
    if not any((param := spec.param(name)) is not None and param.upload_kinds for name in params):
        return params
    from ..jobs import with_local_files  # the client (httpx): when a cell runs

    try:
        return with_local_files(spec, params)
    except RequestValidationError as e:
        raise UsageError(f"--param {e}.") from None


def _param_value(spec: ModelSpec, item: str) -> tuple[str, Any]:
    """``KEY=VALUE`` typed and checked by the model's spec; one ``UsageError`` naming the param."""
    try:
        name, text = split_param(item)
        return name, spec.parse_param(name, text)
    except RequestValidationError as e:
        raise UsageError(f"{e}.") from None


def _explain(
    error: RequestValidationError,
    spec: ModelSpec,
    set_by: Mapping[str, str],
    length_text: str | None,
    has_lyrics: bool,
) -> str:
    """Turn a request validation error into one line in the magic's own terms."""
    prefix = f"{spec.params_key}."
    name = error.field[len(prefix):] if error.field.startswith(prefix) else None
    if name is not None:
        option = set_by.get(name, f"--param {name}")
        if name == spec.length_param:
            return f"{option} {length_text}: {_LENGTH_RULE}."
        if name == spec.format_param:
            return f"{option} {error.value}: must be one of {', '.join(OUTPUT_FORMATS)}."
        return f"{option}: {name} {error.allowed}."
    option = _OPTION_FOR_FIELD.get(error.field, error.field)
    if error.field == "prompt":
        lyrics_are_prompt = has_lyrics and spec.lyrics is not None and spec.lyrics.param is None
        what = "the lyrics (below ---)" if lyrics_are_prompt else option
        return f"{what}: {error.allowed} for {spec.id} (got {len(str(error.value or ''))} characters)."
    return f"{option} {error.value}: {error.allowed}."
