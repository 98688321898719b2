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
    ModelSpec,
    OptionError,
    UploadType,
    sniff_upload,
    upload_problem,
)

__all__ = [
    "UPLOAD_PATH", "Upload", "check_files", "check_upload", "read_upload", "resolve_files",
    "resolve_reference_images",
]

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
    path: str | os.PathLike[str], *, kinds: tuple[str, ...] | None = None, field_name: str = "upload"
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
    path: str | os.PathLike[str], *, kinds: tuple[str, ...] | None = None, field_name: str = "upload"
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


def check_files(spec: ModelSpec, params: Mapping[str, Any]) -> None:
    """Check, without sending anything, every local file given in ``params`` for a param of
    ``spec`` that uploads them (Lyria's ``reference_images``): the count, and each file as
    :func:`check_upload` does, for that param's kinds. A one-line
    :class:`~apiframe_magic.RequestValidationError` names the param and the file. For
    ``--dry-run``; :func:`resolve_files` checks the same before its first upload."""
    for name, value in params.items():
        param = spec.param(str(name))
        if param is None or not param.upload_kinds:
            continue
        why = param.check_given(value)
        if why is not None:
            raise OptionError(str(name), value, why, f"{name}: {why}")
        for path in param.local_files(value):
            check_upload(path, kinds=param.upload_kinds, field_name=str(name))


async def resolve_files(
    upload: Callable[[str | os.PathLike[str]], Awaitable[Upload]],
    spec: ModelSpec,
    params: Mapping[str, Any],
) -> dict[str, Any]:
    """``params`` with every local file (of a param that takes them: Lyria's
    ``reference_images``) uploaded with ``upload`` (an
    :meth:`AsyncApiframeClient.upload <apiframe_magic.AsyncApiframeClient.upload>`) and replaced
    by its URL, in place in its list; URLs are kept as given. Every file is checked
    (:func:`check_files`) before the first is sent. Build the ``MusicRequest`` from the result:
    its body must hold URLs only."""
    check_files(spec, params)
    resolved = dict(params)
    for name, value in params.items():
        param = spec.param(str(name))
        files = set(param.local_files(value)) if param is not None else set()
        if files:
            resolved[name] = [(await upload(v)).url if v in files else v for v in value]
    return resolved


async def resolve_reference_images(
    upload: Callable[[str | os.PathLike[str]], Awaitable[Upload]],
    values: Sequence[str | os.PathLike[str]],
) -> list[str]:
    """Lyria's ``reference_images`` as URLs: each ``http(s)`` URL as given, each local file (an
    image: PNG, JPEG, WebP or GIF) uploaded with ``upload`` and replaced by its URL, in order;
    see :func:`resolve_files`, of which this is the one-param form."""
    given = [os.fspath(v).strip() if isinstance(v, str) else os.fspath(v) for v in values]
    resolved = await resolve_files(upload, LYRIA_3_CLIP, {_REFERENCE_IMAGES: given})
    return list(resolved[_REFERENCE_IMAGES])
