"""What ``POST /v2/uploads`` accepts, as data: the file types it sniffs from the bytes, and the size
limit of each kind.

Shared by the client (a file is refused before it is sent) and the sandbox (to answer ``400``),
so the two cannot disagree. Nothing here reads files or knows about HTTP: the rules take the
first bytes of a file (:data:`SNIFF_BYTES` are enough) and its size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "SNIFF_BYTES",
    "UPLOAD_LIMITS",
    "UPLOAD_TYPES",
    "UploadKind",
    "UploadType",
    "format_size",
    "sniff_upload",
    "upload_problem",
]

UploadKind = Literal["image", "video", "audio"]

# The contract's "25 MB" and "50 MB", read as decimal megabytes: the smaller reading, so that the
# client never sends a file the service may refuse.
_MB = 1_000_000
UPLOAD_LIMITS: dict[UploadKind, int] = {"image": 25 * _MB, "audio": 25 * _MB, "video": 50 * _MB}

# How many leading bytes :func:`sniff_upload` needs (a WebM header names its doctype within them).
SNIFF_BYTES = 64


@dataclass(frozen=True)
class UploadType:
    """A file type the upload endpoint takes: its ``name`` (``PNG``), ``kind`` and MIME type."""

    name: str
    kind: UploadKind
    content_type: str
    extension: str

    @property
    def limit(self) -> int:
        """The largest file of this type the service takes, in bytes."""
        return UPLOAD_LIMITS[self.kind]


UPLOAD_TYPES: dict[str, UploadType] = {t.name: t for t in (
    UploadType("PNG", "image", "image/png", "png"),
    UploadType("JPEG", "image", "image/jpeg", "jpg"),
    UploadType("WebP", "image", "image/webp", "webp"),
    UploadType("GIF", "image", "image/gif", "gif"),
    UploadType("MP4", "video", "video/mp4", "mp4"),
    UploadType("WebM", "video", "video/webm", "webm"),
    UploadType("MOV", "video", "video/quicktime", "mov"),
    UploadType("MP3", "audio", "audio/mpeg", "mp3"),
    UploadType("WAV", "audio", "audio/wav", "wav"),
    UploadType("OGG", "audio", "audio/ogg", "ogg"),
    UploadType("M4A", "audio", "audio/mp4", "m4a"),
)}

# ISO base media brands (the ``ftyp`` box) that mean audio only, or QuickTime.
_AUDIO_BRANDS = frozenset({b"M4A ", b"M4B ", b"M4P "})
_QUICKTIME_BRANDS = frozenset({b"qt  "})


def sniff_upload(head: bytes) -> UploadType | None:
    """The upload type of a file from its first bytes (at least :data:`SNIFF_BYTES` of them, or
    the whole file), or ``None`` when it is none of the accepted types."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return UPLOAD_TYPES["PNG"]
    if head.startswith(b"\xff\xd8\xff"):
        return UPLOAD_TYPES["JPEG"]
    if head.startswith((b"GIF87a", b"GIF89a")):
        return UPLOAD_TYPES["GIF"]
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return UPLOAD_TYPES["WebP"]
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return UPLOAD_TYPES["WAV"]
    if head.startswith(b"OggS"):
        return UPLOAD_TYPES["OGG"]
    if head.startswith(b"\x1a\x45\xdf\xa3"):  # EBML: Matroska, of which only WebM is taken
        return UPLOAD_TYPES["WebM"] if b"webm" in head[:SNIFF_BYTES] else None
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _AUDIO_BRANDS:
            return UPLOAD_TYPES["M4A"]
        return UPLOAD_TYPES["MOV"] if brand in _QUICKTIME_BRANDS else UPLOAD_TYPES["MP4"]
    if head.startswith(b"ID3"):
        return UPLOAD_TYPES["MP3"]
    # An MPEG audio frame sync with layer bits set (ADTS AAC, layer 00, is not MP3).
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0 and head[1] & 0x06:
        return UPLOAD_TYPES["MP3"]
    return None


def format_size(size: int) -> str:
    """A byte count as people read it: ``25 MB``, ``3.2 MB``, ``812 bytes``."""
    if size >= _MB:
        return f"{size / _MB:.1f}".removesuffix(".0") + " MB"
    if size >= 1000:
        return f"{size / 1000:.0f} kB"
    return f"{size} bytes"


def _accepted() -> str:
    return ", ".join(UPLOAD_TYPES)


def upload_problem(
    head: bytes, size: int, kinds: tuple[str, ...] | None = None
) -> str | None:
    """Why a file of ``size`` bytes starting with ``head`` cannot be uploaded, or ``None`` when it
    can: an empty file, a type the service does not take (or not of ``kinds``, when given: Lyria's
    ``reference_images`` take images only), or a file over its kind's limit."""
    if size == 0:
        return "is empty"
    found = sniff_upload(head)
    if found is None:
        return f"is not a file type the service takes ({_accepted()})"
    if kinds is not None and found.kind not in kinds:
        names = ", ".join(t.name for t in UPLOAD_TYPES.values() if t.kind in kinds)
        return f"is {found.kind} ({found.name}); only {' or '.join(kinds)} files are taken here ({names})"
    if size > found.limit:
        shown, most = format_size(size), format_size(found.limit)
        if shown == most:  # just over: rounding would hide it
            shown, most = f"{size:,} bytes", f"{found.limit:,} bytes"
        article = "a" if found.kind == "video" else "an"
        return f"is {shown}; {article} {found.kind} file can be at most {most}"
    return None
