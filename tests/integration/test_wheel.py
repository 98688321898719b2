"""The built distributions work on their own: what ``pip install apiframe-magic`` gives a user.

One build, ``python -m build`` (the sdist, then the wheel from the unpacked sdist, so the sdist is
shown to be enough to rebuild), of a copy of this checkout into which the leftovers of a working
tree were planted: caches, notebook checkpoints, generated audio, test artifacts, a virtual
environment. The sdist's exclusions are so checked whatever this checkout holds. Both files pass
``twine check --strict``; the wheel's metadata is complete and its description has no link or
image that only works inside the repository.

Then one fresh virtual environment outside the source tree gets the wheel with its ``notebook``
extra (dependencies come from the package index), and from an empty folder, with no
``PYTHONPATH`` and its own home and Jupyter directories: the package imports from the venv with
the version of ``apiframe_magic/_version.py``; ``python -m apiframe_magic.sandbox --help`` (and
the ``apiframe-sandbox`` command) work; and nbclient runs a one-cell ``%%music`` notebook in a
kernel of that venv against the embedded sandbox, which saves the track and shows its player.

Marked ``wheel`` (``-m "not wheel"`` deselects it, e.g. without the package index).
"""

from __future__ import annotations

import email.message
import email.parser
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from apiframe_magic._version import __version__

pytestmark = pytest.mark.wheel

REPO_ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent

# Leftovers of a working tree: none may reach the sdist (or, through it, the wheel).
LEFTOVER_DIRS = frozenset({
    ".git", ".venv", "__pycache__", ".ipynb_checkpoints", "apiframe_outputs", "test-artifacts",
    ".pytest_cache", ".mypy_cache", ".ruff_cache",
})
LEFTOVER_SUFFIXES = frozenset({".mp3", ".wav", ".pyc", ".pyo"})
PLANTED = (
    ".venv/bin/python",
    ".venv/lib/site.py",
    "__pycache__/setup.cpython-311.pyc",
    "apiframe_magic/__pycache__/_version.cpython-311.pyc",
    "apiframe_magic/sandbox/__pycache__/_server.cpython-311.pyc",
    "tests/__pycache__/conftest.cpython-311-pytest-8.0.pyc",
    "notebooks/.ipynb_checkpoints/quickstart-checkpoint.ipynb",
    "notebooks/apiframe_outputs/calm-piano-0a1b2c3d.mp3",
    "notebooks/apiframe_outputs/calm-piano-0a1b2c3d.mp3.json",
    "notebooks/apiframe_outputs/quickstart.executed.ipynb",
    "apiframe_outputs/a-track-0a1b2c3d.wav",
    "scripts/take.mp3",
    "test-artifacts/browser/lab.png",
    ".pytest_cache/v/cache/lastfailed",
    ".mypy_cache/3.11/apiframe_magic/__init__.meta.json",
    ".ruff_cache/0.5.0/123",
)

# A Markdown link or image whose target has no URL scheme and is not an anchor.
RELATIVE_LINK = re.compile(r"!?\[[^\]]*\]\((?![A-Za-z][A-Za-z0-9+.-]*:|#)[^)]*\)")
IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]*)")

ONE_CELL = "%%music --length 5s --instrumental --out track\nA calm piano piece for a first install\n"

# Run with the fresh venv's Python, cwd the empty folder: executes ONE_CELL in a kernel of that
# venv and writes the executed notebook to argv[1]; prints where the kernel spec is and the
# program it starts ("python" means the driver's own). A cell magic must be a cell's first line, so
# the kernel loads the extension at start (as `c.InteractiveShellApp.extensions` would).
DRIVER = """\
import sys
import nbformat
from jupyter_client.kernelspec import KernelSpecManager
from nbclient import NotebookClient

spec = KernelSpecManager().get_kernel_spec("python3")
print(spec.resource_dir)
print(spec.argv[0])
nb = nbformat.v4.new_notebook()
nb.cells.append(nbformat.v4.new_code_cell(sys.argv[2]))
client = NotebookClient(
    nb, timeout=240, kernel_name="python3", allow_errors=True,
    extra_arguments=["--ext=apiframe_magic"], resources={"metadata": {"path": "."}},
)
client.execute()
nbformat.write(nb, sys.argv[1])
"""


