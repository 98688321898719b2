"""Downloads: streamed, atomic, never carrying the key, format decided from the bytes.

Most tests run against the sandbox's CDN origin. ``httpx.MockTransport`` is used only for what
it cannot serve: WAV bytes behind a ``.mp3`` URL, a URL without extension, a redirect to
another origin, a gzip-encoded body; those tests say so.
"""

from __future__ import annotations

import asyncio
import gzip
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from apiframe_magic._exceptions import DownloadError
from apiframe_magic.client import (
    ApiframeClient,
    AsyncApiframeClient,
    DownloadedFile,
    MusicRequest,
    sniff_container,
)
from apiframe_magic.client._download import DOWNLOAD_RETRIES
from apiframe_magic.sandbox import SandboxServer
from tests.conftest import CANARY_KEY

T = TypeVar("T")
WAV_HEAD = b"RIFF\x24\x08\x00\x00WAVEfmt "
MP3_ID3 = b"ID3\x04\x00\x00\x00\x00\x00\x00"
MP3_SYNC = b"\xff\xfb\x90\x64\x00\x00\x00\x00"


def run(factory: Callable[[], Awaitable[T]]) -> T:
    async def call() -> T:
        return await factory()

    return asyncio.run(call())


def finished_audio_url(server: SandboxServer, output_format: str | None = None) -> str:
    """Make one 5-second track on the sandbox; return its CDN URL."""
    with ApiframeClient(CANARY_KEY, server.url, poll_interval=0.05) as client:
        job = client.submit(MusicRequest("x", music_length_ms=5_000, output_format=output_format))
        url = client.wait(job.job_id).audio_url
    assert url is not None and url.startswith(server.cdn_url)
    return url


def download(server: SandboxServer, url: str, dest: Path | str, **kw: Any) -> DownloadedFile:
    return run(lambda: AsyncApiframeClient(CANARY_KEY, server.url).download(url, dest, **kw))


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


# -- against the sandbox's CDN ----------------------------------------------------------------


def test_download_into_a_folder_takes_the_name_from_the_url(sandbox: SandboxServer, tmp_path: Path) -> None:
    url = finished_audio_url(sandbox)
    file = download(sandbox, url, tmp_path)
    assert file.path == tmp_path / url.rsplit("/", 1)[-1]
    assert file.container == "mp3" and file.content_type == "audio/mpeg"
    assert file.size == file.path.stat().st_size > 1000
    assert leftovers(tmp_path) == []


def test_download_to_a_file_path_and_a_new_folder(sandbox: SandboxServer, tmp_path: Path) -> None:
    url = finished_audio_url(sandbox)
    file = download(sandbox, url, tmp_path / "deep" / "song.mp3")
    assert file.path == tmp_path / "deep" / "song.mp3" and file.path.stat().st_size == file.size
    into = download(sandbox, url, str(tmp_path / "new") + "/")
    assert into.path.parent == tmp_path / "new" and into.path.read_bytes() == file.path.read_bytes()


def test_wav_is_recognised_from_the_bytes(sandbox: SandboxServer, tmp_path: Path) -> None:
    url = finished_audio_url(sandbox, "wav_22khz")
    file = download(sandbox, url, tmp_path / "song")
    assert file.container == "wav" and file.path.read_bytes()[8:12] == b"WAVE"


def test_cdn_requests_never_carry_the_key(sandbox: SandboxServer, tmp_path: Path) -> None:
    url = finished_audio_url(sandbox)
    download(sandbox, url, tmp_path)
    cdn = [r for r in sandbox.recorded_requests() if r.origin == "cdn"]
    assert cdn
    for request in cdn:
        assert "x-api-key" not in request.headers and "authorization" not in request.headers
        assert CANARY_KEY not in repr(request)


