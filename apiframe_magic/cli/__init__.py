"""The package's shell commands: ``python -m apiframe_magic batch FILE`` runs a file of prompts.

:func:`main` parses a command line and returns the exit status: 0 when every job was saved,
1 when a job failed, 2 for a mistake in the command (one line on stderr, nothing sent), 130
when interrupted. This layer uses the jobs layer as a notebook's Python code would, and never
imports IPython.
"""

from __future__ import annotations

from ._main import main

__all__ = ["main"]
