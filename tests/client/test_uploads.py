"""Uploads (``POST /v2/uploads``): the type sniffed from the file's bytes and its size limit
enforced before anything is sent, the multipart shape (one ``file`` field), the answer parsed,
Lyria's ``reference_images`` resolved from local files and URLs; and downloads of files the
service has purged, said in one line.

Against the sandbox over loopback; ``httpx.MockTransport`` stands for the service only for what
the sandbox never answers (the contract's example answer, a 502), and those tests say so.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable
from email.parser import BytesParser
from email.policy import HTTP
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from apiframe_magic._exceptions import DownloadError, RequestValidationError, ServerError
from apiframe_magic.catalog import get_spec
from apiframe_magic.client import (
    ApiframeClient,
    AsyncApiframeClient,
    MusicRequest,
    Upload,
    check_files,
)
from apiframe_magic.sandbox import SandboxServer
from tests.conftest import CANARY_KEY

T = TypeVar("T")
PNG = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + b"\0" * 40
MP3 = b"ID3\x04\0\0\0\0\0\0" + b"\0" * 40
MP4 = b"\0\0\0\x18ftypisom\0\0\x02\0" + b"\0" * 40
ANSWER = {"id": "upl_1", "url": "https://cdn.test/uploads/upl_1.png", "kind": "image",
          "contentType": "image/png", "byteSize": 56, "expiresAt": "2026-03-15T12:00:00.000Z"}


def run(factory: Callable[[], Awaitable[T]]) -> T:
    async def call() -> T:
        return await factory()

    return asyncio.run(call())


class Service:
    """MockTransport standing for ``POST /v2/uploads``: records each request, answers in turn."""

    def __init__(self, *answers: httpx.Response) -> None:
        self.answers = list(answers)
        self.seen: list[httpx.Request] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.seen.append(request)
        return self.answers.pop(0)

    def client(self) -> AsyncApiframeClient:
        return AsyncApiframeClient(CANARY_KEY, "https://api.test",
                                   transport=httpx.MockTransport(self.handler))


def write(path: Path, data: bytes, size: int | None = None) -> Path:
    path.write_bytes(data)
    if size is not None:
        with path.open("r+b") as f:
            f.truncate(size)  # sparse: the size without the disk
    return path


# -- upload ------------------------------------------------------------------------------------


def parts_of_recorded(content_type: str, body: bytes) -> list[Any]:
    head = f"Content-Type: {content_type}\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    assert message.is_multipart()
    return list(message.iter_parts())


def test_an_upload_is_one_multipart_file_field_and_its_url_serves_the_file(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    path = write(tmp_path / "mood board.png", PNG)
    with ApiframeClient(CANARY_KEY, sandbox.url) as client:
        upload = client.upload(path)
        copy = client.download(upload.url, tmp_path / "copy.png")
    assert (upload.kind, upload.content_type, upload.byte_size) == ("image", "image/png", len(PNG))
    assert upload.id and upload.expires_at and upload.url.startswith(sandbox.cdn_url)
    assert copy.path.read_bytes() == PNG
    (post,) = [r for r in sandbox.recorded_requests() if r.method == "POST"]
    assert post.path == "/v2/uploads"
    assert post.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert "idempotency-key" not in post.headers
    (part,) = parts_of_recorded(post.headers["content-type"], post.body)
    assert part.get_param("name", header="content-disposition") == "file"
    assert part.get_filename() == "mood board.png"
    assert part.get_content_type() == "image/png"
    assert part.get_payload(decode=True) == PNG


def test_the_answer_is_read_as_the_contract_shows_it(tmp_path: Path) -> None:
    """MockTransport: the contract's example answer, parsed whole."""
    service = Service(httpx.Response(201, json=ANSWER))
    upload = run(lambda: service.client().upload(write(tmp_path / "a.png", PNG)))
    assert upload == Upload(id="upl_1", url="https://cdn.test/uploads/upl_1.png", kind="image",
                            content_type="image/png", byte_size=56, expires_at="2026-03-15T12:00:00.000Z")
    assert service.seen[0].headers["X-API-Key"] == CANARY_KEY


def posts(sandbox: SandboxServer) -> list[Any]:
    return [r for r in sandbox.recorded_requests() if r.method == "POST"]


@pytest.mark.parametrize(("data", "name", "content_type"),
                         [(MP3, "take.mp3", "audio/mpeg"), (MP4, "clip.bin", "video/mp4")])
