"""``POST /v2/music/suno/action`` in the sandbox, over real HTTP, judged from the audio.

The audio checks decode the MP3s the CDN serves (Suno's format) with soundfile and measure
them: the whole song (the parent up to ``continueAt``, then the extension) has no sample step
at the join larger than the music's own around it and keeps the parent's tempo and key
(:func:`apiframe_magic.analysis._measure.measure_samples`); stems add up to the parent; a cover
follows the parent's chroma frame by frame in a brighter timbre. The exactness of stems is also
checked at the renderer, before any MP3 coding. Tracks are 8 to 12 s; nothing is timed.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import numpy.typing as npt
import pytest

from apiframe_magic.analysis._measure import measure_samples
from apiframe_magic.sandbox import SANDBOX_STATE_NAME, SandboxServer
from apiframe_magic.sandbox._actions import piece_of, render_piece, syllables
from apiframe_magic.sandbox._audio import render_pcm

sf = pytest.importorskip("soundfile")

KEY = "afk_actions"
ACTION = "/v2/music/suno/action"
POP = "upbeat pop song with drums in A minor, 120 bpm, 12 seconds"
PIANO = "gentle solo piano in C major, 8 seconds"
Pcm = npt.NDArray[np.float64]


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer(job_seconds=0.1, credits=10_000) as s:
        yield s


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=60.0) as c:
        yield c


def wait_for(predicate: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.03)


def post(c: httpx.Client, s: SandboxServer, path: str, body: dict[str, Any], key: str = KEY,
         idempotency_key: str | None = None) -> httpx.Response:
    headers = {"X-API-Key": key}
    if idempotency_key is not None:
        headers["Idempotency-Key"] = idempotency_key
    return c.post(s.url + path, json=body, headers=headers)


def job(c: httpx.Client, s: SandboxServer, job_id: str, key: str = KEY) -> dict[str, Any]:
    r = c.get(f"{s.url}/v2/jobs/{job_id}", headers={"X-API-Key": key})
    assert r.status_code == 200, r.text
    return dict(r.json())


def finished(c: httpx.Client, s: SandboxServer, response: httpx.Response,
             key: str = KEY) -> dict[str, Any]:
    assert response.status_code == 202, response.text
    job_id = response.json()["jobId"]
    seen: dict[str, Any] = {}

    def ended() -> bool:
        seen.update(job(c, s, job_id, key))
        return seen["status"] in ("COMPLETED", "FAILED")

    wait_for(ended)
    return seen


def generate(c: httpx.Client, s: SandboxServer, prompt: str, key: str = KEY,
             **params: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"prompt": prompt, "model": "suno"}
    if params:
        body["sunoParams"] = params
    done = finished(c, s, post(c, s, "/v2/music/generate", body, key), key)
    assert done["status"] == "COMPLETED", done
    return done


def act(c: httpx.Client, s: SandboxServer, key: str = KEY, **body: Any) -> dict[str, Any]:
    done = finished(c, s, post(c, s, ACTION, body, key), key)
    assert done["status"] == "COMPLETED", done
    return done


def audio(c: httpx.Client, track: dict[str, Any]) -> tuple[Pcm, int]:
    r = c.get(track["audioUrl"])
    assert r.status_code == 200, r.text
    samples, rate = sf.read(io.BytesIO(r.content), dtype="float64", always_2d=True)
    return samples, int(rate)


def rms(x: Pcm) -> float:
    return float(np.sqrt(np.mean(x**2)))


@pytest.fixture(scope="module")
def pop(client: httpx.Client, server: SandboxServer) -> dict[str, Any]:
    return generate(client, server, POP)


@pytest.fixture(scope="module")
def piano(client: httpx.Client, server: SandboxServer) -> dict[str, Any]:
    return generate(client, server, PIANO, instrumental=True)


# -- the music -------------------------------------------------------------------------------

NOTE_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


def scale_of(key: str | None) -> int:
    """The pitch class of a key's relative major (``A minor`` and ``C major`` are both 0)."""
    assert key is not None
    tonic, mode = key.split()
    return (NOTE_NAMES.index(tonic) + (3 if mode == "minor" else 0)) % 12



