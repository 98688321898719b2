"""When two prompts are the same prompt: :func:`normalize_prompt`.

One rule for everything that compares prompts: the job ledger's fingerprint (so a re-run is
answered, not paid again) and the expansion of a batch (so ``calm piano`` and ``calm  piano``
are one job, not two items sharing one ledger key).
"""

from __future__ import annotations

import unicodedata

__all__ = ["normalize_prompt"]


def normalize_prompt(prompt: str) -> str:
    """The prompt as the fingerprint sees it: Unicode NFC, stripped, every run of whitespace (line
    breaks included) one space. Two prompts with the same normal form ask for the same music.

    >>> normalize_prompt("  calm\\n\\tpiano  ")
    'calm piano'
    """
    return " ".join(unicodedata.normalize("NFC", prompt).split())
