"""The options of ``%%music`` and ``%music``, parsed into plain data.

The argument lists are declared once, with IPython's ``magic_arguments``, and applied both to the
magic methods (so ``%%music?`` documents every option) and to module-level signatures used by
:func:`parse_music_cell` and :func:`parse_music_line`, so parsing is testable without a shell.
Every user mistake is a one-line :class:`~IPython.core.error.UsageError` raised before any request.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from IPython.core.error import UsageError
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

from ._exceptions import RequestValidationError
from ._models import (
    DEFAULT_MODEL,
    MAX_LENGTH_MS,
    MIN_LENGTH_MS,
    OUTPUT_FORMATS,
    WEBHOOK_EVENTS,
    MusicRequest,
    format_length,
    parse_length,
)

__all__ = [
    "MusicCommand",
    "MusicDefaults",
    "MusicLineCommand",
    "music_cell_arguments",
    "music_line_arguments",
    "parse_music_cell",
    "parse_music_line",
]

F = TypeVar("F", bound=Callable[..., Any])

# Which option of the magic sets each field of the request body, for error messages.
_OPTION_FOR_FIELD = {
    "prompt": "the prompt (cell body)",
    "model": "--model",
    "elevenlabsParams.music_length_ms": "--length",
    "elevenlabsParams.output_format": "--format",
    "elevenlabsParams.force_instrumental": "--instrumental",
    "webhookUrl": "--webhook",
    "webhookEvents": "--webhook-events",
}

_CELL_ARGUMENTS = (
    argument("-l", "--length", metavar="LENGTH",
             help="Track length, 5s to 5m in whole seconds: 30s, 1m30s, 90000ms, or a bare number of "
                  "seconds. Unset: the %%config default, else the model picks from the prompt."),
    argument("-i", "--instrumental", action="store_true",
             help="No vocals (sends force_instrumental=true)."),
    argument("-f", "--format", metavar="FORMAT",
             help="Output format: " + ", ".join(OUTPUT_FORMATS) + "."),
    argument("-m", "--model", metavar="MODEL", help=f"Model id (default {DEFAULT_MODEL})."),
    argument("-o", "--out", metavar="VAR",
             help="Store the result (a MusicResult, or a MusicJob with --no-wait) in this variable."),
    argument("-s", "--save", metavar="PATH",
             help="Save the audio to this file, or into this folder if it ends with / or exists. "
                  "Default: the output folder (%%config MusicMagics.output_dir)."),
    argument("-t", "--timeout", metavar="SECONDS", type=float,
             help="Give up waiting after this many seconds (the job keeps its id and can be resumed)."),
    argument("--webhook", metavar="URL", help="Ask Apiframe to POST job events to this URL."),
    argument("--webhook-events", metavar="EVENTS",
             help="Comma-separated subset of " + ", ".join(WEBHOOK_EVENTS) + " (with --webhook)."),
    argument("--no-wait", action="store_true",
             help="Submit and return a job handle at once; collect it later with %%music resume."),
    argument("--dry-run", action="store_true",
             help="Show the exact request JSON and its credit cost; submit nothing."),
)

_LINE_ARGUMENTS = (
    argument("action", nargs="?", default="help", metavar="ACTION",
             help="status: backend, masked key and credits. resume JOB_ID: wait for a job and save "
                  "it. help: this text."),
    argument("job_id", nargs="?", metavar="JOB_ID", help="The job to resume."),
    argument("-o", "--out", metavar="VAR", help="With resume: store the result in this variable."),
    argument("-s", "--save", metavar="PATH", help="With resume: where to save the audio."),
    argument("-t", "--timeout", metavar="SECONDS", type=float,
             help="With resume: give up waiting after this many seconds."),
)


def _with(arguments: tuple[Callable[[F], F], ...]) -> Callable[[F], F]:
    def apply(func: F) -> F:
        for decorate in reversed(arguments):
            func = decorate(func)
        decorated: F = magic_arguments()(func)
        return decorated

    return apply


music_cell_arguments = _with(_CELL_ARGUMENTS)
music_line_arguments = _with(_LINE_ARGUMENTS)


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
    """What one ``%%music`` cell asks for."""

    request: MusicRequest
    out: str | None = None
    save: str | None = None
    timeout: float = 600.0
    no_wait: bool = False
    dry_run: bool = False


@dataclass(frozen=True)
class MusicLineCommand:
    """What one ``%music`` line asks for."""

    action: Literal["status", "resume", "help"]
    job_id: str | None = None
    out: str | None = None
    save: str | None = None
    timeout: float | None = None


def parse_music_cell(line: str, cell: str, defaults: MusicDefaults | None = None) -> MusicCommand:
    """Parse a ``%%music`` cell into a validated :class:`MusicCommand`, or raise ``UsageError``."""
    defaults = defaults or MusicDefaults()
    args = parse_argstring(_cell_signature, line)
    prompt = cell.strip()
    if not prompt:
        raise UsageError("%%music needs a prompt: write it in the cell body, below the %%music line.")

    length_text = args.length if args.length is not None else defaults.length
    length_ms = None
    if length_text:
        option = "--length" if args.length is not None else "MusicMagics.default_length"
        try:
            length_ms = parse_length(length_text)
        except ValueError as e:
            raise UsageError(f"{option}: {e}") from None
    output_format = args.format or defaults.format or None
    if args.webhook_events and not args.webhook:
        raise UsageError("--webhook-events needs --webhook URL.")
    events = (
        tuple(e.strip() for e in args.webhook_events.split(",") if e.strip())
        if args.webhook_events else None
    )
    timeout = args.timeout if args.timeout is not None else defaults.timeout
    _check_timeout(timeout)
    _check_variable(args.out)

    try:
        request = MusicRequest(
            prompt=prompt,
            model=args.model or defaults.model,
            music_length_ms=length_ms,
            force_instrumental=True if args.instrumental else None,
            output_format=output_format,
            webhook_url=args.webhook,
            webhook_events=events,
        )
    except RequestValidationError as e:
        raise UsageError(_explain(e, length_text)) from None
    return MusicCommand(
        request=request, out=args.out, save=args.save, timeout=timeout,
        no_wait=args.no_wait, dry_run=args.dry_run,
    )


def parse_music_line(line: str) -> MusicLineCommand:
    """Parse a ``%music`` line into a :class:`MusicLineCommand`, or raise ``UsageError``."""
    args = parse_argstring(_line_signature, line)
    action = args.action.lower()
    if action not in ("status", "resume", "help"):
        raise UsageError(f"%music {args.action}: unknown action; use status, resume JOB_ID or help.")
    if action == "resume" and not args.job_id:
        raise UsageError("%music resume needs a job id: %music resume JOB_ID")
    if action != "resume" and args.job_id:
        raise UsageError(f"%music {action} takes no job id.")
    if args.timeout is not None:
        _check_timeout(args.timeout)
    _check_variable(args.out)
    return MusicLineCommand(
        action=action, job_id=args.job_id, out=args.out, save=args.save, timeout=args.timeout,
    )


def _check_timeout(timeout: float) -> None:
    if not timeout > 0:
        raise UsageError(f"--timeout {timeout:g}: must be a positive number of seconds.")


def _check_variable(name: str | None) -> None:
    if name is not None and not name.isidentifier():
        raise UsageError(f"--out {name}: not a valid Python variable name.")


def _explain(error: RequestValidationError, length_text: str | None) -> str:
    """Turn a request validation error into one line in the magic's own terms."""
    option = _OPTION_FOR_FIELD.get(error.field, error.field)
    if error.field == "elevenlabsParams.music_length_ms":
        return (f"{option} {length_text}: must be {format_length(MIN_LENGTH_MS)} to "
                f"{format_length(MAX_LENGTH_MS)} in whole seconds (e.g. 30s, 1m30s).")
    if error.field == "elevenlabsParams.output_format":
        return f"{option} {error.value}: must be one of {', '.join(OUTPUT_FORMATS)}."
    if error.field == "prompt":
        return f"{option}: {error.allowed} (got {len(str(error.value or ''))} characters)."
    return f"{option} {error.value}: {error.allowed}."
