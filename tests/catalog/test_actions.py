"""The Suno actions as data, against the contract's table for ``POST /v2/music/suno/action``:
every field of every action with its bounds, unknown keys, the parents an action accepts, the
price the budget reads, ``--param`` for an action, and the upload rules (types from the bytes,
limits by kind). Every refusal is one line.
"""

from __future__ import annotations

from typing import Any

import pytest

from apiframe_magic.catalog import (
    ACTIONS,
    SNIFF_BYTES,
    UPLOAD_LIMITS,
    OptionError,
    continue_at_problem,
    get_action,
    parent_problem,
    price_bounds,
    sniff_upload,
    upload_problem,
    validate_action_body,
)

PARENT = "3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f"


def body(action: str, **fields: Any) -> dict[str, Any]:
    return {"action": action, "parentJobId": PARENT, "index": 1, **fields}


def test_the_four_actions_of_the_contract() -> None:
    assert list(ACTIONS) == ["extend", "cover", "add_vocals", "stems"]
    assert {a.id: a.credits for a in ACTIONS.values()} == dict.fromkeys(ACTIONS, 11)
    assert {a.id: a.model for a in ACTIONS.values()} == dict.fromkeys(ACTIONS, "suno")
    assert ACTIONS["stems"].track_titles == ("vocals", "instrumental")
    assert [a.id for a in ACTIONS.values() if a.chainable] == ["extend", "cover", "add_vocals"]
    assert {a.id: a.tracks for a in ACTIONS.values()} == dict.fromkeys(ACTIONS, 2)


@pytest.mark.parametrize(
    ("action", "keys"),
    [
        ("extend", {"prompt", "continueAt", "title", "style", "negative_tags"}),
        ("cover", {"prompt", "audio_weight", "title", "style", "negative_tags"}),
        ("add_vocals", {"prompt", "title", "style", "negative_tags"}),
        ("stems", set()),
    ],
)
def test_each_action_takes_the_fields_of_the_contract(action: str, keys: set[str]) -> None:
    common = {"action", "parentJobId", "index", "trackId", "webhookUrl", "webhookEvents"}
    assert ACTIONS[action].keys == common | keys


@pytest.mark.parametrize(
    "good",
    [
        body("extend"),
        body("extend", continueAt=0.5, prompt="verse two", title="T" * 80, style="s" * 1000,
             negative_tags="n" * 500),
        body("cover", audio_weight=0), body("cover", audio_weight=1), body("cover", audio_weight=0.35),
        body("add_vocals", prompt="la la la"),
        body("add_vocals", prompt="x" * 5000),
        {"action": "stems", "parentJobId": PARENT, "trackId": "t" * 200},
        {"action": "stems", "parentJobId": PARENT},  # no track named: the first
        {"action": "stems", "parentJobId": PARENT, "index": 2, "webhookUrl": "https://hooks.test/a",
         "webhookEvents": ["completed", "failed"]},
    ],
)
def test_valid_bodies_have_no_problems(good: dict[str, Any]) -> None:
    assert validate_action_body(good) == {}


