"""The catalog's rules for every model: options mapped onto params (``params_for``), ``--param``
values typed and checked (``parse_param``), prices before a job runs (``price_bounds``) and when
two prompts are the same prompt (``normalize_prompt``).

Expectations are written out by hand from the contract, model by model, so a spec that drifts
from it fails here rather than agreeing with itself.
"""

from __future__ import annotations

import pickle
import unicodedata
from typing import Any

import pytest

from apiframe_magic import RequestValidationError
from apiframe_magic.catalog import (
    MODELS,
    OptionError,
    credit_cost,
    get_spec,
    normalize_prompt,
    parse_param_among,
    price_bounds,
    split_param,
)
from apiframe_magic.client import MusicRequest

# -- price_bounds -----------------------------------------------------------------------------

# model: (any job of it, a job with default params, (params, bounds) of other jobs)
PRICES: dict[str, tuple[Any, Any, list[tuple[dict[str, Any], Any]]]] = {
    "elevenlabs-music": ((10, 30), (10, 30), [
        ({"music_length_ms": 5_000}, (10, 10)), ({"music_length_ms": 30_000}, (10, 10)),
        ({"music_length_ms": 31_000}, (20, 20)), ({"music_length_ms": 120_000}, (20, 20)),
        ({"music_length_ms": 121_000}, (30, 30)), ({"music_length_ms": 300_000}, (30, 30)),
        ({"force_instrumental": True}, (10, 30)),
    ]),
    "suno": ((11, 11), (11, 11), [({"model_version": "V5"}, (11, 11))]),
    "udio": ((9, 9), (9, 9), [({"seed": 7}, (9, 9))]),
    "producer": (None, None, [({"seed": "7"}, None)]),
    "lyria-3-clip": (None, None, []),
    "lyria-3-pro": (None, None, []),
    "mureka": ((6, 18), (12, 12), [({"n": 1}, (6, 6)), ({"n": 2}, (12, 12)), ({"n": 3}, (18, 18))]),
}


def test_every_model_has_its_prices_written_here() -> None:
    assert set(PRICES) == set(MODELS)


@pytest.mark.parametrize("model", sorted(PRICES))
def test_price_bounds_of_every_model(model: str) -> None:
    any_job, default_job, others = PRICES[model]
    assert price_bounds(model) == any_job
    assert price_bounds(get_spec(model)) == any_job
    assert get_spec(model).price_bounds() == any_job
    assert price_bounds(model, {}) == default_job
    assert price_bounds(MusicRequest("calm piano", model)) == default_job
    for params, bounds in others:
        assert price_bounds(model, params) == bounds, params
        assert price_bounds(MusicRequest("calm piano", model, params=params)) == bounds, params
        assert get_spec(model).price_bounds(params) == bounds, params


def test_price_bounds_takes_a_request_or_a_model_with_params_not_both() -> None:
    with pytest.raises(TypeError):
        price_bounds(MusicRequest("calm piano"), {"music_length_ms": 30_000})
    with pytest.raises(KeyError, match="unknown model 'nope'"):
        price_bounds("nope", {})


def test_credit_cost_keeps_working() -> None:
    assert [credit_cost(ms) for ms in (5_000, 30_000, 30_001, 120_000, 300_000)] == [10, 10, 20, 20, 30]
    assert credit_cost(None) is None


# -- params_for -------------------------------------------------------------------------------

# What each option sets for each model, or which models the refusal names.
LENGTH_TAKERS = "elevenlabs-music"
FORMAT_TAKERS = "elevenlabs-music"
INSTRUMENTAL_TAKERS = "elevenlabs-music, suno, udio, producer, mureka"
SEED_TAKERS = "udio, producer"
OPTIONS: dict[str, dict[str, Any]] = {
    "elevenlabs-music": {
        "length": {"music_length_ms": 30_000}, "format": {"output_format": "wav_16khz"},
        "instrumental": {"force_instrumental": True}, "seed": None,
    },
    "suno": {"length": None, "format": None, "instrumental": {"instrumental": True}, "seed": None},
    "udio": {"length": None, "format": None, "instrumental": {"lyrics_type": "instrumental"},
             "seed": {"seed": 7}},
    "producer": {"length": None, "format": None, "instrumental": {"instrumental": True},
                 "seed": {"seed": "7"}},
    "lyria-3-clip": {"length": None, "format": None, "instrumental": None, "seed": None},
    "lyria-3-pro": {"length": None, "format": None, "instrumental": None, "seed": None},
    "mureka": {"length": None, "format": None, "instrumental": {"instrumental": True}, "seed": None},
}
ASKED: dict[str, dict[str, Any]] = {
    "length": {"length": "30s"}, "format": {"format": "wav_16khz"},
    "instrumental": {"instrumental": True}, "seed": {"seed": "7"},
}
TAKERS = {"length": LENGTH_TAKERS, "format": FORMAT_TAKERS, "instrumental": INSTRUMENTAL_TAKERS,
          "seed": SEED_TAKERS}


