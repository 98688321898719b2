"""The client reads what Apiframe's official SDK types describe, and the older shapes too.

``GET /v2/models`` answers ``{"models": [...]}``; ``GET /v2/jobs`` takes ``scope``, ``search`` and
``include_models`` and lists jobs with ``expired``. Against the sandbox over real HTTP, except
where a shape the sandbox no longer produces has to be served by ``httpx.MockTransport``.
"""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qs

import httpx
import pytest

from apiframe_magic import ApiframeClient, AsyncApiframeClient, MusicRequest
from apiframe_magic._exceptions import BadRequestError, RequestValidationError
from apiframe_magic.sandbox import SandboxServer
from tests.conftest import CANARY_KEY


def test_list_jobs_sends_scope_search_and_include_models(sandbox: SandboxServer) -> None:
    with ApiframeClient(CANARY_KEY, sandbox.url) as client:
        first = client.submit(MusicRequest("calm piano", music_length_ms=5000)).job_id
        second = client.submit(MusicRequest("warm synth pads", music_length_ms=5000)).job_id
        sandbox.clear_recorded_requests()

        assert [j.id for j in client.list_jobs(search=first).jobs] == [first]
        assert [j.id for j in client.list_jobs(scope="team").jobs] == [second, first]
        asked = client.list_jobs(scope="user", include_models=True, limit=1)
        assert asked.models == ("elevenlabs-music",) and len(asked.jobs) == 1
        assert client.list_jobs(include_models=False).models is None
        assert client.list_jobs().models is None
        assert all(job.expired is False for job in client.list_jobs().jobs)

        queries = [parse_qs(r.query) for r in sandbox.recorded_requests()]
        assert queries[:4] == [
            {"search": [first]},
            {"scope": ["team"]},
            {"limit": ["1"], "scope": ["user"], "include_models": ["true"]},
            {"include_models": ["false"]},
        ]


def test_list_jobs_checks_scope_locally_and_search_on_the_server(sandbox: SandboxServer) -> None:
    with ApiframeClient(CANARY_KEY, sandbox.url) as client:
        with pytest.raises(RequestValidationError, match="scope"):
            client.list_jobs(scope="org")
        assert sandbox.recorded_requests() == []
        with pytest.raises(BadRequestError) as info:
            client.list_jobs(search="not-a-job-id")
    assert "search" in str(info.value)


def test_the_async_client_takes_the_same_arguments(sandbox: SandboxServer) -> None:
    async def go() -> tuple[str, tuple[str, ...] | None]:
        async with AsyncApiframeClient(CANARY_KEY, sandbox.url) as client:
            job = await client.submit(MusicRequest("calm piano", music_length_ms=5000))
            page = await client.list_jobs(scope="team", search=job.job_id, include_models=True)
            return job.job_id, tuple(j.id for j in page.jobs) + (page.models or ())

    job_id, seen = asyncio.run(go())
    assert seen == (job_id, "elevenlabs-music")


def test_models_reads_the_catalog_object_the_sandbox_answers(sandbox: SandboxServer) -> None:
    with httpx.Client(trust_env=False) as raw:
        assert isinstance(raw.get(f"{sandbox.url}/v2/models").json(), dict)
    with ApiframeClient(CANARY_KEY, sandbox.url) as client:
        models = client.models()
    assert models[0].id == "elevenlabs-music" and models[0].modality == "music"
    assert (models[0].cost_min, models[0].cost_max) == (10, 30)


@pytest.mark.parametrize("answer", [
    [{"id": "elevenlabs-music", "label": "ElevenLabs Music", "modality": "music"}],
    {"models": [{"id": "elevenlabs-music", "label": "ElevenLabs Music", "modality": "music"}]},
], ids=["bare list", "catalog object"])
def test_models_reads_both_shapes(answer: object) -> None:
    """``httpx.MockTransport``, not the sandbox: the sandbox answers only the catalog object
    now, and the bare list (what older services answered) must still be read."""

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v2/models"
        return httpx.Response(200, json=answer)

    with ApiframeClient(CANARY_KEY, "https://api.test",
                        transport=httpx.MockTransport(handler)) as client:
        models = client.models()
    assert [(m.id, m.label, m.modality) for m in models] == [
        ("elevenlabs-music", "ElevenLabs Music", "music")]
