"""The Suno actions in the client: each request's body exactly as the contract's table, checked
when made with one-line errors naming the keyword, the attributes the jobs layer reads from any
request, the route and Idempotency-Key of a submit, a 409 in one line, and a job's lineage,
``expired`` flag and stems as the service reports them.

Against the sandbox where it has the route; ``httpx.MockTransport`` stands for the service only
where the sandbox does not answer ``POST /v2/music/suno/action`` (those tests say so).
"""

from __future__ import annotations

import asyncio
import json
import pickle
from collections.abc import Callable
from typing import Any

import httpx
import pytest

import apiframe_magic
from apiframe_magic._exceptions import ConflictError, RequestValidationError
from apiframe_magic.catalog import price_bounds
from apiframe_magic.client import (
    ActionRequest,
    AddVocalsRequest,
    ApiframeClient,
    AsyncApiframeClient,
    CoverRequest,
    ExtendRequest,
    Job,
    MusicRequest,
    RetryPolicy,
    StemsRequest,
    request_from_json,
)
from apiframe_magic.sandbox import SandboxServer
from tests.conftest import CANARY_KEY

PARENT = "3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f"
CHILD = "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d"


# -- the bodies --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_", "body"),
    [
        (ExtendRequest(PARENT), {"action": "extend", "parentJobId": PARENT, "index": 1}),
        (ExtendRequest(PARENT, index=2, continue_at=42.5, prompt="[Verse 2]", title="Two",
                       style="dream pop", negative_tags="metal"),
         {"action": "extend", "parentJobId": PARENT, "index": 2, "prompt": "[Verse 2]",
          "continueAt": 42.5, "title": "Two", "style": "dream pop", "negative_tags": "metal"}),
        (CoverRequest(PARENT, track_id="track_abc123", audio_weight=0.3, style="bossa nova"),
         {"action": "cover", "parentJobId": PARENT, "trackId": "track_abc123", "audio_weight": 0.3,
          "style": "bossa nova"}),
        (AddVocalsRequest(PARENT, "la la la", index=2),
         {"action": "add_vocals", "parentJobId": PARENT, "index": 2, "prompt": "la la la"}),
        (StemsRequest(PARENT, webhook_url="https://hooks.test/a", webhook_events=["completed"]),
         {"action": "stems", "parentJobId": PARENT, "index": 1, "webhookUrl": "https://hooks.test/a",
          "webhookEvents": ["completed"]}),
    ],
)
def test_each_request_is_exactly_the_body_of_the_contract(
    request_: ActionRequest, body: dict[str, Any]
) -> None:
    assert request_.to_json() == body
    assert ActionRequest.from_json(body) == request_
    assert type(ActionRequest.from_json(body)) is type(request_)
    assert type(request_from_json(body)) is type(request_)


def test_the_generic_form_equals_the_action_s_own() -> None:
    assert ActionRequest("cover", PARENT, audio_weight=0.5) == CoverRequest(PARENT, audio_weight=0.5)
    assert hash(ActionRequest("stems", PARENT)) == hash(StemsRequest(PARENT))
    assert StemsRequest(PARENT) != StemsRequest(PARENT, index=2)


def test_a_generation_body_is_still_a_music_request() -> None:
    body = MusicRequest("calm piano", "suno").to_json()
    assert request_from_json(body) == MusicRequest("calm piano", "suno")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: ExtendRequest(PARENT, continue_at=0), "continue_at=0 is not valid: must be more than 0"),
        (lambda: ExtendRequest(PARENT, continue_at=-1.5),
         "continue_at=-1.5 is not valid: must be more than 0"),
        (lambda: CoverRequest(PARENT, audio_weight=1.2),
         "audio_weight=1.2 is not valid: must be between 0 and 1"),
        (lambda: CoverRequest(PARENT, title="T" * 81), "title='" + "T" * 56 + "... is not valid: "
                                                       "must be at most 80 characters"),
        (lambda: AddVocalsRequest(PARENT, ""),
         "lyrics='' is not valid: is required for add_vocals (the lyrics to sing)"),
        (lambda: AddVocalsRequest(PARENT, "  \n "),
         "lyrics='  \\n ' is not valid: is required for add_vocals (the lyrics to sing)"),
        (lambda: ActionRequest("add_vocals", PARENT),
         "prompt=None is not valid: is required for add_vocals (the lyrics to sing)"),
        (lambda: ExtendRequest(PARENT, prompt="   "), "prompt='   ' is not valid: must contain some text"),
        (lambda: StemsRequest(PARENT, index=3), "index=3 is not valid: must be between 1 and 2"),
        (lambda: StemsRequest(PARENT, index=1, track_id="t"),
         "track_id='t' is not valid: give index or trackId, not both"),
        (lambda: StemsRequest(PARENT, track_id=""), "track_id='' is not valid: must be 1 to 200 characters"),
        (lambda: StemsRequest("job-1"), "parent_job_id='job-1' is not valid: must be a job id (a UUID)"),
        (lambda: ActionRequest("stems", PARENT, continue_at=30),
         "continue_at=30 is not valid: stems does not take it"),
        (lambda: ActionRequest("cover", PARENT, continue_at=30),
         "continue_at=30 is not valid: cover does not take it"),
        (lambda: ActionRequest("remix", PARENT),
         "action='remix' is not valid: must be one of extend, cover, add_vocals, stems"),
        (lambda: StemsRequest(PARENT, webhook_url="hooks.test"),
         "webhook_url='hooks.test' is not valid: must be an absolute http(s) URL"),
    ],
)
def test_a_bad_request_is_one_line_naming_the_keyword(
    make: Callable[[], ActionRequest], message: str
) -> None:
    with pytest.raises(RequestValidationError) as info:
        make()
    assert str(info.value) == message
    assert "\n" not in str(info.value)


