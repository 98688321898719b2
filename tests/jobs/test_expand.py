"""Expanding a batch: requests that are the same job (a prompt listed twice, or spelled with other
spaces or another Unicode form) are one item, run once under the first spelling; ``takes`` is
how to ask for more; the note a run prints says which prompts were folded.
"""

from __future__ import annotations

import dataclasses
import pickle
import unicodedata

import pytest

from apiframe_magic import RequestValidationError
from apiframe_magic.jobs import BatchItem, expand, expand_rows, folded_note
from apiframe_magic.ledger import fingerprint

CAFE = "café piano"
CAFE_NFD = unicodedata.normalize("NFD", CAFE)


def ledger_keys(items: list[BatchItem]) -> list[str]:
    return [fingerprint(account="sandbox", model=i.model, prompt=i.prompt, params=i.request.params,
                        take=i.take) for i in items]


def test_prompts_equal_up_to_spaces_and_unicode_form_are_one_item_sent_as_first_written() -> None:
    assert CAFE_NFD != CAFE
    items = expand(["café  piano", CAFE, CAFE_NFD, "café\tpiano", "dark jazz"])
    assert [(i.prompt, i.take, i.folded) for i in items] == [
        ("café  piano", 1, (CAFE, CAFE_NFD, "café\tpiano")),
        ("dark jazz", 1, ()),
    ]
    assert [i.label for i in items] == ["café piano", "dark jazz"]  # labels name words, not spaces
    assert items[0].request.to_json()["prompt"] == "café  piano"


def test_no_two_items_share_a_ledger_key() -> None:
    """Two items with one ledger key ended in HTTP 409 together, or reported 20 credits for 10."""
    items = expand([CAFE, "café  piano", CAFE_NFD, "dark jazz", "dark jazz"], takes=2,
                   models=["elevenlabs-music", "suno"])
    keys = ledger_keys(items)
    assert len(keys) == len(set(keys)) == 2 * 2 * 2  # 2 distinct prompts x 2 models x 2 takes


def test_takes_give_n_takes_of_each_distinct_prompt() -> None:
    items = expand(["a", "b", "a"], takes=3)
    assert [(i.label, i.take) for i in items] == [
        ("a · take 1", 1), ("a · take 2", 2), ("a · take 3", 3),
        ("b · take 1", 1), ("b · take 2", 2), ("b · take 3", 3),
    ]
    assert {i.folded for i in items if i.prompt == "a"} == {("a",)}


def test_only_the_same_request_folds() -> None:
    # Other options make other jobs: nothing folds, and the labels say what differs.
    items = expand(["calm piano", "Calm piano"], lengths=["10s", "20s"])
    assert [i.label for i in items] == ["calm piano · 10s", "calm piano · 20s",
                                        "Calm piano · 10s", "Calm piano · 20s"]
    assert all(i.folded == () for i in items)
    rows = expand_rows([
        {"prompt": "calm piano", "model": "suno"},
        {"prompt": "calm  piano", "model": "udio"},
        {"prompt": "calm piano", "model": "mureka", "params": '{"n": 3}'},
        {"prompt": "calm piano", "model": "mureka", "params": '{"n": 1}'},
    ])
    assert len(rows) == 4 and all(i.folded == () for i in rows)
    assert folded_note(rows) is None


def test_rows_of_one_request_fold_into_the_first_with_the_most_takes() -> None:
    items = expand_rows([
        {"prompt": "calm piano", "takes": "2"},
        {"prompt": "dark jazz"},
        {"prompt": "calm  piano", "takes": "3"},
    ])
    assert [(i.label, i.take, i.folded) for i in items] == [
        ("calm piano · take 1", 1, ("calm  piano",)),
        ("calm piano · take 2", 2, ("calm  piano",)),
        ("calm piano · take 3", 3, ("calm  piano",)),
        ("dark jazz · take 1", 1, ()),
    ]


def test_the_folded_note_names_each_repeat_once_as_written() -> None:
    assert folded_note(expand(["calm piano", "dark jazz"])) is None
    one = expand(["calm piano", "calm  piano"], models=["suno", "udio"], takes=2)
    assert folded_note(one) == (
        "1 prompt repeats an earlier one (up to spaces and Unicode form) and runs once: "
        "'calm  piano'; --takes N gives N takes of each prompt")
    many = expand(["a", "a", "b", " b", "b ", "c", "c  ", "d", "d"])
    note = folded_note(many)
    assert note is not None and "\n" not in note
    assert note.startswith("5 prompts repeat an earlier one (up to spaces and Unicode form) and run "
                           "once: 'a', 'b', 'b' and 2 more;")
    assert folded_note(expand(["x" * 60, "x" * 60])) == (
        f"1 prompt repeats an earlier one (up to spaces and Unicode form) and runs once: "
        f"'{'x' * 39}…'; --takes N gives N takes of each prompt")


def test_a_batch_item_stays_frozen_and_pickles_old_and_new() -> None:
    item = expand(["calm piano", "calm  piano"])[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        item.folded = ()  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(item)) == item
    # A pickle made before items had ``folded`` has no such attribute in its state.
    old = BatchItem.__new__(BatchItem)
    object.__setattr__(old, "__dict__", {"label": "x", "request": item.request, "take": 1})
    again = pickle.loads(pickle.dumps(old))
    assert again.folded == () and again == BatchItem("x", item.request)


def test_refusals_name_the_option_as_the_shell_and_the_magic_spell_it() -> None:
    with pytest.raises(RequestValidationError) as caught:
        expand(["calm piano"], lengths="3")
    assert str(caught.value) == "--length 3: must be 5s to 5m in whole seconds (e.g. 30s, 1m30s)"
    with pytest.raises(RequestValidationError) as caught:
        expand_rows([{"prompt": "x", "model": "suno", "length": "30s"}])
    assert str(caught.value) == "--length: suno does not take it; models that do: elevenlabs-music"
