"""A provider message that repeats the API key, in a FAILED job's answer: the client masks it
where it parses the service's JSON, as it masks HTTP error bodies, so the error, the job's
``error`` and its raw snapshot never hold it. A real sandbox over loopback."""

from __future__ import annotations

import json

import pytest

from apiframe_magic import JobFailedError, MusicRequest
from apiframe_magic.client import ApiframeClient, mask_key
from apiframe_magic.sandbox import SandboxServer

from ..conftest import CANARY_KEY

LEAK = f"Provider returned an error: invalid credentials {CANARY_KEY} for this model"


def test_the_client_masks_the_key_in_a_failed_jobs_reason_and_snapshot(sandbox: SandboxServer) -> None:
    sandbox.faults.inject("fail_job", message=LEAK)
    with ApiframeClient(CANARY_KEY, sandbox.url, poll_interval=0.05) as client:
        job_id = client.submit(MusicRequest("a song", music_length_ms=5000)).job_id
        with pytest.raises(JobFailedError) as info:
            client.wait(job_id, timeout=30)
        job = client.get_job(job_id)
        listed = client.list_jobs().jobs
    assert CANARY_KEY not in str(info.value) and mask_key(CANARY_KEY) in str(info.value)
    assert job.error is not None and CANARY_KEY not in job.error and mask_key(CANARY_KEY) in job.error
    assert CANARY_KEY not in json.dumps(job.raw) + json.dumps([j.raw for j in listed])