def test_truncated_download_leaves_nothing_and_keeps_the_old_file(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    url = finished_audio_url(sandbox)
    existing = tmp_path / "song.mp3"
    existing.write_bytes(b"the previous take")
    sandbox.faults.inject("truncate", times=DOWNLOAD_RETRIES + 1)  # the download and every retry
    with pytest.raises(DownloadError) as info:
        download(sandbox, url, existing, job_id="job-7")
    assert info.value.job_id == "job-7" and info.value.url == url
    assert "\n" not in str(info.value) and CANARY_KEY not in str(info.value)
    assert existing.read_bytes() == b"the previous take"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["song.mp3"]


def test_truncated_download_into_a_folder_leaves_no_file(sandbox: SandboxServer, tmp_path: Path) -> None:
    url = finished_audio_url(sandbox)
    sandbox.faults.inject("truncate", times=DOWNLOAD_RETRIES + 1)
    with pytest.raises(DownloadError):
        download(sandbox, url, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_one_truncation_is_retried(sandbox: SandboxServer, tmp_path: Path) -> None:
    url = finished_audio_url(sandbox)
    sandbox.faults.inject("truncate")
    file = download(sandbox, url, tmp_path)
    assert file.size == file.path.stat().st_size
    assert leftovers(tmp_path) == []
    assert len([r for r in sandbox.recorded_requests() if r.origin == "cdn"]) == 2


def test_dropped_download_raises_and_leaves_nothing(sandbox: SandboxServer, tmp_path: Path) -> None:
    url = finished_audio_url(sandbox)
    sandbox.faults.inject("drop", route="download", times=DOWNLOAD_RETRIES + 1)
    with pytest.raises(DownloadError):
        download(sandbox, url, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_503_download_is_retried_once(sandbox: SandboxServer, tmp_path: Path) -> None:
    url = finished_audio_url(sandbox)
    sandbox.faults.inject("unavailable", route="download")
    assert download(sandbox, url, tmp_path).size > 0


def test_missing_file_is_not_retried(sandbox: SandboxServer, tmp_path: Path) -> None:
    url = sandbox.cdn_url + "/audio/00000000-0000-4000-8000-000000000000-0.mp3"
    with pytest.raises(DownloadError, match="404"):
        download(sandbox, url, tmp_path)
    assert len(sandbox.recorded_requests()) == 1
    assert list(tmp_path.iterdir()) == []


def test_not_an_http_url(tmp_path: Path) -> None:
    with pytest.raises(DownloadError):
        run(
            lambda: AsyncApiframeClient(CANARY_KEY, "http://127.0.0.1:9").download(
                "file:///etc/passwd", tmp_path
            )
        )


# -- sniffing ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "content_type", "container"),
    [
        (WAV_HEAD, None, "wav"),
        (WAV_HEAD, "audio/mpeg", "wav"),  # the bytes win over the header
        (MP3_ID3, None, "mp3"),
        (MP3_SYNC, "application/octet-stream", "mp3"),
        (MP3_ID3, "audio/wav", "mp3"),
        (b"\x00\x01\x02\x03", "audio/mpeg", "mp3"),
        (b"\x00\x01\x02\x03", "audio/x-wav; charset=binary", "wav"),
        (b"\x00\x01\x02\x03", "application/octet-stream", None),
        (b"RIFF\x00\x00\x00\x00AVI ", None, None),
        (b"", None, None),
    ],
)
def test_sniff_container(head: bytes, content_type: str | None, container: str | None) -> None:
    assert sniff_container(head, content_type) == container


# -- shapes the sandbox cannot produce (httpx.MockTransport) -----------------------------------


def _cdn(handler: Callable[[httpx.Request], httpx.Response]) -> AsyncApiframeClient:
    return AsyncApiframeClient(CANARY_KEY, "https://api.test", transport=httpx.MockTransport(handler))


def test_format_is_never_taken_from_the_url(tmp_path: Path) -> None:
    """MockTransport: WAV bytes behind a .mp3 URL, served as octet-stream."""
    body = WAV_HEAD + b"\x00" * 64
    client = _cdn(
        lambda r: httpx.Response(200, content=body, headers={"content-type": "application/octet-stream"})
    )
    file = run(lambda: client.download("https://cdn.test/audio/x-0.mp3", tmp_path / "a"))
    assert file.container == "wav" and file.path.read_bytes() == body
    assert file.path == tmp_path / "a"  # a name chosen without a suffix claims nothing: kept


@pytest.mark.parametrize(
    ("dest", "body", "saved"),
    [
        ("song.mp3", WAV_HEAD + b"\x00" * 64, "song.wav"),
        ("song.wav", MP3_ID3 * 10, "song.mp3"),
        ("song.WAVE", MP3_SYNC * 10, "song.mp3"),
        ("take.2.flac", WAV_HEAD + b"\x00" * 64, "take.2.wav"),
        ("song.MP3", MP3_ID3 * 10, "song.MP3"),
        ("song.audio", MP3_ID3 * 10, "song.audio"),
    ],
)
def test_a_file_name_never_lies_about_its_bytes(dest: str, body: bytes, saved: str, tmp_path: Path) -> None:
    """MockTransport: bytes of another container than the name asked for (the sandbox always
    serves what was requested). An audio suffix that disagrees is corrected, and reported."""
    client = _cdn(lambda r: httpx.Response(200, content=body))
    file = run(lambda: client.download("https://cdn.test/audio/x-0", tmp_path / dest))
    assert file.path == tmp_path / saved and file.path.read_bytes() == body
    assert sorted(p.name for p in tmp_path.iterdir()) == [saved]


def test_a_name_from_the_url_gets_the_suffix_of_the_bytes(tmp_path: Path) -> None:
    """MockTransport: WAV bytes behind a .mp3 URL, saved into a folder."""
    client = _cdn(lambda r: httpx.Response(200, content=WAV_HEAD + b"\x00" * 64))
    file = run(lambda: client.download("https://cdn.test/audio/x-0.mp3", tmp_path))
    assert file.path == tmp_path / "x-0.wav"


def test_downloads_get_the_umask_mode_without_touching_the_umask(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """MockTransport. Setting the umask, even to read it, changes it for every thread."""
    previous = os.umask(0o027)
    try:
        monkeypatch.setattr(os, "umask", _umask_must_not_be_called)
        client = _cdn(lambda r: httpx.Response(200, content=MP3_ID3 * 10))
        file = run(lambda: client.download("https://cdn.test/a.mp3", tmp_path / "new.mp3"))
    finally:
        monkeypatch.undo()
        os.umask(previous)
    assert file.path.stat().st_mode & 0o777 == 0o640


def _umask_must_not_be_called(mask: int) -> int:
    raise AssertionError(f"os.umask({mask:o}) changes the mask for every thread of the process")


def test_url_without_extension_gets_the_detected_one(tmp_path: Path) -> None:
    """MockTransport: a result URL with no extension at all."""
    client = _cdn(lambda r: httpx.Response(200, content=MP3_ID3 * 10))
    file = run(lambda: client.download("https://cdn.test/files/abc123?sig=s3cr3t", tmp_path))
    assert file.path == tmp_path / "abc123.mp3"


def test_redirects_on_the_cdn_are_followed_without_the_key(tmp_path: Path) -> None:
    """MockTransport: a CDN redirecting to another origin (storage)."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host == "cdn.test":
            return httpx.Response(302, headers={"location": "https://storage.test/a.mp3"})
        return httpx.Response(200, content=MP3_SYNC * 10, headers={"content-type": "audio/mpeg"})

    file = run(lambda: _cdn(handler).download("https://cdn.test/a.mp3", tmp_path))
    assert file.container == "mp3"
    assert [r.url.host for r in seen] == ["cdn.test", "storage.test"]
    assert all("x-api-key" not in r.headers for r in seen)


def test_content_length_is_checked_on_the_wire_bytes(tmp_path: Path) -> None:
    """MockTransport: a gzip-encoded body, whose Content-Length counts compressed bytes."""
    raw = MP3_ID3 + b"\x00" * 5000
    packed = gzip.compress(raw)

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            stream=httpx.ByteStream(packed),
            headers={
                "content-encoding": "gzip",
                "content-length": str(len(packed)),
                "content-type": "audio/mpeg",
            },
        )

    file = run(lambda: _cdn(handler).download("https://cdn.test/a.mp3", tmp_path))
    assert file.path.read_bytes() == raw and file.size == len(raw)


def test_short_body_against_content_length(tmp_path: Path) -> None:
    """MockTransport: a body shorter than its Content-Length, without a dropped connection."""
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(200, stream=httpx.ByteStream(MP3_ID3), headers={"content-length": "999"})

    with pytest.raises(DownloadError, match="10 of 999"):
        run(lambda: _cdn(handler).download("https://cdn.test/a.mp3", tmp_path))
    assert len(calls) == DOWNLOAD_RETRIES + 1 and list(tmp_path.iterdir()) == []


def test_unwritable_destination_is_a_download_error(tmp_path: Path) -> None:
    """MockTransport: no network needed to show the disk side failing."""
    blocker = tmp_path / "a-file"
    blocker.write_bytes(b"")
    client = _cdn(lambda r: httpx.Response(200, content=MP3_ID3))
    with pytest.raises(DownloadError, match="cannot"):
        run(lambda: client.download("https://cdn.test/a.mp3", blocker / "sub" / "x.mp3"))


class _InterruptedStream(httpx.AsyncByteStream):
    async def __aiter__(self) -> Any:
        yield MP3_ID3 * 100
        raise KeyboardInterrupt


def test_interrupted_download_leaves_nothing_and_the_client_still_works(tmp_path: Path) -> None:
    """MockTransport: a Ctrl-C arriving mid-body, through the sync facade."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v2/models":
            return httpx.Response(200, json=[{"id": "elevenlabs-music"}])
        return httpx.Response(200, stream=_InterruptedStream(), headers={"content-length": "99999"})

    existing = tmp_path / "take.mp3"
    existing.write_bytes(b"keep me")
    with ApiframeClient(CANARY_KEY, "https://api.test", transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(KeyboardInterrupt):
            client.download("https://cdn.test/take.mp3", existing)
        assert existing.read_bytes() == b"keep me"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["take.mp3"]
        assert [m.id for m in client.models()] == ["elevenlabs-music"]


def test_a_429_from_the_cdn_is_waited_out(sandbox: SandboxServer, tmp_path: Path) -> None:
    """A paid job's audio is not given up on a CDN's 429: its Retry-After is waited out."""
    url = finished_audio_url(sandbox)
    sandbox.faults.inject("rate_limit", route="download", times=2, retry_after=0.1)
    file = download(sandbox, url, tmp_path)
    assert file.size == file.path.stat().st_size
    assert len([r for r in sandbox.recorded_requests() if r.origin == "cdn"]) == 3
