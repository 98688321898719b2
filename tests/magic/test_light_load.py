"""``%load_ext apiframe_magic`` imports none of the job machinery: httpx, numpy, ipywidgets and the
sandbox load when a cell first needs them. Checked in a fresh interpreter, by the modules loaded
(benchmarks/bench_client.py measures the time)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("httpx", "numpy", "ipywidgets", "apiframe_magic.sandbox")


def modules_after(code: str, tmp_path: Path) -> set[str]:
    """The modules loaded after ``code`` runs in a fresh InteractiveShell with the extension."""
    script = textwrap.dedent(
        """
        import json, sys
        from IPython.core.interactiveshell import InteractiveShell
        shell = InteractiveShell.instance()
        shell.run_line_magic("load_ext", "apiframe_magic")
        shell.run_cell(sys.argv[1])
        print(json.dumps(sorted(sys.modules)))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script, code], cwd=tmp_path, capture_output=True, text=True, timeout=120,
        check=True, env={"PATH": "", "PYTHONPATH": str(ROOT), "HOME": str(tmp_path)},
    )
    return set(json.loads(result.stdout.splitlines()[-1]))


def test_loading_the_extension_imports_none_of_the_job_machinery(tmp_path: Path) -> None:
    loaded = modules_after("pass", tmp_path)
    assert "apiframe_magic.magic._magics" in loaded  # the extension did load
    assert not loaded & set(HEAVY)


def test_help_and_settings_need_none_of_it_either(tmp_path: Path) -> None:
    loaded = modules_after("%music help\n%config MusicMagics.default_model = 'suno'", tmp_path)
    assert not loaded & set(HEAVY)


def test_a_cell_imports_what_it_needs_when_it_runs(tmp_path: Path) -> None:
    """The other side: a dry run builds a request, which is the client's (httpx) to make."""
    loaded = modules_after("%%music --dry-run\na calm piano", tmp_path)
    assert "httpx" in loaded
