"""Where a job's audio goes and what is written beside it: file names safe on every system, a
suffix that always matches the bytes, and the JSON sidecar of each track."""

from __future__ import annotations

import json
import os
import re
import unicodedata
import wave
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from .._exceptions import RequestValidationError
from .._fs import DEFAULT_OUTPUT_DIR, atomic_write
from .._version import __version__
from ..catalog import ModelSpec
from ..client import ActionRequest, AnyRequest, Job, MusicRequest, Track, check_files
from ..ledger import file_sha256

__all__ = [
    "DEFAULT_OUTPUT_DIR",
    "UPLOAD_PLACEHOLDER",
    "SaveTarget",
    "TrackFile",
    "description_of",
    "name_of",
    "slugify",
    "track_duration",
    "upload_placeholders",
    "with_local_files",
    "write_json_atomic",
    "write_sidecar",
]


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
        self, prompt: str | AnyRequest | None, job_id: str, extension: str,
        take: int | str | None = None,
    ) -> Path:
        """The file for a job's audio; ``take`` (1, 2, ...) numbers the tracks of a job that has
        several: ``<name>-1.mp3``, ``<name>-2.mp3`` (or names them: ``<name>-vocals.mp3``). Given
        the request, the name is made from :func:`name_of` it (a Suno custom-mode song is named by
        its title, not its lyrics)."""
        if isinstance(prompt, (MusicRequest, ActionRequest)):
            prompt = name_of(prompt)
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


def description_of(request: AnyRequest) -> str:
    """What a request asks for in words: its prompt, except where the prompt is the lyrics
    (Suno's custom mode): then the description the lyrics came with (the ``style`` param), else
    the prompt after all. A Suno action's is its style, else its prompt (for ``add_vocals``,
    the lyrics)."""
    if isinstance(request, ActionRequest):
        style = request.fields.get("style")
        return style if isinstance(style, str) and style.strip() else request.prompt
    return describe(request.spec, request.prompt, request.params)


def describe(spec: ModelSpec, prompt: str, params: Mapping[str, Any]) -> str:
    """:func:`description_of` a generation of ``spec``'s model from its parts, as a stored job
    keeps them (no request need be rebuilt, and validated, to read it)."""
    lyrics = spec.lyrics
    if _is_custom_mode(spec, params) and lyrics is not None and lyrics.description_param:
        value = params.get(lyrics.description_param)
        if isinstance(value, str) and value.strip():
            return value
    return prompt


def name_of(request: AnyRequest) -> str:
    """What a job's files are named after: its prompt, except where the prompt is the lyrics
    (Suno's custom mode), whose first line says little: then its ``title`` param, else its
    :func:`description_of`. A Suno action's is its action and what it asked for
    (``extend-a-bridge-that-builds``, ``stems``)."""
    if isinstance(request, ActionRequest):
        title = request.fields.get("title")
        words = title if isinstance(title, str) and title.strip() else description_of(request)
        return f"{request.action} {' '.join(words.split()[:6])}".strip()
    title = request.params.get("title")
    if _is_custom_mode(request.spec, request.params) and isinstance(title, str) and title.strip():
        return title
    return description_of(request)


