"""Where the ledger file is: a setting, else the environment, else beside the outputs."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

__all__ = ["DEFAULT_LEDGER_NAME", "LEDGER_ENV", "LEDGER_OFF", "resolve_ledger_path"]

LEDGER_ENV = "APIFRAME_LEDGER"
DEFAULT_LEDGER_NAME = ".apiframe-ledger.sqlite3"
LEDGER_OFF = "off"


def resolve_ledger_path(
    setting: str | os.PathLike[str] | None,
    output_dir: str | os.PathLike[str],
    *,
    environ: Mapping[str, str] | None = None,
) -> Path | None:
    """The ledger file to use, as an absolute path, or ``None`` when the ledger is turned off.

    The first of these that is set (a non-empty string) decides: ``setting`` (from
    ``%config MusicMagics.ledger`` or a Python argument), then the ``APIFRAME_LEDGER`` environment
    variable, then :data:`DEFAULT_LEDGER_NAME` in ``output_dir``. The value ``"off"`` (any case)
    turns the ledger off; a folder (one that exists, or a path ending with a separator) means
    :data:`DEFAULT_LEDGER_NAME` inside it. ``environ`` defaults to :data:`os.environ`.
    """
    env = os.environ if environ is None else environ
    for value in (setting, env.get(LEDGER_ENV)):
        if value is None:
            continue
        text = os.fspath(value).strip()
        if not text:
            continue
        if text.lower() == LEDGER_OFF:
            return None
        path = Path(text).expanduser()
        if text.endswith((os.sep, "/")) or path.is_dir():
            path = path / DEFAULT_LEDGER_NAME
        return Path(os.path.abspath(path))
    return Path(os.path.abspath(Path(output_dir).expanduser() / DEFAULT_LEDGER_NAME))
