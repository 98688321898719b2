"""The package's layout is its architecture; these rules keep it so.

    magic -> display -> listening -> jobs -> (ledger, client, sandbox, analysis) -> catalog
          -> (_exceptions, _public, ...)
    cli -> jobs (no display, no IPython)

Read from the source's import statements (top level and inside functions alike), so a lazy import
counts too, except where a rule names an allowed exception.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "apiframe_magic"
CORE = ("catalog", "client", "jobs", "ledger", "sandbox", "analysis", "listening")
LAYERS = (
    "catalog", "client", "ledger", "sandbox", "analysis", "jobs", "listening", "display", "magic", "cli",
)


def imports_of(path: Path) -> set[str]:
    """Absolute names of the modules ``path`` imports (relative imports resolved)."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    package = parts[:-1]  # the package a module (or an __init__) is in
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                found.add(".".join((*base, node.module)) if node.module else ".".join(base))
            elif node.module:
                found.add(node.module)
    return found


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "apiframe_magic" and parts[1] in LAYERS else None


def files(layer: str) -> list[Path]:
    return sorted((PACKAGE / layer).rglob("*.py"))


@pytest.mark.parametrize("layer", CORE)
def test_the_core_imports_no_ipython(layer: str) -> None:
    for path in files(layer):
        bad = {m for m in imports_of(path) if m.split(".")[0] in ("IPython", "ipywidgets", "traitlets")}
        assert not bad, f"{path.relative_to(PACKAGE)} imports {bad}"


# What each layer may import from the others (itself always).
ALLOWED = {
    "catalog": set(),
    "client": {"catalog"},
    # The prompt's identity (``normalize_prompt``) is the catalog's, shared with batch expansion.
    "ledger": {"catalog"},
    "sandbox": {"catalog"},
    # Measuring audio files: numpy, soundfile, pyloudnorm (librosa, matplotlib as extras).
    "analysis": set(),
    "jobs": {"catalog", "client", "ledger", "sandbox", "analysis"},
    # Blind listening tests: clips from results, judgements, statistics; no widgets.
    "listening": {"catalog", "jobs", "ledger", "analysis"},
    "display": {"catalog", "client", "jobs", "ledger", "analysis", "listening"},
    "magic": {"catalog", "client", "jobs", "ledger", "sandbox", "analysis", "listening", "display"},
    # The shell commands: the jobs layer as a script would use it, no display, no IPython.
    "cli": {"catalog", "client", "jobs", "ledger", "sandbox", "analysis"},
}
# A client for the embedded sandbox needs the sandbox's address: ``ApiframeClient.sandbox()``.
EXCEPTIONS = {("client", "sandbox")}


@pytest.mark.parametrize("layer", LAYERS)
def test_each_layer_imports_only_the_layers_below_it(layer: str) -> None:
    for path in files(layer):
        for module in imports_of(path):
            other = layer_of(module)
            if other is None or other == layer or (layer, other) in EXCEPTIONS:
                continue
            assert other in ALLOWED[layer], f"{path.relative_to(PACKAGE)} imports {module}"


def test_every_layer_is_a_package_with_its_own_public_names() -> None:
    import importlib

    for layer in LAYERS:
        module = importlib.import_module(f"apiframe_magic.{layer}")
        assert module.__doc__ and getattr(module, "__all__", None), layer
