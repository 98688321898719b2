"""Job orchestration: submit, wait, download and save, reported to an observer.

This is the part of a ``%%music`` run that has nothing to do with display, so one observer (a
progress bar, a line of text, a cell of a grid) can follow each job while the job logic stays
here. :func:`generate` runs a request end to end; :func:`resume` picks up a job by its id.
Neither ever submits twice: once a job id exists, every later failure keeps and reports it
(every :class:`~apiframe_magic.ApiframeError` raised after the submit has ``job_id`` set).

What is kept holds no credentials: a :class:`MusicResult` records where it came from by name,
and a :class:`MusicJob` keeps a :class:`~apiframe_magic.jobs.Backend`, which looks the key
up when it makes a client, so pickling either (or ``%store``) never writes the API key.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .._exceptions import ApiframeError, DownloadError
from .._public import public
from ..client import Job, MusicRequest
from ._files import DEFAULT_OUTPUT_DIR, SaveTarget, track_duration, write_sidecar
from ._results import JobObserver, MusicResult, SavedTrack

if TYPE_CHECKING:
    from ..client import AsyncApiframeClient
    from ._backend import Backend

__all__ = ["MusicJob", "generate", "resume"]

@contextlib.contextmanager
def _about_job(job_id: str) -> Iterator[None]:
    """Give every :class:`ApiframeError` raised inside the block this ``job_id`` (if it has none)."""
    try:
        yield
    except ApiframeError as exc:
        if exc.job_id is None:
            exc.job_id = job_id
        raise


@public
async def generate(
    client: AsyncApiframeClient,
    request: MusicRequest,
    *,
    backend: str,
    output_dir: str | os.PathLike[str] = DEFAULT_OUTPUT_DIR,
    save: str | os.PathLike[str] | None = None,
    timeout: float | None = 600.0,
    observer: JobObserver | None = None,
) -> MusicResult:
    """Submit ``request``, wait for it, download and save its audio with a JSON sidecar.

    ``backend`` is recorded in the metadata (``"sandbox"`` or the API's base URL). A ``save``
    file name whose extension does not match the request's format is refused with
    :class:`RequestValidationError` before anything is sent. Every :class:`ApiframeError`
    raised after the submission carries the job's ``job_id``; the job is never submitted twice.
    """
    started = time.monotonic()
    SaveTarget.parse(save, output_dir).check_extension(request.audio_format.extension)
    submitted = await client.submit(request)
    with _about_job(submitted.job_id):
        if observer is not None:
            observer.submitted(submitted.job_id)
        return await _finish(
            client, submitted.job_id, request, backend=backend, output_dir=output_dir, save=save,
            timeout=timeout, observer=observer, started=started,
        )


@public
async def resume(
    client: AsyncApiframeClient,
    job_id: str,
    *,
    backend: str,
    output_dir: str | os.PathLike[str] = DEFAULT_OUTPUT_DIR,
    save: str | os.PathLike[str] | None = None,
    timeout: float | None = 600.0,
    observer: JobObserver | None = None,
) -> MusicResult:
    """Wait for an existing job (submitted earlier, perhaps by an interrupted cell) and save it.

    Every :class:`ApiframeError` it raises carries ``job_id``."""
    with _about_job(job_id):
        if observer is not None:
            observer.submitted(job_id)
        return await _finish(
            client, job_id, None, backend=backend, output_dir=output_dir, save=save,
            timeout=timeout, observer=observer, started=time.monotonic(),
        )


async def _finish(
    client: AsyncApiframeClient,
    job_id: str,
    request: MusicRequest | None,
    *,
    backend: str,
    output_dir: str | os.PathLike[str],
    save: str | os.PathLike[str] | None,
    timeout: float | None,
    observer: JobObserver | None,
    started: float,
) -> MusicResult:
    job = await client.wait(job_id, timeout=timeout, on_progress=observer.progress if observer else None)
    if request is None:
        request = _request_from_job(job)
    tracks = [t for t in job.tracks if t.audio_url]
    if not tracks:
        raise DownloadError(f"job {job_id} completed without an audio URL", url="", job_id=job_id)
    if observer is not None:
        observer.downloading(job)

    expected = request.audio_format.extension if request else "mp3"
    target = SaveTarget.parse(save, output_dir)
    prompt = request.prompt if request else None
    numbered = len(tracks) > 1
    paths = [
        target.audio_path(prompt, job_id, expected, take=n + 1 if numbered else None)
        for n in range(len(tracks))
    ]
    paths[0].parent.mkdir(parents=True, exist_ok=True)
    # Every track at once. The URL and the request can disagree with the bytes; the bytes win,
    # and the download renames the file to match them (a given ``save`` name included).
    downloads = await asyncio.gather(*(
        client.download(track.audio_url, path, job_id=job_id)
        for track, path in zip(tracks, paths, strict=True)
    ))
    elapsed = time.monotonic() - started
    saved: list[SavedTrack] = []
    for index, (track, downloaded) in enumerate(zip(tracks, downloads, strict=True)):
        container = downloaded.container or expected
        duration = track_duration(downloaded.path, container, track, request)
        metadata_path = write_sidecar(
            job, request, index, len(tracks), downloaded.path, container, duration, elapsed, backend,
            downloaded.size,
        )
        saved.append(SavedTrack(
            index=index, path=downloaded.path, metadata_path=metadata_path, audio_format=container,
            duration=duration, size=downloaded.size, track=track,
        ))
    return MusicResult(job=job, request=request, tracks=tuple(saved), elapsed=elapsed, backend=backend)


def _request_from_job(job: Job) -> MusicRequest | None:
    body = job.raw.get("input")
    if not isinstance(body, Mapping):
        return None
    try:
        return MusicRequest.from_json(body)
    except ValueError:
        return None


@public
@dataclass
class MusicJob:
    """A submitted job not collected yet (``%%music --no-wait``, or a run interrupted or failed
    after submission).

    ``status()`` looks at it once; ``result()`` waits for it, downloads and saves it, exactly as
    ``%music resume`` does.
    """

    job_id: str
    request: MusicRequest | None
    backend: Backend = field(repr=False)
    output_dir: str = DEFAULT_OUTPUT_DIR
    save: str | None = None

    def status(self) -> Job:
        """The job as the server sees it now."""
        with _about_job(self.job_id):
            return self.backend.call(lambda client: client.get_job(self.job_id))

    def result(self, timeout: float | None = 600.0, observer: JobObserver | None = None) -> MusicResult:
        """Wait for the job to finish, then download and save it."""

        result = self.backend.call(lambda client: resume(
            client, self.job_id, backend=self.backend.name, output_dir=self.output_dir,
            save=self.save, timeout=timeout, observer=observer,
        ))
        if result.request is None and self.request is not None:
            result.request = self.request
        return result

    def __repr__(self) -> str:
        return (f"<MusicJob {self.job_id} not collected yet: "
                f".status(), .result() or %music resume {self.job_id}>")
