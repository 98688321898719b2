"""``%music listen`` in a real JupyterLab, in Debian's Chromium: a person's blind listening test.

A notebook makes three 5-second sandbox tracks and starts a test with ``--min-play 1``. The test
checks that every clip's rating buttons are disabled before the clip is played and open once it
has played for a second (the player's inline handler tells the kernel through a hidden widget),
rates each clip, reveals, and reads the job ledger's file: the three ratings are there, under the
listener's name. The reveal is static HTML and no listening widget is left on the page.

Every wait is bounded (``WAIT_MS``); the server, its kernels and the browser are stopped even on
failure. A picture of the test and one of the reveal go to ``test-artifacts/browser-listen/``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("playwright", reason="playwright (python) is not installed")

from apiframe_magic.ledger import RATING, Ledger

# Skips this module, saying why, when Debian's Chromium is not installed.
from tests.integration.test_browser import (
    WAIT_MS,
    open_and_run_all,
    wait_for_cells_without_errors,
    watched_page,
)
from tests.jupyter_harness import (
    FORBIDDEN_STRINGS,
    artifacts_dir,
    jupyter_server,
    launch_chromium,
    write_notebook,
)

pytestmark = pytest.mark.browser

JOB_SECONDS = 1.0
PROMPTS = ("a calm piano for studying", "an upbeat synthwave track", "a marching band in the rain")
CELLS = (
    "%load_ext apiframe_magic",
    "%%music --each-line --length 5s --out b\n" + "\n".join(PROMPTS),
    "%music listen b --min-play 1 --listener Ana --seed 3 --out t",
)
# What the listener gives each clip.
SCORES = {"A": 4, "B": 2, "C": 5}

# Plays a clip's player, muted, from the start; resolves once it is playing.
PLAY_JS = """
async (audio) => {
  audio.muted = true;
  audio.currentTime = 0;
  await audio.play();
  return !audio.paused;
}
"""


@pytest.fixture(scope="module")
def playwright_instance() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        yield pw


def score_buttons(page: Any, clip: str) -> Any:
    return page.locator(f".apiframe-listen-clip-{clip} button.apiframe-listen-score")


def drive(page: Any, server: Any, art: Path) -> None:
    open_and_run_all(page, server, "listen.ipynb")
    wait_for_cells_without_errors(page)
    page.wait_for_selector(".apiframe-listen .apiframe-listen-clip-C button.apiframe-listen-score")
    test = page.locator(".apiframe-listen")
    assert page.locator(".apiframe-listen .apiframe-listen-clip").count() == 3
    assert page.locator(".apiframe-listen-name input").input_value() == "Ana"
    test.scroll_into_view_if_needed()
    test.screenshot(path=str(art / "test.png"))

    for judged, (clip, score) in enumerate(SCORES.items(), start=1):
        buttons = score_buttons(page, clip)
        assert buttons.count() == 5
        assert all(buttons.nth(i).is_disabled() for i in range(5)), f"{clip} open before it was played"
        audio = page.locator(f".apiframe-listen-clip-{clip} audio")
        assert audio.evaluate(PLAY_JS), f"{clip} would not play"
        page.wait_for_function(
            "(clip) => ![...document.querySelectorAll(`.apiframe-listen-clip-${clip} "
            "button.apiframe-listen-score`)].some(b => b.disabled)", arg=clip, timeout=WAIT_MS)
        audio.evaluate("(audio) => audio.pause()")
        buttons.nth(score - 1).click()
        page.locator(".apiframe-listen-status", has_text=f"{judged} of 3 judged").wait_for()

    page.locator("button.apiframe-listen-reveal-button").click()
    reveal = page.locator(".jp-OutputArea-output div.apiframe-listen-reveal")
    reveal.wait_for()
    reveal.scroll_into_view_if_needed()
    reveal.screenshot(path=str(art / "reveal.png"))
    assert page.locator(".apiframe-listen").count() == 0, "the test's widgets are still shown"
    text = reveal.inner_text()
    assert "over 1 listener" in text, text
    for prompt in PROMPTS:
        assert prompt in text, text
    html = page.content()
    for secret in FORBIDDEN_STRINGS:
        assert secret not in html


def test_a_listener_plays_rates_and_reveals_in_jupyterlab(playwright_instance: Any, tmp_path: Path) -> None:
    art = artifacts_dir("browser-listen")
    for old in art.glob("*"):
        old.unlink()
    root = tmp_path / "root"
    write_notebook(root / "listen.ipynb", CELLS)
    with jupyter_server("lab", root, tmp_path / "env", job_seconds=JOB_SECONDS,
                        log_path=art / "server.log") as server:
        context = launch_chromium(playwright_instance, tmp_path / "profile")
        page, console = watched_page(context)
        try:
            drive(page, server, art)
        except BaseException:
            with contextlib.suppress(Exception):
                page.screenshot(path=str(art / "failure.png"), full_page=True)
            raise
        finally:
            (art / "console.log").write_text("\n".join(console))
            context.close()
            server.shutdown_kernels()

    with Ledger.open(root / "apiframe_outputs" / ".apiframe-ledger.sqlite3") as ledger:
        ratings = ledger.ratings()
        jobs = {record.job_id: record.prompt for record in ledger.history(limit=None)}
    assert [(r.kind, r.listener, r.clip, r.score) for r in ratings] == [
        (RATING, "Ana", clip, score) for clip, score in SCORES.items()]
    assert len({r.session for r in ratings}) == 1
    assert {jobs[r.job_id] for r in ratings} == set(PROMPTS)
