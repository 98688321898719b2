"""The sandbox's HTTP side: an API origin and a separate CDN origin, both on loopback.

Both are stdlib :class:`~http.server.ThreadingHTTPServer` instances run on daemon threads. The
API origin answers ``/v2/...`` like Apiframe (as the project's API contract and the official
SDK's OpenAPI types describe it; ``docs/sandbox.md`` lists what is emulated); the CDN origin
serves rendered audio under ``/audio/<job>-<n>.<ext>`` (and Suno and Udio covers under
``/images/<job>-<n>.svg``, and files sent to ``POST /v2/uploads`` under ``/uploads/<id>.<ext>``
until they expire) without any key, as Apiframe's CDN does, so
tests can prove that the key never travels there.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import math
import os
import re
import shutil
import socket
import sys
import tempfile
import threading
import traceback
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

from ..catalog import MODELS, OUTPUT_FORMATS, validate_action_body, validate_body
from ._faults import Faults, FaultValueError
from ._persist import StoreUnavailable
from ._state import (
    MAX_CONCURRENT_JOBS,
    OVER_LIMIT_MODES,
    OverLimit,
    Renderer,
    Reply,
    SandboxState,
    check_limits,
    error,
    validation_error,
)
from ._uploads import MAX_UPLOAD_BYTES, UPLOAD_TTL_SECONDS, UploadError, Uploads, file_from_multipart

__all__ = [
    "CREDITS_ENV",
    "DEFAULT_CREDITS",
    "EMBEDDED_CREDITS",
    "JOB_SECONDS_ENV",
    "MAX_CONCURRENT_JOBS",
    "OVER_LIMIT_MODES",
    "SANDBOX_API_KEY",
    "RecordedRequest",
    "SandboxServer",
    "embedded_sandbox",
]

SANDBOX_API_KEY = "afk_sandbox"
JOB_SECONDS_ENV = "APIFRAME_SANDBOX_JOB_SECONDS"
CREDITS_ENV = "APIFRAME_SANDBOX_CREDITS"
DEFAULT_CREDITS = 1000
EMBEDDED_CREDITS = 1_000_000
MODALITIES = ("image", "video", "music")
# The stdlib default of 5 makes a burst of concurrent connects wait ~1 s for a SYN retry.
LISTEN_BACKLOG = 128
IDEMPOTENCY_KEY_MAX = 255

_JOB_PATH = re.compile(r"/v2/jobs/(?P<id>[^/]+)")
_AUDIO_PATH = re.compile(r"/audio/(?P<name>[0-9a-f-]{36}-[0-9]\.(?:mp3|wav))")
_IMAGE_PATH = re.compile(r"/images/(?P<name>[0-9a-f-]{36}-[0-9]\.svg)")
_UPLOAD_PATH = re.compile(r"/uploads/(?P<name>[0-9a-f-]{36}\.[a-z0-9]{3,4})")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)

# Request hardening (docs/sandbox.md, "Who may talk to it").
MAX_BODY_BYTES = 1 << 20
# POST /v2/uploads carries the file itself: the largest file allowed, plus room for the form.
UPLOAD_PATH = "/v2/uploads"
MAX_UPLOAD_BODY_BYTES = max(MAX_UPLOAD_BYTES.values()) + (64 << 10)
MAX_JSON_DEPTH = 64
MAX_LINE_BYTES = 8192
MAX_TRAILER_LINES = 64
# After a refused body the client may still be sending; reading (and discarding) that much for
# that long lets it see the answer, where closing at once could reset the connection under it.
LINGER_BYTES = 16 << 20
LINGER_SECONDS = 2.0
CONTROL_PREFIX = "/_sandbox/"
_CONTROL_METHODS: dict[str, tuple[str, ...]] = {
    "/_sandbox/faults": ("GET", "POST", "DELETE"),
    "/_sandbox/credits": ("GET", "POST"),
    "/_sandbox/limits": ("GET", "POST"),
}
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]"})
_AUTHORITY = re.compile(r"(?P<host>\[[0-9a-f:.]+\]|[^\[\]:/@\s]+)(?::[0-9]{1,5})?")
_ORIGIN = re.compile(r"https?://(?P<authority>[^/?#]+)")
_CHUNK_SIZE = re.compile(rb"[0-9a-fA-F]{1,8}")
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_JSON_BRACKET = re.compile(r"[\[\]{}]")


class _BadRequest(Exception):
    """A request whose framing the sandbox cannot trust: answer ``reply`` and close."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.reply = Reply(status, {"error": message}, {"Connection": "close"})


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of range")
    return value