def test_from_json_refuses_a_key_the_action_does_not_take() -> None:
    with pytest.raises(RequestValidationError, match=r"^continue_at=3 is not valid: stems does not take it$"):
        ActionRequest.from_json({"action": "stems", "parentJobId": PARENT, "index": 1, "continueAt": 3})
    with pytest.raises(RequestValidationError, match=r"^sunoParams=.* is not valid: extend does not"):
        ActionRequest.from_json({"action": "extend", "parentJobId": PARENT, "sunoParams": {}})
    with pytest.raises(RequestValidationError, match=r"^action=None is not valid: must be one of"):
        ActionRequest.from_json({"parentJobId": PARENT})


# -- what the jobs layer reads ---------------------------------------------------------------


def test_an_action_request_reads_as_a_request_of_suno() -> None:
    request = ExtendRequest(PARENT, continue_at=30, prompt="Verse two", webhook_url="https://hooks.test/a")
    assert request.model == "suno"
    assert request.spec is apiframe_magic.MODELS["suno"]
    assert request.action_spec.id == "extend"
    assert request.prompt == "Verse two"
    assert request.params == {"action": "extend", "parentJobId": PARENT, "index": 1,
                              "prompt": "Verse two", "continueAt": 30}  # the body without webhooks
    assert request.audio_format.extension == "mp3"
    assert request.track_count == 2
    assert request.credit_cost == 11
    assert request.music_length_ms is None
    assert request.continue_at == 30.0
    assert request.endpoint == "/v2/music/suno/action"
    assert MusicRequest("calm piano").endpoint == "/v2/music/generate"
    assert StemsRequest(PARENT).prompt == ""
    assert AddVocalsRequest(PARENT, "la la").lyrics == "la la"


def test_the_budget_prices_an_action_at_11_credits() -> None:
    """``jobs._budget.price_top`` asks ``catalog.price_bounds(request)``."""
    for request in (ExtendRequest(PARENT), CoverRequest(PARENT), AddVocalsRequest(PARENT, "la"),
                    StemsRequest(PARENT)):
        assert price_bounds(request) == (11, 11)


def test_an_action_request_pickles_and_is_frozen() -> None:
    request = CoverRequest(PARENT, audio_weight=0.5)
    again = pickle.loads(pickle.dumps(request))
    assert again == request and type(again) is CoverRequest
    assert type(request).__module__ == "apiframe_magic"
    with pytest.raises(AttributeError):
        request.index = 2  # type: ignore[misc]


# -- the parent ------------------------------------------------------------------------------


def suno_job(**extra: Any) -> Job:
    tracks = [{"id": "track_a", "audioUrl": "https://cdn.test/a.mp3", "duration": 120.0},
              {"id": "track_b", "audioUrl": "https://cdn.test/b.mp3", "duration": 95.5}]
    return Job.from_json({"id": PARENT, "status": "COMPLETED", "model": "suno",
                          "result": {"tracks": tracks}, **extra})


def test_check_parent_passes_a_finished_suno_track() -> None:
    ExtendRequest(PARENT, index=2, continue_at=95).check_parent(suno_job())
    CoverRequest(PARENT, track_id="track_b").check_parent(suno_job())
    assert StemsRequest(PARENT, track_id="track_b").parent_track(suno_job()).duration == 95.5


