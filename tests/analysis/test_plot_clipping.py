"""``batch.plot()`` draws no empty "clipped samples" panel when nothing clipped; the peak panel
says so instead."""

from __future__ import annotations

from typing import Any

import pytest

from apiframe_magic.analysis import plot_measurements

pytest.importorskip("matplotlib")


def titles(rows: list[dict[str, Any]]) -> list[str]:
    return [ax.get_title() for ax in plot_measurements(rows).axes]


def test_nothing_clipped_leaves_the_clipped_panel_out() -> None:
    rows = [
        {"label": "calm", "model": "suno", "loudness_lufs": -14.0, "peak_dbfs": -1.0, "clipped_samples": 0},
        {"label": "dark", "model": "udio", "loudness_lufs": -9.5, "peak_dbfs": -0.5, "clipped_samples": 0},
    ]
    assert titles(rows) == ["integrated loudness (LUFS)", "sample peak (dBFS), none clipped"]


def test_a_row_that_clipped_keeps_the_panel() -> None:
    rows = [
        {"label": "calm", "model": "suno", "loudness_lufs": -14.0, "peak_dbfs": -1.0, "clipped_samples": 0},
        {"label": "loud", "model": "udio", "loudness_lufs": -6.0, "peak_dbfs": 0.0, "clipped_samples": 120},
    ]
    assert titles(rows) == ["integrated loudness (LUFS)", "sample peak (dBFS)", "clipped samples"]
