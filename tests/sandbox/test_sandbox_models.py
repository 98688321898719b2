"""The sandbox emulates every model of the catalogue over HTTP: validation, tracks per job with
different takes, credits, and the documented result fields."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from apiframe_magic.catalog import MODELS
from apiframe_magic.sandbox import SandboxServer

KEY = "afk_models"


def fingerprint_renderer(
    prompt: str, *, length_ms: int, output_format: str, force_instrumental: bool = False,
    variation: int = 0,
) -> bytes:
    """Instant audio whose bytes say which take of what it is, so tests can tell takes apart."""
    head = b"RIFF" if output_format.startswith("wav") else b"ID3\x04"
    tag = f"{prompt}|{length_ms}|{force_instrumental}|{variation}".encode()
    return head + hashlib.sha256(tag).digest() + tag


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    with SandboxServer(job_seconds=0.1, renderer=fingerprint_renderer, credits=1000) as s:
        yield s


def run(server: SandboxServer, body: dict[str, Any]) -> dict[str, Any]:
    headers = {"X-API-Key": KEY}
    with httpx.Client(base_url=server.url, headers=headers, timeout=10) as http:
        answer = http.post("/v2/music/generate", json=body)
        assert answer.status_code == 202, answer.text
        job_id = answer.json()["jobId"]
        for _ in range(200):
            job: dict[str, Any] = http.get(f"/v2/jobs/{job_id}").json()
            if job["status"] in ("COMPLETED", "FAILED"):
                return job
            time.sleep(0.05)
    raise AssertionError("job did not finish")


@pytest.mark.parametrize(
    ("model", "params", "tracks", "cost"),
    [
        ("suno", {}, 2, 11),
        ("udio", {"seed": 7}, 2, 9),
        ("producer", {"seed": "abc"}, 2, MODELS["producer"].sandbox_credits),
        ("lyria-3-clip", {}, 1, MODELS["lyria-3-clip"].sandbox_credits),
        ("lyria-3-pro", {}, 1, MODELS["lyria-3-pro"].sandbox_credits),
        ("mureka", {}, 2, 12),
        ("mureka", {"n": 3}, 3, 18),
        ("mureka", {"n": 1}, 1, 6),
    ],
)
def test_every_model_runs_with_its_tracks_and_price(
    server: SandboxServer, model: str, params: dict[str, Any], tracks: int, cost: int
) -> None:
    body: dict[str, Any] = {"prompt": "a mellow folk song about rivers", "model": model}
    if params:
        body[MODELS[model].params_key] = params
    job = run(server, body)
    assert job["status"] == "COMPLETED" and job["model"] == model
    assert job["creditCost"] == cost
    assert server.credits_for(KEY) == 1000 - cost
    found = job["result"]["tracks"]
    assert len(found) == tracks
    audio = [httpx.get(t["audioUrl"]).content for t in found]
    assert len(set(audio)) == tracks, "every take of a job is a different piece"
    assert len({t["id"] for t in found}) == tracks
    decorated = model in ("suno", "udio")
    for track in found:
        assert set(track) == {"id", "audioUrl", "imageUrl", "title", "tags", "duration"}
        assert (track["title"] is not None) is decorated
        assert (track["tags"] is not None) is decorated
        assert (track["imageUrl"] is not None) is decorated
        if decorated:
            cover = httpx.get(track["imageUrl"])
            assert cover.status_code == 200 and cover.headers["content-type"] == "image/svg+xml"


def test_a_clip_model_makes_clips(server: SandboxServer) -> None:
    job = run(server, {"prompt": "a 2 minute ambient piece", "model": "lyria-3-clip"})
    assert job["result"]["tracks"][0]["duration"] == 30.0


def test_a_seed_repeats_the_takes(server: SandboxServer) -> None:
    body = {"prompt": "city pop", "model": "udio", "udioParams": {"seed": 42}}
    first = [httpx.get(t["audioUrl"]).content for t in run(server, body)["result"]["tracks"]]
    again = [httpx.get(t["audioUrl"]).content for t in run(server, body)["result"]["tracks"]]
    other = {**body, "udioParams": {"seed": 43}}
    third = [httpx.get(t["audioUrl"]).content for t in run(server, other)["result"]["tracks"]]
    assert first == again and first != third


def test_suno_custom_mode_composes_from_the_style(server: SandboxServer) -> None:
    body = {"prompt": "[Verse] la la la", "model": "suno",
            "sunoParams": {"custom_mode": True, "style": "reggae", "title": "Sun", "instrumental": True}}
    job = run(server, body)
    track = job["result"]["tracks"][0]
    assert track["title"] == "Sun" and track["tags"] == "reggae"
    assert b"reggae. [Verse] la la la|30000|True|" in httpx.get(track["audioUrl"]).content


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"prompt": "x" * 501, "model": "suno"}, "prompt"),
        ({"prompt": "p", "model": "suno", "sunoParams": {"model_version": "V9"}}, "sunoParams.model_version"),
        ({"prompt": "p", "model": "mureka", "murekaParams": {"n": 5}}, "murekaParams.n"),
        ({"prompt": "p", "model": "mureka", "murekaParams": {"lyrics": "a", "instrumental": True}},
         "murekaParams.lyrics"),
        ({"prompt": "p", "model": "udio", "elevenlabsParams": {}}, "elevenlabsParams"),
        ({"prompt": "p", "model": "lyria-3-pro", "lyriaParams": {"reference_images": ["x"]}},
         "lyriaParams.reference_images"),
    ],
)
def test_bad_params_are_a_400_with_details_and_cost_nothing(
    server: SandboxServer, body: dict[str, Any], path: str
) -> None:
    answer = httpx.post(f"{server.url}/v2/music/generate", json=body, headers={"X-API-Key": KEY})
    assert answer.status_code == 400
    assert path in answer.json()["details"]
    assert server.credits_for(KEY) == 1000


def test_the_model_list_has_every_model_with_prices(server: SandboxServer) -> None:
    listed = httpx.get(f"{server.url}/v2/models").json()["models"]
    assert [m["id"] for m in listed] == list(MODELS)
    prices = {m["id"]: (m["costMin"], m["costMax"]) for m in listed}
    assert prices["elevenlabs-music"] == (10, 30)
    assert prices["mureka"] == (6, 18)
    assert prices["suno"] == (11, 11)
    assert all(m["label"] and m["description"] for m in listed)


def test_every_job_is_a_new_take_and_one_job_always_the_same(server: SandboxServer) -> None:
    body = {"prompt": "city pop", "model": "elevenlabs-music"}
    first, second = (run(server, body)["result"]["tracks"][0]["audioUrl"] for _ in range(2))
    assert httpx.get(first).content != httpx.get(second).content
    assert httpx.get(first).content == httpx.get(first).content
