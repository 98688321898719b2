"""The seed's own examples, run unchanged (but for the host) against the standalone sandbox.

The server runs as ``python -m apiframe_magic.sandbox`` in a subprocess; the examples are a real
``curl`` command line and a real ``requests`` script, each in its own process.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

CURL = "/usr/bin/curl"
KEY = "afk_seed_example_0123456789"
ENV = {**os.environ, "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Standalone:
    def __init__(self, *extra: str, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "apiframe_magic.sandbox", "--port", str(self.port),
             "--job-seconds", "1", *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=ENV if env is None else env,
        )
        assert self.process.stdout is not None
        self.banner = self.process.stdout.readline()
        self.hint = self.process.stdout.readline()
        if not self.hint:
            _out, err = self.stop()
            raise AssertionError("sandbox did not start: " + err)
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> tuple[str, str]:
        self.process.terminate()
        out, err = self.process.communicate(timeout=15)
        return out, err


@pytest.fixture
def standalone() -> Iterator[Standalone]:
    server = Standalone()
    yield server
    server.stop()


def curl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CURL, "-sS", *args], capture_output=True, text=True, timeout=60, env=ENV)


needs_curl = pytest.mark.skipif(not Path(CURL).exists() and shutil.which("curl") is None,
                                reason="curl is not installed at /usr/bin/curl")


def test_the_cli_prints_the_url_and_an_export_hint(standalone: Standalone) -> None:
    assert standalone.url in standalone.banner
    assert standalone.hint.strip() == (
        f"export APIFRAME_BASE_URL={standalone.url} APIFRAME_API_KEY=afk_sandbox")
    _out, err = standalone.stop()
    assert err == ""
    assert standalone.process.returncode == 0


def test_ctrl_c_stops_the_cli_cleanly() -> None:
    server = Standalone()
    server.process.send_signal(signal.SIGINT)
    _out, err = server.process.communicate(timeout=15)
    assert server.process.returncode == 0 and err == ""


@needs_curl
def test_the_seed_curl_submit(standalone: Standalone) -> None:
    result = curl(
        "-X", "POST", f"{standalone.url}/v2/music/generate",
        "-H", f"X-API-Key: {KEY}",
        "-H", "Content-Type: application/json",
        "-d", '{"prompt": "Lo-fi hip hop beat with mellow piano chords and vinyl crackle", '
              '"model": "elevenlabs-music", "elevenlabsParams": {"music_length_ms": 10000}}',
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["status"] == "QUEUED" and len(answer["jobId"]) == 36
    job = curl(f"{standalone.url}/v2/jobs/{answer['jobId']}", "-H", f"X-API-Key: {KEY}")
    assert json.loads(job.stdout)["id"] == answer["jobId"]


@needs_curl
def test_a_fault_from_the_command_line() -> None:
    server = Standalone("--fault", "rate_limit:1")
    try:
        first = curl("-i", f"{server.url}/v2/models")
        assert first.stdout.startswith("HTTP/1.1 429")
        assert "retry-after: 1" in first.stdout.lower()
        assert curl("-o", "/dev/null", "-w", "%{http_code}", f"{server.url}/v2/models").stdout == "200"
    finally:
        server.stop()


SUBMIT_10S = ('{"prompt": "Lo-fi hip hop beat", "model": "elevenlabs-music", '
              '"elevenlabsParams": {"music_length_ms": 10000}}')


@needs_curl
def test_credits_from_the_command_line_and_a_402_on_demand() -> None:
    """``--credits`` sets the starting balance; ``POST /_sandbox/credits`` (the docs' command
    line) sets it at run time, so a class demo can show a 402 and then carry on."""
    server = Standalone("--credits", "15")
    try:
        def submit() -> tuple[str, dict[str, object]]:
            r = curl("-w", "\n%{http_code}", "-X", "POST", f"{server.url}/v2/music/generate",
                     "-H", f"X-API-Key: {KEY}", "-H", "Content-Type: application/json",
                     "-d", SUBMIT_10S)
            body, _, status = r.stdout.rpartition("\n")
            return status, json.loads(body)

        assert submit()[0] == "202"
        status, answer = submit()
        assert (status, answer["error"], answer["creditsAvailable"]) == (
            "402", "Insufficient credits", 5)
        set_all = curl("-X", "POST", f"{server.url}/_sandbox/credits",
                       "-H", "Content-Type: application/json", "-d", '{"credits": 40}')
        assert json.loads(set_all.stdout) == {"credits": 40}
        assert submit()[0] == "202"
        mine = curl(f"{server.url}/_sandbox/credits", "-H", f"X-API-Key: {KEY}")
        assert json.loads(mine.stdout) == {"credits": 30}
    finally:
        server.stop()


@needs_curl
def test_the_cli_starting_balance_comes_from_the_environment() -> None:
    from apiframe_magic.sandbox import CREDITS_ENV

    def starting_balance(env: dict[str, str]) -> object:
        server = Standalone(env=env)
        try:
            me = curl(f"{server.url}/v2/me", "-H", f"X-API-Key: {KEY}")
            return json.loads(me.stdout)["team"]["credits"]
        finally:
            server.stop()

    bare = {k: v for k, v in ENV.items() if k != CREDITS_ENV}
    assert starting_balance(bare) == 1_000_000
    assert starting_balance({**bare, CREDITS_ENV: "42"}) == 42


REQUESTS_EXAMPLE = '''
import time

import requests

API = "{api}"
headers = {{"X-API-Key": "{key}", "Content-Type": "application/json"}}

response = requests.post(
    f"{{API}}/v2/music/generate",
    headers=headers,
    json={{
        "prompt": "Uplifting acoustic folk with guitar and soft harmonies",
        "model": "elevenlabs-music",
        "elevenlabsParams": {{"music_length_ms": 10000}},
    }},
)
job_id = response.json()["jobId"]

while True:
    job = requests.get(f"{{API}}/v2/jobs/{{job_id}}", headers=headers).json()
    if job["status"] in ("COMPLETED", "FAILED"):
        break
    time.sleep(0.2)

print(job["status"])
print(job["result"])
audio = requests.get(job["result"]["tracks"][0]["audioUrl"])
with open("track.mp3", "wb") as f:
    f.write(audio.content)
print(audio.headers["Content-Type"], len(audio.content))
'''


def test_the_seed_requests_loop(standalone: Standalone, tmp_path: Path) -> None:
    script = tmp_path / "example.py"
    script.write_text(textwrap.dedent(REQUESTS_EXAMPLE.format(api=standalone.url, key=KEY)))
    result = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                            text=True, timeout=120, env=ENV)
    assert result.returncode == 0, result.stderr
    status, result_line, audio_line = result.stdout.strip().splitlines()
    assert status == "COMPLETED"
    assert "'audioUrl': 'http://127.0.0.1:" in result_line and "'duration': 10.0" in result_line
    content_type, size = audio_line.split()
    assert content_type == "audio/mpeg"
    assert (tmp_path / "track.mp3").stat().st_size == int(size) > 10_000


def test_help_runs() -> None:
    result = subprocess.run([sys.executable, "-m", "apiframe_magic.sandbox", "--help"],
                            capture_output=True, text=True, timeout=60, env=ENV)
    assert result.returncode == 0
    assert "fault injection" in result.stdout and "slow_job" in result.stdout
