"""Running a job end to end (:func:`generate`, :func:`resume`, :class:`MusicJob`) against the
sandbox: errors after the submit carry the job id, saved names match their bytes and are safe
in any script, and files get their mode without touching the process umask.

``httpx.MockTransport`` stands in for the API only where the sandbox cannot answer as needed
(an error status on a poll of a job it knows); those tests say so.
"""

from __future__ import annotations

import asyncio
import json
import os
import unicodedata
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from apiframe_magic._exceptions import (
    ApiframeError,
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    DownloadError,
    JobFailedError,
    JobTimeoutError,
    NotFoundError,
    PermissionDeniedError,
    RequestValidationError,
)
from apiframe_magic._fs import _umask_by_probe, _umask_from_proc, current_umask
from apiframe_magic.client import AsyncApiframeClient, MusicRequest
from apiframe_magic.client._download import DOWNLOAD_RETRIES
from apiframe_magic.jobs import Backend, MusicJob, MusicResult, SaveTarget, generate, resume, slugify
from apiframe_magic.sandbox import SandboxServer
from tests.conftest import CANARY_KEY

T = TypeVar("T")
FAST: dict[str, Any] = {"poll_interval": 0.05, "max_poll_interval": 0.2}
REQUEST = MusicRequest("a short test tune", music_length_ms=5_000)


def run(factory: Callable[[], Awaitable[T]]) -> T:
    async def call() -> T:
        return await factory()

    return asyncio.run(call())


def make(sandbox: SandboxServer) -> AsyncApiframeClient:
    return AsyncApiframeClient(CANARY_KEY, sandbox.url, **FAST)


def generate_on(
    sandbox: SandboxServer, tmp_path: Path, request: MusicRequest = REQUEST, **kw: Any
) -> MusicResult:
    return run(lambda: generate(make(sandbox), request, backend="sandbox", output_dir=tmp_path, **kw))


def capture(factory: Callable[[], Awaitable[Any]]) -> ApiframeError:
    try:
        run(factory)
    except ApiframeError as exc:
        return exc
    raise AssertionError("no ApiframeError was raised")


def submitted_id(sandbox: SandboxServer) -> str:
    (post,) = [r for r in sandbox.recorded_requests() if r.method == "POST"]
    poll = next(r for r in sandbox.recorded_requests() if r.path.startswith("/v2/jobs/"))
    assert post.path == "/v2/music/generate"
    return poll.path.rsplit("/", 1)[-1]


# -- every error after the submit carries the job id ---------------------------------------


def test_a_failed_job_carries_its_id(sandbox: SandboxServer, tmp_path: Path) -> None:
    sandbox.faults.inject("fail_job")
    exc = capture(lambda: generate(make(sandbox), REQUEST, backend="sandbox", output_dir=tmp_path))
    assert isinstance(exc, JobFailedError) and exc.job_id == submitted_id(sandbox)


def test_a_timeout_carries_the_job_id(sandbox: SandboxServer, tmp_path: Path) -> None:
    sandbox.faults.inject("slow_job", seconds=5)
    exc = capture(lambda: generate(
        make(sandbox), REQUEST, backend="sandbox", output_dir=tmp_path, timeout=0.2
    ))
    assert isinstance(exc, JobTimeoutError) and exc.job_id == submitted_id(sandbox)