def _json_body(body: bytes) -> tuple[Any, Reply | None]:
    """``body`` as strict JSON (``None`` when empty), or the ``400`` to answer instead.

    Strict means what a JSON parser elsewhere would accept: no ``NaN`` or ``Infinity`` and no
    number too large for a float. Nesting deeper than :data:`MAX_JSON_DEPTH` is refused before
    parsing, since the standard parser recurses and would end in a ``RecursionError``.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None, validation_error({"$": ["request body must be valid JSON"]})
    depth = 0
    for bracket in _JSON_BRACKET.finditer(_JSON_STRING.sub("", text)):
        depth += 1 if bracket.group() in "[{" else -1
        if depth > MAX_JSON_DEPTH:
            return None, validation_error(
                {"$": [f"request body must not nest deeper than {MAX_JSON_DEPTH} levels"]})
    try:
        return json.loads(text or "null", parse_constant=_refuse_constant,
                          parse_float=_finite_float), None
    except ValueError:
        return None, validation_error({"$": ["request body must be valid JSON"]})

@dataclass(frozen=True)
class RecordedRequest:
    """One request as the sandbox received it.

    ``origin`` is ``"api"`` or ``"cdn"``; ``path`` excludes the query string, which is in
    ``query``; header names are lower-case.
    """

    origin: Literal["api", "cdn"]
    method: str
    path: str
    headers: dict[str, str]
    query: str = ""
    body: bytes = b""


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = LISTEN_BACKLOG

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler],
                 sandbox: SandboxServer, origin: Literal["api", "cdn"]) -> None:
        self.sandbox = sandbox
        self.origin: Literal["api", "cdn"] = origin
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Cut idle keep-alive connections so no handler outlives the server."""
        with self._open_lock:
            sockets = list(self._open)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients hanging up mid-response are routine here (drop/truncate faults, timeouts).
        if self.sandbox.verbose:
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    protocol_version = "HTTP/1.1"
    server_version = "ApiframeSandbox/1.0"
    sys_version = ""
    timeout = 60

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.sandbox.verbose:
            super().log_message(format, *args)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_HEAD(self) -> None:
        self._handle("HEAD")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def do_OPTIONS(self) -> None:
        self._handle("OPTIONS")

    # -- plumbing -----------------------------------------------------------------------------

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """What the standard library refuses itself (a malformed request line, headers too long,
        an unknown method), answered in JSON like everything else, and the connection closed."""
        self.log_error("code %d, message %s", code, message)
        self.request_id = "req_" + uuid.uuid4().hex
        phrase = message or self.responses.get(code, ("Error", ""))[0]
        data = json.dumps({"error": phrase}).encode()
        self._start(code, {"Connection": "close", "Content-Type": "application/json",
                           "Content-Length": str(len(data))})
        if self.command != "HEAD":
            self.wfile.write(data)

    def _handle(self, method: str) -> None:
        self.request_id = "req_" + uuid.uuid4().hex
        parts = urlsplit(self.path)
        path = parts.path.rstrip("/") or "/"
        limit = (MAX_UPLOAD_BODY_BYTES if self.server.origin == "api" and path == UPLOAD_PATH
                 else MAX_BODY_BYTES)
        try:
            body = self._read_body(limit)
        except _BadRequest as bad:
            with contextlib.suppress(OSError):
                self._send_json(bad.reply, method)
                self._linger()
            self.close_connection = True
            return
        headers = {name.lower(): value for name, value in self.headers.items()}
        self.server.sandbox._record(RecordedRequest(
            self.server.origin, method, parts.path, headers, parts.query, body))
        try:
            refusal = self._forbidden(method, path)
            if refusal is not None:
                self._send_json(refusal, method)
            else:
                self.route(method, path, parse_qs(parts.query), body)
        except (BrokenPipeError, ConnectionResetError):
            # The client hung up (often on purpose, e.g. a timeout test); nothing to answer.
            self.close_connection = True
        except StoreUnavailable as exc:
            # The state file is the sandbox's database: down, so the service's 503, retried.
            self._send_json(Reply(503, {"error": f"Service temporarily unavailable: {exc}"}), method)
        except Exception:
            traceback.print_exc(file=sys.stderr)
            self._send_json(Reply(500, {"error": "Internal server error"}), method)

    def route(self, method: str, path: str, query: dict[str, list[str]], body: bytes) -> None:
        raise NotImplementedError

    def _read_body(self, limit: int) -> bytes:
        """The request body, chunked or by ``Content-Length``, of at most ``limit`` bytes
        (:data:`MAX_BODY_BYTES`; :data:`MAX_UPLOAD_BODY_BYTES` on the upload route).

        Raises :class:`_BadRequest` (``400``, or ``413`` when too large) for framing it cannot
        trust: a ``Content-Length`` that is not one whole number, a chunk size that is not hex,
        a body that ends early, a transfer coding other than ``chunked``.
        """
        coding = self.headers.get("Transfer-Encoding")
        if coding is not None:
            if coding.strip().lower() != "chunked":
                raise _BadRequest(400, "Transfer-Encoding must be chunked")
            return self._read_chunked(limit)
        lengths = {value.strip() for value in self.headers.get_all("Content-Length") or ()}
        if not lengths:
            return b""
        text = lengths.pop()
        if lengths or not (text.isascii() and text.isdigit()):
            raise _BadRequest(400, "Content-Length must be one whole number of bytes")
        if len(text) > len(str(limit)) or int(text) > limit:
            raise _BadRequest(413, f"the request body is over {limit} bytes")
        length = int(text)
        body = self.rfile.read(length) if length else b""
        if len(body) < length:
            raise _BadRequest(400, "the request body is shorter than its Content-Length")
        return body

    def _read_chunked(self, limit: int) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(MAX_LINE_BYTES + 1)
            size_text = line.split(b";")[0].strip()
            if len(line) > MAX_LINE_BYTES or not _CHUNK_SIZE.fullmatch(size_text):
                raise _BadRequest(400, "bad chunk size: expected a hexadecimal number")
            size = int(size_text, 16)
            if size == 0:
                for _ in range(MAX_TRAILER_LINES):
                    if self.rfile.readline(MAX_LINE_BYTES + 1) in (b"\r\n", b"\n", b""):
                        return b"".join(chunks)
                raise _BadRequest(400, "too many trailer lines after the last chunk")
            total += size
            if total > limit:
                raise _BadRequest(413, f"the request body is over {limit} bytes")
            chunk = self.rfile.read(size)
            if len(chunk) < size or self.rfile.readline(3) not in (b"\r\n", b"\n"):
                raise _BadRequest(400, "a chunk ended early or without its line break")
            chunks.append(chunk)

    def _linger(self) -> None:
        """Half-close, then read what the client still sends (bounded) before the close, so an
        answer sent before the body was read reaches it instead of a connection reset."""
        self.wfile.flush()
        self.connection.shutdown(socket.SHUT_WR)
        self.connection.settimeout(LINGER_SECONDS)
        drained = 0
        with contextlib.suppress(OSError):
            while drained < LINGER_BYTES:
                data = self.rfile.read1(65536)
                if not data:
                    break
                drained += len(data)

    def _forbidden(self, method: str, path: str) -> Reply | None:
        """The ``403`` for a request from where the sandbox must not take orders, else ``None``.

        ``Host`` (when sent) must name the loopback interface or the bound host, so a web page
        that rebinds its own name to ``127.0.0.1`` is refused (DNS rebinding). ``Origin`` (when
        sent) must be a loopback origin, on any port, for every request that can change
        something (any method but ``GET`` and ``HEAD``) and for every control route; other
        reads are left alone, as a page elsewhere cannot read their answers (no CORS headers)
        and a notebook's ``<audio>`` tags load from the CDN origin.
        """
        hosts = self.headers.get_all("Host") or []
        if len(hosts) > 1 or (hosts and not self._own_authority(hosts[0])):
            return error(403, "Forbidden Host: the sandbox answers to 127.0.0.1, localhost, "
                              "[::1] and the host it is bound to")
        origin = self.headers.get("Origin")
        if origin is None or (method in ("GET", "HEAD") and not path.startswith(CONTROL_PREFIX)):
            return None
        match = _ORIGIN.fullmatch(origin.strip().lower())
        if match is None or not self._own_authority(match["authority"]):
            return error(403, "Forbidden Origin: only pages on this machine's loopback "
                              "(127.0.0.1, localhost, [::1]) may send this request")
        return None

    def _own_authority(self, authority: str) -> bool:
        """Whether ``host[:port]`` names the loopback interface or the host the server is bound to
        (any port: a page on another loopback port is still this machine)."""
        match = _AUTHORITY.fullmatch(authority.strip().lower())
        if match is None:
            return False
        bound = self.server.sandbox.host.lower()
        bound = f"[{bound}]" if ":" in bound else bound
        return match["host"] in _LOOPBACK_HOSTS or (bool(bound) and match["host"] == bound)

    def _faulted(self, route: str) -> tuple[Reply | None, bool]:
        """The oldest fault armed for this route: a 429/503 (or non-JSON 200) reply to send instead
        of handling the request, or ``drop`` (True: handle the request, then lose the response)."""
        kinds = ("rate_limit", "unavailable", "drop") + (("not_json",) if route != "download" else ())
        fault = self.server.sandbox.faults.take(kinds, route)
        if fault is None:
            return None, False
        if fault.kind == "drop":
            return None, True
        if fault.kind == "not_json":
            return Reply(200, b"<html><body><h1>Service starting</h1></body></html>",
                         {"Content-Type": "text/html"}), False
        if fault.kind == "rate_limit":
            return Reply(429, {"error": fault.message or "Rate limit exceeded"},
                         {"Retry-After": f"{fault.retry_after:g}"}), False
        return Reply(503, {"error": fault.message or "Service temporarily unavailable"}), False

    def _drop(self) -> None:
        """Lose the response: the connection closes without a byte sent back."""
        self.close_connection = True

    def _start(self, status: int, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("x-request-id", self.request_id)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()

    def _send_json(self, reply: Reply, method: str) -> None:
        data = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
        self._start(reply.status, {"Content-Type": "application/json",
                                   "Content-Length": str(len(data)), **reply.headers})
        if method != "HEAD":
            self.wfile.write(data)

    def _not_allowed(self, allowed: Iterable[str], method: str) -> None:
        allow = ", ".join(allowed)
        self._send_json(Reply(405, {"error": "Method not allowed"}, {"Allow": allow}), method)


class _ApiHandler(_Handler):
    def route(self, method: str, path: str, query: dict[str, list[str]], body: bytes) -> None:
        view: Callable[[dict[str, list[str]], bytes], Reply]
        job_match = _JOB_PATH.fullmatch(path)
        if path == "/v2/music/generate":
            allowed, fault_route, view = ("POST",), "submit", self._submit
        elif path == "/v2/music/suno/action":
            allowed, fault_route, view = ("POST",), "submit", self._submit_action
        elif path == UPLOAD_PATH:
            allowed, fault_route, view = ("POST",), "other", self._upload
        elif path == "/v2/jobs":
            allowed, fault_route, view = ("GET",), "other", self._list_jobs
        elif job_match is not None:
            job_id = job_match["id"]
            allowed, fault_route = ("GET",), "poll"
            view = lambda q, b: self._get_job(job_id)  # noqa: E731
        elif path == "/v2/me":
            allowed, fault_route, view = ("GET",), "other", self._me
        elif path == "/v2/models":
            allowed, fault_route, view = ("GET",), "other", self._models
        elif path in _CONTROL_METHODS:
            refusal = self._control_refusal(method, _CONTROL_METHODS[path])
            if refusal is not None:
                self._send_json(refusal, method)
            elif path == "/_sandbox/faults":
                self._control(method, body)
            elif path == "/_sandbox/credits":
                self._credits_control(method, body)
            else:
                self._limits_control(method, body)
            return
        else:
            self._send_json(error(404, "Not found"), method)
            return
        if (method if method != "HEAD" else "GET") not in allowed:
            self._not_allowed(allowed, method)
            return
        faulted, drop = self._faulted(fault_route)
        reply = faulted or view(query, body)
        if drop:
            self._drop()
        else:
            self._send_json(reply, method)

    def _api_key(self) -> tuple[str | None, Reply | None]:
        key = (self.headers.get("X-API-Key") or "").strip()
        if not key:
            return None, error(401, "API key is required")
        if not self.server.sandbox._state.key_is_valid(key):
            return None, error(401, "Invalid API key")
        return key, None

    def _control_refusal(self, method: str, allowed: tuple[str, ...]) -> Reply | None:
        """What a control route answers before doing anything, else ``None``: ``405`` for a
        method it does not take; ``401`` without a valid ``X-API-Key`` when the server accepts
        only given keys (``--api-key``), or with an invalid one in any case; ``415`` for a body
        sent as anything but ``application/json``. (Host and Origin are checked for every route
        in :meth:`_forbidden`.)"""
        if (method if method != "HEAD" else "GET") not in allowed:
            return Reply(405, {"error": "Method not allowed"}, {"Allow": ", ".join(allowed)})
        if (self.server.sandbox.api_keys is not None
                or (self.headers.get("X-API-Key") or "").strip()):
            key, problem = self._api_key()
            if key is None:
                return problem or error(401, "API key is required")
        media_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if method in ("POST", "PUT", "PATCH") and media_type != "application/json":
            return error(415, "Content-Type must be application/json")
        return None

    def _submit(self, query: dict[str, list[str]], body: bytes) -> Reply:
        key, problem = self._api_key()
        if key is None:
            return problem or error(401, "API key is required")
        idempotency_key = self.headers.get("Idempotency-Key")
        if idempotency_key is not None and not 1 <= len(idempotency_key) <= IDEMPOTENCY_KEY_MAX:
            return validation_error(
                {"Idempotency-Key": [f"must be 1 to {IDEMPOTENCY_KEY_MAX} characters"]})
        payload, bad_json = _json_body(body)
        if bad_json is not None:
            return bad_json
        problems = validate_body(payload)
        if problems:
            return validation_error(problems)
        assert isinstance(payload, dict)
        return self.server.sandbox._state.submit(key, payload, idempotency_key)

    def _submit_action(self, query: dict[str, list[str]], body: bytes) -> Reply:
        """``POST /v2/music/suno/action``: checked like a generate (key, ``Idempotency-Key``,
        strict JSON, the body's own rules), then the parent's rules in the state."""
        key, problem = self._api_key()
        if key is None:
            return problem or error(401, "API key is required")
        idempotency_key = self.headers.get("Idempotency-Key")
        if idempotency_key is not None and not 1 <= len(idempotency_key) <= IDEMPOTENCY_KEY_MAX:
            return validation_error(
                {"Idempotency-Key": [f"must be 1 to {IDEMPOTENCY_KEY_MAX} characters"]})
        payload, bad_json = _json_body(body)
        if bad_json is not None:
            return bad_json
        problems = validate_action_body(payload)  # the catalog's rules, the client's too
        if problems:
            return validation_error(problems)
        assert isinstance(payload, dict)
        return self.server.sandbox._state.submit_action(key, payload, idempotency_key)

    def _upload(self, query: dict[str, list[str]], body: bytes) -> Reply:
        """``POST /v2/uploads``: ``201`` with the file's short-lived CDN URL, or ``400``."""
        key, problem = self._api_key()
        if key is None:
            return problem or error(401, "API key is required")
        sandbox = self.server.sandbox
        try:
            data = file_from_multipart(self.headers.get("Content-Type") or "", body)
            upload = sandbox._uploads.add(data)
        except UploadError as exc:
            return error(400, str(exc), details={"file": [str(exc)]})
        return Reply(201, upload.json(f"{sandbox.cdn_url}/uploads/{upload.name}"))

    def _get_job(self, job_id: str) -> Reply:
        key, problem = self._api_key()
        if key is None:
            return problem or error(401, "API key is required")
        if not _UUID.fullmatch(job_id):
            return validation_error({"id": ["must be a UUID"]})
        job = self.server.sandbox._state.get_job(key, job_id.lower())
        if job is None:
            return error(404, "Job not found")
        return Reply(200, job)

    def _list_jobs(self, query: dict[str, list[str]], body: bytes) -> Reply:
        key, problem = self._api_key()
        if key is None:
            return problem or error(401, "API key is required")
        return self.server.sandbox._state.list_jobs(key, query)

    def _me(self, query: dict[str, list[str]], body: bytes) -> Reply:
        key, problem = self._api_key()
        if key is None:
            return problem or error(401, "API key is required")
        return Reply(200, self.server.sandbox._state.me(key))

    def _models(self, query: dict[str, list[str]], body: bytes) -> Reply:
        """``{"models": [...]}``, the official SDK's ``ModelCatalog`` (not a bare list)."""
        modality = query["modality"][-1] if query.get("modality") else None
        if modality is not None and modality not in MODALITIES:
            return validation_error({"modality": ["must be one of " + ", ".join(MODALITIES)]})
        models: list[dict[str, Any]] = []
        for spec in MODELS.values():
            # What this sandbox charges: the documented prices, else its own stand-in price.
            low, high = spec.price_bounds() or (spec.sandbox_credits, spec.sandbox_credits)
            models.append({"id": spec.id, "label": spec.label, "modality": "music",
                           "description": spec.description, "costMin": low, "costMax": high})
        if modality is not None and modality != "music":
            models = []
        return Reply(200, {"models": models})

    def _credits_control(self, method: str, body: bytes) -> None:
        """``/_sandbox/credits``: read (``GET``) or set (``POST {"credits": N}``) a balance.

        With an ``X-API-Key`` header it is that key's account; without one, ``POST`` sets every
        account and the balance new accounts start with, and ``GET`` shows the latter.
        """
        if method not in ("GET", "HEAD", "POST"):
            self._not_allowed(("GET", "POST"), method)
            return
        key: str | None = None
        if (self.headers.get("X-API-Key") or "").strip():
            key, problem = self._api_key()
            if key is None:
                self._send_json(problem or error(401, "Invalid API key"), method)
                return
        state = self.server.sandbox._state
        if method == "POST":
            spec, bad_json = _json_body(body)
            if bad_json is not None:
                self._send_json(bad_json, method)
                return
            credits = spec.get("credits") if isinstance(spec, dict) else None
            if isinstance(spec, dict) and set(spec) - {"credits"}:
                unknown = sorted(set(spec) - {"credits"})
                self._send_json(validation_error(
                    {k: ["is not an allowed property"] for k in unknown}), method)
                return
            if isinstance(credits, bool) or not isinstance(credits, int) or credits < 0:
                self._send_json(validation_error(
                    {"credits": ["is required: a whole number, 0 or more"]}), method)
                return
            self.server.sandbox.set_credits(credits, api_key=key)
        shown = state.credits_for(key) if key is not None else state.initial_credits
        self._send_json(Reply(200, {"credits": shown}), method)

    def _limits_control(self, method: str, body: bytes) -> None:
        """``/_sandbox/limits``: read (``GET``) or change (``POST``) the concurrency limit.

        ``POST {"maxConcurrentJobs": 3, "overLimit": "reject"}`` (either key may be left out)
        answers the limits now in force, as ``GET`` does.
        """
        if method not in ("GET", "HEAD", "POST"):
            self._not_allowed(("GET", "POST"), method)
            return
        sandbox = self.server.sandbox
        if method == "POST":
            spec, bad_json = _json_body(body)
            if bad_json is not None:
                self._send_json(bad_json, method)
                return
            if not isinstance(spec, dict):
                self._send_json(validation_error({"$": ["must be an object"]}), method)
                return
            details = {k: ["is not an allowed property"]
                       for k in sorted(set(spec) - {"maxConcurrentJobs", "overLimit"})}
            limit = spec.get("maxConcurrentJobs")
            mode = spec.get("overLimit")
            if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)
                                      or limit < 1):
                details["maxConcurrentJobs"] = ["must be a whole number, 1 or more"]
            if mode is not None and mode not in OVER_LIMIT_MODES:
                details["overLimit"] = ["must be one of " + ", ".join(OVER_LIMIT_MODES)]
            if details:
                self._send_json(validation_error(details), method)
                return
            sandbox.set_limits(max_concurrent_jobs=limit, over_limit=mode)
        self._send_json(Reply(200, sandbox._state.limits()), method)

    def _control(self, method: str, body: bytes) -> None:
        faults = self.server.sandbox.faults
        if method == "GET":
            reply = Reply(200, {"faults": [f.to_dict() for f in faults.pending()]})
        elif method == "DELETE":
            faults.clear()
            reply = Reply(200, {"faults": []})
        elif method == "POST":
            reply = self._arm(body)
        else:
            self._not_allowed(("GET", "POST", "DELETE"), method)
            return
        self._send_json(reply, method)

    def _arm(self, body: bytes) -> Reply:
        """``POST /_sandbox/faults``: the knobs go to :meth:`Faults.inject` as sent, which checks
        them; a bad one is a ``400`` naming it."""
        spec, bad_json = _json_body(body)
        if bad_json is not None:
            return bad_json
        if not isinstance(spec, dict) or "kind" not in spec:
            return validation_error({"kind": ["is required"]})
        unknown = set(spec) - {"kind", "times", "route", "retry_after", "seconds", "message"}
        if unknown:
            return validation_error({k: ["is not an allowed property"] for k in sorted(unknown)})
        try:
            fault = self.server.sandbox.faults.inject(
                spec["kind"],
                times=spec.get("times", 1),
                route=spec.get("route", "any"),
                retry_after=spec.get("retry_after", 1.0),
                seconds=spec.get("seconds"),
                message=spec.get("message"),
            )
        except FaultValueError as exc:
            return validation_error({exc.field: [str(exc)]})
        return Reply(201, {"fault": fault.to_dict(),
                           "faults": [f.to_dict() for f in self.server.sandbox.faults.pending()]})