@dataclass(frozen=True)
class Dists:
    source: Path  # the planted copy of the checkout that was built
    sdist: Path
    wheel: Path


def run(
    cmd: Sequence[str | Path], *, cwd: Path, env: Mapping[str, str] | None = None, timeout: float
) -> subprocess.CompletedProcess[str]:
    """Run ``cmd``; fail the test with its output unless it exits 0."""
    proc = subprocess.run(
        [str(part) for part in cmd], cwd=cwd, env=None if env is None else dict(env),
        capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, (
        f"{' '.join(map(str, cmd))} exited {proc.returncode}\n"
        f"--- stdout\n{proc.stdout[-4000:]}\n--- stderr\n{proc.stderr[-4000:]}"
    )
    return proc


def without_python_vars(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` without what would let a process import this checkout or another environment."""
    return {
        name: value for name, value in env.items()
        if name not in {"PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV"}
        and not name.startswith("APIFRAME_")
    }


def user_env(base: Path, venv: Path) -> dict[str, str]:
    """A user's shell with only the fresh venv: own home and Jupyter dirs, no key, no checkout."""
    env = without_python_vars(os.environ)
    for name in ("HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "JUPYTER_CONFIG_DIR",
                 "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR", "MPLCONFIGDIR"):
        folder = base / name.lower()
        folder.mkdir(parents=True, exist_ok=True)
        env[name] = str(folder)
    env.pop("JUPYTER_PATH", None)
    search = [entry for entry in env.get("PATH", "").split(os.pathsep) if Path(entry) != VENV_BIN]
    env["PATH"] = os.pathsep.join([str(venv / "bin"), *search])
    env["PYTHONNOUSERSITE"] = "1"
    env["APIFRAME_SANDBOX_JOB_SECONDS"] = "0.5"
    return env


def copy_checkout(dest: Path) -> Path:
    """This checkout without its leftovers, then with one of each planted."""
    shutil.copytree(
        REPO_ROOT, dest,
        ignore=shutil.ignore_patterns(*LEFTOVER_DIRS, "*.egg-info", "build", "dist", "*.py[co]"),
    )
    for relative in PLANTED:
        path = dest / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"ID3 leftover\n")
    return dest


def leftover_parts(name: str) -> list[str]:
    path = PurePosixPath(name)
    return [part for part in path.parts if part in LEFTOVER_DIRS] + (
        [path.suffix] if path.suffix in LEFTOVER_SUFFIXES else []
    )


def wheel_metadata(wheel: Path) -> email.message.Message:
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        return email.parser.Parser().parsestr(archive.read(name).decode("utf-8"))


def sdist_names(sdist: Path) -> set[str]:
    """Member names relative to the sdist's top folder (``apiframe_magic-X.Y.Z/``)."""
    with tarfile.open(sdist) as archive:
        return {
            member.name.split("/", 1)[1] for member in archive.getmembers()
            if member.isfile() and "/" in member.name
        }


def readme_install_section() -> str:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"^## Install\n(.*?)(?=^## )", readme, re.S | re.M)
    assert match, "README.md has no '## Install' section"
    return match.group(1)


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> Dists:
    base = tmp_path_factory.mktemp("build")
    source = copy_checkout(base / "apiframe-magic")
    out = base / "dist"
    run([sys.executable, "-m", "build", "--outdir", out, source], cwd=base,
        env=without_python_vars(os.environ), timeout=600)
    (sdist,) = out.glob("*.tar.gz")
    (wheel,) = out.glob("*.whl")
    return Dists(source=source, sdist=sdist, wheel=wheel)


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory, dists: Dists) -> Path:
    """A fresh venv outside the source tree with the wheel and its ``notebook`` extra."""
    venv = tmp_path_factory.mktemp("venv") / "env"
    run([sys.executable, "-m", "venv", venv], cwd=venv.parent, timeout=300)
    run([venv / "bin" / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         f"{dists.wheel}[notebook]"], cwd=venv.parent, env=without_python_vars(os.environ), timeout=900)
    return venv


@pytest.fixture
def empty_dir(tmp_path: Path) -> Path:
    path = tmp_path / "empty"
    path.mkdir()
    return path


# --------------------------------------------------------------------------------------------
# The distributions
# --------------------------------------------------------------------------------------------


def test_twine_check_passes_on_both(dists: Dists) -> None:
    proc = run([sys.executable, "-m", "twine", "check", "--strict", dists.sdist, dists.wheel],
               cwd=dists.source.parent, timeout=120)
    assert proc.stdout.count("PASSED") == 2, proc.stdout


def test_wheel_metadata_is_complete(dists: Dists) -> None:
    meta = wheel_metadata(dists.wheel)
    assert meta["Name"] == "apiframe-magic"
    assert meta["Version"] == __version__
    assert dists.wheel.name == f"apiframe_magic-{__version__}-py3-none-any.whl"
    assert dists.sdist.name == f"apiframe_magic-{__version__}.tar.gz"
    assert meta["Summary"]
    # The SPDX form (Metadata 2.4); a license classifier beside it is an error for PyPI.
    assert meta["License-Expression"] == "MIT"
    assert meta.get_all("License-File") == ["LICENSE"]
    assert meta["License"] is None
    classifiers = meta.get_all("Classifier") or []
    assert not [c for c in classifiers if c.startswith("License ::")]
    assert {"Framework :: Jupyter", "Framework :: IPython", "Typing :: Typed"} <= set(classifiers)
    # Every Python version from requires-python's minimum up is named, none below it.
    assert meta["Requires-Python"] == ">=3.10"
    versions = sorted(
        tuple(map(int, c.rsplit(":: ", 1)[1].split(".")))
        for c in classifiers if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)
    )
    assert versions[0] == (3, 10)
    assert versions == [(3, minor) for minor in range(10, versions[-1][1] + 1)]
    assert (3, sys.version_info.minor) in versions  # the one CI runs
    urls = meta.get_all("Project-URL") or []
    assert urls and all(url.split(", ", 1)[1].startswith("https://") for url in urls)
    extras = {"notebook", "history", "analysis", "plot", "test", "docs"}
    assert set(meta.get_all("Provides-Extra") or []) == extras


def test_every_extra_is_documented_in_the_readme_install_section(dists: Dists) -> None:
    install = readme_install_section()
    assert "pip install apiframe-magic" in install
    assert "pip install 'apiframe-magic[notebook]'" in install
    for extra in wheel_metadata(dists.wheel).get_all("Provides-Extra") or []:
        assert re.search(rf"^\| `{extra}` \| \S", install, re.M), f"extra {extra!r} not in the table"


def test_description_is_the_readme_without_repository_only_links(dists: Dists) -> None:
    meta = wheel_metadata(dists.wheel)
    assert meta["Description-Content-Type"] == "text/markdown"
    description = meta.get_payload()
    assert isinstance(description, str)
    # From the README: its title, its install section, its usage, its API.
    for text in ("# apiframe-magic", "## Install", "pip install apiframe-magic", "%%music --length",
                 "## The Python API"):
        assert text in description
    # The repository's README has relative screenshots and links; PyPI would show them broken.
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert RELATIVE_LINK.search(readme), "the README has no relative link left: simplify setup.py"
    assert RELATIVE_LINK.findall(description) == []
    assert "](docs/" not in description
    assert all(target.startswith("https://") for target in IMAGE.findall(description))


def test_wheel_holds_the_whole_package_and_the_license(dists: Dists) -> None:
    with zipfile.ZipFile(dists.wheel) as archive:
        names = set(archive.namelist())
    dist_info = f"apiframe_magic-{__version__}.dist-info"
    package = {
        path.relative_to(dists.source).as_posix()
        for path in (dists.source / "apiframe_magic").rglob("*.py")
        if not leftover_parts(path.relative_to(dists.source).as_posix())
    }
    # Every module, subpackages included (a folder without __init__.py would be left out).
    assert package - names == set()
    assert "apiframe_magic/py.typed" in names
    assert f"{dist_info}/licenses/LICENSE" in names
    assert f"{dist_info}/entry_points.txt" in names
    assert [n for n in names if not n.startswith(("apiframe_magic/", f"{dist_info}/"))] == []
    assert [n for n in names if leftover_parts(n)] == []


def test_sdist_holds_what_a_packager_needs_and_no_leftovers(dists: Dists) -> None:
    names = sdist_names(dists.sdist)
    for relative in PLANTED:  # the leftovers were there to be left out
        assert (dists.source / relative).is_file()
    assert [name for name in names if leftover_parts(name)] == []
    needed = {
        "pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "CHANGELOG.md", "LICENSE",
        "PKG-INFO", "Makefile",
    }
    for folder, pattern in (("tests", "**/*.py"), ("notebooks", "*.ipynb"), ("scripts", "*"),
                            ("apiframe_magic", "**/*.py")):
        needed |= {
            path.relative_to(dists.source).as_posix()
            for path in (dists.source / folder).glob(pattern)
            if path.is_file() and not leftover_parts(path.relative_to(dists.source).as_posix())
        }
    assert {"tests/conftest.py", "tests/integration/test_wheel.py", "notebooks/quickstart.ipynb"} <= needed
    assert needed - names == set()
    # The README's relative links point at files the sdist has.
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    for target in re.findall(r"\]\((?![A-Za-z][A-Za-z0-9+.-]*:|#)([^)\s#]+)\)", readme):
        assert target in names, f"README.md links {target}, which the sdist lacks"


# --------------------------------------------------------------------------------------------
# The wheel installed in a fresh venv, used from an empty folder
# --------------------------------------------------------------------------------------------


def test_installed_package_imports_from_the_venv_with_the_version(
    venv: Path, empty_dir: Path, tmp_path: Path
) -> None:
    proc = run(
        [venv / "bin" / "python", "-c",
         "import importlib.metadata, apiframe_magic, sys; "
         "print(apiframe_magic.__version__); print(importlib.metadata.version('apiframe-magic')); "
         "print(apiframe_magic.__file__); print(sys.prefix)"],
        cwd=empty_dir, env=user_env(tmp_path / "env", venv), timeout=120,
    )
    version, dist_version, module_file, prefix = proc.stdout.split("\n")[:4]
    assert version == dist_version == __version__
    assert Path(prefix).resolve() == venv.resolve()
    assert Path(module_file).resolve().is_relative_to(venv.resolve())
    assert not Path(module_file).resolve().is_relative_to(REPO_ROOT)
    assert list(empty_dir.iterdir()) == []


def test_installed_sandbox_help(venv: Path, empty_dir: Path, tmp_path: Path) -> None:
    env = user_env(tmp_path / "env", venv)
    module = run([venv / "bin" / "python", "-m", "apiframe_magic.sandbox", "--help"], cwd=empty_dir,
                 env=env, timeout=120)
    assert module.stdout.startswith("usage: python -m apiframe_magic.sandbox")
    assert "fault injection:" in module.stdout
    command = run([venv / "bin" / "apiframe-sandbox", "--help"], cwd=empty_dir, env=env, timeout=120)
    assert command.stdout == module.stdout
    assert list(empty_dir.iterdir()) == []


def test_installed_wheel_runs_a_music_cell_against_the_embedded_sandbox(
    venv: Path, empty_dir: Path, tmp_path: Path
) -> None:
    executed = tmp_path / "executed.ipynb"
    proc = run([venv / "bin" / "python", "-c", DRIVER, executed, ONE_CELL], cwd=empty_dir,
               env=user_env(tmp_path / "env", venv), timeout=300)
    spec_dir, kernel_program = proc.stdout.split("\n")[:2]
    assert Path(spec_dir).resolve().is_relative_to(venv.resolve())  # the venv's ipykernel
    assert kernel_program in ("python", "python3", str(venv / "bin" / "python"))
    (cell,) = json.loads(executed.read_text(encoding="utf-8"))["cells"]
    outputs: list[dict[str, Any]] = cell["outputs"]
    errors = [o for o in outputs if o["output_type"] == "error"]
    assert errors == [], "\n".join(f"{o['ename']}: {o['evalue']}" for o in errors)
    html = "".join("".join(o["data"]["text/html"]) for o in outputs if "text/html" in o.get("data", {}))
    assert "<audio" in html
    # Saved where a user's notebook saves it: apiframe_outputs/ beside the notebook.
    assert [p.name for p in empty_dir.iterdir()] == ["apiframe_outputs"]
    (audio,) = (empty_dir / "apiframe_outputs").glob("*.mp3")
    assert audio.with_name(audio.name + ".json").is_file()
    head = audio.read_bytes()[:3]
    assert head == b"ID3" or head[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2")
    assert audio.stat().st_size > 20_000  # 5 s of real MP3, not an error page
