"""The model catalogue against the contract's table: params, bounds, prompt limits, tracks, prices.

Each model's request body is compared whole, as the service will receive it.
"""

from __future__ import annotations

from typing import Any

import pytest

from apiframe_magic import MusicRequest, RequestValidationError
from apiframe_magic.catalog import MODELS, ParamSpec, get_spec, validate_body


def test_every_model_of_the_contract_is_in_the_catalogue() -> None:
    assert list(MODELS) == [
        "elevenlabs-music", "suno", "udio", "producer", "lyria-3-clip", "lyria-3-pro", "mureka",
    ]
    keys = {m.id: m.params_key for m in MODELS.values()}
    assert keys == {
        "elevenlabs-music": "elevenlabsParams", "suno": "sunoParams", "udio": "udioParams",
        "producer": "producerParams", "lyria-3-clip": "lyriaParams", "lyria-3-pro": "lyriaParams",
        "mureka": "murekaParams",
    }


@pytest.mark.parametrize(
    ("model", "params", "body"),
    [
        ("elevenlabs-music", {"music_length_ms": 30_000, "force_instrumental": True,
                              "output_format": "wav_cd_quality"},
         {"prompt": "p", "model": "elevenlabs-music", "elevenlabsParams": {
             "music_length_ms": 30_000, "force_instrumental": True, "output_format": "wav_cd_quality"}}),
        ("suno", {"custom_mode": True, "instrumental": False, "model_version": "V5", "title": "T",
                  "style": "jazz", "negative_tags": "metal", "vocal_gender": "f", "style_weight": 0.5,
                  "weirdness_constraint": 1, "auto_lyrics": False},
         {"prompt": "p", "model": "suno", "sunoParams": {
             "custom_mode": True, "instrumental": False, "model_version": "V5", "title": "T",
             "style": "jazz", "negative_tags": "metal", "vocal_gender": "f", "style_weight": 0.5,
             "weirdness_constraint": 1, "auto_lyrics": False}}),
        ("udio", {"lyrics_type": "user", "title": "T", "style": "s", "negative_tags": "n", "seed": 42},
         {"prompt": "p", "model": "udio", "udioParams": {
             "lyrics_type": "user", "title": "T", "style": "s", "negative_tags": "n", "seed": 42}}),
        ("producer", {"model_version": "FUZZ_1", "instrumental": True, "lyrics_strength": 0,
                      "sound_strength": 0.2, "weirdness": 1, "seed": "abc", "title": "T"},
         {"prompt": "p", "model": "producer", "producerParams": {
             "model_version": "FUZZ_1", "instrumental": True, "lyrics_strength": 0,
             "sound_strength": 0.2, "weirdness": 1, "seed": "abc", "title": "T"}}),
        ("lyria-3-clip", {"reference_images": ["https://example.com/a.png"]},
         {"prompt": "p", "model": "lyria-3-clip",
          "lyriaParams": {"reference_images": ["https://example.com/a.png"]}}),
        ("lyria-3-pro", {}, {"prompt": "p", "model": "lyria-3-pro"}),
        ("mureka", {"model_version": "mureka-9", "lyrics": "la la", "instrumental": False, "n": 3},
         {"prompt": "p", "model": "mureka", "murekaParams": {
             "model_version": "mureka-9", "lyrics": "la la", "instrumental": False, "n": 3}}),
    ],
)
def test_request_body_is_exactly_the_contracts(model: str, params: dict[str, Any], body: Any) -> None:
    request = MusicRequest("p", model, params=params)
    assert request.to_json() == body
    assert validate_body(body) == {}
    assert MusicRequest.from_json(body) == request


@pytest.mark.parametrize(
    ("model", "params", "path"),
    [
        ("suno", {"model_version": "V3"}, "sunoParams.model_version"),
        ("suno", {"title": "x" * 81}, "sunoParams.title"),
        ("suno", {"style": "x" * 1001}, "sunoParams.style"),
        ("suno", {"negative_tags": "x" * 501}, "sunoParams.negative_tags"),
        ("suno", {"vocal_gender": "x"}, "sunoParams.vocal_gender"),
        ("suno", {"style_weight": 1.01}, "sunoParams.style_weight"),
        ("suno", {"weirdness_constraint": -0.1}, "sunoParams.weirdness_constraint"),
        ("suno", {"music_length_ms": 30_000}, "sunoParams.music_length_ms"),
        ("udio", {"lyrics_type": "none"}, "udioParams.lyrics_type"),
        ("udio", {"seed": "42"}, "udioParams.seed"),
        ("udio", {"seed": True}, "udioParams.seed"),
        ("producer", {"sound_strength": 0.1}, "producerParams.sound_strength"),
        ("producer", {"lyrics": "x" * 5001}, "producerParams.lyrics"),
        ("producer", {"seed": 42}, "producerParams.seed"),
        ("lyria-3-clip", {"reference_images": ["https://e.com/a.png"] * 11}, "lyriaParams.reference_images"),
        ("lyria-3-pro", {"reference_images": ["not a url"]}, "lyriaParams.reference_images"),
        ("mureka", {"n": 4}, "murekaParams.n"),
        ("mureka", {"n": 0}, "murekaParams.n"),
        ("mureka", {"lyrics": "x" * 3001}, "murekaParams.lyrics"),
        ("mureka", {"lyrics": "la", "instrumental": True}, "murekaParams.lyrics"),
        ("elevenlabs-music", {"music_length_ms": 5500}, "elevenlabsParams.music_length_ms"),
    ],
)
def test_bad_params_are_refused_before_sending(model: str, params: dict[str, Any], path: str) -> None:
    with pytest.raises(RequestValidationError) as caught:
        MusicRequest("p", model, params=params)
    assert caught.value.field == path
    body = {"prompt": "p", "model": model, get_spec(model).params_key: params}
    assert path in validate_body(body)


