"""One file-mode policy for everything this package writes (audio files and metadata).

Files are written to a hidden temporary file next to their destination and moved into place
with :func:`os.replace`, so a reader never sees half a file. :func:`tempfile.mkstemp` creates
that file ``0600``; :func:`shareable_mode` is the mode a plain ``open(path, "w")`` would have
given it (``0666`` less the umask), so the result is as shareable as any other file the user
makes.

The umask is read without changing it: ``os.umask`` can only be read by setting it, and setting
it, even for a moment, changes it for every thread of the process (the embedded sandbox writes
files on its own threads). Linux reports it in ``/proc/self/status``; elsewhere a probe file is
created with mode ``0666`` and the mode it got tells the umask.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

__all__ = ["DEFAULT_OUTPUT_DIR", "atomic_write", "current_umask", "move_aside", "shareable_mode"]

# Where audio and its metadata go unless told otherwise (the magic's output_dir, the shell's
# --output-dir); here, with nothing heavy around it, so %load_ext can read it for free.
DEFAULT_OUTPUT_DIR = "apiframe_outputs"

_PROC_STATUS = "/proc/self/status"


def current_umask(folder: str | os.PathLike[str] | None = None) -> int:
    """The process umask, read without setting it.

    From ``/proc/self/status`` where it is there (Linux 4.7+); else by creating a probe file in
    ``folder`` (default: the temporary directory) and reading its mode, which tells the read
    and write bits (all that matters for files, which are never made executable here).
    """
    mask = _umask_from_proc()
    return mask if mask is not None else _umask_by_probe(folder)


def shareable_mode(folder: str | os.PathLike[str] | None = None) -> int:
    """The mode a new file gets from ``open()``: ``0o666`` less the umask."""
    return 0o666 & ~current_umask(folder)


def _umask_from_proc() -> int | None:
    try:
        with open(_PROC_STATUS, encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split(":", 1)[1].strip(), 8)
    except (OSError, ValueError):
        pass
    return None


def _umask_by_probe(folder: str | os.PathLike[str] | None) -> int:
    """The umask's read and write bits, from the mode a file created ``0666`` in ``folder`` gets."""
    directory = os.fspath(folder) if folder is not None else tempfile.gettempdir()
    # O_EXCL: a file that was already there would tell nothing about the umask.
    name = os.path.join(directory, f".umask-probe-{uuid.uuid4().hex}")
    fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        mode = os.fstat(fd).st_mode & 0o777
    finally:
        os.close(fd)
        os.unlink(name)
    return 0o666 & ~mode


@contextlib.contextmanager
def atomic_write(path: Path) -> Iterator[BinaryIO]:
    """Write ``path`` all at once: into a hidden temporary file beside it, flushed to disk and
    renamed into place only when the ``with`` block ends without an error. On an error the
    temporary file is removed and an existing ``path`` is left as it was. The file gets
    :func:`shareable_mode`."""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, shareable_mode(path.parent))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def move_aside(path: Path) -> Path:
    """Rename a damaged SQLite file at ``path``, with its ``-wal``, ``-shm`` and ``-journal``, to
    ``<name>.corrupt-<UTC time>`` (never deleting anything) and return where it went.

    The side files go with it: left behind, the WAL of the bad file would be replayed into the
    new file started at ``path``. Raises :class:`FileNotFoundError` when ``path`` is gone
    (another process moved it first), and :class:`OSError` when it cannot be moved."""
    from datetime import datetime, timezone

    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    kept = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while kept.exists():
        n += 1
        kept = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
    path.rename(kept)
    for suffix in ("-wal", "-shm", "-journal"):
        with contextlib.suppress(OSError):
            path.with_name(path.name + suffix).rename(kept.with_name(kept.name + suffix))
    return kept
