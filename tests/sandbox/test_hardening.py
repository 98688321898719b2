"""The sandbox refuses what it must not obey and answers malformed HTTP in JSON, then carries on.

Control routes (``/_sandbox/...``) need the key when the server has given keys, take only
``application/json`` bodies and only loopback origins; every route refuses a foreign ``Host``
(DNS rebinding). Broken framing, deep JSON and bad fault knobs are ``400``/``413`` JSON answers,
never a traceback, and the server answers the next request.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from apiframe_magic.sandbox import SandboxServer
from apiframe_magic.sandbox._faults import Faults, FaultValueError
from apiframe_magic.sandbox._server import MAX_BODY_BYTES, MAX_JSON_DEPTH

KEY = "afk_hardening_0123456789"
OTHER_KEY = "afk_hardening_other_9876"
JSON = {"Content-Type": "application/json"}
SUBMIT = {"prompt": "calm piano", "model": "elevenlabs-music",
          "elevenlabsParams": {"music_length_ms": 5000}}


def instant(prompt: str, *, length_ms: int, output_format: str,
            force_instrumental: bool = False, variation: int = 0) -> bytes:
    """Stand-in audio: these tests are about the HTTP edge, not the music."""
    return b"ID3\x04" + bytes(256)


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    with SandboxServer(job_seconds=0.2, renderer=instant) as s:
        yield s


@pytest.fixture
def keyed() -> Iterator[SandboxServer]:
    """A server started as with ``--api-key``: only the given keys get in."""
    with SandboxServer(job_seconds=0.2, renderer=instant, api_keys=[KEY, OTHER_KEY]) as s:
        yield s


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30, trust_env=False) as c:
        yield c


def still_answers(client: httpx.Client, server: SandboxServer) -> None:
    r = client.get(f"{server.url}/v2/models")
    assert r.status_code == 200 and r.json()["models"]


def raw(server: SandboxServer, request: bytes) -> tuple[int, dict[str, str], Any]:
    """Send ``request`` as is; read until the server closes the connection (which is asserted
    by reaching the end at all: a server that kept it open would time the read out)."""
    parts = urlsplit(server.url)
    assert parts.hostname is not None and parts.port is not None
    received = b""
    with socket.create_connection((parts.hostname, parts.port), timeout=15) as sock:
        sock.sendall(request)
        while chunk := sock.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip()
               for name, _, value in (line.partition(":") for line in lines)}
    assert int(headers["content-length"]) == len(body)
    assert headers["content-type"] == "application/json"
    return int(status_line.split()[1]), headers, json.loads(body)


def request_bytes(method: str, path: str, *headers: str, body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


# -- the key --------------------------------------------------------------------------------

@pytest.mark.parametrize(("method", "path", "payload"), [
    ("POST", "/_sandbox/credits", {"credits": 0}),
    ("GET", "/_sandbox/credits", None),
    ("POST", "/_sandbox/faults", {"kind": "unavailable"}),
    ("GET", "/_sandbox/faults", None),
    ("DELETE", "/_sandbox/faults", None),
    ("POST", "/_sandbox/limits", {"maxConcurrentJobs": 1}),
    ("GET", "/_sandbox/limits", None),
])
def test_with_given_keys_every_control_route_needs_one(
    keyed: SandboxServer, client: httpx.Client, method: str, path: str, payload: Any
) -> None:
    for headers in ({}, {"X-API-Key": "afk_not_given"}):
        r = client.request(method, keyed.url + path, json=payload, headers=headers)
        assert r.status_code == 401 and r.json()["error"] in (
            "API key is required", "Invalid API key")
    assert keyed.credits_for(KEY) == 1000 and keyed.faults.pending() == []
    assert keyed.max_concurrent_jobs == 10
    r = client.request(method, keyed.url + path, json=payload, headers={"X-API-Key": KEY})
    assert r.status_code in (200, 201)


def test_with_given_keys_a_balance_changes_only_with_its_own_key(
    keyed: SandboxServer, client: httpx.Client
) -> None:
    r = client.post(f"{keyed.url}/_sandbox/credits", json={"credits": 0})
    assert r.status_code == 401
    r = client.post(f"{keyed.url}/_sandbox/credits", json={"credits": 7},
                    headers={"X-API-Key": KEY})
    assert r.json() == {"credits": 7}
    assert (keyed.credits_for(KEY), keyed.credits_for(OTHER_KEY)) == (7, 1000)


def test_without_given_keys_a_wrong_key_is_refused_on_every_control_route(
    server: SandboxServer, client: httpx.Client
) -> None:
    bad = {"X-API-Key": "not_a_sandbox_key"}
    assert client.post(f"{server.url}/_sandbox/faults", json={"kind": "drop"},
                       headers=bad).status_code == 401
    assert client.post(f"{server.url}/_sandbox/limits", json={"maxConcurrentJobs": 1},
                       headers=bad).status_code == 401
    assert server.faults.pending() == [] and server.max_concurrent_jobs == 10
    # No key at all is still fine there: any afk_ key would get in anyway.
    assert client.post(f"{server.url}/_sandbox/faults", json={"kind": "drop"}).status_code == 201


# -- Content-Type ---------------------------------------------------------------------------

@pytest.mark.parametrize("content_type", [
    None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
    "application/jsonp",
])
@pytest.mark.parametrize(("path", "payload"), [
    ("/_sandbox/faults", {"kind": "unavailable"}),
    ("/_sandbox/credits", {"credits": 0}),
    ("/_sandbox/limits", {"maxConcurrentJobs": 1}),
])
def test_control_posts_take_only_json(
    server: SandboxServer, client: httpx.Client, content_type: str | None, path: str,
    payload: dict[str, Any]
) -> None:
    """A web page can POST ``text/plain`` (or a form) anywhere without a preflight."""
    headers = {} if content_type is None else {"Content-Type": content_type}
    r = client.post(server.url + path, content=json.dumps(payload), headers=headers)
    assert r.status_code == 415
    assert r.json() == {"error": "Content-Type must be application/json"}
    assert server.faults.pending() == [] and server.credits_for(KEY) == 1000
    assert server.max_concurrent_jobs == 10
    r = client.post(server.url + path, content=json.dumps(payload),
                    headers={"Content-Type": "Application/JSON; charset=utf-8"})
    assert r.status_code in (200, 201)


def test_api_routes_keep_following_the_contract_without_a_content_type(
    server: SandboxServer, client: httpx.Client
) -> None:
    r = client.post(f"{server.url}/v2/music/generate", content=json.dumps(SUBMIT),
                    headers={"X-API-Key": KEY})
    assert r.status_code == 202


# -- Host -----------------------------------------------------------------------------------

@pytest.mark.parametrize("host", ["evil.example", "evil.example:80", "127.0.0.1.evil.example",
                                  "localhost.evil.example", "[::2]", "127.0.0.1@evil.example"])
def test_a_foreign_host_is_refused_on_every_route(
    server: SandboxServer, client: httpx.Client, host: str
) -> None:
    """A page whose own name was rebound to 127.0.0.1 sends its name as ``Host``."""
    for url in (f"{server.url}/v2/models", f"{server.url}/v2/me", f"{server.url}/_sandbox/faults",
                f"{server.cdn_url}/audio/{'0' * 8}-{'0' * 4}-{'0' * 4}-{'0' * 4}-{'0' * 12}-0.mp3"):
        r = client.get(url, headers={"Host": host, "X-API-Key": KEY})
        assert r.status_code == 403 and r.json()["error"].startswith("Forbidden Host"), url
    r = client.post(f"{server.url}/_sandbox/faults", json={"kind": "drop"}, headers={"Host": host})
    assert r.status_code == 403 and server.faults.pending() == []
    still_answers(client, server)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.1:1", "localhost", "LOCALHOST:8787",
                                  "[::1]", "[::1]:8787"])
def test_loopback_hosts_on_any_port_are_accepted(
    server: SandboxServer, client: httpx.Client, host: str
) -> None:
    assert client.get(f"{server.url}/v2/models", headers={"Host": host}).status_code == 200


def test_the_bound_host_is_accepted_too(client: httpx.Client) -> None:
    with SandboxServer(host="localhost", job_seconds=0.2, renderer=instant) as s:
        port = urlsplit(s.url).port
        assert client.get(f"{s.url}/v2/models", headers={"Host": f"localhost:{port}"}
                          ).status_code == 200
        assert client.get(f"{s.url}/v2/models", headers={"Host": "evil.example"}
                          ).status_code == 403


# -- Origin ---------------------------------------------------------------------------------

FOREIGN_ORIGINS = ["https://evil.example", "http://evil.example:8888", "null",
                   "http://127.0.0.1.evil.example", "file://", "ftp://localhost",
                   "http://localhost@evil.example"]


@pytest.mark.parametrize("origin", FOREIGN_ORIGINS)
def test_a_foreign_origin_cannot_change_anything(
    server: SandboxServer, client: httpx.Client, origin: str
) -> None:
    headers = {"Origin": origin, "X-API-Key": KEY}
    for path, payload in (("/_sandbox/faults", {"kind": "unavailable"}),
                          ("/_sandbox/credits", {"credits": 0}),
                          ("/_sandbox/limits", {"maxConcurrentJobs": 1}),
                          ("/v2/music/generate", SUBMIT)):
        r = client.post(server.url + path, json=payload, headers=headers)
        assert r.status_code == 403 and r.json()["error"].startswith("Forbidden Origin"), path
    r = client.delete(f"{server.url}/_sandbox/faults", headers=headers)
    assert r.status_code == 403
    assert client.get(f"{server.url}/_sandbox/credits", headers=headers).status_code == 403
    assert server.faults.pending() == [] and server.jobs_created == 0
    assert server.credits_for(KEY) == 1000 and server.max_concurrent_jobs == 10
    # Plain reads answer whatever the Origin: a foreign page cannot read them (no CORS headers).
    assert client.get(f"{server.url}/v2/models", headers=headers).status_code == 200


@pytest.mark.parametrize("origin", ["http://localhost:8888", "http://127.0.0.1:8888",
                                    "https://localhost", "http://[::1]:9000"])
def test_a_loopback_origin_on_any_port_may(
    server: SandboxServer, client: httpx.Client, origin: str
) -> None:
    """JupyterLab on localhost:8888 is on another port than the sandbox, and that is fine."""
    headers = {"Origin": origin, "X-API-Key": KEY}
    r = client.post(f"{server.url}/_sandbox/faults", json={"kind": "slow_job"}, headers=headers)
    assert r.status_code == 201
    assert client.post(f"{server.url}/v2/music/generate", json=SUBMIT,
                       headers=headers).status_code == 202


def test_the_cdn_serves_audio_to_a_loopback_page(
    server: SandboxServer, client: httpx.Client
) -> None:
    job = client.post(f"{server.url}/v2/music/generate", json=SUBMIT,
                      headers={"X-API-Key": KEY}).json()["jobId"]
    for _ in range(1500):  # bounded: a 0.2 s job with instant audio
        answer = client.get(f"{server.url}/v2/jobs/{job}", headers={"X-API-Key": KEY}).json()
        if answer["status"] == "COMPLETED":
            break
        time.sleep(0.02)
    assert answer["status"] == "COMPLETED"
    audio_url = answer["result"]["tracks"][0]["audioUrl"]
    r = client.get(audio_url, headers={"Origin": "http://localhost:8888"})
    assert r.status_code == 200 and r.content.startswith(b"ID3")


# -- JSON bodies ----------------------------------------------------------------------------

def test_deeply_nested_json_is_a_400_without_a_traceback(
    server: SandboxServer, client: httpx.Client, capfd: pytest.CaptureFixture[str]
) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    for path in ("/v2/music/generate", "/_sandbox/faults", "/_sandbox/credits",
                 "/_sandbox/limits"):
        r = client.post(server.url + path, content=deep, headers={**JSON, "X-API-Key": KEY})
        assert r.status_code == 400, path
        assert r.json()["details"] == {
            "$": [f"request body must not nest deeper than {MAX_JSON_DEPTH} levels"]}
    assert "Traceback" not in capfd.readouterr().err
    still_answers(client, server)


def test_nesting_up_to_the_limit_parses_and_brackets_in_text_do_not_count(
    server: SandboxServer, client: httpx.Client
) -> None:
    inside = "[" * (MAX_JSON_DEPTH - 1) + "]" * (MAX_JSON_DEPTH - 1)
    r = client.post(f"{server.url}/_sandbox/faults", headers=JSON,
                    content='{"kind": "fail_job", "message": ' + inside + "}")
    assert r.status_code == 400 and list(r.json()["details"]) == ["message"]
    r = client.post(f"{server.url}/v2/music/generate", headers={"X-API-Key": KEY},
                    json={**SUBMIT, "prompt": "piano [" + "[{" * 200 + ' "quoted \\" ['})
    assert r.status_code == 202


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_numbers_json_does_not_have_are_invalid_json(
    server: SandboxServer, client: httpx.Client, text: str
) -> None:
    r = client.post(f"{server.url}/_sandbox/faults", headers=JSON,
                    content='{"kind": "rate_limit", "retry_after": ' + text + "}")
    assert r.status_code == 400
    assert r.json()["details"] == {"$": ["request body must be valid JSON"]}
    assert server.faults.pending() == []


# -- fault knobs ----------------------------------------------------------------------------

@pytest.mark.parametrize(("spec", "field"), [
    ({"kind": "rate_limit", "retry_after": "nan"}, "retry_after"),
    ({"kind": "rate_limit", "retry_after": "1"}, "retry_after"),
    ({"kind": "rate_limit", "retry_after": -1}, "retry_after"),
    ({"kind": "rate_limit", "retry_after": 1e300}, "retry_after"),
    ({"kind": "rate_limit", "retry_after": None}, "retry_after"),
    ({"kind": "rate_limit", "retry_after": True}, "retry_after"),
    ({"kind": "unavailable", "seconds": "Infinity"}, "seconds"),
    ({"kind": "slow_job", "seconds": 10 ** 7}, "seconds"),
    ({"kind": "fail_job", "message": {"text": "no"}}, "message"),
    ({"kind": "fail_job", "message": 42}, "message"),
    ({"kind": "fail_job", "message": "x" * 10_000}, "message"),
    ({"kind": "drop", "times": 2.5}, "times"),
    ({"kind": "drop", "times": 10 ** 30}, "times"),
    ({"kind": "drop", "route": ["poll"]}, "route"),
    ({"kind": 5}, "kind"),
    ({"kind": ["drop"]}, "kind"),
])
def test_bad_fault_knobs_are_a_400_naming_the_field(
    server: SandboxServer, client: httpx.Client, spec: dict[str, Any], field: str
) -> None:
    r = client.post(f"{server.url}/_sandbox/faults", json=spec)
    assert r.status_code == 400
    assert r.json()["error"] == "Validation failed" and list(r.json()["details"]) == [field]
    assert server.faults.pending() == []
    assert client.get(f"{server.url}/_sandbox/faults").json() == {"faults": []}


def test_a_good_fault_still_answers_a_readable_retry_after(
    server: SandboxServer, client: httpx.Client
) -> None:
    r = client.post(f"{server.url}/_sandbox/faults",
                    json={"kind": "rate_limit", "route": "submit", "retry_after": 2.5})
    assert r.status_code == 201 and r.json()["fault"]["retry_after"] == 2.5
    r = client.post(f"{server.url}/v2/music/generate", json=SUBMIT, headers={"X-API-Key": KEY})
    assert r.status_code == 429 and r.headers["retry-after"] == "2.5"


def test_the_python_api_checks_the_same_knobs() -> None:
    faults = Faults()
    for knobs, field in (({"retry_after": float("nan")}, "retry_after"),
                         ({"seconds": float("inf")}, "seconds"),
                         ({"message": b"bytes"}, "message")):
        with pytest.raises(FaultValueError) as caught:
            faults.inject("rate_limit", **knobs)
        assert caught.value.field == field
    assert faults.pending() == []


# -- broken framing, over raw sockets -------------------------------------------------------

@pytest.mark.parametrize(("headers", "body", "status"), [
    (["Content-Length: abc"], b"", 400),
    (["Content-Length: -5"], b"", 400),
    (["Content-Length: 1e3"], b"", 400),
    (["Content-Length: 2", "Content-Length: 3"], b"{}", 400),
    ([f"Content-Length: {MAX_BODY_BYTES + 1}"], b"{}", 413),
    (["Content-Length: 99999999999999999999999999"], b"", 413),
    (["Transfer-Encoding: chunked"], b"zz\r\n{}\r\n0\r\n\r\n", 400),
    (["Transfer-Encoding: chunked"], b"-1\r\n{}\r\n0\r\n\r\n", 400),
    (["Transfer-Encoding: chunked"], b"2\r\n{}XX0\r\n\r\n", 400),
    (["Transfer-Encoding: chunked"], b"%x\r\n" % (MAX_BODY_BYTES + 1), 413),
    (["Transfer-Encoding: chunked"], b"fffffffff\r\n", 400),
    (["Transfer-Encoding: gzip"], b"", 400),
])
@pytest.mark.parametrize("path", ["/_sandbox/faults", "/v2/music/generate"])
def test_broken_framing_is_answered_in_json_and_the_connection_closed(
    server: SandboxServer, client: httpx.Client, capfd: pytest.CaptureFixture[str],
    headers: list[str], body: bytes, status: int, path: str
) -> None:
    status_got, answer_headers, answer = raw(server, request_bytes(
        "POST", path, "Content-Type: application/json", f"X-API-Key: {KEY}", *headers,
        body=body))
    assert status_got == status
    assert answer_headers["connection"] == "close" and answer_headers["x-request-id"]
    assert isinstance(answer["error"], str) and answer["error"]
    assert server.faults.pending() == [] and server.jobs_created == 0
    assert "Traceback" not in capfd.readouterr().err
    still_answers(client, server)


def test_an_oversized_body_being_sent_still_gets_its_answer(
    server: SandboxServer, client: httpx.Client
) -> None:
    """The answer goes out before the body is read; the rest is read and dropped, so the
    connection is not reset under the client while it is still sending."""
    body = b" " * (MAX_BODY_BYTES + 1)
    r = client.post(f"{server.url}/_sandbox/faults", content=body, headers=JSON)
    assert r.status_code == 413 and "over" in r.json()["error"]
    still_answers(client, server)


def test_a_good_chunked_body_still_works(server: SandboxServer) -> None:
    payload = b'{"kind": "drop", "times": 3}'
    chunked = b"%x;ext=1\r\n%s\r\n0\r\nX-Trailer: 1\r\n\r\n" % (len(payload), payload)
    status, _, answer = raw(server, request_bytes(
        "POST", "/_sandbox/faults", "Content-Type: application/json",
        "Transfer-Encoding: chunked", "Connection: close", body=chunked))
    assert status == 201 and answer["fault"]["times"] == 3


@pytest.mark.parametrize("request_line", [b"GARBAGE\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n",
                                          b"BREW /v2/models HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"])
def test_what_the_standard_library_refuses_is_answered_in_json(
    server: SandboxServer, client: httpx.Client, request_line: bytes
) -> None:
    parts = urlsplit(server.url)
    assert parts.hostname is not None and parts.port is not None
    received = b""
    with socket.create_connection((parts.hostname, parts.port), timeout=15) as sock:
        sock.sendall(request_line)
        while chunk := sock.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    if head.startswith(b"HTTP/"):
        assert int(head.split()[1]) >= 400
        assert b"application/json" in head
    else:  # an HTTP/0.9 exchange: no status line, just the body
        body = received
    assert isinstance(json.loads(body)["error"], str)
    still_answers(client, server)
