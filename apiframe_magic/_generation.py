"""Job orchestration: submit, wait, download and save, reported to an observer.

This is the part of a ``%%music`` run that has nothing to do with display, so one observer (a
progress bar, a line of text, a cell of a grid) can follow each job while the job logic stays
here. :func:`generate` runs a request end to end; :func:`resume` picks up a job by its id.
Neither ever submits twice: once a job id exists, every later failure keeps and reports it
(every :class:`~apiframe_magic.ApiframeError` raised after the submit has ``job_id`` set).

What is kept holds no credentials: a :class:`MusicResult` records where it came from by name,
and a :class:`MusicJob` keeps a :class:`~apiframe_magic._backend.Backend`, which looks the key
up when it makes a client, so pickling either (or ``%store``) never writes the API key.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import time
import unicodedata
import wave
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ._exceptions import ApiframeError, DownloadError, RequestValidationError
from ._fs import atomic_write
from ._public import public
from ._version import __version__
from .client import Job, MusicRequest, Track

if TYPE_CHECKING:
    from ._backend import Backend
    from .client import AsyncApiframeClient

__all__ = [
    "DEFAULT_OUTPUT_DIR",
    "JobObserver",
    "MusicJob",
    "MusicResult",
    "SavedTrack",
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


@public
@dataclass(frozen=True)
class SavedTrack:
    """One track of a finished job, saved: its audio file, its JSON sidecar and what the service
    said about it (``title``, ``tags`` and ``image_url`` where the model fills them)."""

    index: int
    path: Path
    metadata_path: Path
    audio_format: str
    duration: float | None
    size: int
    track: Track

    @property
    def track_id(self) -> str | None:
        return self.track.id

    @property
    def title(self) -> str | None:
        return self.track.title

    @property
    def tags(self) -> Any:
        return self.track.tags

    @property
    def image_url(self) -> str | None:
        return self.track.image_url

    @property
    def audio_url(self) -> str:
        return self.track.audio_url

    def audio_bytes(self) -> bytes:
        return self.path.read_bytes()

    def __repr__(self) -> str:
        duration = f"{self.duration:.1f} s" if self.duration is not None else "? s"
        return f"<SavedTrack {self.index + 1}: {str(self.path)!r} {duration} {self.audio_format}>"


@public
@dataclass
class MusicResult:
    """A finished job: the job, its request and every track it produced, saved.

    ``tracks`` holds one :class:`SavedTrack` per track (Suno, Udio and Producer make two,
    Mureka ``n``); ``path``, ``metadata_path``, ``audio_format`` and ``duration`` are the first
    track's, for one-track models. In a notebook with the extension loaded it displays as a
    player per track; as text it is one line.
    """

    job: Job
    request: MusicRequest | None
    tracks: tuple[SavedTrack, ...]
    elapsed: float
    backend: str

    @property
    def path(self) -> Path:
        """The first track's audio file."""
        return self.tracks[0].path

    @property
    def metadata_path(self) -> Path:
        """The first track's JSON sidecar."""
        return self.tracks[0].metadata_path

    @property
    def audio_format(self) -> str:
        """The container of the first track: ``"mp3"`` or ``"wav"``."""
        return self.tracks[0].audio_format

    @property
    def duration(self) -> float | None:
        """The first track's length in seconds."""
        return self.tracks[0].duration

    @property
    def paths(self) -> list[Path]:
        """Every track's audio file, in order."""
        return [t.path for t in self.tracks]

    @property
    def model(self) -> str | None:
        return self.request.model if self.request else self.job.model

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
        more = f" (+{len(self.tracks) - 1} more tracks)" if len(self.tracks) > 1 else ""
        return (f"<MusicResult {str(self.path)!r} {duration} {self.audio_format}{more}, "
                f"job {self.job_id}>")


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

    def check_extension(self, extension: str) -> None:
        """Refuse a file name whose suffix is not ``.{extension}`` (case-insensitive), so saved
        bytes always match their name. A folder, or a name without a suffix, gets the right one."""
        suffix = Path(self.filename).suffix if self.filename else ""
        if suffix and suffix.lower() != f".{extension.lower()}":
            raise RequestValidationError(
                "save", self.filename, f"the extension must be .{extension} to match the audio format"
            )

    def audio_path(
        self, prompt: str | None, job_id: str, extension: str, take: int | None = None
    ) -> Path:
        """The file for a job's audio; ``take`` (1, 2, ...) numbers the tracks of a job that has
        several: ``<name>-1.mp3``, ``<name>-2.mp3``."""
        number = f"-{take}" if take is not None else ""
        if self.filename:
            given = Path(self.filename)
            suffix = given.suffix or f".{extension}"
            stem = given.stem if given.suffix else self.filename
            name = f"{stem}{number}{suffix}"
        else:
            # The id comes from the server: only its letters and digits go into a file name.
            short_id = re.sub(r"[^0-9A-Za-z]", "", job_id)[:8] or "job"
            name = f"{slugify(prompt or 'track')}-{short_id}{number}.{extension}"
        return self.directory / name