class _CdnHandler(_Handler):
    def route(self, method: str, path: str, query: dict[str, list[str]], body: bytes) -> None:
        match = _AUDIO_PATH.fullmatch(path)
        image = _IMAGE_PATH.fullmatch(path)
        uploaded = _UPLOAD_PATH.fullmatch(path)
        if uploaded is not None and method in ("GET", "HEAD"):
            found = self.server.sandbox._uploads.get(uploaded["name"])
            if found is None or not found[1].is_file():
                self._send_json(error(404, "Not found"), method)
                return
            data = found[1].read_bytes()
            self._start(200, {"Content-Type": found[0].content_type,
                              "Content-Length": str(len(data))})
            if method == "GET":
                self.wfile.write(data)
            return
        if image is not None and method == "GET":
            picture = self.server.sandbox._state.cover_image(image["name"])
            if picture is None:
                self._send_json(error(404, "Not found"), method)
                return
            self._start(200, {"Content-Type": "image/svg+xml", "Content-Length": str(len(picture))})
            self.wfile.write(picture)
            return
        if match is None:
            self._send_json(error(404, "Not found"), method)
            return
        if method not in ("GET", "HEAD"):
            self._not_allowed(("GET", "HEAD"), method)
            return
        faulted, drop = self._faulted("download")
        if drop:
            self._drop()
            return
        if faulted is not None:
            self._send_json(faulted, method)
            return
        file = self.server.sandbox._state.audio_file(match["name"])
        if file is None:
            self._send_json(error(404, "Not found"), method)
            return
        data = file.read_bytes()
        extension = file.suffix.lstrip(".")
        mime = next(f.mime_type for f in OUTPUT_FORMATS.values() if f.extension == extension)
        self._start(200, {"Content-Type": mime, "Content-Length": str(len(data)),
                          "Cache-Control": "public, max-age=86400"})
        if method == "HEAD":
            return
        if method == "GET" and self.server.sandbox.faults.take(("truncate",), "download"):
            self.wfile.write(data[: len(data) // 2])
            self.close_connection = True
            return
        self.wfile.write(data)


class SandboxServer:
    """An offline emulation of Apiframe's v2 music API, for tests, demos and notebooks.

    It listens on two loopback ports: :attr:`url` is the API origin (``/v2/music/generate``,
    ``/v2/music/suno/action``, ``/v2/uploads``, ``/v2/jobs``, ``/v2/me``, ``/v2/models``, plus
    ``/_sandbox/faults`` to inject faults over HTTP) and :attr:`cdn_url` a separate origin
    serving the rendered audio and the uploads without a key. An upload's URL lives
    ``upload_seconds``.

    ``api_keys=None`` accepts any key starting with ``afk_``; each key is its own account
    holding ``credits`` (change balances later with :meth:`set_credits` or
    ``POST /_sandbox/credits``). An account runs at most ``max_concurrent_jobs`` jobs at once
    (``GET /v2/me`` reports it as ``team.maxConcurrentJobs``); a job holds a slot from submit
    until it ends. Over the limit, ``over_limit="queue"`` keeps the new job ``QUEUED`` until a
    slot frees (its ``job_seconds`` start then), and ``"reject"`` answers ``429`` with a
    ``Retry-After`` and charges nothing. Change both later with :meth:`set_limits` or
    ``POST /_sandbox/limits``. Jobs take ``job_seconds`` (``QUEUED`` briefly, then ``PROCESSING``
    with rising progress) and also wait for their audio, rendered off the request threads by
    ``renderer`` (default :func:`apiframe_magic.sandbox._audio.render_audio`) into
    ``files_dir`` (a temporary directory removed on :meth:`stop` by default).
    :attr:`faults` injects failures; see :class:`Faults`. ``state_path`` keeps the accounts'
    credits, the jobs and the idempotency keys in that SQLite file, so a later server on the
    same file (or one running at the same time) serves the same jobs, rendering their audio
    again on demand; ``None`` keeps them in memory. A file that cannot be used as it is never
    stops the server: :attr:`notice` says what happened to it, in one line.

    >>> with SandboxServer(job_seconds=0.5) as server:   # doctest: +SKIP
    ...     print(server.url, server.cdn_url)
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        cdn_port: int = 0,
        job_seconds: float = 3.0,
        credits: int = DEFAULT_CREDITS,
        api_keys: Iterable[str] | None = None,
        files_dir: str | os.PathLike[str] | None = None,
        renderer: Renderer | None = None,
        faults: Faults | None = None,
        verbose: bool = False,
        max_concurrent_jobs: int = MAX_CONCURRENT_JOBS,
        over_limit: OverLimit = "queue",
        state_path: str | os.PathLike[str] | None = None,
        upload_seconds: float = UPLOAD_TTL_SECONDS,
    ) -> None:
        if job_seconds < 0:
            raise ValueError("job_seconds must not be negative")
        if isinstance(credits, bool) or int(credits) < 0:
            raise ValueError("credits must be a whole number, 0 or more")
        check_limits(max_concurrent_jobs, over_limit)
        self.host = host
        self.port = port
        self.cdn_port = cdn_port
        self.job_seconds = float(job_seconds)
        self.credits = int(credits)
        self.api_keys = tuple(api_keys) if api_keys is not None else None
        self.faults = faults if faults is not None else Faults()
        self.verbose = verbose
        self.max_concurrent_jobs = max_concurrent_jobs
        self.over_limit: OverLimit = over_limit
        self._renderer = renderer
        self._files_dir = Path(files_dir) if files_dir is not None else None
        self._owns_files_dir = files_dir is None
        self.state_path = Path(state_path) if state_path is not None else None
        self.upload_seconds = float(upload_seconds)
        self._uploads_obj: Uploads | None = None
        self.notice: str | None = None
        self._requests: list[RecordedRequest] = []
        self._requests_lock = threading.Lock()
        self._lifecycle = threading.Lock()
        self._servers: list[_HTTPServer] = []
        self._origins: tuple[str, str] | None = None
        self._threads: list[threading.Thread] = []
        self._state_obj: SandboxState | None = None
        self._stopped = False

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> SandboxServer:
        """Bind both ports and serve on daemon threads; returns once both accept connections."""
        with self._lifecycle:
            if self._servers:
                return self
            if self._stopped:
                raise RuntimeError("a stopped SandboxServer cannot be restarted; make a new one")
            if self._files_dir is None:
                self._files_dir = Path(tempfile.mkdtemp(prefix="apiframe-sandbox-"))
            self._files_dir.mkdir(parents=True, exist_ok=True)
            api = _HTTPServer((self.host, self.port), _ApiHandler, self, "api")
            try:
                cdn = _HTTPServer((self.host, self.cdn_port), _CdnHandler, self, "cdn")
            except BaseException:
                api.server_close()
                raise
            self._servers = [api, cdn]
            self._origins = (self._origin_of(api), self._origin_of(cdn))
            self._state_obj = SandboxState(
                job_seconds=self.job_seconds,
                credits=self.credits,
                api_keys=self.api_keys,
                files_dir=self._files_dir,
                renderer=self._renderer,
                faults=self.faults,
                audio_url=lambda name: f"{self.cdn_url}/audio/{name}",
                max_concurrent_jobs=self.max_concurrent_jobs,
                over_limit=self.over_limit,
                state_path=self.state_path,
            )
            self.notice = self._state_obj.notice
            self._uploads_obj = Uploads(self._files_dir / "uploads", self.upload_seconds)
            for server in self._servers:
                thread = threading.Thread(
                    target=server.serve_forever, kwargs={"poll_interval": 0.05},
                    name=f"sandbox-{server.origin}", daemon=True)
                thread.start()
                self._threads.append(thread)
        return self

    def stop(self) -> None:
        """Stop both listeners, cut open connections and (by default) delete the audio files."""
        with self._lifecycle:
            if self._stopped:
                return
            self._stopped = True
            servers, self._servers = self._servers, []
            for server in servers:
                server.shutdown()
                server.server_close()
                server.close_connections()
            for thread in self._threads:
                thread.join(timeout=5)
            if self._state_obj is not None:
                self._state_obj.close()
            if self._owns_files_dir and self._files_dir is not None:
                shutil.rmtree(self._files_dir, ignore_errors=True)

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.url if self._servers else "not running"
        return f"<SandboxServer {where}>"

    # -- what tests look at -------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The API origin, e.g. ``http://127.0.0.1:41234`` (no trailing slash)."""
        return self._origin(0)

    @property
    def cdn_url(self) -> str:
        """The CDN origin serving ``/audio/<job>-<n>.<ext>``, on its own port."""
        return self._origin(1)

    @property
    def files_dir(self) -> Path | None:
        """Where rendered audio is kept (``None`` before :meth:`start` when not given)."""
        return self._files_dir

    @property
    def jobs_created(self) -> int:
        """Jobs actually created; idempotent replays and rejected submits do not count."""
        return self._state_obj.jobs_created if self._state_obj is not None else 0

    def credits_for(self, api_key: str) -> int:
        """Credits left on the account of ``api_key`` (reserved credits already deducted)."""
        if self._state_obj is None:
            return self.credits
        return self._state_obj.credits_for(api_key)

    def set_credits(self, credits: int, *, api_key: str | None = None) -> None:
        """Set the balance of ``api_key``'s account, or, with no key, of every account and of
        the accounts still to come (:attr:`credits`). ``set_credits(0)`` makes the next submit
        a 402, as a class demo may want."""
        if isinstance(credits, bool) or not isinstance(credits, int) or credits < 0:
            raise ValueError(f"credits must be a whole number, 0 or more, got {credits!r}")
        if api_key is None:
            self.credits = credits
        elif self._state_obj is None:
            raise RuntimeError("the sandbox server is not started; call start() first")
        if self._state_obj is not None:
            self._state_obj.set_credits(credits, api_key)

    def set_limits(self, max_concurrent_jobs: int | None = None,
                   over_limit: OverLimit | None = None) -> None:
        """Change how many jobs an account may run at once, or what a submit over that limit
        gets (``"queue"`` or ``"reject"``); ``None`` keeps the current value. Works before and
        after :meth:`start`. Running jobs are never stopped: under a lower limit new jobs wait
        (or are refused) until enough end; under a higher one, waiting jobs start at once."""
        limit = self.max_concurrent_jobs if max_concurrent_jobs is None else max_concurrent_jobs
        mode = self.over_limit if over_limit is None else over_limit
        check_limits(limit, mode)
        with self._lifecycle:
            self.max_concurrent_jobs, self.over_limit = limit, mode
            if self._state_obj is not None:
                self._state_obj.set_limits(limit, mode)

    def recorded_requests(self) -> list[RecordedRequest]:
        """Every request received so far by either origin, oldest first."""
        with self._requests_lock:
            return list(self._requests)

    def clear_recorded_requests(self) -> None:
        with self._requests_lock:
            self._requests.clear()

    # -- internals ----------------------------------------------------------------------------

    @property
    def _uploads(self) -> Uploads:
        if self._uploads_obj is None:
            raise RuntimeError("the sandbox server is not started")
        return self._uploads_obj

    @property
    def _state(self) -> SandboxState:
        if self._state_obj is None:
            raise RuntimeError("the sandbox server is not started")
        return self._state_obj

    def _record(self, request: RecordedRequest) -> None:
        with self._requests_lock:
            self._requests.append(request)

    def _origin(self, index: int) -> str:
        if self._origins is None:
            raise RuntimeError("the sandbox server is not started; call start() first")
        return self._origins[index]

    def _origin_of(self, server: _HTTPServer) -> str:
        port = server.server_address[1]
        host = self.host
        if host in ("", "0.0.0.0"):
            host = "127.0.0.1"
        return f"http://{host}:{port}"


_embedded: SandboxServer | None = None
# The embedded sandboxes that keep their jobs in a file, by the file's resolved path.
_embedded_at: dict[Path, SandboxServer] = {}
_embedded_lock = threading.Lock()


def credits_from_env(default: int = EMBEDDED_CREDITS) -> int:
    """The starting balance ``$APIFRAME_SANDBOX_CREDITS`` asks for (a whole number, 0 or more;
    ``1_000_000`` is fine), or ``default`` when it is unset or unreadable."""
    raw = os.environ.get(CREDITS_ENV, "").strip()
    try:
        credits = int(raw) if raw else default
    except ValueError:
        return default
    return credits if credits >= 0 else default


def job_seconds_from_env(default: float = 3.0) -> float:
    """How long jobs take as ``$APIFRAME_SANDBOX_JOB_SECONDS`` asks (0 or more), or ``default``
    when it is unset or unreadable."""
    raw = os.environ.get(JOB_SECONDS_ENV, "").strip()
    try:
        seconds = float(raw) if raw else default
    except ValueError:
        return default
    return max(0.0, seconds)


def embedded_sandbox(*, state_path: str | os.PathLike[str] | None = None) -> SandboxServer:
    """The process-wide sandbox, started on first call and stopped at exit.

    Its jobs take ``$APIFRAME_SANDBOX_JOB_SECONDS`` seconds (default 3), and each account
    starts with ``$APIFRAME_SANDBOX_CREDITS`` credits (default 1,000,000: a day of teaching
    is a few thousand tracks at 10 to 30 credits each), both read when it starts. Thread-safe.

    With ``state_path`` it is the one sandbox of this process keeping its jobs, credits and
    idempotency keys in that file (one per file, however the path is spelt), so the jobs left
    on it are collected by any later process; its :attr:`SandboxServer.notice` says when the
    file had to be moved aside or could not be used.
    """
    global _embedded
    where = None if state_path is None else Path(state_path).expanduser().resolve()
    with _embedded_lock:
        server = _embedded if where is None else _embedded_at.get(where)
        if server is None:
            server = SandboxServer(job_seconds=job_seconds_from_env(), credits=credits_from_env(),
                                   state_path=where).start()
            atexit.register(server.stop)
            if where is None:
                _embedded = server
            else:
                _embedded_at[where] = server
        return server