def test_every_model_has_its_options_written_here() -> None:
    assert set(OPTIONS) == set(MODELS)


@pytest.mark.parametrize(("model", "option"), [(m, o) for m in sorted(OPTIONS) for o in ASKED])
def test_params_for_maps_each_option_or_refuses_it_naming_the_option(model: str, option: str) -> None:
    spec = get_spec(model)
    expected = OPTIONS[model][option]
    if expected is not None:
        assert spec.params_for(**ASKED[option]) == expected
        assert spec.params_for(**ASKED[option], params={"x": 1}) == {"x": 1, **expected}
        return
    with pytest.raises(OptionError) as caught:
        spec.params_for(**ASKED[option])
    assert str(caught.value) == f"--{option}: {model} does not take it; models that do: {TAKERS[option]}"
    assert caught.value.field == f"--{option}"
    assert isinstance(caught.value, RequestValidationError)  # what callers already catch


def test_no_option_asks_nothing() -> None:
    for spec in MODELS.values():
        assert spec.params_for() == {}
        assert spec.params_for(params={"n": 2}) == {"n": 2}


def test_a_length_out_of_range_names_the_option_as_typed_not_the_param() -> None:
    """Issue 19: ``--length 3`` was reported as ``music_length_ms=3000``."""
    spec = get_spec("elevenlabs-music")
    with pytest.raises(OptionError) as caught:
        spec.params_for(length="3")
    assert str(caught.value) == "--length 3: must be 5s to 5m in whole seconds (e.g. 30s, 1m30s)"
    assert "music_length_ms" not in str(caught.value)
    for text in ("5m1s", "5.5s", "0"):
        with pytest.raises(OptionError, match=rf"^--length {text}: must be 5s to 5m"):
            spec.params_for(length=text)
    with pytest.raises(OptionError, match=r"^--length: cannot read length 'soon'"):
        spec.params_for(length="soon")
    with pytest.raises(OptionError, match=r"^MusicMagics\.default_length 2s: must be 5s to 5m"):
        spec.params_for(length="2s", spelled={"length": "MusicMagics.default_length"})


def test_a_length_may_be_text_seconds_or_milliseconds() -> None:
    spec = get_spec("elevenlabs-music")
    assert spec.params_for(length="1m30s") == spec.params_for(length=90) == {"music_length_ms": 90_000}
    assert spec.params_for(length_ms=90_000) == {"music_length_ms": 90_000}
    with pytest.raises(OptionError, match=r"^--length 4s: must be 5s"):
        spec.params_for(length_ms=4_000)
    with pytest.raises(OptionError):
        spec.params_for(length="30s", length_ms=30_000)


def test_option_values_are_checked_against_the_models_param() -> None:
    with pytest.raises(OptionError, match=r"^--format flac: must be one of mp3_standard, "):
        get_spec("elevenlabs-music").params_for(format="flac")
    with pytest.raises(OptionError, match=r"^--seed x: must be an integer$"):
        get_spec("udio").params_for(seed="x")
    assert get_spec("udio").params_for(seed=42) == {"seed": 42}


def test_an_option_and_a_param_that_disagree_are_refused() -> None:
    suno = get_spec("suno")
    with pytest.raises(OptionError) as caught:
        suno.params_for(instrumental=True, params={"instrumental": False})
    assert str(caught.value) == "--param instrumental=false: instrumental is already set by --instrumental"
    assert suno.params_for(instrumental=True, params={"instrumental": True}) == {"instrumental": True}


def test_an_option_error_pickles_as_itself() -> None:
    with pytest.raises(OptionError) as caught:
        get_spec("suno").params_for(length="30s")
    again = pickle.loads(pickle.dumps(caught.value))
    assert (type(again), str(again), again.field) == (OptionError, str(caught.value), "--length")


# -- parse_param ------------------------------------------------------------------------------