def test_the_content_type_comes_from_the_bytes_not_the_name(
    sandbox: SandboxServer, tmp_path: Path, data: bytes, name: str, content_type: str
) -> None:
    with ApiframeClient(CANARY_KEY, sandbox.url) as client:
        upload = client.upload(write(tmp_path / name, data))
    (post,) = posts(sandbox)
    (part,) = parts_of_recorded(post.headers["content-type"], post.body)
    assert part.get_content_type() == upload.content_type == content_type


@pytest.mark.parametrize(
    ("name", "data", "size", "why"),
    [
        ("big.png", PNG, 25_000_001, "is 25,000,001 bytes; an image file can be at most 25,000,000 bytes"),
        ("big.mp3", MP3, 30_000_000, "is 30 MB; an audio file can be at most 25 MB"),
        ("big.mp4", MP4, 50_500_000, "is 50.5 MB; a video file can be at most 50 MB"),
        ("notes.txt", b"just some text", None, "is not a file type the service takes (PNG, JPEG, WebP, "
                                               "GIF, MP4, WebM, MOV, MP3, WAV, OGG, M4A)"),
        ("empty.png", b"", None, "is empty"),
    ],
)
def test_a_file_the_service_would_refuse_is_one_line_and_never_sent(
    sandbox: SandboxServer, tmp_path: Path, name: str, data: bytes, size: int | None, why: str
) -> None:
    path = write(tmp_path / name, data, size)
    with ApiframeClient(CANARY_KEY, sandbox.url) as client, pytest.raises(RequestValidationError) as info:
        client.upload(path)
    assert str(info.value) == f"upload {path}: {why}"
    assert "\n" not in str(info.value)
    assert sandbox.recorded_requests() == []


def test_a_video_up_to_50_mb_is_sent(sandbox: SandboxServer, tmp_path: Path) -> None:
    """A (sparse) 40 MB MP4: under the video limit, over the image one."""
    with ApiframeClient(CANARY_KEY, sandbox.url) as client:
        upload = client.upload(write(tmp_path / "v.mp4", MP4, 40_000_000))
    assert (upload.kind, upload.byte_size) == ("video", 40_000_000)


def test_a_missing_file_or_a_folder_is_one_line(sandbox: SandboxServer, tmp_path: Path) -> None:
    with ApiframeClient(CANARY_KEY, sandbox.url) as client:
        with pytest.raises(RequestValidationError) as info:
            client.upload(tmp_path / "nope.png")
        assert str(info.value) == f"upload {tmp_path / 'nope.png'}: no such file"
        with pytest.raises(RequestValidationError) as info:
            client.upload(tmp_path)
        assert str(info.value) == f"upload {tmp_path}: is a folder, not a file"
    assert sandbox.recorded_requests() == []


def test_a_failed_upload_is_not_sent_twice(sandbox: SandboxServer, tmp_path: Path) -> None:
    """A 5xx is not retried, since an upload carries no Idempotency-Key."""
    sandbox.faults.inject("unavailable", route="any")  # the upload is the first request
    with ApiframeClient(CANARY_KEY, sandbox.url) as client, pytest.raises(ServerError) as info:
        client.upload(write(tmp_path / "a.png", PNG))
    assert info.value.status_code == 503 and "\n" not in str(info.value)
    assert len(posts(sandbox)) == 1


def test_a_502_is_the_service_s_one_line(tmp_path: Path) -> None:
    """MockTransport: the contract's 502 (the CDN upload failed), which the sandbox never sends."""
    service = Service(httpx.Response(502, json={"error": "Upload to CDN failed"}))
    with pytest.raises(ServerError, match=r"^HTTP 502: Upload to CDN failed$"):
        run(lambda: service.client().upload(write(tmp_path / "a.png", PNG)))
    assert len(service.seen) == 1


# -- reference_images --------------------------------------------------------------------------


