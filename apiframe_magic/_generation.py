"""Job orchestration: submit, wait, download and save, reported to an observer.

This is the part of a ``%%music`` run that has nothing to do with display, so one observer (a
progress bar, a line of text, a cell of a grid) can follow each job while the job logic stays
here. :func:`generate` runs a request end to end; :func:`resume` picks up a job by its id.
Neither ever submits twice: once a job id exists, every later failure keeps and reports it.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
import wave
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ._exceptions import DownloadError
from ._models import Job, MusicRequest
from ._version import __version__

if TYPE_CHECKING:
    from ._backend import Backend
    from ._client import AsyncApiframeClient

__all__ = [
    "DEFAULT_OUTPUT_DIR",
    "JobObserver",
    "MusicJob",
    "MusicResult",
    "describe",
    "generate",
    "resume",
    "slugify",
]

DEFAULT_OUTPUT_DIR = "apiframe_outputs"


class JobObserver(Protocol):
    """What a display is told about one job. Every method is optional to act on."""

    def submitted(self, job_id: str) -> None: ...

    def progress(self, job: Job) -> None: ...

    def downloading(self, job: Job) -> None: ...


@dataclass
class MusicResult:
    """A finished track: the job, its request and where its audio and metadata were saved.

    In a notebook with the extension loaded it displays as a player; as text it is one line.
    """

    job: Job
    request: MusicRequest | None
    path: Path
    metadata_path: Path
    audio_format: str
    duration: float | None
    elapsed: float
    backend: str

    @property
    def job_id(self) -> str:
        return self.job.id

    @property
    def prompt(self) -> str | None:
        return self.request.prompt if self.request else None

    @property
    def credits(self) -> int | None:
        """Credits this job cost, as the server reported them."""
        return self.job.credit_cost

    @property
    def sandbox(self) -> bool:
        return self.backend == "sandbox"

    def audio_bytes(self) -> bytes:
        return self.path.read_bytes()

    def __repr__(self) -> str:
        duration = f"{self.duration:.1f} s" if self.duration is not None else "? s"
        return f"<MusicResult {str(self.path)!r} {duration} {self.audio_format}, job {self.job_id}>"


@dataclass(frozen=True)
class SaveTarget:
    """Where a job's audio goes: an explicit file path, or a folder with a name made up later."""

    directory: Path
    filename: str | None = None

    @classmethod
    def parse(cls, save: str | os.PathLike[str] | None, output_dir: str | os.PathLike[str]) -> SaveTarget:
        if save is None:
            return cls(Path(output_dir))
        path = Path(save).expanduser()
        if str(save).endswith(("/", os.sep)) or path.is_dir():
            return cls(path)
        return cls(path.parent, path.name)

    def audio_path(self, prompt: str | None, job_id: str, extension: str) -> Path:
        if self.filename:
            name = self.filename if Path(self.filename).suffix else f"{self.filename}.{extension}"
        else:
            name = f"{slugify(prompt or 'track')}-{job_id[:8]}.{extension}"
        return self.directory / name


def slugify(text: str, max_length: int = 40) -> str:
    """A short, file-name-safe slug of a prompt: ``'An upbeat synthwave…'`` -> ``an-upbeat-synthwave``."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    if len(slug) > max_length:
        slug = slug[:max_length].rsplit("-", 1)[0] or slug[:max_length]
    return slug or "track"


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

    ``backend`` is recorded in the metadata (``"sandbox"`` or the API's base URL). Errors after
    submission carry the job id; the job is never submitted twice.
    """
    started = time.monotonic()
    submitted = await client.submit(request)
    if observer is not None:
        observer.submitted(submitted.job_id)
    return await _finish(
        client, submitted.job_id, request, backend=backend, output_dir=output_dir, save=save,
        timeout=timeout, observer=observer, started=started,
    )


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
    """Wait for an existing job (submitted earlier, perhaps by an interrupted cell) and save it."""
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
    if job.audio_url is None:
        raise DownloadError(f"job {job_id} completed without an audio URL", url="", job_id=job_id)
    if observer is not None:
        observer.downloading(job)

    expected = request.audio_format.extension if request else "mp3"
    target = SaveTarget.parse(save, output_dir)
    path = target.audio_path(request.prompt if request else None, job_id, expected)
    path.parent.mkdir(parents=True, exist_ok=True)
    downloaded = await client.download(job.audio_url, path, job_id=job_id)
    path = downloaded.path
    container = downloaded.container or expected
    if target.filename is None and path.suffix != f".{container}":
        # The URL and the request can disagree with the bytes; the bytes win.
        corrected = path.with_suffix(f".{container}")
        os.replace(path, corrected)
        path = corrected

    duration = _duration_of(path, container, job, request)
    elapsed = time.monotonic() - started
    metadata_path = path.with_suffix(path.suffix + ".json")
    _write_json_atomic(
        metadata_path, _metadata(job, request, path, container, duration, elapsed, backend, downloaded.size)
    )
    return MusicResult(
        job=job, request=request, path=path, metadata_path=metadata_path, audio_format=container,
        duration=duration, elapsed=elapsed, backend=backend,
    )


def _request_from_job(job: Job) -> MusicRequest | None:
    body = job.raw.get("input")
    if not isinstance(body, Mapping):
        return None
    try:
        return MusicRequest.from_json(body)
    except ValueError:
        return None


def _duration_of(path: Path, container: str, job: Job, request: MusicRequest | None) -> float | None:
    """The file's own length for WAV; for MP3 the server's figure, else the requested length."""
    if container == "wav":
        try:
            with wave.open(str(path), "rb") as w:
                return w.getnframes() / float(w.getframerate())
        except (wave.Error, EOFError):
            pass
    if job.tracks and job.tracks[0].duration is not None:
        return job.tracks[0].duration
    if request is not None and request.music_length_ms is not None:
        return request.music_length_ms / 1000
    return None


def _metadata(
    job: Job,
    request: MusicRequest | None,
    path: Path,
    container: str,
    duration: float | None,
    elapsed: float,
    backend: str,
    size: int,
) -> dict[str, Any]:
    fmt = request.audio_format if request else None
    return {
        "generator": f"apiframe-magic {__version__}",
        "backend": backend,
        "jobId": job.id,
        "request": request.to_json() if request else None,
        "job": dict(job.raw),
        "audio": {
            "file": path.name,
            "container": container,
            "outputFormat": fmt.name if fmt else None,
            "sampleRate": fmt.sample_rate if fmt else None,
            "bytes": size,
            "durationSeconds": duration,
        },
        "elapsedSeconds": round(elapsed, 3),
        "savedAt": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def _write_json_atomic(path: Path, data: Mapping[str, Any]) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2, ensure_ascii=False)
            f.write("\n")
        # mkstemp makes the file private; metadata is meant to be shared like the audio beside it.
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def describe(result: MusicResult) -> dict[str, str]:
    """The caption fields of a result, in display order, as text."""
    request = result.request
    fields = {
        "prompt": result.prompt or "(unknown)",
        "length": f"{result.duration:.1f} s" if result.duration is not None else "?",
        "format": request.audio_format.label if request else result.audio_format.upper(),
        "job": result.job_id,
        "elapsed": f"{result.elapsed:.1f} s",
        "credits": str(result.credits) if result.credits is not None else "?",
    }
    return fields


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