@pytest.mark.parametrize(
    ("request_", "parent", "message"),
    [
        (ExtendRequest(PARENT, index=2, continue_at=95.5), suno_job(),
         "continue_at=95.5 is not valid: must be less than the track's length (95.5 s)"),
        (ExtendRequest(PARENT, continue_at=300), suno_job(),
         "continue_at=300.0 is not valid: must be less than the track's length (120 s)"),
        (StemsRequest(PARENT), suno_job(status="PROCESSING"),
         f"parent_job_id='{PARENT}' is not valid: the job is PROCESSING; an action needs a COMPLETED job"),
        (StemsRequest(PARENT), suno_job(model="udio"),
         f"parent_job_id='{PARENT}' is not valid: only a suno job (or an extend, cover or add_vocals "
         "result) takes an action; this is a udio job"),
        (CoverRequest(PARENT), suno_job(input={"action": "stems", "parentJobId": CHILD}),
         f"parent_job_id='{PARENT}' is not valid: a stems result takes no further action"),
        (CoverRequest(PARENT, track_id="track_z"), suno_job(),
         f"track_id='track_z' is not valid: job {PARENT} has no such track (its tracks: track_a, track_b)"),
    ],
)
def test_check_parent_refuses_what_the_service_would(
    request_: ActionRequest, parent: Job, message: str
) -> None:
    with pytest.raises(RequestValidationError) as info:
        request_.check_parent(parent)
    assert str(info.value) == message


def test_check_parent_accepts_an_extension_of_an_extension() -> None:
    ExtendRequest(PARENT).check_parent(suno_job(input={"action": "extend", "parentJobId": CHILD}))


# -- jobs as the service reports them ---------------------------------------------------------


def test_a_job_names_its_action_and_parent_from_its_input() -> None:
    job = Job.from_json({"id": CHILD, "status": "QUEUED", "model": "suno",
                         "input": {"action": "cover", "parentJobId": PARENT, "index": 1}})
    assert (job.action, job.parent_job_id) == ("cover", PARENT)
    top = Job.from_json({"id": CHILD, "status": "QUEUED", "action": "stems", "parentJobId": PARENT})
    assert (top.action, top.parent_job_id) == ("stems", PARENT)
    plain = Job.from_json({"id": CHILD, "status": "QUEUED", "input": {"prompt": "p", "model": "suno"}})
    assert (plain.action, plain.parent_job_id) == (None, None)
    assert request_from_json(job.raw["input"]) == CoverRequest(PARENT)


@pytest.mark.parametrize(("value", "expired"), [(True, True), ("true", True), (False, False),
                                                 (None, False), ("false", False), (1, False)])
def test_expired_is_read_strictly(value: Any, expired: bool) -> None:
    assert Job.from_json({"id": CHILD, "status": "COMPLETED", "expired": value}).expired is expired


def stems_job(*tracks: dict[str, Any]) -> Job:
    return Job.from_json({"id": CHILD, "status": "COMPLETED", "model": "suno",
                          "input": {"action": "stems", "parentJobId": PARENT, "index": 1},
                          "result": {"tracks": list(tracks)}})


def test_stems_are_told_apart_by_name_where_given() -> None:
    job = stems_job({"id": "s1", "title": "Instrumental", "audioUrl": "https://cdn.test/i.mp3"},
                    {"id": "s2", "title": "Vocals", "audioUrl": "https://cdn.test/v.mp3"})
    assert {k: t.audio_url for k, t in job.stems.items()} == {
        "vocals": "https://cdn.test/v.mp3", "instrumental": "https://cdn.test/i.mp3"}
    by_id = stems_job({"id": "stem_instrumental", "audioUrl": "https://cdn.test/i.mp3"},
                      {"id": "stem_vocals", "audioUrl": "https://cdn.test/v.mp3"})
    assert by_id.stems["vocals"].id == "stem_vocals"


def test_stems_without_names_are_vocals_first() -> None:
    job = stems_job({"audioUrl": "https://cdn.test/1.mp3"}, {"audioUrl": "https://cdn.test/2.mp3"})
    assert list(job.stems) == ["vocals", "instrumental"]
    assert job.stems["vocals"].audio_url == "https://cdn.test/1.mp3"
    assert suno_job().stems == {}


# -- against the sandbox: the route, the key, the lineage, a 409 ---------------------------------


FAST: dict[str, Any] = {"poll_interval": 0.05, "max_poll_interval": 0.2}


def finished_suno_job(client: ApiframeClient) -> Job:
    return client.wait(client.submit(MusicRequest("calm piano, rain", "suno")).job_id)


