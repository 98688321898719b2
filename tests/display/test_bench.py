"""The audition bench's markup and the loudness-matching gains (the behaviour in a page is
tested in ``tests/integration/test_browser_bench.py``)."""

from __future__ import annotations

import math

import pytest

from apiframe_magic.display._bench import BENCH_JS, bench_bar_html, pick_button_html
from apiframe_magic.display._listen import _gated_player, matching_volumes


def test_the_bar_and_buttons_are_hidden_unless_the_script_shows_them() -> None:
    bar = bench_bar_html(["suno", "udio", "suno"], [1, 2])
    assert bar.startswith("<div class='apiframe-bench-bar apiframe-bench-only' style='display:none;")
    assert bar.endswith(f"<script class='apiframe-bench-script'>{BENCH_JS}</script>")
    assert ".apiframe-bench-only{display:inline-block!important}" in BENCH_JS
    # A choice per model (once each) and per take, where there are several.
    assert bar.count("value='model:suno'") == 1 and "value='model:udio'" in bar
    assert "value='take:1'" in bar and "value='take:2'" in bar
    assert "value='model:" not in bench_bar_html(["suno"], [1])
    button = pick_button_html(3)
    assert "data-card='3'" in button and "display:none" in button and ", key 3" in button
    assert "key" not in pick_button_html(12)


def test_the_script_names_no_class_the_notebook_tests_count() -> None:
    # The saved notebook's tests count players, measurement lines and waveforms by their markup.
    for counted in ("<audio", "apiframe-measurements", "apiframe-waveform", "data:audio/"):
        assert counted not in BENCH_JS


def test_matching_turns_every_clip_down_to_the_quietest() -> None:
    volumes = matching_volumes({"A": -14.0, "B": -20.0, "C": None, "D": -8.0})
    assert volumes["B"] == 1.0 and volumes["C"] == 1.0
    assert volumes["A"] == pytest.approx(10 ** (-6 / 20))
    assert volumes["D"] == pytest.approx(10 ** (-12 / 20))
    assert all(v <= 1 for v in volumes.values())
    assert matching_volumes({"A": None}) == {"A": 1.0}


def test_a_listening_clip_plays_at_its_gain() -> None:
    player = _gated_player(b"ID3", 1.0, 1, volume=10 ** (-6 / 20))
    assert f'onplay="this.volume={10 ** (-6 / 20):.4f}"' in player
    assert 'onplay="this.volume=1.0000"' in _gated_player(b"ID3", 1.0, 1, volume=math.inf)
