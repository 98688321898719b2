"""The request/job models: validation at every documented boundary, the exact JSON body, and
lenient parsing of every documented shape of a job."""

from __future__ import annotations

import pytest

from apiframe_magic._exceptions import RequestValidationError
from apiframe_magic.catalog import OUTPUT_FORMATS, credit_cost, format_length, parse_length, validate_body
from apiframe_magic.client import TERMINAL_STATUSES, Job, MusicRequest

# -- MusicRequest: validation ------------------------------------------------------------


@pytest.mark.parametrize("length", [5_000, 6_000, 30_000, 120_000, 299_000, 300_000])
def test_length_in_range_is_accepted(length: int) -> None:
    body = MusicRequest("x", music_length_ms=length).to_json()
    assert body["elevenlabsParams"] == {"music_length_ms": length}


@pytest.mark.parametrize("length", [0, 4_000, 4_999, 300_001, 301_000, -5_000])
def test_length_out_of_range_is_refused(length: int) -> None:
    with pytest.raises(RequestValidationError) as info:
        MusicRequest("x", music_length_ms=length)
    assert info.value.field == "elevenlabsParams.music_length_ms"
    assert info.value.value == length
    assert "5000" in info.value.allowed and "300000" in info.value.allowed


@pytest.mark.parametrize("length", [5_500, 30_001, 299_999])
def test_length_not_a_multiple_of_1000_is_refused(length: int) -> None:
    with pytest.raises(RequestValidationError, match="multiple of 1000"):
        MusicRequest("x", music_length_ms=length)


@pytest.mark.parametrize("length", [30.0, "30000", True])
def test_length_must_be_an_integer(length: object) -> None:
    with pytest.raises(RequestValidationError, match="integer"):
        MusicRequest("x", music_length_ms=length)  # type: ignore[arg-type]


@pytest.mark.parametrize("size", [1, 4_999, 5_000])
def test_prompt_lengths_accepted(size: int) -> None:
    assert MusicRequest("p" * size).to_json()["prompt"] == "p" * size


@pytest.mark.parametrize("prompt", ["", "p" * 5_001])
def test_prompt_lengths_refused(prompt: str) -> None:
    with pytest.raises(RequestValidationError) as info:
        MusicRequest(prompt)
    assert info.value.field == "prompt"
    assert "1 to 5000" in str(info.value)


@pytest.mark.parametrize("prompt", [" ", "   \n\t "])
def test_blank_prompt_refused(prompt: str) -> None:
    with pytest.raises(RequestValidationError, match="prompt"):
        MusicRequest(prompt)


def test_validation_error_is_a_value_error_with_a_short_message() -> None:
    with pytest.raises(ValueError) as info:
        MusicRequest("p" * 5_001)
    assert len(str(info.value)) < 200
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("fmt", sorted(OUTPUT_FORMATS))
def test_every_output_format_is_accepted(fmt: str) -> None:
    request = MusicRequest("x", output_format=fmt)
    assert request.to_json()["elevenlabsParams"] == {"output_format": fmt}
    assert request.audio_format.name == fmt


def test_documented_output_formats() -> None:
    assert set(OUTPUT_FORMATS) == {
        "mp3_standard",
        "mp3_high_quality",
        "wav_16khz",
        "wav_22khz",
        "wav_24khz",
        "wav_cd_quality",
    }
    assert OUTPUT_FORMATS["wav_22khz"].sample_rate == 22050
    assert OUTPUT_FORMATS["wav_cd_quality"].sample_rate == 44100
    assert OUTPUT_FORMATS["mp3_standard"].bitrate_kbps == 128
    assert OUTPUT_FORMATS["mp3_high_quality"].bitrate_kbps == 192


@pytest.mark.parametrize("fmt", ["mp3", "wav_44khz", "MP3_STANDARD", ""])
def test_bad_output_format_is_refused(fmt: str) -> None:
    with pytest.raises(RequestValidationError) as info:
        MusicRequest("x", output_format=fmt)
    assert info.value.field == "elevenlabsParams.output_format"
    assert "mp3_high_quality" in info.value.allowed


def test_default_format_when_unset_is_mp3_high_quality() -> None:
    assert MusicRequest("x").audio_format.name == "mp3_high_quality"


def test_force_instrumental_must_be_boolean() -> None:
    with pytest.raises(RequestValidationError, match="force_instrumental"):
        MusicRequest("x", force_instrumental="yes")  # type: ignore[arg-type]


