"""The progress views' end states in a plain IPython shell (no kernel).

The widget view inside a real kernel (its models all closed, a titled state in orange) is
tested in tests/integration/test_kernel.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from IPython.core.interactiveshell import InteractiveShell

from apiframe_magic.display import TextProgress, WidgetProgress


@pytest.fixture
def shell() -> Iterator[InteractiveShell]:
    InteractiveShell.clear_instance()
    try:
        yield InteractiveShell.instance()
    finally:
        InteractiveShell.clear_instance()


def test_text_view_failures_are_red_lines_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    TextProgress("calm piano", 0).failed("Job j1 failed: boom.")
    TextProgress("calm piano", 0).failed("stopped waiting", interrupted=True)
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [
        "[apiframe] ✘ failed: Job j1 failed: boom.",
        "[apiframe] ✘ interrupted: stopped waiting",
    ]
    assert captured.out == ""


def test_text_view_titled_state_is_not_a_failure(capsys: pytest.CaptureFixture[str]) -> None:
    """A timeout ends the wait, not the job: "still running", without ✘, not on stderr."""
    TextProgress("calm piano", 0).failed("Job j1 still running after 5 s.", title="still running")
    captured = capsys.readouterr()
    assert captured.out == "[apiframe] ⏳ still running: Job j1 still running after 5 s.\n"
    assert captured.err == ""


def test_widget_view_outside_a_kernel_does_not_hold_the_green_bar(shell: InteractiveShell) -> None:
    """The pause that lets a user see the bar turn green only happens where a widget shows."""
    pytest.importorskip("ipywidgets")
    view = WidgetProgress("calm piano", 0)
    try:
        assert view.hold_seconds == 0
    finally:
        view.close()
