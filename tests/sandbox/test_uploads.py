"""``POST /v2/uploads`` in the sandbox, over real HTTP: sniffed types, size limits, a CDN URL
that expires, and the same key and Host/Origin rules as every route."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from apiframe_magic.catalog import sniff_upload as sniff
from apiframe_magic.sandbox import SandboxServer
from apiframe_magic.sandbox._uploads import MAX_UPLOAD_BYTES

KEY = "afk_uploads"
H = {"X-API-Key": KEY}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64

#: One sample of each accepted format (just enough bytes to be recognised).
SAMPLES = {
    "png": (PNG, "image", "image/png"),
    "jpeg": (b"\xff\xd8\xff\xe0" + b"\x00" * 32, "image", "image/jpeg"),
    "gif": (b"GIF89a" + b"\x00" * 32, "image", "image/gif"),
    "webp": (b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 32, "image", "image/webp"),
    "mp4": (b"\x00\x00\x00\x18ftypisom" + b"\x00" * 32, "video", "video/mp4"),
    "mov": (b"\x00\x00\x00\x14ftypqt  " + b"\x00" * 32, "video", "video/quicktime"),
    "webm": (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm" + b"\x00" * 32, "video",
             "video/webm"),
    "mp3": (b"ID3\x04\x00" + b"\x00" * 32, "audio", "audio/mpeg"),
    "mp3 without tag": (b"\xff\xfb\x90\x64" + b"\x00" * 32, "audio", "audio/mpeg"),
    "wav": (b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 32, "audio", "audio/wav"),
    "ogg": (b"OggS\x00\x02" + b"\x00" * 32, "audio", "audio/ogg"),
    "m4a": (b"\x00\x00\x00\x20ftypM4A " + b"\x00" * 32, "audio", "audio/mp4"),
}


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer(job_seconds=0.1, upload_seconds=3600) as s:
        yield s


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=60.0) as c:
        yield c


def upload(c: httpx.Client, s: SandboxServer, data: bytes, *, field: str = "file",
           headers: dict[str, str] | None = None) -> httpx.Response:
    return c.post(f"{s.url}/v2/uploads", files={field: ("name.bin", data, "text/plain")},
                  headers=H if headers is None else headers)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_each_format_is_sniffed_from_its_bytes_and_served_from_the_cdn(
        client: httpx.Client, server: SandboxServer, name: str) -> None:
    data, kind, content_type = SAMPLES[name]
    r = upload(client, server, data)
    assert r.status_code == 201, r.text
    answer = r.json()
    assert set(answer) == {"id", "url", "kind", "contentType", "byteSize", "expiresAt"}
    assert (answer["kind"], answer["contentType"], answer["byteSize"]) == (
        kind, content_type, len(data))
    assert answer["url"].startswith(server.cdn_url + "/uploads/")
    assert answer["expiresAt"].endswith("Z")
    served = client.get(answer["url"])
    assert served.status_code == 200
    assert served.content == data and served.headers["content-type"] == content_type
    assert "x-api-key" not in server.recorded_requests()[-1].headers


@pytest.mark.parametrize(("data", "field", "reason"), [
    (b"", "file", "no file"),
    (PNG, "image", "no file"),
    (b"%PDF-1.7 not a picture", "file", "unsupported"),
    (b"plain text", "file", "unsupported"),
])
def test_no_file_or_an_unsupported_type_is_a_400(
        client: httpx.Client, server: SandboxServer, data: bytes, field: str,
        reason: str) -> None:
    r = upload(client, server, data, field=field)
    assert r.status_code == 400, r.text
    assert reason in r.json()["error"] and "file" in r.json()["details"]


def test_a_body_that_is_not_a_form_is_a_400(client: httpx.Client,
                                            server: SandboxServer) -> None:
    r = client.post(f"{server.url}/v2/uploads", content=PNG,
                    headers={**H, "Content-Type": "image/png"})
    assert r.status_code == 400, r.text


def test_an_image_over_25_mb_is_a_400_and_a_video_of_that_size_is_taken(
        client: httpx.Client, server: SandboxServer) -> None:
    size = MAX_UPLOAD_BYTES["image"] + 1
    r = upload(client, server, PNG + b"\x00" * (size - len(PNG)))
    assert r.status_code == 400 and "too large" in r.json()["error"], r.text
    video = SAMPLES["mp4"][0]
    r = upload(client, server, video + b"\x00" * (size - len(video)))
    assert r.status_code == 201 and r.json()["byteSize"] == size, r.text


def test_sniffing_refuses_what_only_looks_close() -> None:
    assert sniff(b"RIFF\x00\x00\x00\x00AVI LIST") is None
    assert sniff(b"\x1a\x45\xdf\xa3 matroska") is None
    assert sniff(b"") is None


def test_the_url_expires(client: httpx.Client) -> None:
    with SandboxServer(upload_seconds=0.3) as short:
        r = upload(client, short, PNG)
        assert r.status_code == 201, r.text
        url = r.json()["url"]
        deadline = time.monotonic() + 20
        while client.get(url).status_code == 200:
            assert time.monotonic() < deadline, "the upload never expired"
            time.sleep(0.05)
        assert client.get(url).status_code == 404


def test_keys_host_and_origin_are_checked_like_every_route(
        client: httpx.Client, server: SandboxServer) -> None:
    assert upload(client, server, PNG, headers={}).status_code == 401
    assert upload(client, server, PNG, headers={"X-API-Key": "nope"}).status_code == 401
    foreign = upload(client, server, PNG, headers={**H, "Origin": "https://evil.example"})
    assert foreign.status_code == 403
    rebound = upload(client, server, PNG, headers={**H, "Host": "evil.example"})
    assert rebound.status_code == 403
    assert client.get(f"{server.url}/v2/uploads", headers=H).status_code == 405