def _is_custom_mode(spec: ModelSpec, params: Mapping[str, Any]) -> bool:
    """Whether the prompt holds the lyrics (the model's lyrics switch is on in ``params``)."""
    lyrics = spec.lyrics
    return lyrics is not None and lyrics.param is None and bool(lyrics.sets) and all(
        params.get(name) == value for name, value in lyrics.sets
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


def track_duration(path: Path, container: str, track: Track, request: AnyRequest | None) -> float | None:
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


def _track_json(job: Job, index: int) -> Mapping[str, Any]:
    """The service's own entry for track ``index`` (title, tags, image URL ...), if it sent one."""
    result = job.raw.get("result")
    entries = result.get("tracks") if isinstance(result, Mapping) else None
    entry = entries[index] if isinstance(entries, list) and index < len(entries) else None
    return entry if isinstance(entry, Mapping) else {}


@dataclass(frozen=True)
class TrackFile:
    """One downloaded track of a job, as its sidecar describes it: track ``index`` of ``count``,
    saved at ``path`` as ``container`` (``"mp3"``/``"wav"``), ``size`` bytes, ``duration`` seconds."""

    index: int
    count: int
    path: Path
    container: str
    duration: float | None
    size: int


def write_sidecar(
    job: Job, request: AnyRequest | None, track: TrackFile, elapsed: float, service: str
) -> Path:
    """Write the JSON sidecar of ``track`` beside its audio (``<file>.json``), atomically, and
    return its path. ``service`` is where the job ran (``"sandbox"`` or the API's base URL; the
    sidecar's ``backend`` key, kept for readers of older files). It never holds the key: nothing
    here has one."""
    fmt = request.audio_format if request else None
    metadata = {
        "generator": f"apiframe-magic {__version__}",
        "backend": service,
        "jobId": job.id,
        "track": {"index": track.index, "of": track.count, **dict(_track_json(job, track.index))},
        "request": request.to_json() if request else None,
        "job": dict(job.raw),
        "audio": {
            "file": track.path.name,
            "container": track.container,
            "outputFormat": fmt.name if fmt else None,
            "sampleRate": fmt.sample_rate if fmt else None,
            "bytes": track.size,
            "durationSeconds": track.duration,
        },
        "elapsedSeconds": round(elapsed, 3),
        "savedAt": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    metadata_path = track.path.with_suffix(track.path.suffix + ".json")
    write_json_atomic(metadata_path, metadata)
    return metadata_path


def write_json_atomic(path: Path, data: Mapping[str, Any]) -> None:
    with atomic_write(path) as out:
        out.write((json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))


UPLOAD_PLACEHOLDER = "https://uploads.invalid/"
"""How a URL that stands for a local file not uploaded yet begins (``.invalid`` never resolves):
then the file's SHA-256 and its absolute path. A request holding one is the same request, for
the job ledger, as long as the file's bytes are the same; it is uploaded only when sent."""


def with_local_files(spec: ModelSpec, params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` of ``spec``'s model with each local file, in a param that uploads them
    (Lyria's ``reference_images``), replaced by a URL standing for it (:data:`UPLOAD_PLACEHOLDER`,
    its SHA-256 and its path), so a ``MusicRequest`` can be made of them and its fingerprint
    follows the file's bytes, not a new upload's URL. Every file is checked first (its type
    sniffed from its bytes, its size against its kind's limit), nothing sent: a one-line
    :class:`~apiframe_magic.RequestValidationError` names a bad one. :func:`generate` uploads
    each file (``POST /v2/uploads``) only when it submits the request."""
    check_files(spec, params)
    resolved = dict(params)
    for name, value in params.items():
        param = spec.param(str(name))
        files = set(param.local_files(value)) if param is not None else set()
        if files:
            resolved[name] = [_placeholder(v) if v in files else v for v in value]
    return resolved


def _placeholder(path: str) -> str:
    absolute = os.path.abspath(os.path.expanduser(path))
    return f"{UPLOAD_PLACEHOLDER}{file_sha256(absolute)}{quote(absolute)}"


def _placeholder_file(url: str) -> tuple[str, Path] | None:
    """The SHA-256 and path a placeholder URL stands for; ``None`` for any other value."""
    if not isinstance(url, str) or not url.startswith(UPLOAD_PLACEHOLDER):
        return None
    rest = url[len(UPLOAD_PLACEHOLDER):]
    return rest[:64], Path(unquote(rest[64:]))


async def upload_placeholders(
    upload: Callable[[Path], Awaitable[Any]], request: AnyRequest
) -> AnyRequest:
    """``request`` with each local file a placeholder stands for uploaded with ``upload`` (an
    :meth:`~apiframe_magic.AsyncApiframeClient.upload`) and replaced by its URL: the body sent.
    A file changed since the request was made is refused (one line), not sent."""
    if not isinstance(request, MusicRequest):
        return request
    params = dict(request.params)
    changed = False
    for name, value in request.params.items():
        if not isinstance(value, list) or not any(_placeholder_file(v) for v in value):
            continue
        urls = []
        for item in value:
            found = _placeholder_file(item)
            if found is None:
                urls.append(item)
                continue
            digest, path = found
            if not path.is_file() or file_sha256(path) != digest:
                raise RequestValidationError(name, str(path), "the file changed (or went) since the "
                                             "request was made; run the cell again")
            urls.append((await upload(path)).url)
        params[name], changed = urls, True
    if not changed:
        return request
    return MusicRequest(request.prompt, request.model, params=params, webhook_url=request.webhook_url,
                        webhook_events=request.webhook_events)
