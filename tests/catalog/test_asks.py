"""What a prompt asks for in so many words: one set of rules for the composer and the
measurements."""

from __future__ import annotations

import pytest

from apiframe_magic.catalog import PromptAsks, asks_of


@pytest.mark.parametrize(("prompt", "asks"), [
    ("a waltz in A minor at 120 bpm, in 3/4", PromptAsks(120.0, "A minor", "3/4")),
    ("dark techno, bpm: 128, key of F#", PromptAsks(128.0, "F#", None)),
    ("a Bb major ballad", PromptAsks(None, "Bb major", None)),
    ("a jig in six-eight for a fiddle", PromptAsks(None, None, "6/8")),
    ("calm piano for a rainy day", PromptAsks()),
    ("a song about a boy", PromptAsks()),  # a bare letter is a word, not a key
    ("1000 bpm madness", PromptAsks()),
])
def test_asks_of(prompt: str, asks: PromptAsks) -> None:
    assert asks_of(prompt) == asks


def test_the_length_asked_comes_with_the_request() -> None:
    asks = asks_of("calm piano", 30.0)
    assert asks.seconds == 30.0 and asks.any
    assert not asks_of(None).any