# (model, key, text, value) accepted, for every model.
GOOD = [
    ("elevenlabs-music", "music_length_ms", "30_000", 30_000),
    ("elevenlabs-music", "force_instrumental", "yes", True),
    ("elevenlabs-music", "output_format", "wav_cd_quality", "wav_cd_quality"),
    ("suno", "custom_mode", "true", True),
    ("suno", "model_version", "V5", "V5"),
    ("suno", "style_weight", "0.5", 0.5),
    ("suno", "style", "dark jazz", "dark jazz"),
    ("udio", "seed", "7", 7),
    ("udio", "lyrics_type", "instrumental", "instrumental"),
    ("producer", "seed", "7", "7"),
    ("producer", "sound_strength", "0.2", 0.2),
    ("lyria-3-clip", "reference_images", "https://e.com/a.png, https://e.com/b.png",
     ["https://e.com/a.png", "https://e.com/b.png"]),
    ("lyria-3-pro", "reference_images", "https://e.com/a.png", ["https://e.com/a.png"]),
    # A local file is taken here: the client uploads it and sends its URL.
    ("lyria-3-clip", "reference_images", "./moodboard.png,https://e.com/a.png",
     ["./moodboard.png", "https://e.com/a.png"]),
    ("mureka", "n", "3", 3),
    ("mureka", "model_version", "mureka-9", "mureka-9"),
]
# (model, key, text, the one line)
BAD = [
    ("elevenlabs-music", "music_length_ms", "3000",
     "--param music_length_ms=3000: music_length_ms must be between 5000 and 300000"),
    ("elevenlabs-music", "force_instrumental", "perhaps",
     "--param force_instrumental=perhaps: force_instrumental must be true or false"),
    ("suno", "model_version", "V9", "--param model_version=V9: model_version must be one of V4, "),
    ("suno", "title", "x" * 81, "title must be at most 80 characters"),
    ("udio", "seed", "seven", "--param seed=seven: seed must be an integer"),
    ("producer", "sound_strength", "0.1",
     "--param sound_strength=0.1: sound_strength must be between 0.2 and 1"),
    ("lyria-3-clip", "reference_images", "ftp://e.com/a.png",
     "reference_images must hold absolute http(s) URLs"),
    ("lyria-3-pro", "reference_images", ",".join(f"https://e.com/{i}.png" for i in range(11)),
     "reference_images must have at most 10 items"),
    ("mureka", "n", "4", "--param n=4: n must be between 1 and 3"),
]


def test_every_model_is_in_the_param_tables() -> None:
    assert {g[0] for g in GOOD} == {b[0] for b in BAD} == set(MODELS)


@pytest.mark.parametrize(("model", "key", "text", "value"), GOOD)
def test_parse_param_types_a_value(model: str, key: str, text: str, value: Any) -> None:
    assert get_spec(model).parse_param(key, text) == value


@pytest.mark.parametrize(("model", "key", "text", "says"), BAD)
def test_parse_param_refuses_a_bad_value_in_one_line_naming_the_param(
    model: str, key: str, text: str, says: str
) -> None:
    with pytest.raises(OptionError) as caught:
        get_spec(model).parse_param(key, text)
    assert says in str(caught.value)
    assert "\n" not in str(caught.value) and caught.value.field == f"--param {key}"


def test_an_unknown_param_names_what_the_model_takes_and_who_has_it() -> None:
    with pytest.raises(OptionError) as caught:
        get_spec("suno").parse_param("n", "3")
    assert str(caught.value) == (
        "--param n: suno has no param n; it takes custom_mode, instrumental, model_version, title, "
        "style, negative_tags, vocal_gender, style_weight, weirdness_constraint, auto_lyrics; "
        "models that do: mureka")
    with pytest.raises(OptionError, match=r"^--param colour: udio has no param colour; it takes [a-z_, ]+$"):
        get_spec("udio").parse_param("colour", "blue")


def test_parse_param_among_types_by_the_first_model_that_has_the_key() -> None:
    specs = [get_spec("udio"), get_spec("producer")]
    assert parse_param_among(specs, "seed", "7") == 7  # udio's integer seed, not producer's text
    assert parse_param_among(specs[::-1], "seed", "7") == "7"
    with pytest.raises(OptionError, match=r"^--param n: none of udio, producer has it; models that do: mur"):
        parse_param_among(specs, "n", "3")
    with pytest.raises(OptionError, match=r"^--param n: udio has no param n"):
        parse_param_among(specs[:1], "n", "3")


def test_split_param() -> None:
    assert split_param(" style = dark = jazz") == ("style", " dark = jazz")
    for item in ("style", "=jazz", " =x"):
        with pytest.raises(OptionError, match="write KEY=VALUE"):
            split_param(item)


# -- normalize_prompt -------------------------------------------------------------------------


def test_normalize_prompt_is_one_rule_for_the_ledger_and_the_catalog() -> None:
    from apiframe_magic.ledger import normalize_prompt as ledgers

    assert ledgers is normalize_prompt
    nfd = unicodedata.normalize("NFD", "café piano")
    assert nfd != "café piano"
    assert {normalize_prompt(p) for p in ("café piano", "café  piano", nfd, " café\n\tpiano ")} == {
        "café piano"}
    assert normalize_prompt("Calm piano") != normalize_prompt("calm piano")  # case is kept
