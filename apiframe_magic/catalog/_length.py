"""Track lengths as people write them (``30s``, ``1m30s``, ``90000ms``) and ElevenLabs Music's price
by length."""

from __future__ import annotations

import math
import re

from .._public import public
from ._elevenlabs import ELEVENLABS_MUSIC

__all__ = ["credit_cost", "format_length", "parse_length"]

@public
def credit_cost(music_length_ms: int | None) -> int | None:
    """Credits ElevenLabs Music charges for a track of this length (10 / 20 / 30); ``None`` when
    the model picks the length. Other models: ``MODELS[model].cost(params)``."""
    if music_length_ms is None:
        return None
    return ELEVENLABS_MUSIC.cost({"music_length_ms": music_length_ms})


_LENGTH_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")


@public
def parse_length(text: str | float) -> int:
    """Parse a track length into milliseconds: ``30s``, ``1m30s``, ``90000ms``, ``2m``; a bare number
    is seconds. Raises :class:`ValueError` for anything else (range is checked by the request)."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return _seconds_to_ms(float(text), text)
    if not isinstance(text, str):
        raise ValueError(f"length must be text like 30s or 1m30s, not {text!r}")
    s = text.strip().lower().replace(" ", "")
    if re.fullmatch(r"\d+(\.\d+)?", s):
        return _seconds_to_ms(float(s), text)
    if not s or not re.fullmatch(r"(?:\d+(?:\.\d+)?(?:ms|h|m|s))+", s):
        raise ValueError(f"cannot read length {text!r}: use e.g. 30s, 1m30s, 90000ms or 45")
    total_ms = 0.0
    for number, unit in _LENGTH_PART.findall(s):
        total_ms += float(number) * {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000}[unit]
    if not math.isfinite(total_ms) or total_ms != int(total_ms):
        raise ValueError(f"length {text!r} is not a whole number of milliseconds")
    return int(total_ms)


def _seconds_to_ms(seconds: float, original: object) -> int:
    ms = seconds * 1000
    if not math.isfinite(ms) or ms != int(ms):
        raise ValueError(f"length {original!r} is not a whole number of milliseconds")
    return int(ms)


def format_length(ms: int) -> str:
    """``90000`` -> ``1m30s``; the inverse of :func:`parse_length` for whole seconds."""
    seconds, rest = divmod(ms, 1000)
    if rest:
        return f"{ms}ms"
    minutes, seconds = divmod(seconds, 60)
    if minutes and seconds:
        return f"{minutes}m{seconds}s"
    return f"{minutes}m" if minutes else f"{seconds}s"
