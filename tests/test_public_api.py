"""The public surface: the README's Python example runs as written, public names belong to
``apiframe_magic`` (so pickles survive a file moving), importing the package stays light, and
nothing a user keeps (results, jobs, handles) holds the API key.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import json
import pickle
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import apiframe_magic
from apiframe_magic.client import AsyncApiframeClient, Job, MusicRequest, SubmittedJob
from apiframe_magic.jobs import Backend, MusicJob, MusicResult, generate
from apiframe_magic.sandbox import SandboxServer
from tests.conftest import CANARY_KEY

ROOT = Path(__file__).resolve().parents[1]
CONSTANTS = {"MODELS", "OUTPUT_FORMATS", "__version__"}
FAST: dict[str, Any] = {"poll_interval": 0.05, "max_poll_interval": 0.2}


def clean_env(**extra: str) -> dict[str, str]:
    """A child's environment with no Apiframe key or base URL, this checkout importable."""
    return {"PATH": "", "PYTHONPATH": str(ROOT), **extra}


# -- the README is a promise ---------------------------------------------------------------


def readme_python_api_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("### The Python API", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)


def test_the_readme_python_example_runs_as_written_with_no_key(tmp_path: Path) -> None:
    """Every code block of "The Python API", in order, in one namespace, on a machine with no
    key: plain blocks as a script runs them, blocks with top-level ``await`` as a notebook does."""
    blocks = readme_python_api_blocks()
    assert len(blocks) >= 2 and "ApiframeClient" in blocks[0] and "await" in blocks[-1]
    runner = textwrap.dedent(
        """
        import ast, asyncio, inspect, json, sys
        namespace = {"__name__": "__main__"}
        for number, block in enumerate(json.loads(sys.argv[1])):
            code = compile(block, f"README block {number}", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
            result = eval(code, namespace)
            if inspect.iscoroutine(result):
                asyncio.run(result)
        print("done", namespace["done"].status)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", runner, json.dumps(blocks)],
        cwd=tmp_path, capture_output=True, text=True, timeout=180, check=False,
        env=clean_env(APIFRAME_SANDBOX_JOB_SECONDS="0.5"),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "done COMPLETED"
    assert "COMPLETED 100" in result.stdout  # on_progress printed the snapshots
    assert (tmp_path / "piano.wav").read_bytes()[:4] == b"RIFF"


def test_the_readme_listening_test_example_runs_as_written(sandbox: SandboxServer, tmp_path: Path) -> None:
    """The Python block of "A blind listening test", on a batch of two sandbox tracks: it runs,
    and prints the verdict its comment shows."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("### A blind listening test", 1)[1].split("\n### ", 1)[0]
    (block,) = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    shown = re.search(r'print\(test\.reveal\(\)\.verdict\)\s+# "(.*?)"', block)
    assert shown is not None, "the example shows the verdict it prints"

    async def make_batch() -> apiframe_magic.Batch:
        async with AsyncApiframeClient(CANARY_KEY, sandbox.url) as client:
            items = apiframe_magic.expand(["a calm piano", "an upbeat synthwave"], lengths="5s")
            return await apiframe_magic.run_batch(client, items, backend="sandbox", output_dir=tmp_path)

    namespace: dict[str, Any] = {"batch": asyncio.run(make_batch())}
    printed: list[str] = []
    namespace["print"] = lambda *args: printed.append(" ".join(map(str, args)))
    exec(compile(block, "README listening block", "exec"), namespace)
    assert printed == [shown.group(1)]
    assert namespace["sign_test"](9, 1) == pytest.approx(0.021484375)


def test_without_a_key_the_default_client_says_both_ways_forward(tmp_path: Path) -> None:
    script = "from apiframe_magic import ApiframeClient\nApiframeClient().me()"
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True,
        timeout=60, check=False, env=clean_env(),
    )
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("apiframe_magic.ConfigurationError: no Apiframe API key")
    assert "APIFRAME_API_KEY" in last and "ApiframeClient.sandbox()" in last


# -- public names belong to the package ----------------------------------------------------


@pytest.mark.parametrize("name", sorted(set(apiframe_magic.__all__) - CONSTANTS))
def test_every_public_name_reports_the_package_as_its_module(name: str) -> None:
    value = getattr(apiframe_magic, name)
    assert inspect.isclass(value) or inspect.isfunction(value)
    assert value.__module__ == "apiframe_magic"


