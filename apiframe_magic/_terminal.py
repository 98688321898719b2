"""Text from users and from the service, made safe to show on a terminal.

A prompt read from a file, a label made from it or a reason a job failed may hold control
characters: ``ESC ] 52`` (OSC 52) writes the terminal's clipboard, ``ESC [ 2 J`` clears the
screen, a carriage return overwrites the line before it. :func:`printable` shows every C0 and
C1 control character (and DEL) escaped as ``\\xNN``, so such text is seen, never obeyed.
Layer-neutral, like ``_fs``: the shell's lines and the magic's text output use it alike.
"""

from __future__ import annotations

__all__ = ["printable"]

_CONTROLS = [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0)]
_ESCAPED = {code: f"\\x{code:02x}" for code in _CONTROLS}
_ESCAPED_BUT_NEWLINES = {code: text for code, text in _ESCAPED.items() if code != 0x0A}


def printable(text: object, *, newlines: bool = False) -> str:
    """``text`` (``str()`` of it) with control characters escaped: ``"\\x1b[2J"`` becomes
    ``"\\\\x1b[2J"``. ``newlines=True`` keeps ``\\n`` where a line break is meant (text of
    several lines); a tab, a carriage return and every other control is escaped either way."""
    return str(text).translate(_ESCAPED_BUT_NEWLINES if newlines else _ESCAPED)
