"""The one error the ledger raises on purpose: :class:`LedgerUnavailable`."""

from __future__ import annotations

from pathlib import Path

from .._exceptions import ApiframeError

__all__ = ["LedgerUnavailable"]


class LedgerUnavailable(ApiframeError):
    """The ledger file cannot be used: corrupt, unreadable, locked for too long, from a newer
    version, not a ledger at all, or on a full disk.

    The message is one line saying what happened and what to do. ``path`` is the ledger file;
    ``kept_as`` is where a corrupt file was moved aside (never deleted), ``None`` when the file was
    left where it was. A caller shows the message as a warning and carries on without the ledger:
    the job itself does not depend on it.
    """

    def __init__(self, message: str, *, path: Path, kept_as: Path | None = None) -> None:
        self.path = path
        self.kept_as = kept_as
        super().__init__(message)