@pytest.mark.parametrize(
    ("model", "params", "limit"),
    [
        ("elevenlabs-music", {}, 5000),
        ("suno", {}, 500),
        ("suno", {"custom_mode": False}, 500),
        ("suno", {"custom_mode": True}, 5000),
        ("mureka", {}, 1024),
        ("udio", {}, 5000),
    ],
)
def test_prompt_limits_per_model(model: str, params: dict[str, Any], limit: int) -> None:
    MusicRequest("x" * limit, model, params=params)
    with pytest.raises(RequestValidationError, match="prompt"):
        MusicRequest("x" * (limit + 1), model, params=params)


def test_tracks_per_job() -> None:
    assert MusicRequest("p").track_count == 1
    assert MusicRequest("p", "suno").track_count == 2
    assert MusicRequest("p", "udio").track_count == 2
    assert MusicRequest("p", "producer").track_count == 2
    assert MusicRequest("p", "lyria-3-clip").track_count == 1
    assert MusicRequest("p", "mureka").track_count == 2
    assert MusicRequest("p", "mureka", params={"n": 3}).track_count == 3
    assert MusicRequest("p", "mureka", params={"n": 1}).track_count == 1


def test_documented_prices() -> None:
    assert MusicRequest("p", music_length_ms=30_000).credit_cost == 10
    assert MusicRequest("p", music_length_ms=31_000).credit_cost == 20
    assert MusicRequest("p", music_length_ms=300_000).credit_cost == 30
    assert MusicRequest("p").credit_cost is None
    assert MusicRequest("p", "suno", params={"model_version": "V5"}).credit_cost == 11
    assert MusicRequest("p", "udio").credit_cost == 9
    assert MusicRequest("p", "mureka").credit_cost == 12
    assert MusicRequest("p", "mureka", params={"n": 3}).credit_cost == 18
    assert MusicRequest("p", "producer").credit_cost is None
    assert MODELS["mureka"].cost_range() == (6, 18)
    assert MODELS["elevenlabs-music"].cost_range() == (10, 30)
    assert MODELS["lyria-3-pro"].cost_range() is None


def test_elevenlabs_shortcuts_are_refused_for_other_models() -> None:
    with pytest.raises(RequestValidationError, match="elevenlabs-music only"):
        MusicRequest("p", "suno", music_length_ms=30_000)
    request = MusicRequest("p", music_length_ms=30_000, output_format="wav_16khz")
    assert request.params == {"music_length_ms": 30_000, "output_format": "wav_16khz"}
    assert request.music_length_ms == 30_000 and request.audio_format.container == "wav"
    assert MusicRequest("p", "udio").audio_format.container == "mp3"


def test_lyrics_go_where_each_model_takes_them() -> None:
    assert MODELS["suno"].apply_lyrics("dreamy pop", "[Verse] hello", {}) == (
        "[Verse] hello", {"custom_mode": True, "style": "dreamy pop"}
    )
    assert MODELS["producer"].apply_lyrics("rock", "words", {"title": "T"}) == (
        "rock", {"title": "T", "lyrics": "words"}
    )
    assert MODELS["mureka"].apply_lyrics("folk", "words", {})[1] == {"lyrics": "words"}
    with pytest.raises(ValueError, match="takes no lyrics"):
        MODELS["udio"].apply_lyrics("x", "words", {})


def test_which_first_class_options_each_model_takes() -> None:
    table = {
        m.id: (m.length_param, m.format_param, m.instrumental, m.seed_param) for m in MODELS.values()
    }
    assert table == {
        "elevenlabs-music": ("music_length_ms", "output_format", ("force_instrumental", True), None),
        "suno": (None, None, ("instrumental", True), None),
        "udio": (None, None, ("lyrics_type", "instrumental"), "seed"),
        "producer": (None, None, ("instrumental", True), "seed"),
        "lyria-3-clip": (None, None, None, None),
        "lyria-3-pro": (None, None, None, None),
        "mureka": (None, None, ("instrumental", True), None),
    }


@pytest.mark.parametrize(
    ("spec", "text", "value"),
    [
        (ParamSpec("b", "bool"), "yes", True),
        (ParamSpec("b", "bool"), "False", False),
        (ParamSpec("i", "int"), "3", 3),
        (ParamSpec("f", "float"), "0.25", 0.25),
        (ParamSpec("s", "str"), "a=b", "a=b"),
        (ParamSpec("u", "uri_list"), "https://a/x.png, https://b/y.png", ["https://a/x.png", "https://b/y.png"]),
    ],
)
def test_param_values_are_typed_from_text(spec: ParamSpec, text: str, value: Any) -> None:
    assert spec.parse(text) == value


@pytest.mark.parametrize(("kind", "text"), [("bool", "maybe"), ("int", "3.5"), ("float", "x")])
def test_untypable_param_text_says_why(kind: Any, text: str) -> None:
    with pytest.raises(ValueError, match="must be"):
        ParamSpec("p", kind).parse(text)


def test_unknown_model_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="suno"):
        get_spec("sunno")
    with pytest.raises(RequestValidationError, match="must be one of"):
        MusicRequest("p", "sunno")


def test_a_malformed_url_is_a_validation_problem_not_a_crash() -> None:
    body = {"prompt": "p", "model": "lyria-3-pro", "webhookUrl": "http://[",
            "lyriaParams": {"reference_images": ["http://["]}}
    assert set(validate_body(body)) == {"webhookUrl", "lyriaParams.reference_images"}