# Names Windows refuses for a file whatever its extension (``con.mp3`` included).
_RESERVED_NAMES = frozenset(
    {"con", "prn", "aux", "nul"} | {f"{port}{n}" for port in ("com", "lpt") for n in range(10)}
)


def slugify(text: str, max_length: int = 40, max_bytes: int = 120) -> str:
    """A short slug of a prompt that is a safe file name on Windows, macOS and Linux.

    Letters, digits and combining marks of any script are kept (NFKC-normalised, so full-width
    letters become plain ones, and lower-cased); every run of anything else (spaces,
    punctuation, symbols and emoji, control characters, ``<>:"/\\|?*``) becomes one ``-``.
    The slug is at most ``max_length`` characters and ``max_bytes`` bytes of UTF-8 (file names
    are limited to 255 bytes, and the job id and extension follow), cut at a ``-`` when that
    keeps most of it. A Windows device name (``con``, ``nul``, ``com1``...) gets a ``_``;
    nothing left at all gives ``"track"``.

    >>> slugify("An upbeat synthwave track!"), slugify("静かなピアノ"), slugify("🎹🎶")
    ('an-upbeat-synthwave-track', '静かなピアノ', 'track')
    """
    text = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).lower())
    kept: list[str] = []
    for char in text:
        kind = unicodedata.category(char)[0]
        # A combining mark belongs to the letter before it; on its own it is dropped.
        if kind in "LN" or (kind == "M" and kept and kept[-1] != "-"):
            kept.append(char)
        elif kept and kept[-1] != "-":
            kept.append("-")
    slug = "".join(kept).strip("-")
    if len(slug) > max_length:
        cut = slug[:max_length]
        head = cut if slug[max_length] == "-" else cut.rsplit("-", 1)[0]
        slug = head if len(head) >= max_length // 2 else cut
    while len(slug.encode("utf-8")) > max_bytes:
        slug = slug[:-1]
    slug = slug.strip("-")
    if slug in _RESERVED_NAMES:
        slug += "_"
    return slug or "track"


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
        duration = _duration_of(downloaded.path, container, track, request)
        metadata_path = downloaded.path.with_suffix(downloaded.path.suffix + ".json")
        _write_json_atomic(metadata_path, _metadata(
            job, request, index, len(tracks), downloaded.path, container, duration, elapsed, backend,
            downloaded.size,
        ))
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


def _duration_of(path: Path, container: str, track: Track, request: MusicRequest | None) -> float | None:
    """The file's own length for WAV; for MP3 the server's figure, else the requested length."""
    if container == "wav":
        try:
            with wave.open(str(path), "rb") as w:
                return w.getnframes() / float(w.getframerate())
        except (wave.Error, EOFError):
            pass
    if track.duration is not None:
        return track.duration
    if request is not None and request.music_length_ms is not None:
        return request.music_length_ms / 1000
    return None


def _metadata(
    job: Job,
    request: MusicRequest | None,
    index: int,
    count: int,
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
        "track": {"index": index, "of": count, **dict(_track_json(job, index))},
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


def _track_json(job: Job, index: int) -> Mapping[str, Any]:
    """The service's own entry for track ``index`` (title, tags, image URL ...), if it sent one."""
    result = job.raw.get("result")
    entries = result.get("tracks") if isinstance(result, Mapping) else None
    entry = entries[index] if isinstance(entries, list) and index < len(entries) else None
    return entry if isinstance(entry, Mapping) else {}


def _write_json_atomic(path: Path, data: Mapping[str, Any]) -> None:
    with atomic_write(path) as out:
        out.write((json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))


def describe(result: MusicResult) -> dict[str, str]:
    """The caption fields of a result, in display order, as text."""
    request = result.request
    fields = {
        "prompt": result.prompt or "(unknown)",
        "model": result.model or "?",
        "tracks": str(len(result.tracks)),
        "length": f"{result.duration:.1f} s" if result.duration is not None else "?",
        "format": request.audio_format.label if request else result.audio_format.upper(),
        "job": result.job_id,
        "elapsed": f"{result.elapsed:.1f} s",
        "credits": str(result.credits) if result.credits is not None else "?",
    }
    return fields


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
