"""What the magic says when something goes wrong: one line saying what happened and what to do.

User mistakes are ``UsageError``\\ s raised by the option parser; everything else a run can end with
is turned into one line here: :func:`explain` for API and job failures (raised as
:class:`MusicError`), :class:`MusicInterrupted` for the stop button. Neither shows a traceback
unless ``%config MusicMagics.show_traceback = True``."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .._exceptions import (
    ApiframeError,
    AuthenticationError,
    BadRequestError,
    BudgetExceededError,
    ConflictError,
    DownloadError,
    InsufficientCreditsError,
    JobError,
    JobFailedError,
    JobTimeoutError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RequestValidationError,
    TransportError,
)
from .._terminal import printable
from ._options import SUBCOMMANDS, cell_options_help, line_options_help

if TYPE_CHECKING:
    from ..jobs import Service

__all__ = ["MusicError", "MusicInterrupted", "explain", "interrupted_message", "manual"]


class MusicError(Exception):
    """A ``%%music`` run failed for a reason outside the cell's text. Shown as one line."""

    def _render_traceback_(self) -> list[str]:
        return [f"\x1b[0;31mMusicError\x1b[0m: {printable(str(self))}"]


class MusicInterrupted(KeyboardInterrupt):
    """A ``%%music`` run was stopped (Ctrl-C, the stop button). Shown as the one line that says
    how to collect the job; the cell still ends interrupted, so "Run All" stops there.

    A ``KeyboardInterrupt``, so ``except Exception`` in a loop of cells does not swallow it.
    """

    def _render_traceback_(self) -> list[str]:
        return [f"\x1b[0;31mInterrupted\x1b[0m: {printable(str(self))}"]


def interrupted_message(job_id: str | None) -> str:
    if job_id:
        return f"stopped waiting; job {job_id} keeps running. Resume: %music resume {job_id}"
    return "stopped before the job was submitted; nothing was charged"


def explain(error: ApiframeError, job_id: str | None, service: Service) -> str:
    """One line: what went wrong and what to do about it."""
    resume_hint = f" Collect it later: %music resume {job_id}" if job_id else ""
    if isinstance(error, BudgetExceededError):
        return f"Over budget: {error}"
    if isinstance(error, AuthenticationError):
        fix = ("Check APIFRAME_API_KEY, or unset it to use the offline sandbox."
               if not service.sandbox else "The sandbox refused its own key; restart the kernel.")
        return f"Apiframe refused the API key ({error.message}). {fix}"
    if isinstance(error, InsufficientCreditsError):
        need = error.credits_required if error.credits_required is not None else "more"
        have = error.credits_available if error.credits_available is not None else "fewer"
        return (f"Not enough credits: this track needs {need}, the account has {have}. "
                f"Top up, or ask for a shorter --length (up to 30 s costs 10).")
    if isinstance(error, PermissionDeniedError):
        return f"Apiframe denied access ({error.message}): the key is inactive or lacks permission."
    if isinstance(error, RequestValidationError):  # refused here, before the request was sent
        return f"Not sent, nothing charged: {error}."
    if isinstance(error, BadRequestError):
        return f"Apiframe rejected the request: {error}"
    if isinstance(error, ConflictError):
        return (f"Apiframe refused the request (409, nothing charged): {error.message}. An action "
                f"needs a finished Suno track (not a stems result, nor another model's).")
    if isinstance(error, RateLimitError):
        return (f"Apiframe is rate limiting and retries ran out ({error.message}). "
                f"Wait a minute and run the cell again.{resume_hint}")
    if isinstance(error, NotFoundError) and (job_id or error.job_id):
        gone = job_id or error.job_id
        return (f"{service.label} does not know job {gone} (a job of another key, or one it has "
                f"purged): the job ledger marks it ended, so nothing waits for it again. Run the cell "
                f"again to submit the request anew.")
    if isinstance(error, JobFailedError):
        return f"Job {error.job_id} failed: {error.reason or 'no reason given'}. Its credits are refunded."
    if isinstance(error, JobTimeoutError):
        return f"Job {error.job_id} is still running; stopped waiting after {error.timeout:g} s.{resume_hint}"
    if isinstance(error, JobError):
        return f"{error}."
    if isinstance(error, DownloadError):
        if error.purged:  # nothing to resume: the files are gone from the service
            return f"Cannot download the audio: {error}."
        return f"Downloading the audio failed: {error}.{resume_hint}"
    if isinstance(error, TransportError):
        where = f" while waiting for job {job_id}" if job_id else ""
        what = resume_hint if job_id else " Run the cell again (a retried submit is never charged twice)."
        return f"Could not reach {service.label}{where}: {error}.{what}"
    where = f" while following job {job_id}" if job_id else ""
    return f"Apiframe error{where}: {error}.{resume_hint}"


_CELL_SUMMARY = (
    "%%music [options]", "generate a track; the cell body is the prompt (for suno, producer and mureka, "
                         "lyrics follow a line of ---); many prompts or takes make a batch",
)
_WIDTH = 100


def manual(settings: Mapping[str, Any]) -> str:
    """The whole manual of ``%%music`` and ``%music``, as ``%music help`` prints it and ``%music?``
    and ``%%music?`` show it: the commands (:data:`~._options.SUBCOMMANDS`), the options (the
    ``argument`` declarations of :mod:`._options`) and the ``settings``, the ``%config``-able traits
    of ``MusicMagics`` (``MusicMagics.class_traits(config=True)``) with their help strings."""
    commands = [_CELL_SUMMARY, *((c.usage, c.summary) for c in SUBCOMMANDS)]
    indent = max(len(usage) for usage, _ in commands) + 2
    listed = "\n".join(
        textwrap.fill(summary, _WIDTH, initial_indent=usage.ljust(indent), subsequent_indent=" " * indent)
        for usage, summary in commands
    )
    return "\n\n".join((
        listed,
        f"%%music {cell_options_help()}",
        f"%music {line_options_help()}",
        _settings_help(settings),
        "Without APIFRAME_API_KEY, everything runs against the embedded offline sandbox.",
    ))


def _settings_help(settings: Mapping[str, Any]) -> str:
    """Each setting with its default and its help string, as ``%config MusicMagics`` names them."""
    lines = ["settings (%config MusicMagics.NAME = VALUE; %config MusicMagics shows them all):"]
    for name, trait in sorted(settings.items()):
        lines.append(f"  {name} = {trait.default_value_repr()}")
        lines.append(textwrap.fill(trait.help, _WIDTH, initial_indent=" " * 6, subsequent_indent=" " * 6))
    return "\n".join(lines)
