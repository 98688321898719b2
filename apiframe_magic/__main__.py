"""``python -m apiframe_magic SUBCOMMAND ...``: the package's shell commands (``batch`` for now)."""

from __future__ import annotations

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
