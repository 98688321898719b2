"""``POST /v2/uploads``: a file in, a short-lived CDN URL out.

The type is sniffed from the bytes (never from the name or the part's ``Content-Type``), the
size checked against its kind's limit, and the file kept in the sandbox's files folder and
served by the CDN origin under ``/uploads/<id>.<ext>`` until it expires (``ttl_seconds``,
an hour by default as the contract's "about 1 to 2 hours"; then the CDN answers 404).
Uploads live in memory: they are not kept in a state file, as their URLs expire anyway.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from ..catalog import SNIFF_BYTES, UPLOAD_LIMITS, sniff_upload, upload_problem

__all__ = [
    "MAX_UPLOAD_BYTES",
    "UPLOAD_TTL_SECONDS",
    "Upload",
    "UploadError",
    "Uploads",
    "file_from_multipart",
]

#: The contract's limits (the catalog's): 25 MB for an image or audio file, 50 MB for video.
MAX_UPLOAD_BYTES = UPLOAD_LIMITS
UPLOAD_TTL_SECONDS = 3600.0
_BOUNDARY = re.compile(r'boundary=(?:"([^"]{1,70})"|([^\s;]{1,70}))', re.IGNORECASE)
_FIELD_NAME = re.compile(rb'\bname="([^"]*)"', re.IGNORECASE)


class UploadError(ValueError):
    """Why an upload is refused (a ``400``)."""


@dataclass(frozen=True)
class Upload:
    id: str
    kind: str
    content_type: str
    extension: str
    byte_size: int
    expires: float  # wall-clock seconds

    def json(self, url: str) -> dict[str, object]:
        expires = datetime.fromtimestamp(self.expires, timezone.utc)
        return {"id": self.id, "url": url, "kind": self.kind, "contentType": self.content_type,
                "byteSize": self.byte_size,
                "expiresAt": expires.strftime("%Y-%m-%dT%H:%M:%S.")
                + f"{expires.microsecond // 1000:03d}Z"}

    @property
    def name(self) -> str:
        return f"{self.id}.{self.extension}"


def file_from_multipart(content_type: str, body: bytes) -> bytes:
    """The bytes of the one ``file`` field of a ``multipart/form-data`` body."""
    if content_type.split(";")[0].strip().lower() != "multipart/form-data":
        raise UploadError("the body must be multipart/form-data with a file field")
    match = _BOUNDARY.search(content_type)
    if match is None:
        raise UploadError("the multipart body has no boundary")
    delimiter = b"--" + (match[1] or match[2]).encode("latin-1")
    for part in body.split(delimiter)[1:]:
        if part.startswith(b"--"):
            break
        headers, sep, content = part.partition(b"\r\n\r\n")
        if not sep:
            continue
        disposition = next((line for line in headers.split(b"\r\n")
                            if line.lower().startswith(b"content-disposition:")), b"")
        name = _FIELD_NAME.search(disposition)
        if name is not None and name[1] == b"file":
            return content.removesuffix(b"\r\n")
    raise UploadError("no file: send the file in a multipart field named file")


class Uploads:
    """The uploads of one sandbox, kept as files in ``folder`` until they expire."""

    def __init__(self, folder: Path, ttl_seconds: float = UPLOAD_TTL_SECONDS,
                 clock: Callable[[], float] = time.time) -> None:
        self.folder = folder
        self.ttl_seconds = ttl_seconds
        self.clock = clock
        self._lock = threading.Lock()
        self._uploads: dict[str, Upload] = {}

    def add(self, data: bytes) -> Upload:
        """Keep ``data``; :class:`UploadError` for an empty, unknown or too large file."""
        if not data:
            raise UploadError("no file: the file field is empty")
        # The service's rules are the catalog's: the same ones the client checks before sending.
        found = sniff_upload(data[:SNIFF_BYTES])
        problem = upload_problem(data[:SNIFF_BYTES], len(data))
        if found is None:
            raise UploadError(f"unsupported file type: the file {problem}")
        if problem is not None:
            raise UploadError(f"file too large: the file {problem}")
        upload = Upload(str(uuid.uuid4()), found.kind, found.content_type, found.extension, len(data),
                        self.clock() + self.ttl_seconds)
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / upload.name).write_bytes(data)
        with self._lock:
            self._forget_expired()
            self._uploads[upload.name] = upload
        return upload

    def get(self, name: str) -> tuple[Upload, Path] | None:
        """The upload called ``<id>.<ext>`` and its file, unless unknown or expired."""
        with self._lock:
            self._forget_expired()
            upload = self._uploads.get(name)
        return None if upload is None else (upload, self.folder / upload.name)

    def _forget_expired(self) -> None:
        now = self.clock()
        for name in [n for n, u in self._uploads.items() if u.expires <= now]:
            del self._uploads[name]
            (self.folder / name).unlink(missing_ok=True)
