#!/usr/bin/env python3
"""Strip outputs from notebooks before they are committed.

    python scripts/strip_notebooks.py                 # strip notebooks/*.ipynb in place
    python scripts/strip_notebooks.py a.ipynb b.ipynb # strip these
    python scripts/strip_notebooks.py --check         # exit 1 if any notebook is not stripped

Stripping removes outputs, execution counts, widget state and per-run metadata (execution
timings, scroll and collapse state), keeps the kernelspec, and validates the result against the
nbformat schema. A committed notebook must never carry audio (megabytes of base64).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_GLOB = "notebooks/*.ipynb"

KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
# Cell metadata that only describes one run or one person's view of the notebook.
VOLATILE_CELL_METADATA = ("execution", "collapsed", "scrolled", "jupyter", "ExecuteTime")


def stripped(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``nb`` without outputs and per-run metadata."""
    nb = nbformat.from_dict(nb)
    nb.metadata.pop("widgets", None)
    nb.metadata["kernelspec"] = nb.metadata.get("kernelspec") or dict(KERNELSPEC)
    nb.metadata["language_info"] = {"name": "python"}
    for cell in nb.cells:
        for key in VOLATILE_CELL_METADATA:
            cell.metadata.pop(key, None)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    return nb


def render(nb: nbformat.NotebookNode) -> str:
    return nbformat.writes(nb, version=4) + "\n"


def process(path: Path, check: bool) -> bool:
    """Strip ``path`` (or, with ``check``, only compare). Return True when it was already clean."""
    original = path.read_text(encoding="utf-8")
    nb = nbformat.reads(original, as_version=4)
    clean = stripped(nb)
    nbformat.validate(clean)
    text = render(clean)
    if text == original:
        return True
    if not check:
        path.write_text(text, encoding="utf-8")
    return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path, help=f"default: {DEFAULT_GLOB}")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if dirty")
    args = parser.parse_args(argv)
    paths = args.paths or sorted(REPO_ROOT.glob(DEFAULT_GLOB))
    dirty = [path for path in paths if not process(path, args.check)]
    for path in dirty:
        verb = "not stripped" if args.check else "stripped"
        print(f"{verb}: {path}")
    return 1 if (args.check and dirty) else 0


if __name__ == "__main__":
    sys.exit(main())