def test_reference_images_upload_local_files_and_keep_urls_in_order(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    first, second = write(tmp_path / "a.png", PNG), write(tmp_path / "b.png", PNG)

    async def go() -> list[str]:
        async with AsyncApiframeClient(CANARY_KEY, sandbox.url) as client:
            return await client.resolve_reference_images([str(first), "https://example.test/ref.jpg", second])

    urls = run(go)
    assert urls[1] == "https://example.test/ref.jpg"
    assert urls[0].startswith(sandbox.cdn_url) and urls[2].startswith(sandbox.cdn_url) and urls[0] != urls[2]
    sent = [parts_of_recorded(r.headers["content-type"], r.body)[0].get_filename() for r in posts(sandbox)]
    assert sent == ["a.png", "b.png"]


def test_reference_images_are_all_checked_before_the_first_is_sent(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    good, song = write(tmp_path / "a.png", PNG), write(tmp_path / "song.mp3", MP3)
    with ApiframeClient(CANARY_KEY, sandbox.url) as client:
        with pytest.raises(RequestValidationError) as info:
            client.resolve_reference_images([good, song])
        assert str(info.value) == (f"reference_images {song}: is audio (MP3); only image files are taken "
                                   "here (PNG, JPEG, WebP, GIF)")
        with pytest.raises(RequestValidationError) as info:
            client.resolve_reference_images([good] * 11)
        assert str(info.value) == "reference_images: must have at most 10 items"
        with pytest.raises(RequestValidationError) as info:
            client.resolve_reference_images(["./moodboard.png"])
        assert str(info.value) == "reference_images ./moodboard.png: no such file"
    assert sandbox.recorded_requests() == []


def test_a_lyria_job_steered_by_a_local_image(sandbox: SandboxServer, tmp_path: Path) -> None:
    """The magic's ``--param reference_images=./moodboard.png,URL``: the catalog takes the local
    file, the client uploads it, the request is built from URLs only, and the job runs."""
    board = write(tmp_path / "moodboard.png", PNG)
    given = get_spec("lyria-3-clip").parse_param("reference_images", f"{board},https://x.test/b.png")
    with pytest.raises(RequestValidationError, match="must hold absolute http"):
        MusicRequest("rain", "lyria-3-clip", params={"reference_images": given})  # never sent as is
    with ApiframeClient(CANARY_KEY, sandbox.url, poll_interval=0.05, max_poll_interval=0.2) as client:
        params = client.resolve_files("lyria-3-clip", {"reference_images": given})
        (uploaded, url) = params["reference_images"]
        assert uploaded.startswith(sandbox.cdn_url) and url == "https://x.test/b.png"
        request = MusicRequest("rain", "lyria-3-clip", params=params)
        done = client.wait(client.submit(request).job_id)
    assert done.status == "COMPLETED"
    (post,) = [r for r in posts(sandbox) if r.path == "/v2/music/generate"]
    assert json.loads(post.body)["lyriaParams"] == params


def test_check_files_is_the_dry_run_s_check_and_sends_nothing(tmp_path: Path) -> None:
    song = write(tmp_path / "song.mp3", MP3)
    spec = get_spec("lyria-3-pro")
    check_files(spec, {"reference_images": [str(write(tmp_path / "a.png", PNG)), "https://x.test/b.png"]})
    with pytest.raises(RequestValidationError) as info:
        check_files(spec, {"reference_images": [str(song)]})
    assert str(info.value) == (f"reference_images {song}: is audio (MP3); only image files are taken "
                               "here (PNG, JPEG, WebP, GIF)")
    check_files(get_spec("suno"), {"title": "./not-a-file.png"})  # no param of suno takes files


# -- purged files ------------------------------------------------------------------------------


def test_an_expired_job_s_file_is_not_fetched(tmp_path: Path) -> None:
    """With ``expired=True`` nothing is sent: the host does not even resolve."""
    with ApiframeClient(CANARY_KEY, "https://api.invalid") as client, pytest.raises(DownloadError) as info:
        client.download("https://cdn.invalid/audio/a.mp3?sig=secret", tmp_path, job_id="job-7", expired=True)
    assert str(info.value) == (
        "the service has purged the files of job job-7: results are kept for a limited time")
    assert info.value.purged and info.value.job_id == "job-7"
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("job_id", ["job-7", None])
def test_a_404_from_the_cdn_says_the_file_was_purged(
    sandbox: SandboxServer, tmp_path: Path, job_id: str | None
) -> None:
    url = sandbox.cdn_url + "/audio/00000000-0000-4000-8000-000000000000-0.mp3"
    with ApiframeClient(CANARY_KEY, sandbox.url) as client, pytest.raises(DownloadError) as info:
        client.download(url, tmp_path, job_id=job_id)
    whose = f"the files of job job-7 (HTTP 404 for {url})" if job_id else f"{url} (HTTP 404)"
    assert str(info.value) == f"the service has purged {whose}: results are kept for a limited time"
    assert info.value.purged
    assert len(sandbox.recorded_requests()) == 1  # not retried