@pytest.mark.parametrize(
    ("bad", "details"),
    [
        ([], {"$": ["request body must be a JSON object"]}),
        ({"parentJobId": PARENT, "index": 1}, {"action": ["is required"]}),
        (body("remix"), {"action": ["must be one of extend, cover, add_vocals, stems"]}),
        ({"action": "stems", "index": 1}, {"parentJobId": ["is required"]}),
        (body("stems", parentJobId="job-1"), {"parentJobId": ["must be a job id (a UUID)"]}),
        (body("stems", parentJobId=7), {"parentJobId": ["must be a job id (a UUID)"]}),
        (body("stems", trackId="t1"), {"trackId": ["give index or trackId, not both"]}),
        (body("stems", index=3), {"index": ["must be between 1 and 2"]}),
        (body("stems", index=0), {"index": ["must be between 1 and 2"]}),
        (body("stems", index=True), {"index": ["must be an integer"]}),
        ({"action": "stems", "parentJobId": PARENT, "trackId": ""},
         {"trackId": ["must be 1 to 200 characters"]}),
        ({"action": "stems", "parentJobId": PARENT, "trackId": "t" * 201},
         {"trackId": ["must be 1 to 200 characters"]}),
        (body("extend", continueAt=0), {"continueAt": ["must be more than 0"]}),
        (body("extend", continueAt=-3), {"continueAt": ["must be more than 0"]}),
        (body("extend", continueAt="30"), {"continueAt": ["must be a number"]}),
        (body("extend", continueAt=float("nan")), {"continueAt": ["must be a number"]}),
        (body("cover", audio_weight=1.5), {"audio_weight": ["must be between 0 and 1"]}),
        (body("cover", audio_weight=-0.1), {"audio_weight": ["must be between 0 and 1"]}),
        (body("add_vocals"), {"prompt": ["is required (the lyrics to sing)"]}),
        (body("add_vocals", prompt=""), {"prompt": ["must be 1 to 5000 characters"]}),
        (body("extend", prompt="x" * 5001), {"prompt": ["must be 1 to 5000 characters"]}),
        (body("cover", title="T" * 81), {"title": ["must be at most 80 characters"]}),
        (body("cover", style="s" * 1001), {"style": ["must be at most 1000 characters"]}),
        (body("extend", negative_tags="n" * 501), {"negative_tags": ["must be at most 500 characters"]}),
        (body("cover", continueAt=10), {"continueAt": ["is not an allowed property"]}),
        (body("extend", audio_weight=0.5), {"audio_weight": ["is not an allowed property"]}),
        (body("stems", prompt="x"), {"prompt": ["is not an allowed property"]}),
        (body("stems", title="x"), {"title": ["is not an allowed property"]}),
        (body("extend", sunoParams={}), {"sunoParams": ["is not an allowed property"]}),
        (body("extend", webhook_url="https://h.test"), {"webhook_url": ["is not an allowed property"]}),
        (body("stems", webhookUrl="ftp://h.test"), {"webhookUrl": ["must be an absolute http(s) URL"]}),
        (body("stems", webhookEvents=[]),
         {"webhookEvents": ["must be a non-empty list of progress, completed, failed"]}),
    ],
)
def test_every_rule_is_a_problem_by_json_path(bad: Any, details: dict[str, list[str]]) -> None:
    """The shape of a 400's ``details``, as :func:`validate_body` gives for a submit."""
    assert validate_action_body(bad) == details


def test_every_problem_is_one_line() -> None:
    problems = validate_action_body({"action": "extend", "parentJobId": "x", "continueAt": 0,
                                     "title": "T" * 81, "bogus": 1})
    assert set(problems) == {"bogus", "parentJobId", "continueAt", "title"}
    assert all("\n" not in m for messages in problems.values() for m in messages)


def test_an_action_costs_11_credits_whatever_its_body() -> None:
    for spec in ACTIONS.values():
        assert price_bounds(spec) == (11, 11)
        assert spec.price_bounds() == (11, 11)


def test_price_bounds_reads_a_request_naming_its_action() -> None:
    """The budget's ``price_top`` calls ``price_bounds(request)``: an action request is priced by
    its action, not by the params of the model that makes it."""

    class Stems:
        action_spec = get_action("stems")

    assert price_bounds(Stems()) == (11, 11)


def test_get_action_names_the_actions() -> None:
    assert get_action("cover").id == "cover"
    with pytest.raises(KeyError, match="one of extend, cover, add_vocals, stems"):
        get_action("remix")


@pytest.mark.parametrize(
    ("model", "action", "why"),
    [
        ("suno", None, None),
        (None, None, None),
        ("suno", "extend", None),
        (None, "cover", None),
        ("suno", "add_vocals", None),
        ("suno", "stems", "a stems result takes no further action"),
        ("udio", None, "only a suno job (or an extend, cover or add_vocals result) takes an action; "
                       "this is a udio job"),
    ],
)
def test_which_parents_an_action_accepts(model: str | None, action: str | None, why: str | None) -> None:
    assert parent_problem(model, action) == why


def test_an_extension_starts_before_the_end_of_its_track() -> None:
    assert continue_at_problem(60, 184.2) is None
    assert continue_at_problem(184.2, 184.2) == "must be less than the track's length (184.2 s)"
    assert continue_at_problem(200, 184.2) == "must be less than the track's length (184.2 s)"
    assert continue_at_problem(200, None) is None  # unknown length: the service decides