def test_a_failed_download_carries_the_job_id(sandbox: SandboxServer, tmp_path: Path) -> None:
    sandbox.faults.inject("truncate", times=DOWNLOAD_RETRIES + 1)
    exc = capture(lambda: generate(make(sandbox), REQUEST, backend="sandbox", output_dir=tmp_path))
    assert isinstance(exc, DownloadError) and exc.job_id == submitted_id(sandbox)


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (422, APIStatusError),
        (307, APIStatusError),
    ],
)
def test_api_errors_after_the_submit_carry_the_job_id(status: int, error: type[APIStatusError]) -> None:
    """MockTransport: the submit is accepted, then every poll is answered ``status``."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(202, json={"jobId": "job-42", "status": "QUEUED"})
        return httpx.Response(status, json={"error": "no"}, headers={"location": "https://elsewhere.test/"})

    transport = httpx.MockTransport(handler)
    client = AsyncApiframeClient(CANARY_KEY, "https://api.test", transport=transport, **FAST)
    exc = capture(lambda: generate(client, REQUEST, backend="https://api.test"))
    assert type(exc) is error and exc.job_id == "job-42"


def test_errors_before_the_submit_carry_no_job_id(sandbox: SandboxServer, tmp_path: Path) -> None:
    sandbox.faults.inject("unavailable", route="submit", times=3)
    exc = capture(lambda: generate(make(sandbox), REQUEST, backend="sandbox", output_dir=tmp_path))
    assert isinstance(exc, APIStatusError) and exc.job_id is None


def test_resume_and_music_job_errors_carry_the_job_id(
    sandbox: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    unknown = "00000000-0000-4000-8000-000000000000"
    exc = capture(lambda: resume(make(sandbox), unknown, backend="sandbox", output_dir=tmp_path))
    assert isinstance(exc, NotFoundError) and exc.job_id == unknown

    monkeypatch.setenv("APIFRAME_API_KEY", CANARY_KEY)
    handle = MusicJob(unknown, None, Backend(sandbox.url, sandbox=False), output_dir=str(tmp_path))
    with pytest.raises(NotFoundError) as info:
        handle.status()
    assert info.value.job_id == unknown


# -- saved names -----------------------------------------------------------------------------


def test_a_save_name_that_contradicts_the_format_is_refused_before_submitting(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    with pytest.raises(RequestValidationError, match=r"\.mp3"):
        generate_on(sandbox, tmp_path, save=tmp_path / "x.wav")
    assert sandbox.recorded_requests() == [] and list(tmp_path.iterdir()) == []


def test_a_resumed_job_saved_under_another_audio_suffix_is_renamed_to_its_bytes(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    """``resume`` cannot know the format before the job is back: the bytes decide the name."""

    async def go() -> MusicResult:
        async with make(sandbox) as client:
            job = await client.submit(MusicRequest("x", music_length_ms=5_000, output_format="wav_16khz"))
            return await resume(client, job.job_id, backend="sandbox", save=tmp_path / "take.mp3")

    result = run(go)
    assert result.path == tmp_path / "take.wav" and result.path.read_bytes()[:4] == b"RIFF"
    assert result.audio_format == "wav" and result.metadata_path == tmp_path / "take.wav.json"
    assert json.loads(result.metadata_path.read_text())["audio"]["file"] == "take.wav"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["take.wav", "take.wav.json"]


def test_a_japanese_prompt_keeps_its_words_in_the_file_name(sandbox: SandboxServer, tmp_path: Path) -> None:
    result = generate_on(sandbox, tmp_path, MusicRequest("静かなピアノ、雨の音", music_length_ms=5_000))
    assert result.path.name.startswith("静かなピアノ-雨の音-") and result.path.suffix == ".mp3"


def test_a_job_id_from_the_server_cannot_steer_the_file_elsewhere(tmp_path: Path) -> None:
    path = SaveTarget(tmp_path).audio_path("tune", "../../x/y", "mp3")
    assert path.parent == tmp_path and path.name == "tune-xy.mp3"


@pytest.mark.parametrize(
    ("prompt", "slug"),
    [
        ("An upbeat synthwave track!", "an-upbeat-synthwave-track"),
        ("静かなピアノ、雨の音", "静かなピアノ-雨の音"),
        ("Спокойное фортепиано под дождь", "спокойное-фортепиано-под-дождь"),
        ("🎹🎶✨", "track"),
        ("Lo-fi ビート 🎧 for studying", "lo-fi-ビート-for-studying"),
        ("\uff26\uff35\uff2c\uff2c\u3000\uff57\uff49\uff44\uff54\uff48 \uff11\uff12", "full-width-12"),
        ('a<b>c:d"e/f\\g|h?i*j\x00k\x1f. ', "a-b-c-d-e-f-g-h-i-j-k"),
        ("नमस्ते दुनिया", "नमस्ते-दुनिया"),
        ("café", "café"),
        ("con", "con_"),
        ("NUL", "nul_"),
        ("com1", "com1_"),
        ("...", "track"),
        ("", "track"),
    ],
)
def test_slugify_keeps_every_script_and_is_safe_everywhere(prompt: str, slug: str) -> None:
    assert slugify(prompt) == slug


@pytest.mark.parametrize("prompt", ["日本語の歌" * 100, "🎵a" * 200, "ä" * 300, "word " * 100, "ﷺ" * 100])
def test_slugify_bounds_characters_and_bytes(prompt: str) -> None:
    slug = slugify(prompt)
    assert 0 < len(slug) <= 40 and len(slug.encode("utf-8")) <= 120
    assert slug == unicodedata.normalize("NFKC", slug) and not slug.endswith(("-", ".", " "))
    # The whole file name, id and metadata suffix included, fits Linux's 255 bytes.
    assert len(f"{slug}-01234567.mp3.json".encode()) <= 255


def test_slugify_cuts_at_a_word_when_that_keeps_most_of_it() -> None:
    words = "an upbeat synthwave track with a driving bassline"
    assert slugify(words) == "an-upbeat-synthwave-track-with-a-driving"
    assert slugify("静" * 39 + " かな") == "静" * 39
    assert slugify("静" * 50) == "静" * 40  # no word to cut at
    assert slugify("a " + "静" * 50) == "a-" + "静" * 38  # cutting at the word would lose most


# -- file modes, without touching the process umask -----------------------------------------


def _umask_must_not_be_called(mask: int) -> int:
    raise AssertionError(f"os.umask({mask:o}) changes the mask for every thread of the process")


def test_saved_files_get_the_umask_mode_and_the_umask_is_never_set(
    sandbox: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sandbox writes files on its own threads while a job is saved: reading the umask by
    setting it (even for a moment) would change their modes too."""
    previous = os.umask(0o027)
    try:
        monkeypatch.setattr(os, "umask", _umask_must_not_be_called)
        result = generate_on(sandbox, tmp_path)
    finally:
        monkeypatch.undo()
        os.umask(previous)
    assert result.path.stat().st_mode & 0o777 == 0o640
    assert result.metadata_path.stat().st_mode & 0o777 == 0o640


@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002])
def test_the_umask_is_read_the_same_both_ways(mask: int, tmp_path: Path) -> None:
    previous = os.umask(mask)
    try:
        assert _umask_by_probe(tmp_path) == mask & 0o666  # a file's mode shows no x bits
        assert current_umask(tmp_path) & 0o666 == mask & 0o666
        assert _umask_from_proc() in (mask, None)  # None where /proc is not there
    finally:
        os.umask(previous)
    assert list(tmp_path.iterdir()) == []  # the probe file is gone