def test_unknown_model_is_refused() -> None:
    with pytest.raises(RequestValidationError) as info:
        MusicRequest("x", model="elevenlabs")
    assert info.value.field == "model"


# -- MusicRequest: the JSON body --------------------------------------------------------


def test_minimal_body_omits_every_unset_key() -> None:
    assert MusicRequest("calm piano").to_json() == {
        "prompt": "calm piano",
        "model": "elevenlabs-music",
    }


def test_full_body_is_camel_case_outside_and_snake_case_inside() -> None:
    body = MusicRequest(
        "calm piano",
        music_length_ms=30_000,
        force_instrumental=False,
        output_format="wav_cd_quality",
        webhook_url="https://example.com/hook",
        webhook_events=("completed", "failed"),
    ).to_json()
    assert body == {
        "prompt": "calm piano",
        "model": "elevenlabs-music",
        "elevenlabsParams": {
            "music_length_ms": 30_000,
            "force_instrumental": False,
            "output_format": "wav_cd_quality",
        },
        "webhookUrl": "https://example.com/hook",
        "webhookEvents": ["completed", "failed"],
    }
    assert validate_body(body) == {}
    assert "webhook_url" not in body and "webhook_events" not in body


def test_false_is_sent_but_none_is_omitted() -> None:
    body = MusicRequest("x", force_instrumental=False).to_json()
    assert body["elevenlabsParams"] == {"force_instrumental": False}


def test_webhook_events_list_is_accepted_and_frozen() -> None:
    request = MusicRequest(
        "x",
        webhook_url="https://example.com/h",
        webhook_events=["progress"],  # type: ignore[arg-type]
    )
    assert request.webhook_events == ("progress",)
    assert request.to_json()["webhookEvents"] == ["progress"]


@pytest.mark.parametrize("events", [(), ("done",), ("completed", "bogus")])
def test_bad_webhook_events_are_refused(events: tuple[str, ...]) -> None:
    with pytest.raises(RequestValidationError) as info:
        MusicRequest("x", webhook_url="https://example.com/h", webhook_events=events)
    assert info.value.field == "webhookEvents"


@pytest.mark.parametrize("url", ["example.com/hook", "ftp://example.com/h", "", "https://"])
def test_bad_webhook_url_is_refused(url: str) -> None:
    with pytest.raises(RequestValidationError) as info:
        MusicRequest("x", webhook_url=url)
    assert info.value.field == "webhookUrl"


def test_validate_body_rejects_unknown_keys_at_both_levels() -> None:
    problems = validate_body(
        {
            "prompt": "x",
            "model": "elevenlabs-music",
            "webhook_url": "https://example.com",
            "elevenlabsParams": {"musicLengthMs": 30_000},
        }
    )
    assert "webhook_url" in problems
    assert "elevenlabsParams.musicLengthMs" in problems


def test_validate_body_requires_prompt_and_model() -> None:
    problems = validate_body({})
    assert set(problems) == {"prompt", "model"}
    assert validate_body([]) == {"$": ["request body must be a JSON object"]}


def test_from_json_round_trip() -> None:
    request = MusicRequest(
        "x",
        music_length_ms=60_000,
        output_format="wav_16khz",
        webhook_url="https://example.com/h",
        webhook_events=("failed",),
    )
    assert MusicRequest.from_json(request.to_json()) == request


@pytest.mark.parametrize(
    ("length", "credits"),
    [
        (None, None),
        (5_000, 10),
        (30_000, 10),
        (31_000, 20),
        (120_000, 20),
        (121_000, 30),
        (300_000, 30),
    ],
)
def test_credit_cost_tiers(length: int | None, credits: int | None) -> None:
    assert credit_cost(length) == credits


# -- parse_length / format_length ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("30s", 30_000),
        ("1m30s", 90_000),
        ("1m 30s", 90_000),
        ("90000ms", 90_000),
        ("2m", 120_000),
        ("5M", 300_000),
        ("45", 45_000),
        ("1.5s", 1_500),
        ("0.5m", 30_000),
        ("1h", 3_600_000),
        (" 30s ", 30_000),
        (45, 45_000),
        (2.5, 2_500),
    ],
)
def test_parse_length_forms(text: str | float, ms: int) -> None:
    assert parse_length(text) == ms


@pytest.mark.parametrize("text", ["", "abc", "30 seconds", "s30", "-5s", "1.0001s", "30x", True])
def test_parse_length_refuses_nonsense(text: str) -> None:
    with pytest.raises(ValueError):
        parse_length(text)


