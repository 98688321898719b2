"""The ``%config``-able :class:`MusicMagics`: it parses a cell into plain data, dispatches on it,
and delegates the job to :mod:`apiframe_magic.jobs` and what is shown to :mod:`apiframe_magic.display`.

Settings are traits (``%config MusicMagics``), checked when set; the API key is never one.
Failures end the cell with one line and no traceback (see :mod:`._messages`).
"""

from __future__ import annotations

import asyncio
import math
import weakref
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.display import display
from traitlets import Bool, Enum, Float, TraitError, Unicode, validate

from .._exceptions import (
    ApiframeError,
    ConfigurationError,
    JobTimeoutError,
)
from .._version import __version__
from ..catalog import DEFAULT_MODEL, MODELS, OUTPUT_FORMATS
from ..client import MusicRequest
from ..display import (
    ProgressView,
    dry_run_bundle,
    make_progress_view,
    models_bundle,
    register_formatters,
    sandbox_notice,
)
from ..jobs import (
    DEFAULT_OUTPUT_DIR,
    Backend,
    MusicJob,
    MusicResult,
    generate,
    resolve_backend,
    resume,
    uses_sandbox,
)
from ._options import (
    MusicCommand,
    MusicDefaults,
    cell_options_help,
    check_length,
    check_model,
    music_cell_arguments,
    music_line_arguments,
    parse_music_cell,
    parse_music_line,
)

if TYPE_CHECKING:
    from ..client import AsyncApiframeClient, ModelInfo

from ._messages import HELP, MusicError, MusicInterrupted, explain, interrupted_message

__all__ = ["MusicMagics"]

# Shells (kernels) already told that they run on the offline sandbox: the notice is shown once
# per shell, not per cell, and a reload of the extension does not repeat it.
_SANDBOX_ANNOUNCED: weakref.WeakSet[Any] = weakref.WeakSet()






