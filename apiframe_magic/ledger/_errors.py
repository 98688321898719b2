"""The one error the ledger raises on purpose: :class:`LedgerUnavailable`."""

from __future__ import annotations

from pathlib import Path

from .._exceptions import ApiframeError
from .._public import public

__all__ = ["LedgerUnavailable"]


@public
class LedgerUnavailable(ApiframeError):
    """The ledger file cannot be used: corrupt, unreadable, locked for too long, from a newer
    version, not a ledger at all, or on a full disk.

    The message is one line saying what happened and what to do. ``path`` is the ledger file;
    ``kept_as`` is where a corrupt file was moved aside (never deleted), ``None`` when the file was
    left where it was; ``recovered`` is how many of its jobs were read back into the new ledger at
    ``path`` (``None`` when nothing was moved aside). A caller shows the message as a warning and
    carries on without the ledger, or opens it again after a corrupt file was replaced: the job
    itself does not depend on it.
    """

    def __init__(
        self, message: str, *, path: Path, kept_as: Path | None = None, recovered: int | None = None
    ) -> None:
        self.path = path
        self.kept_as = kept_as
        self.recovered = recovered
        super().__init__(message)