def test_param_of_an_action_is_typed_and_checked() -> None:
    assert get_action("cover").parse_param("audio_weight", "0.25") == 0.25
    assert get_action("extend").parse_param("title", "Part two") == "Part two"
    with pytest.raises(OptionError) as info:
        get_action("cover").parse_param("audio_weight", "2")
    assert str(info.value) == "--param audio_weight=2: audio_weight must be between 0 and 1"


def test_a_param_the_action_does_not_take_is_one_line_naming_who_does() -> None:
    with pytest.raises(OptionError) as info:
        get_action("extend").parse_param("audio_weight", "0.5")
    assert str(info.value) == ("--param audio_weight: extend has no param audio_weight; it takes "
                               "title, style, negative_tags; actions that do: cover")
    with pytest.raises(OptionError) as info:
        get_action("stems").parse_param("title", "x")
    assert str(info.value) == ("--param title: stems has no param title; it takes no --param; "
                               "actions that do: extend, cover, add_vocals")


# -- uploads -----------------------------------------------------------------------------------

HEADS = {
    "PNG": b"\x89PNG\r\n\x1a\n" + b"\0" * 8,
    "JPEG": b"\xff\xd8\xff\xe0\0\x10JFIF",
    "WebP": b"RIFF\x10\0\0\0WEBPVP8 ",
    "GIF": b"GIF89a\x01\0\x01\0",
    "MP4": b"\0\0\0\x18ftypisom\0\0\x02\0",
    "WebM": b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm",
    "MOV": b"\0\0\0\x14ftypqt  \0\0\0\0",
    "MP3": b"ID3\x04\0\0\0\0\0\0",
    "WAV": b"RIFF\x24\0\0\0WAVEfmt ",
    "OGG": b"OggS\0\x02\0\0",
    "M4A": b"\0\0\0\x20ftypM4A \0\0\0\0",
}


@pytest.mark.parametrize(("name", "head"), sorted(HEADS.items()))
def test_each_upload_type_is_sniffed_from_its_bytes(name: str, head: bytes) -> None:
    found = sniff_upload(head)
    assert found is not None and found.name == name
    assert len(head) <= SNIFF_BYTES


def test_an_mp3_without_a_tag_is_sniffed_from_its_frame_sync() -> None:
    found = sniff_upload(b"\xff\xfb\x90\x64" + b"\0" * 12)
    assert found is not None and found.name == "MP3"


@pytest.mark.parametrize(
    "head",
    [b"", b"hello, world", b"%PDF-1.7\n", b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01matroska",
     b"\xff\xf1\x50\x80"],  # text, a PDF, Matroska that is not WebM, ADTS AAC
)
def test_other_files_are_no_upload_type(head: bytes) -> None:
    assert sniff_upload(head) is None


def test_the_limits_are_25_mb_for_images_and_audio_and_50_mb_for_video() -> None:
    assert UPLOAD_LIMITS == {"image": 25_000_000, "audio": 25_000_000, "video": 50_000_000}
    assert upload_problem(HEADS["PNG"], 25_000_000) is None
    assert upload_problem(HEADS["PNG"], 25_000_001) == (
        "is 25,000,001 bytes; an image file can be at most 25,000,000 bytes")
    assert upload_problem(HEADS["MP4"], 50_000_000) is None
    assert upload_problem(HEADS["MP4"], 60_000_000) == "is 60 MB; a video file can be at most 50 MB"
    assert upload_problem(HEADS["WAV"], 30_500_000) == "is 30.5 MB; an audio file can be at most 25 MB"


def test_an_upload_problem_is_one_line_saying_what_is_taken() -> None:
    assert upload_problem(b"", 0) == "is empty"
    assert upload_problem(b"%PDF-1.7", 900) == (
        "is not a file type the service takes (PNG, JPEG, WebP, GIF, MP4, WebM, MOV, MP3, WAV, OGG, M4A)")
    assert upload_problem(HEADS["MP3"], 900, ("image",)) == (
        "is audio (MP3); only image files are taken here (PNG, JPEG, WebP, GIF)")