def test_the_type_checking_imports_match_the_export_table() -> None:
    """Type checkers read the ``TYPE_CHECKING`` block, the package's ``__getattr__`` reads the
    table: both must name the same modules and names, each re-exported (``X as X``)."""
    tree = ast.parse((ROOT / "apiframe_magic" / "__init__.py").read_text(encoding="utf-8"))
    (block,) = [node for node in tree.body if isinstance(node, ast.If)
                and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"]
    declared: dict[str, set[str]] = {}
    for node in block.body:
        assert isinstance(node, ast.ImportFrom) and node.level == 1, ast.unparse(node)
        for alias in node.names:
            assert alias.asname == alias.name, f"{alias.name} is not re-exported as itself"
            declared.setdefault(f".{node.module}", set()).add(alias.name)
    table = {module: set(names) for module, names in apiframe_magic._EXPORTS_BY_MODULE.items()}
    assert declared == table


def public_definitions() -> set[tuple[str, str]]:
    """Every class and function of the package decorated with ``@public``, as (file, name)."""
    found = set()
    for path in sorted((ROOT / "apiframe_magic").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and any(
                isinstance(d, ast.Name) and d.id == "public" for d in node.decorator_list
            ):
                found.add((str(path.relative_to(ROOT)), node.name))
    return found


def test_every_public_object_is_exported_and_every_export_is_public() -> None:
    definitions = public_definitions()
    assert len(definitions) > 40  # the scan finds the decorators
    exported = set(apiframe_magic.__all__)
    not_exported = sorted(f"{file}: {name}" for file, name in definitions if name not in exported)
    assert not not_exported, "@public but not in apiframe_magic._EXPORTS_BY_MODULE"
    assert set(apiframe_magic.__all__) == {*apiframe_magic._EXPORTS, *apiframe_magic._DEFINED_HERE}
    assert sorted(apiframe_magic.__all__) == apiframe_magic.__all__  # no name declared twice
    assert len(set(apiframe_magic.__all__)) == len(apiframe_magic.__all__)


def test_ledger_unavailable_is_an_exported_apiframe_error() -> None:
    assert issubclass(apiframe_magic.LedgerUnavailable, apiframe_magic.ApiframeError)
    assert "LedgerUnavailable" in apiframe_magic.__all__


def test_objects_pickled_before_their_class_was_looked_up_load_from_the_package() -> None:
    """In a fresh process, nothing is looked up through ``apiframe_magic`` before pickling: the
    pickle must still name ``apiframe_magic.X``, not a private module that may move."""
    script = textwrap.dedent(
        """
        import pickle, sys
        from apiframe_magic.client import Job, MusicRequest
        request = MusicRequest("calm piano", music_length_ms=30_000, output_format="wav_16khz")
        job = Job.from_json({"id": "j-1", "status": "COMPLETED", "result": "https://cdn.test/a.mp3"})
        sys.stdout.buffer.write(pickle.dumps((request, job)))
        """
    )
    data = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, timeout=60, check=True, env=clean_env()
    ).stdout
    assert b"apiframe_magic._models" not in data and b"apiframe_magic" in data
    request, job = pickle.loads(data)
    assert request == MusicRequest("calm piano", music_length_ms=30_000, output_format="wav_16khz")
    assert job.audio_url == "https://cdn.test/a.mp3"


def test_results_and_jobs_round_trip_through_pickle(sandbox: SandboxServer, tmp_path: Path) -> None:
    result = generate_on(sandbox, tmp_path)
    data = pickle.dumps(result)
    assert b"apiframe_magic._generation" not in data and b"apiframe_magic._models" not in data
    again = pickle.loads(data)
    assert isinstance(again, MusicResult) and again.path == result.path and again.job == result.job
    assert again.request == result.request and again.duration == result.duration


def test_importing_the_package_stays_light() -> None:
    script = textwrap.dedent(
        """
        import sys
        import apiframe_magic
        heavy = sorted(m for m in ("httpx", "numpy", "IPython", "ipywidgets", "apiframe_magic.sandbox")
                       if m in sys.modules)
        print(heavy)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True,
        env=clean_env(),
    )
    assert result.stdout.strip() == "[]"


# -- nothing kept holds the key -------------------------------------------------------------


def generate_on(sandbox: SandboxServer, tmp_path: Path) -> MusicResult:
    async def go() -> MusicResult:
        async with AsyncApiframeClient(CANARY_KEY, sandbox.url, **FAST) as client:
            return await generate(
                client, MusicRequest("kept", music_length_ms=5_000), backend=sandbox.url, output_dir=tmp_path
            )

    return asyncio.run(go())


def test_nothing_a_user_keeps_holds_the_key(
    sandbox: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APIFRAME_API_KEY", CANARY_KEY)
    backend = Backend(sandbox.url, sandbox=False)
    submitted = backend.call(lambda client: client.submit(MusicRequest("kept", music_length_ms=5_000)))
    handle = MusicJob(submitted.job_id, None, backend, output_dir=str(tmp_path))
    result = generate_on(sandbox, tmp_path)
    kept: list[object] = [result, result.job, handle, backend, submitted, handle.status()]
    assert isinstance(submitted, SubmittedJob) and isinstance(kept[-1], Job)
    for value in kept:
        data = pickle.dumps(value)
        assert CANARY_KEY.encode() not in data, type(value).__name__
        assert CANARY_KEY not in repr(value)
    assert CANARY_KEY.encode() not in result.metadata_path.read_bytes()


def test_an_unpickled_job_handle_works_with_the_key_from_the_environment(
    sandbox: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APIFRAME_API_KEY", CANARY_KEY)
    backend = Backend(sandbox.url, sandbox=False)
    submitted = backend.call(lambda client: client.submit(MusicRequest("later", music_length_ms=5_000)))
    data = pickle.dumps(MusicJob(submitted.job_id, None, backend, output_dir=str(tmp_path)))

    handle = pickle.loads(data)
    assert handle.status().id == submitted.job_id
    result = handle.result(timeout=30)
    assert result.job_id == submitted.job_id and result.path.is_file()
    assert sandbox.jobs_created == 1


def test_a_sandbox_backend_uses_the_sandbox_key_not_the_environment(
    sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APIFRAME_API_KEY", CANARY_KEY)
    backend = Backend(sandbox.url, sandbox=True)
    assert backend.call(lambda client: client.me()).credits == 1000
    assert {r.headers.get("x-api-key") for r in sandbox.recorded_requests()} == {"afk_sandbox"}