@magics_class
class MusicMagics(Magics):
    """Generate music with Apiframe from a notebook cell: ``%%music`` (see ``%%music?``)."""

    output_dir = Unicode(
        DEFAULT_OUTPUT_DIR, help="Folder where audio files and their JSON metadata are saved."
    ).tag(config=True)
    default_length = Unicode(
        "", help="Length used when a cell gives no --length (e.g. 30s); empty lets the model pick."
    ).tag(config=True)
    default_format = Unicode(
        "", help="Output format used when a cell gives no --format; empty means mp3_high_quality."
    ).tag(config=True)
    default_model = Unicode(DEFAULT_MODEL, help="Model used when a cell gives no --model.").tag(
        config=True
    )
    timeout = Float(600.0, help="Seconds to wait for a job before giving up (it can be resumed).").tag(
        config=True
    )
    embed_limit_mb = Float(
        10.0, help="Audio files up to this size (MB) are embedded in the notebook; larger ones are linked. "
                   "0 links every file."
    ).tag(config=True)
    progress = Enum(
        ["auto", "widget", "text"], "auto",
        help="Progress display: a widget in kernels (auto), always a widget, or lines of text.",
    ).tag(config=True)
    show_traceback = Bool(
        False, help="Show full tracebacks for API and job errors instead of one line."
    ).tag(config=True)

    # Settings are checked when set, against the whole rule a cell would apply, so a bad value
    # is refused by %config (naming the setting) instead of failing every later cell.
    @validate("default_length")
    def _check_length(self, proposal: dict[str, Any]) -> str:
        value: str = proposal["value"]
        if value:
            try:
                check_length(value, self.default_model)
            except ValueError as e:
                raise _setting_error(proposal, str(e)) from None
        return value

    @validate("default_format")
    def _check_format(self, proposal: dict[str, Any]) -> str:
        value: str = proposal["value"]
        if value and value not in OUTPUT_FORMATS:
            raise _setting_error(proposal, f"must be one of {', '.join(OUTPUT_FORMATS)}, or empty")
        return value

    @validate("default_model")
    def _check_model(self, proposal: dict[str, Any]) -> str:
        value: str = proposal["value"]
        try:
            check_model(value)
        except ValueError as e:
            raise _setting_error(proposal, str(e)) from None
        return value

    @validate("timeout")
    def _check_timeout(self, proposal: dict[str, Any]) -> float:
        value: float = proposal["value"]
        if not value > 0:
            raise _setting_error(proposal, "must be a positive number of seconds")
        return value

    @validate("embed_limit_mb")
    def _check_embed_limit(self, proposal: dict[str, Any]) -> float:
        value: float = proposal["value"]
        if not (value >= 0 and math.isfinite(value)):
            raise _setting_error(proposal, "must be 0 (always link, never embed) or a positive number of MB")
        return value

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        super().__init__(shell=shell, **kwargs)
        if shell is not None:
            register_formatters(shell, lambda: self.embed_limit_bytes)

    @property
    def user_ns(self) -> dict[str, Any]:
        """The namespace ``--out`` variables go to."""
        assert self.shell is not None, "MusicMagics is used through a shell"
        namespace: dict[str, Any] = self.shell.user_ns
        return namespace

    @property
    def embed_limit_bytes(self) -> int:
        return int(self.embed_limit_mb * 1_000_000)

    def defaults(self) -> MusicDefaults:
        return MusicDefaults(
            length=self.default_length or None,
            format=self.default_format or None,
            model=self.default_model,
            timeout=self.timeout,
        )

    @cell_magic("music")
    @music_cell_arguments
    def music(self, line: str, cell: str | None = None) -> None:
        """Generate a track from the prompt in the cell body.

        Example::

            %%music --length 30s --instrumental --out track
            an upbeat synthwave track with a driving bassline

        With no APIFRAME_API_KEY set, runs against the embedded offline sandbox.
        """
        command = parse_music_cell(line, cell or "", self.defaults())
        if command.dry_run:
            self._dry_run(command)
            return
        backend = self._backend()
        self._announce(backend)
        if command.no_wait:
            self._submit_only(backend, command)
            return
        view = make_progress_view(self.progress, command.request.prompt, self.embed_limit_bytes)
        result = self._follow(backend, view, command.out, command.request, lambda client: generate(
            client, command.request, backend=backend.name, output_dir=self.output_dir,
            save=command.save, timeout=command.timeout, observer=view,
        ))
        if command.out:
            self.user_ns[command.out] = result

    @line_magic("music")
    @music_line_arguments
    def music_line(self, line: str) -> None:
        """Look after music jobs: ``%music status``, ``%music resume JOB_ID``, ``%music help``."""
        command = parse_music_line(line)
        if command.action == "help":
            print(f"{HELP}\n\n%%music {cell_options_help()}")
        elif command.action == "status":
            self._status()
        elif command.action == "models":
            self._models()
        else:
            assert command.job_id is not None
            backend = self._backend()
            self._announce(backend)
            view = make_progress_view(self.progress, None, self.embed_limit_bytes)
            result = self._follow(backend, view, command.out, None, lambda client: resume(
                client, command.job_id or "", backend=backend.name, output_dir=self.output_dir,
                save=command.save, timeout=command.timeout or self.timeout, observer=view,
            ))
            if command.out:
                self.user_ns[command.out] = result

    def _models(self) -> None:
        """List every model: this package's specs, merged with ``GET /v2/models`` when it answers."""
        backend = self._backend()
        try:
            listed = backend.call(lambda client: client.models())
            served: dict[str, ModelInfo] | None = {m.id: m for m in listed}
        except ApiframeError:
            served = None
        display(models_bundle(list(MODELS.values()), served), raw=True)

    def _announce(self, backend: Backend) -> None:
        """Show the sandbox notice the first time this shell uses the sandbox."""
        if backend.sandbox and self.shell not in _SANDBOX_ANNOUNCED:
            _SANDBOX_ANNOUNCED.add(self.shell)
            sandbox_notice(backend)

    def _backend(self) -> Backend:
        try:
            return resolve_backend()
        except ConfigurationError as e:
            raise UsageError(str(e)) from None

    def _follow(
        self,
        backend: Backend,
        view: ProgressView,
        out: str | None,
        request: MusicRequest | None,
        start: Callable[[AsyncApiframeClient], Awaitable[MusicResult]],
    ) -> MusicResult:
        """Run one job under ``view``. The job id survives every way this can end: on failure or
        interrupt after submission, ``out`` (if given) holds a :class:`MusicJob` to resume."""

        async def run(client: AsyncApiframeClient) -> MusicResult:
            ticker = asyncio.ensure_future(view.tick())
            try:
                return await start(client)
            finally:
                ticker.cancel()

        def keep_handle() -> None:
            if out and view.job_id:
                self.user_ns[out] = MusicJob(
                    view.job_id, request, backend, output_dir=self.output_dir
                )

        try:
            result = backend.call(run)
        except KeyboardInterrupt:
            keep_handle()
            view.failed(interrupted_message(view.job_id), interrupted=True)
            if view.job_id:
                line = (f"job {view.job_id} keeps running on the server. Collect it with: "
                        f"%music resume {view.job_id}" + (f" --out {out}" if out else ""))
            else:
                line = interrupted_message(None)
            if self.show_traceback:
                print(f"Interrupted: {line}")
                raise
            # One line, not the traceback through the event loop (and asyncio's CancelledError).
            raise MusicInterrupted(line) from None
        except ApiframeError as e:
            keep_handle()
            message = explain(e, view.job_id, backend)
            # A timeout ends the wait, not the job: the view must not call it failed.
            view.failed(message, title="still running" if isinstance(e, JobTimeoutError) else None)
            if self.show_traceback:
                raise
            raise MusicError(message) from e
        view.succeeded(result)
        return result

    def _dry_run(self, command: MusicCommand) -> None:
        label = "the offline sandbox" if uses_sandbox() else "the Apiframe API"
        display(dry_run_bundle(command.request, label), raw=True)
        if command.out:
            self.user_ns[command.out] = command.request

    def _submit_only(self, backend: Backend, command: MusicCommand) -> None:
        try:
            job_id = backend.call(lambda client: client.submit(command.request)).job_id
        except ApiframeError as e:
            message = explain(e, None, backend)
            if self.show_traceback:
                raise
            raise MusicError(message) from e
        job = MusicJob(job_id, command.request, backend, output_dir=self.output_dir, save=command.save)
        if command.out:
            self.user_ns[command.out] = job
        where = f"{command.out}.result()" if command.out else f"%music resume {job_id}"
        print(f"Submitted job {job_id} (not waiting). Collect it with {where}")

    def _status(self) -> None:
        backend = self._backend()

        lines = [
            f"apiframe-magic {__version__}", f"backend: {backend.label}", f"key: {backend.masked_key}"
        ]
        try:
            account = backend.call(lambda client: client.me())
            lines.append(f"credits: {account.credits if account.credits is not None else '?'}")
            if account.plan:
                lines.append(f"plan: {account.plan}")
        except ApiframeError as e:
            lines.append(f"credits: unavailable ({explain(e, None, backend)})")
        if backend.sandbox:
            from ..sandbox import CREDITS_ENV

            lines.append(
                f"sandbox credits: set {CREDITS_ENV} before the first cell of a kernel, or "
                f"POST {{\"credits\": N}} to {backend.base_url}/_sandbox/credits (see docs/sandbox.md)"
            )
            lines.append("This is the offline sandbox. Set APIFRAME_API_KEY to use the real service.")
        print("\n".join(lines))


def _setting_error(proposal: dict[str, Any], reason: str) -> TraitError:
    """A refused setting, named as the user wrote it: ``MusicMagics.default_length = '2s': ...``."""
    return TraitError(f"MusicMagics.{proposal['trait'].name} = {proposal['value']!r}: {reason}.")











