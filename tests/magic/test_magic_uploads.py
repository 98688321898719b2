"""Lyria's reference_images from local files, in a real shell against the sandbox: each file is
checked (type sniffed, size limit) before anything is sent, uploaded with POST /v2/uploads only
when the job is submitted, and its URL sent; running the cell again is answered by the ledger
(the request is the file's bytes, not a new upload's URL); a dry run uploads nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from IPython.core.error import UsageError

from apiframe_magic import MusicResult
from apiframe_magic.sandbox import SandboxServer

from ..conftest import CANARY_KEY
from .test_magic import RaisingShell, everything_shown, music_shell, run

PNG = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + b"\0" * 40
CELL = ("%%music --model lyria-3-clip --param reference_images=./moodboard.png,https://x.test/b.png "
        "--out r\nrain on a tin roof\n")


@pytest.fixture
def shell(sandbox: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RaisingShell]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("APIFRAME_API_KEY", CANARY_KEY)
    monkeypatch.setenv("APIFRAME_BASE_URL", sandbox.url)
    (tmp_path / "moodboard.png").write_bytes(PNG)
    with music_shell() as sh:
        yield sh


def posts(sandbox: SandboxServer, path: str) -> list[dict[str, object]]:
    return [json.loads(r.body) if r.body and path != "/v2/uploads" else {}
            for r in sandbox.recorded_requests() if r.method == "POST" and r.path == path]


def test_a_local_reference_image_is_uploaded_and_its_url_sent(
    shell: RaisingShell, sandbox: SandboxServer
) -> None:
    run(shell, CELL)
    assert isinstance(shell.user_ns["r"], MusicResult)
    assert len(posts(sandbox, "/v2/uploads")) == 1
    (body,) = posts(sandbox, "/v2/music/generate")
    images = body["lyriaParams"]["reference_images"]  # type: ignore[index]
    assert images[0].startswith(sandbox.cdn_url + "/uploads/") and images[1] == "https://x.test/b.png"
    again = run(shell, CELL)  # the same file: the ledger answers, nothing uploaded or paid
    assert shell.user_ns["r"].from_ledger and "from the ledger" in everything_shown(again)
    assert len(posts(sandbox, "/v2/uploads")) == 1 and len(posts(sandbox, "/v2/music/generate")) == 1


def test_a_dry_run_checks_the_file_and_uploads_nothing(shell: RaisingShell, sandbox: SandboxServer) -> None:
    shown = everything_shown(run(shell, CELL.replace("--out r", "--dry-run")))
    assert "moodboard.png" in shown and "POST /v2/uploads" in shown
    assert posts(sandbox, "/v2/uploads") == [] and posts(sandbox, "/v2/music/generate") == []


@pytest.mark.parametrize(("name", "content", "says"), [
    ("notes.txt", b"just some text", "notes.txt"),
    ("huge.png", PNG + b"\0" * (26 * 1024 * 1024), "huge.png"),
    ("missing.png", None, "missing.png"),
])
def test_a_file_the_service_would_refuse_is_one_line_and_nothing_is_sent(
    shell: RaisingShell, sandbox: SandboxServer, tmp_path: Path, name: str, content: bytes | None, says: str
) -> None:
    if content is not None:
        (tmp_path / name).write_bytes(content)
    with pytest.raises(UsageError) as caught:
        run(shell, f"%%music --model lyria-3-clip --param reference_images=./{name}\nrain\n")
    assert says in str(caught.value) and "\n" not in str(caught.value)
    assert not any(r.method == "POST" for r in sandbox.recorded_requests())