def test_an_action_runs_like_any_job_on_the_sandbox(sandbox: SandboxServer) -> None:
    with ApiframeClient(CANARY_KEY, sandbox.url, **FAST) as client:
        parent = finished_suno_job(client)
        request = ExtendRequest(parent.id, index=2, continue_at=10, title="Longer")
        request.check_parent(parent)
        sandbox.clear_recorded_requests()
        submitted = client.submit(request, idempotency_key="afm-extend-1")
        (post,) = [r for r in sandbox.recorded_requests() if r.method == "POST"]
        assert post.path == "/v2/music/suno/action"
        assert post.headers["idempotency-key"] == "afm-extend-1"
        assert json.loads(post.body) == request.to_json()
        done = client.wait(submitted.job_id)
    assert (done.status, done.action, done.parent_job_id) == ("COMPLETED", "extend", parent.id)
    assert done.model == "suno"
    assert len(done.tracks) == request.track_count == 2
    assert done.credit_cost == request.credit_cost == 11
    assert request_from_json(done.raw["input"]) == request  # the ledger can rebuild it from the job


def test_an_action_submit_is_retried_with_the_same_key(sandbox: SandboxServer) -> None:
    with ApiframeClient(CANARY_KEY, sandbox.url, **FAST) as client:
        parent = finished_suno_job(client)
        client.aio.retry_policy = RetryPolicy(jitter=lambda: 0.0)
        sandbox.clear_recorded_requests()
        sandbox.faults.inject("unavailable", route="submit")
        submitted = client.submit(StemsRequest(parent.id))
    posts = [r for r in sandbox.recorded_requests() if r.method == "POST"]
    assert [r.path for r in posts] == ["/v2/music/suno/action"] * 2
    assert {r.headers["idempotency-key"] for r in posts} == {submitted.idempotency_key}


def test_stems_then_an_action_on_them_is_refused_before_and_by_the_service(sandbox: SandboxServer) -> None:
    with ApiframeClient(CANARY_KEY, sandbox.url, **FAST) as client:
        parent = finished_suno_job(client)
        stems = client.wait(client.submit(StemsRequest(parent.id)).job_id)
        assert list(stems.stems) == ["vocals", "instrumental"]
        assert stems.stems["vocals"].title == "vocals"
        cover = CoverRequest(stems.id, audio_weight=0.5)
        with pytest.raises(RequestValidationError, match=r"a stems result takes no further action$"):
            cover.check_parent(stems)
        with pytest.raises(ConflictError) as info:
            client.submit(cover)
    assert str(info.value) == ("HTTP 409: Action cover is not available: the parent job is a stems result "
                               f"[request id {info.value.request_id}]")


def test_an_extension_past_the_track_is_refused_before_sending(sandbox: SandboxServer) -> None:
    with ApiframeClient(CANARY_KEY, sandbox.url, **FAST) as client:
        parent = finished_suno_job(client)
    length = parent.tracks[0].duration
    assert length is not None
    with pytest.raises(RequestValidationError) as info:
        ExtendRequest(parent.id, continue_at=length).check_parent(parent)
    assert str(info.value) == (f"continue_at={length!r} is not valid: must be less than the track's "
                               f"length ({length:g} s)")


def test_a_generation_still_goes_to_generate(sandbox: SandboxServer) -> None:
    async def go() -> None:
        async with AsyncApiframeClient(CANARY_KEY, sandbox.url, **FAST) as client:
            await client.submit(MusicRequest("calm piano", "suno"))

    asyncio.run(go())
    assert [r.path for r in sandbox.recorded_requests() if r.method == "POST"] == ["/v2/music/generate"]


# -- shapes the sandbox cannot produce (httpx.MockTransport) ----------------------------------


def service(answers: list[httpx.Response], seen: list[httpx.Request]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers.pop(0)

    return httpx.MockTransport(handler)


def test_a_409_of_several_lines_is_one_line() -> None:
    """MockTransport: a reason spread over lines, as the sandbox never sends."""
    seen: list[httpx.Request] = []
    answers = [httpx.Response(409, json={"error": "Action not available:\n  the parent is a stems result"},
                              headers={"x-request-id": "req-9"})]

    async def go() -> Any:
        async with AsyncApiframeClient(CANARY_KEY, "https://api.test", transport=service(answers, seen)) as c:
            return await c.submit(CoverRequest(PARENT))

    with pytest.raises(ConflictError) as info:
        asyncio.run(go())
    assert str(info.value) == ("HTTP 409: Action not available: the parent is a stems result "
                               "[request id req-9]")
    assert info.value.status_code == 409 and len(seen) == 1  # a 409 is not retried