def test_extend_continues_the_parent_seamlessly_in_its_tempo_and_key(
        client: httpx.Client, server: SandboxServer, pop: dict[str, Any]) -> None:
    track = pop["result"]["tracks"][1]
    body = {"action": "extend", "parentJobId": pop["id"], "trackId": track["id"],
            "continueAt": 6}
    done = act(client, server, **body)
    assert done["model"] == "suno" and done["input"] == body and done["creditCost"] == 11
    tracks = done["result"]["tracks"]
    assert len(tracks) == 2 and len({t["id"] for t in tracks}) == 2
    assert all(t["duration"] == track["duration"] and t["title"] == track["title"]
               for t in tracks)
    parent, rate = audio(client, track)
    extension, ext_rate = audio(client, tracks[0])
    assert ext_rate == rate and len(extension) == len(parent)
    cut = round(6 * rate)
    whole = np.concatenate([parent[:cut], extension])
    steps = np.abs(np.diff(whole, axis=0)).max(axis=1)
    around = np.concatenate([steps[cut - rate // 2 : cut - 1], steps[cut : cut + rate // 2]])
    assert steps[cut - 1] <= around.max()
    heard, continued = measure_samples(parent, rate), measure_samples(extension, rate)
    assert heard.tempo_bpm is not None and continued.tempo_bpm is not None
    assert abs(continued.tempo_bpm - heard.tempo_bpm) <= 0.03 * heard.tempo_bpm
    # Over a few seconds a key estimator may name the relative key (A minor for C major):
    # the same scale, the same pitch classes. Those must match, and their weights too.
    assert scale_of(continued.key) == scale_of(heard.key)
    profile = chroma_frames(parent, rate).mean(axis=0)
    assert np.corrcoef(profile, chroma_frames(extension, rate).mean(axis=0))[0, 1] > 0.8
    # The two takes are two continuations, not one twice.
    other, _ = audio(client, tracks[1])
    assert rms(other - extension) > 0.1 * rms(extension)
    # An extension is a Suno track like any other: it can be extended again, from its end.
    again = act(client, server, action="extend", parentJobId=done["id"], index=2)
    assert again["result"]["tracks"][0]["duration"] == track["duration"]


def chroma_frames(samples: Pcm, rate: int) -> Pcm:
    """Unit-norm 12-bin chroma per 4096-sample frame (60 Hz to 2 kHz)."""
    mono = samples.mean(axis=1)
    win, hop = 4096, 2048
    frames = 1 + (len(mono) - win) // hop
    idx = np.arange(win)[None, :] + hop * np.arange(frames)[:, None]
    mag = np.abs(np.fft.rfft(mono[idx] * np.hanning(win), axis=1))
    freqs = np.fft.rfftfreq(win, 1 / rate)
    band = (freqs > 60) & (freqs < 2000)
    classes = np.round(12 * np.log2(freqs[band] / 440.0)).astype(int) % 12
    chroma = np.zeros((frames, 12))
    for pc in range(12):
        chroma[:, pc] = (mag[:, band][:, classes == pc] ** 2).sum(axis=1)
    out: Pcm = chroma / np.maximum(np.linalg.norm(chroma, axis=1, keepdims=True), 1e-12)
    return out


def centroid(samples: Pcm, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples.mean(axis=1)))
    freqs = np.fft.rfftfreq(len(samples), 1 / rate)
    return float((spectrum * freqs).sum() / spectrum.sum())


def test_cover_keeps_the_pitch_contour_in_a_new_timbre(
        client: httpx.Client, server: SandboxServer, piano: dict[str, Any]) -> None:
    body = {"action": "cover", "parentJobId": piano["id"], "index": 1, "audio_weight": 0.8,
            "prompt": "synthwave with a synth lead, arpeggiator and pads"}
    done = act(client, server, **body)
    assert done["input"] == body
    parent, rate = audio(client, piano["result"]["tracks"][0])
    covered, _ = audio(client, done["result"]["tracks"][0])
    # Another piano piece, in a key a tritone away: what "not following" looks like.
    far = generate(client, server, "gentle solo piano in F# major, 8 seconds", instrumental=True)
    elsewhere, _ = audio(client, far["result"]["tracks"][0])
    same = chroma_frames(parent, rate)
    follows = float(np.mean(np.sum(same * chroma_frames(covered, rate), axis=1)))
    unrelated = float(np.mean(np.sum(same * chroma_frames(elsewhere, rate), axis=1)))
    assert follows > 0.75
    assert follows > unrelated + 0.3
    assert centroid(covered, rate) > 1.3 * centroid(parent, rate)


def test_stems_add_up_to_the_parent_vocals_first(
        client: httpx.Client, server: SandboxServer) -> None:
    sung = generate(client, server, "a pop song with vocals, 8 seconds")
    done = act(client, server, action="stems", parentJobId=sung["id"], index=1)
    vocals_track, instrumental_track = done["result"]["tracks"]
    assert (vocals_track["title"], instrumental_track["title"]) == ("vocals", "instrumental")
    assert vocals_track["id"] != instrumental_track["id"]
    assert vocals_track["imageUrl"] is None and vocals_track["tags"] is None
    parent, _ = audio(client, sung["result"]["tracks"][0])
    vocals, _ = audio(client, vocals_track)
    instrumental, _ = audio(client, instrumental_track)
    assert rms(vocals) > 0.1 * rms(parent) and rms(instrumental) > 0.1 * rms(parent)
    # Each stem went through its own MP3 coding: they add up within that coding's error.
    assert rms(vocals + instrumental - parent) < 0.05 * rms(parent)
    # A stems result takes no further action.
    r = post(client, server, ACTION, {"action": "extend", "parentJobId": done["id"]})
    assert r.status_code == 409, r.text


def test_an_instrumental_parents_vocal_stem_is_silent(
        client: httpx.Client, server: SandboxServer, piano: dict[str, Any]) -> None:
    done = act(client, server, action="stems", parentJobId=piano["id"], index=2)
    vocals, _ = audio(client, done["result"]["tracks"][0])
    instrumental, _ = audio(client, done["result"]["tracks"][1])
    parent, _ = audio(client, piano["result"]["tracks"][1])
    assert rms(vocals) < 1e-4
    assert rms(instrumental - parent) < 0.01 * rms(parent)


def test_add_vocals_sings_one_note_per_syllable_over_the_parent(
        client: httpx.Client, server: SandboxServer, piano: dict[str, Any]) -> None:
    lyrics = "[Verse]\nHello morning light\nsing me home again"
    done = act(client, server, action="add_vocals", parentJobId=piano["id"], prompt=lyrics,
               title="Morning")
    assert [t["title"] for t in done["result"]["tracks"]] == ["Morning", "Morning"]
    stems = act(client, server, action="stems", parentJobId=done["id"])
    vocals, _ = audio(client, stems["result"]["tracks"][0])
    instrumental, _ = audio(client, stems["result"]["tracks"][1])
    parent, _ = audio(client, piano["result"]["tracks"][0])
    assert rms(vocals) > 0.2 * rms(instrumental)
    # The band under the voice is the parent (levelled anew for the louder mix).
    assert np.corrcoef(instrumental.mean(axis=1), parent.mean(axis=1))[0, 1] > 0.95
    # One sung note per syllable (vowel groups, no silent e): 5 + 5 here.
    assert syllables(lyrics) == [[2, 2, 1], [1, 1, 1, 2]]
    step = done["input"]
    lineage = {"base": {"text": PIANO, "length_ms": 8000, "force_instrumental": True,
                        "variation": 1}, "steps": [{**step, "take": 0}]}
    sung = [n for n in piece_of(lineage).score if n.part == "vocal"]
    assert len(sung) == 10


def test_stems_add_up_exactly_before_coding() -> None:
    """At the renderer, before MP3 coding: the stems of a sung piece are the piece."""
    base = {"text": "soul song with vocals", "length_ms": 6000, "force_instrumental": False,
            "variation": 7}
    stems = render_piece(piece_of({"base": base, "steps": []}), 22050)
    whole = render_pcm("soul song with vocals", length_ms=6000, sample_rate=22050, variation=7)
    assert float(np.abs(stems.vocal_stem()).max()) > 0.05
    assert float(np.abs(stems.vocal_stem() + stems.instrumental - whole).max()) < 1e-5
    extended = {"base": base, "steps": [{"action": "extend", "continueAt": 2.5, "take": 1}]}
    stems = render_piece(piece_of(extended), 22050)
    assert float(np.abs(stems.vocal_stem() + stems.instrumental - stems.mix()).max()) < 1e-5
    # Without a sung part the vocal stem is silence, and the rest is the whole mix.
    plain = render_piece(piece_of({"base": {**base, "force_instrumental": True}, "steps": []}),
                         22050)
    assert plain.vocals is None and not plain.vocal_stem().any()


# -- the rules -------------------------------------------------------------------------------


@pytest.mark.parametrize(("body", "path"), [
    ({"parentJobId": "00000000-0000-4000-8000-000000000000"}, "action"),
    ({"action": "remix", "parentJobId": "00000000-0000-4000-8000-000000000000"}, "action"),
    ({"action": "extend"}, "parentJobId"),
    ({"action": "extend", "parentJobId": "not-a-uuid"}, "parentJobId"),
    ({"action": "extend", "parentJobId": "00000000-0000-4000-8000-000000000000", "index": 3},
     "index"),
    ({"action": "extend", "parentJobId": "00000000-0000-4000-8000-000000000000", "index": 1,
      "trackId": "track_1"}, "trackId"),
    ({"action": "extend", "parentJobId": "00000000-0000-4000-8000-000000000000",
      "trackId": ""}, "trackId"),
    ({"action": "extend", "parentJobId": "00000000-0000-4000-8000-000000000000",
      "continueAt": 0}, "continueAt"),
    ({"action": "cover", "parentJobId": "00000000-0000-4000-8000-000000000000",
      "continueAt": 3}, "continueAt"),
    ({"action": "cover", "parentJobId": "00000000-0000-4000-8000-000000000000",
      "audio_weight": 1.5}, "audio_weight"),
    ({"action": "add_vocals", "parentJobId": "00000000-0000-4000-8000-000000000000"},
     "prompt"),
    ({"action": "extend", "parentJobId": "00000000-0000-4000-8000-000000000000",
      "prompt": "x" * 5001}, "prompt"),
    ({"action": "extend", "parentJobId": "00000000-0000-4000-8000-000000000000",
      "title": "x" * 81}, "title"),
    ({"action": "cover", "parentJobId": "00000000-0000-4000-8000-000000000000",
      "style": "x" * 1001}, "style"),
    ({"action": "cover", "parentJobId": "00000000-0000-4000-8000-000000000000",
      "negative_tags": "x" * 501}, "negative_tags"),
    ({"action": "stems", "parentJobId": "00000000-0000-4000-8000-000000000000",
      "prompt": "lyrics"}, "prompt"),
    ({"action": "extend", "parentJobId": "00000000-0000-4000-8000-000000000000",
      "webhook_url": "http://127.0.0.1/x"}, "webhook_url"),
    ({"action": "extend", "parentJobId": "00000000-0000-4000-8000-000000000000",
      "webhookUrl": "not a url"}, "webhookUrl"),
    ({"action": "extend", "parentJobId": "00000000-0000-4000-8000-000000000000",
      "webhookEvents": ["done"]}, "webhookEvents"),
])
def test_a_bad_body_is_a_400_naming_the_field(
        client: httpx.Client, server: SandboxServer, body: dict[str, Any], path: str) -> None:
    r = post(client, server, ACTION, body)
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "Validation failed" and path in r.json()["details"]


def test_rules_that_need_the_parent(client: httpx.Client, server: SandboxServer,
                                    piano: dict[str, Any]) -> None:
    unknown = "00000000-0000-4000-8000-000000000000"
    r = post(client, server, ACTION, {"action": "stems", "parentJobId": unknown})
    assert r.status_code == 404, r.text
    # Another key's job is unknown to this one.
    r = post(client, server, ACTION, {"action": "stems", "parentJobId": piano["id"]},
             key="afk_someone_else")
    assert r.status_code == 404, r.text
    r = post(client, server, ACTION, {"action": "extend", "parentJobId": piano["id"],
                                      "continueAt": 8})
    assert r.status_code == 400 and "continueAt" in r.json()["details"], r.text
    r = post(client, server, ACTION, {"action": "extend", "parentJobId": piano["id"],
                                      "trackId": "track_nothere"})
    assert r.status_code == 400 and "trackId" in r.json()["details"], r.text
    r = client.post(server.url + ACTION, content=b"{", headers={"X-API-Key": KEY})
    assert r.status_code == 400, r.text
    r = client.post(server.url + ACTION, json={"action": "stems", "parentJobId": piano["id"]})
    assert r.status_code == 401, r.text


def test_409_when_the_action_is_not_available(client: httpx.Client,
                                              server: SandboxServer) -> None:
    key = "afk_actions_409"
    eleven = finished(client, server, post(client, server, "/v2/music/generate", {
        "prompt": "calm piano", "model": "elevenlabs-music",
        "elevenlabsParams": {"music_length_ms": 5000}}, key), key)
    r = post(client, server, ACTION, {"action": "cover", "parentJobId": eleven["id"]}, key)
    assert r.status_code == 409 and "suno" in r.json()["error"], r.text
    server.faults.inject("slow_job", seconds=30)
    running = post(client, server, "/v2/music/generate",
                   {"prompt": "calm piano, 5 seconds", "model": "suno"}, key)
    r = post(client, server, ACTION, {"action": "extend", "parentJobId": running.json()["jobId"]},
             key)
    assert r.status_code == 409 and "COMPLETED" in r.json()["error"], r.text
    assert server.credits_for(key) == 10_000 - 10 - 11


def test_credits_402_and_the_refund_of_a_failed_action(
        client: httpx.Client, server: SandboxServer) -> None:
    key = "afk_actions_credits"
    parent = generate(client, server, "folk song, 5 seconds", key)
    assert server.credits_for(key) == 10_000 - 11
    server.faults.inject("fail_job", message="Provider returned an error: test")
    failed = finished(client, server, post(client, server, ACTION, {
        "action": "cover", "parentJobId": parent["id"], "prompt": "jazz"}, key), key)
    assert failed["status"] == "FAILED" and failed["creditCost"] == 0
    assert server.credits_for(key) == 10_000 - 11
    server.set_credits(10, api_key=key)
    r = post(client, server, ACTION, {"action": "stems", "parentJobId": parent["id"]}, key)
    assert r.status_code == 402, r.text
    assert r.json() == {"error": "Insufficient credits", "creditsRequired": 11,
                        "creditsAvailable": 10}


def test_idempotency_key_replays_the_action_and_refuses_another_body(
        client: httpx.Client, server: SandboxServer, piano: dict[str, Any]) -> None:
    key = "afk_actions_idem"
    parent = generate(client, server, PIANO, key)
    body = {"action": "stems", "parentJobId": parent["id"]}
    first = post(client, server, ACTION, body, key, idempotency_key="stems-1")
    again = post(client, server, ACTION, body, key, idempotency_key="stems-1")
    assert first.status_code == 202 and again.status_code == 202
    assert again.json()["jobId"] == first.json()["jobId"]
    assert server.credits_for(key) == 10_000 - 11 - 11
    other = post(client, server, ACTION, {**body, "index": 2}, key, idempotency_key="stems-1")
    assert other.status_code == 409, other.text
    r = post(client, server, ACTION, body, key, idempotency_key="x" * 256)
    assert r.status_code == 400 and "Idempotency-Key" in r.json()["details"]


def test_an_action_job_is_rendered_again_by_a_later_server_on_the_state_file(
        client: httpx.Client, tmp_path: Path) -> None:
    state = tmp_path / SANDBOX_STATE_NAME
    with SandboxServer(job_seconds=0.1, state_path=state) as first:
        parent = generate(client, first, PIANO)
        done = act(client, first, action="extend", parentJobId=parent["id"], continueAt=3.5)
        served = [client.get(t["audioUrl"]).content for t in done["result"]["tracks"]]
    with SandboxServer(job_seconds=0.1, state_path=state) as second:
        again = job(client, second, done["id"])
        assert again["status"] == "COMPLETED" and again["input"] == done["input"]
        ids = [t["id"] for t in again["result"]["tracks"]]
        assert ids == [t["id"] for t in done["result"]["tracks"]]
        for track, data in zip(again["result"]["tracks"], served, strict=True):
            assert client.get(track["audioUrl"]).content == data
        # The stored lineage reaches back to the generation: act on the extension here.
        stems = act(client, second, action="stems", parentJobId=done["id"], trackId=ids[1])
        assert [t["title"] for t in stems["result"]["tracks"]] == ["vocals", "instrumental"]