@pytest.mark.parametrize(
    ("ms", "text"), [(30_000, "30s"), (90_000, "1m30s"), (120_000, "2m"), (1_500, "1500ms")]
)
def test_format_length_is_the_inverse(ms: int, text: str) -> None:
    assert format_length(ms) == text
    assert parse_length(text) == ms


# -- Job.from_json ------------------------------------------------------------------------

AUDIO = "https://cdn2.apiframe.ai/audio/job-0.mp3"


def test_job_documented_shape() -> None:
    job = Job.from_json(
        {
            "id": "a1b2",
            "status": "COMPLETED",
            "model": "elevenlabs-music",
            "progress": 100,
            "result": {
                "tracks": [
                    {
                        "id": "track_abc",
                        "audioUrl": AUDIO,
                        "imageUrl": None,
                        "title": None,
                        "tags": None,
                        "duration": 184.2,
                    }
                ]
            },
            "error": None,
            "creditCost": 20,
            "webhookStatus": "sent",
            "createdAt": "2026-03-15T10:00:00.000Z",
            "completedAt": "2026-03-15T10:01:00.000Z",
        }
    )
    assert job.id == "a1b2" and job.is_terminal
    assert job.audio_url == AUDIO
    assert job.tracks[0].id == "track_abc" and job.tracks[0].duration == 184.2
    assert job.credit_cost == 20 and job.webhook_status == "sent" and not job.expired
    assert job.raw["model"] == "elevenlabs-music"


def test_job_result_as_bare_string() -> None:
    job = Job.from_json({"id": "j", "status": "COMPLETED", "result": AUDIO})
    assert job.audio_url == AUDIO and len(job.tracks) == 1


def test_job_result_as_list_of_urls() -> None:
    other = AUDIO.replace("-0", "-1")
    job = Job.from_json({"id": "j", "status": "COMPLETED", "result": [AUDIO, other]})
    assert [t.audio_url for t in job.tracks] == [AUDIO, other]


def test_job_result_as_list_of_track_objects() -> None:
    job = Job.from_json({"id": "j", "status": "COMPLETED", "result": [{"audioUrl": AUDIO}]})
    assert job.audio_url == AUDIO


def test_job_result_as_single_track_object() -> None:
    job = Job.from_json({"id": "j", "status": "COMPLETED", "result": {"audioUrl": AUDIO}})
    assert job.audio_url == AUDIO


def test_job_null_duration_and_missing_result() -> None:
    job = Job.from_json(
        {
            "id": "j",
            "status": "COMPLETED",
            "result": {"tracks": [{"audioUrl": AUDIO, "duration": None}]},
        }
    )
    assert job.tracks[0].duration is None
    assert Job.from_json({"id": "j", "status": "PROCESSING"}).tracks == ()
    assert Job.from_json({"id": "j", "status": "PROCESSING", "result": None}).audio_url is None


def test_job_id_or_job_id_key() -> None:
    assert Job.from_json({"jobId": "from-webhook", "status": "QUEUED"}).id == "from-webhook"
    assert Job.from_json({"id": "from-poll", "status": "QUEUED"}).id == "from-poll"


@pytest.mark.parametrize("status", ["RENDERING", "UNKNOWN", "PENDING", ""])
def test_unknown_status_is_not_terminal(status: str) -> None:
    job = Job.from_json({"id": "j", "status": status})
    assert not job.is_terminal


def test_terminal_statuses_and_case() -> None:
    assert {"COMPLETED", "FAILED", "CANCELLED"} == set(TERMINAL_STATUSES)
    assert Job.from_json({"id": "j", "status": "completed"}).status == "COMPLETED"
    for status in ("QUEUED", "PROCESSING"):
        assert not Job.from_json({"id": "j", "status": status}).is_terminal


def test_failed_job_keeps_the_error_text() -> None:
    job = Job.from_json(
        {
            "id": "j",
            "status": "FAILED",
            "progress": None,
            "creditCost": 0,
            "error": "Provider returned an error: content policy violation",
        }
    )
    assert job.is_terminal and job.progress is None and job.credit_cost == 0
    assert job.error == "Provider returned an error: content policy violation"


def test_expired_flag_and_odd_webhook_status() -> None:
    job = Job.from_json({"id": "j", "status": "COMPLETED", "expired": True, "webhookStatus": "delivered"})
    assert job.expired and job.webhook_status == "delivered"
