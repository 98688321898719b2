"""Streaming, atomic download of a result file from the CDN.

The file is streamed into a hidden temporary file next to its destination, checked against
``Content-Length``, flushed to disk with ``fsync`` and only then moved into place with
``os.replace``. Whatever goes wrong (HTTP error, dropped connection, short body, cancellation)
the temporary file is removed and an existing file at the destination is left as it was.

The saved file's name never lies about its bytes: when the container sniffed from the first
bytes disagrees with an audio suffix of the destination (``song.wav`` receiving MP3 bytes), the
file is saved as ``song.mp3`` instead and :attr:`DownloadedFile.path` says so.

The HTTP client passed in must carry no credentials: result URLs point at another origin
than the API, and the API key must never be sent there.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit

import httpx

from .._exceptions import DownloadError
from .._fs import shareable_mode
from .._public import public
from ._retry import Backoff, parse_retry_after

__all__ = [
    "DOWNLOAD_BACKOFF", "DownloadedFile", "download_file", "purged_error", "sniff_container", "true_name",
]

Container = Literal["mp3", "wav"]
_CHUNK = 64 * 1024
_MP3_TYPES = frozenset({"audio/mpeg", "audio/mp3", "audio/mpeg3", "audio/x-mpeg", "audio/x-mp3"})
_WAV_TYPES = frozenset({"audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave"})
# Suffixes that claim an audio container: a file with one of them must hold that container.
_SUFFIXES: dict[str, frozenset[str]] = {"mp3": frozenset({".mp3"}), "wav": frozenset({".wav", ".wave"})}
_AUDIO_SUFFIXES = frozenset({
    ".mp3", ".wav", ".wave", ".flac", ".ogg", ".oga", ".opus", ".m4a", ".aac", ".aif", ".aiff",
    ".wma", ".mp2", ".mpga",
})


@public
@dataclass(frozen=True)
class DownloadedFile:
    """A file that was downloaded completely.

    ``container`` is decided from the file's first bytes (RIFF/WAVE or an ID3 tag / MPEG frame
    sync), falling back to the ``Content-Type``; never from the URL, whose extension is not
    documented for WAV formats. ``path`` is where the file is: the destination asked for, with
    its suffix corrected when it named another audio container than the one received.
    """

    path: Path
    content_type: str | None
    size: int
    container: Container | None


class _Retryable(Exception):
    """A failure worth one more try (the GET is safe to repeat), after ``wait`` seconds if the
    server said how long (a 429's Retry-After)."""

    def __init__(self, message: str, wait: float | None = None) -> None:
        super().__init__(message)
        self.wait = wait


# A download is a GET of a file already paid for: worth several tries, spaced out, before the
# job's audio is given up. Retry-After beyond 30 s is not waited out.
DOWNLOAD_RETRIES = 6
DOWNLOAD_BACKOFF = Backoff(base=0.25, cap=4.0, jitter="equal", max_retry_after=30.0)


def sniff_container(head: bytes, content_type: str | None = None) -> Container | None:
    """``"wav"`` or ``"mp3"`` from the magic bytes of ``head``, else from ``content_type``."""
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[:3] == b"ID3" or (len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "mp3"
    mime = (content_type or "").split(";", 1)[0].strip().lower()
    if mime in _MP3_TYPES:
        return "mp3"
    if mime in _WAV_TYPES:
        return "wav"
    return None


def _name_from_url(url: str) -> str:
    """A safe file name from the last path segment of ``url`` (never a path)."""
    segment = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    name = Path(segment.replace("\\", "/")).name.strip().lstrip(".")
    return name or "audio"


def true_name(target: Path, container: Container | None, *, named_from_url: bool = False) -> Path:
    """``target``, renamed if need be so that its suffix matches ``container``.

    An audio suffix naming another container is replaced (``song.wav`` -> ``song.mp3``); a
    name this package made up from a URL gets the suffix added when it has no audio suffix. A
    name the caller chose with no suffix, or a suffix that is not an audio one, is kept.
    """
    if container is None:
        return target
    suffix = target.suffix.lower()
    if suffix in _SUFFIXES[container]:
        return target
    if suffix in _AUDIO_SUFFIXES:
        return target.with_suffix(f".{container}")
    if named_from_url:
        return target.with_name(f"{target.name}.{container}")
    return target


def _short(url: str) -> str:
    """The URL without its query string, for messages (signed URLs carry tokens there)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


async def download_file(
    client: httpx.AsyncClient,
    url: str,
    dest: str | os.PathLike[str],
    *,
    job_id: str | None = None,
    retries: int = DOWNLOAD_RETRIES,
    backoff: Backoff = DOWNLOAD_BACKOFF,
    expired: bool = False,
) -> DownloadedFile:
    """Download ``url`` to ``dest`` atomically; raise :class:`DownloadError` on any failure.

    A ``dest`` that is an existing directory, or ends with a path separator, gets the file
    name from the URL (with the detected extension added when the URL has none). A suffix
    that disagrees with the bytes is corrected (see :func:`true_name`); the returned
    :attr:`~DownloadedFile.path` is where the file really is. Failed or truncated transfers,
    5xx answers and 429s are retried ``retries`` times, with ``backoff``'s growing, jittered
    pause (a 429's ``Retry-After`` when it gives one, up to ``backoff.max_retry_after``); other
    4xx answers are not: a 404 or 410 (a file the service has purged) and ``expired`` (the job
    says its files were purged: nothing is sent) are :func:`purged_error`.
    """
    if expired:
        raise purged_error(url, job_id)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise DownloadError(f"not an http(s) URL: {url!r}", url=url, job_id=job_id)
    target = Path(dest)
    text = os.fspath(dest)
    named_from_url = target.is_dir() or text.endswith(("/", os.sep))
    if named_from_url:
        target = target / _name_from_url(url)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError(
            f"cannot create folder {target.parent}: {exc.strerror or exc}", url=url, job_id=job_id
        ) from None

    attempt = 0
    while True:
        try:
            return await _download_once(client, url, target, named_from_url, job_id)
        except _Retryable as exc:
            pause = backoff.delay(attempt) if exc.wait is None else backoff.honour(exc.wait)
            if attempt >= retries or pause is None:
                raise DownloadError(
                    f"download of {_short(url)} failed: {exc}", url=url, job_id=job_id
                ) from None
            await asyncio.sleep(pause)
            attempt += 1
        except OSError as exc:
            raise DownloadError(
                f"cannot write {target}: {exc.strerror or exc}", url=url, job_id=job_id
            ) from None


async def _download_once(
    client: httpx.AsyncClient,
    url: str,
    target: Path,
    named_from_url: bool,
    job_id: str | None,
) -> DownloadedFile:
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                async with client.stream("GET", url) as response:
                    if response.status_code >= 500:
                        raise _Retryable(f"HTTP {response.status_code} {response.reason_phrase}")
                    if response.status_code == 429:
                        wait = parse_retry_after(response.headers.get("retry-after"))
                        raise _Retryable("HTTP 429 Too Many Requests", wait=wait)
                    if response.status_code in (404, 410):
                        raise purged_error(url, job_id, f"HTTP {response.status_code}")
                    if response.status_code >= 300:
                        raise DownloadError(
                            f"download of {_short(url)} failed: HTTP {response.status_code} "
                            f"{response.reason_phrase}",
                            url=url,
                            job_id=job_id,
                        )
                    content_type = response.headers.get("content-type")
                    expected = response.headers.get("content-length")
                    head = b""
                    size = 0
                    async for chunk in response.aiter_bytes(_CHUNK):
                        if len(head) < 16:
                            head += chunk[: 16 - len(head)]
                        out.write(chunk)
                        size += len(chunk)
                    # Content-Length counts the bytes on the wire, before any content decoding.
                    encoded = response.headers.get("content-encoding", "identity") != "identity"
                    received = response.num_bytes_downloaded if encoded else size
            except httpx.HTTPError as exc:
                raise _Retryable(_describe(exc)) from None
            if expected is not None and expected.strip().isdigit() and received != int(expected):
                raise _Retryable(f"got {received} of {int(expected)} bytes")
            if size == 0:
                raise _Retryable("the server sent an empty file")
            out.flush()
            os.fsync(out.fileno())
        container = sniff_container(head, content_type)
        target = true_name(target, container, named_from_url=named_from_url)
        # mkstemp creates the file 0600; give it the mode of the file it replaces, else the
        # mode a plain open() would have.
        mode = target.stat().st_mode & 0o777 if target.exists() else shareable_mode(target.parent)
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(target.parent)
    return DownloadedFile(path=target, content_type=content_type, size=size, container=container)


def purged_error(url: str, job_id: str | None, answer: str | None = None) -> DownloadError:
    """The one-line :class:`DownloadError` (``purged`` set) for a file the service no longer has:
    its job is ``expired``, or the CDN answered ``answer`` (404 or 410) for ``url``."""
    if job_id:
        what = f"the files of job {job_id}" + (f" ({answer} for {_short(url)})" if answer else "")
    else:
        what = _short(url) + (f" ({answer})" if answer else "")
    return DownloadError(
        f"the service has purged {what}: results are kept for a limited time",
        url=url, job_id=job_id, purged=True,
    )


def _describe(exc: httpx.HTTPError) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _fsync_dir(folder: Path) -> None:
    """Persist the rename itself; best effort (not every platform can open a folder)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
