"""Files sent to ``POST /v2/uploads``: :class:`Upload` (the service's answer), the checks made
before a file is sent, and :func:`resolve_reference_images` (Lyria's ``reference_images`` given
as local files or URLs).

The file's type is sniffed from its first bytes and its size checked against its kind's limit
by the catalog's :func:`~apiframe_magic.catalog.upload_problem`, the rule the sandbox applies
too: a file the service would refuse is a one-line
:class:`~apiframe_magic.RequestValidationError` naming it, and is never sent.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._public import public
from ..catalog import (
    LYRIA_3_CLIP,
    SNIFF_BYTES,
    OptionError,
    UploadKind,
    UploadType,
    is_http_url,
    sniff_upload,
    upload_problem,
)

__all__ = ["UPLOAD_PATH", "Upload", "check_upload", "read_upload", "resolve_reference_images"]

UPLOAD_PATH = "/v2/uploads"

_REFERENCE_IMAGES = "reference_images"


@public
@dataclass(frozen=True)
class Upload:
    """A file the service holds for a while (about 1 to 2 hours): ``url`` is what a request that
    takes a file URL is given (Lyria's ``reference_images``). Parsed leniently from the ``201``
    answer; ``raw`` holds it as received."""

    id: str
    url: str
    kind: str | None = None
    content_type: str | None = None
    byte_size: int | None = None
    expires_at: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Upload:
        size = data.get("byteSize", data.get("byte_size"))

        def text(*names: str) -> str | None:
            return next((str(data[n]) for n in names if isinstance(data.get(n), str)), None)

        return cls(
            id=text("id", "uploadId") or "",
            url=text("url", "fileUrl") or "",
            kind=text("kind"),
            content_type=text("contentType", "content_type"),
            byte_size=size if isinstance(size, int) and not isinstance(size, bool) else None,
            expires_at=text("expiresAt", "expires_at"),
            raw=dict(data),
        )


def check_upload(
    path: str | os.PathLike[str], *, kinds: tuple[UploadKind, ...] | None = None, field_name: str = "upload"
) -> UploadType:
    """The sniffed type of the file at ``path``, once it passed every check the service makes
    (it exists, is not empty, is a type the service takes, of ``kinds`` when given, within its
    kind's size limit); else a one-line :class:`~apiframe_magic.RequestValidationError` naming
    ``field_name`` and the file. Reads only the file's size and first bytes."""
    where = Path(path)
    try:
        size = where.stat().st_size
        with where.open("rb") as f:
            head = f.read(SNIFF_BYTES)
    except FileNotFoundError:
        raise _refused(field_name, path, "no such file") from None
    except IsADirectoryError:
        raise _refused(field_name, path, "is a folder, not a file") from None
    except OSError as exc:
        raise _refused(field_name, path, f"cannot be read: {exc.strerror or exc}") from None
    why = upload_problem(head, size, kinds)
    if why is not None:
        raise _refused(field_name, path, why)
    found = sniff_upload(head)
    assert found is not None  # upload_problem said it is a type the service takes
    return found


def read_upload(
    path: str | os.PathLike[str], *, kinds: tuple[UploadKind, ...] | None = None, field_name: str = "upload"
) -> tuple[bytes, UploadType]:
    """The bytes of the file at ``path`` and its sniffed type, checked as :func:`check_upload`
    does (the size before the file is read, and again after, in case it grew)."""
    found = check_upload(path, kinds=kinds, field_name=field_name)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise _refused(field_name, path, f"cannot be read: {exc.strerror or exc}") from None
    if (why := upload_problem(data[:SNIFF_BYTES], len(data), kinds)) is not None:
        raise _refused(field_name, path, why)
    return data, found


def _refused(field_name: str, path: str | os.PathLike[str], why: str) -> OptionError:
    """The one line for a file that cannot be sent, naming it whole (``upload ./a.txt: ...``)."""
    shown = os.fspath(path)
    return OptionError(field_name, shown, why, f"{field_name} {shown}: {why}")


async def resolve_reference_images(
    upload: Callable[[str | os.PathLike[str]], Awaitable[Upload]],
    values: Sequence[str | os.PathLike[str]],
) -> list[str]:
    """Lyria's ``reference_images`` as URLs: each ``http(s)`` URL as given, each local file (an
    image: PNG, JPEG, WebP or GIF) uploaded with ``upload`` (an
    :meth:`AsyncApiframeClient.upload <apiframe_magic.AsyncApiframeClient.upload>`) and replaced
    by its URL, in order. Every file is checked (and the count against the param's limit) before
    the first is sent; a problem is one line naming ``reference_images`` and the file."""
    limit = LYRIA_3_CLIP.param(_REFERENCE_IMAGES)
    most = limit.max_items if limit is not None else None
    if most is not None and len(values) > most:
        raise OptionError(_REFERENCE_IMAGES, len(values), f"at most {most} images",
                          f"{_REFERENCE_IMAGES}: {len(values)} given; at most {most} are taken")
    local = {
        i: value for i, value in enumerate(values)
        if not (isinstance(value, str) and is_http_url(value.strip()))
    }
    for value in local.values():
        if isinstance(value, str) and not value.strip():
            raise OptionError(_REFERENCE_IMAGES, value, "an empty item",
                              f"{_REFERENCE_IMAGES}: an empty item; give a file or a URL")
        check_upload(value, kinds=("image",), field_name=_REFERENCE_IMAGES)
    urls: list[str] = []
    for i, value in enumerate(values):
        if i in local:
            urls.append((await upload(value)).url)
        else:
            urls.append(str(value).strip())
    return urls
