"""``%music listen`` in a real JupyterLab and Notebook 7, in Debian's Chromium: a blind test.

A notebook makes three 5-second sandbox tracks (the batch grid shows them, labelled, with their
players) and starts a test with ``--min-play 1``. While the test runs the grid is folded away, and
no clip's source is byte-identical to any other player's on the page (every source hashed). Every
clip's rating buttons are disabled before the clip is played and open once it has played for a
second (the player's inline handler tells the kernel through a hidden widget); the listener rates
each letter, presses Reveal, which only asks, cancels, presses it again and confirms. The job
ledger's file holds the three ratings under the listener's name with the letter and position each
had. The reveal is static HTML with a player beside each clip, no listening widget is left on
the page, and the grid is back.

Every wait is bounded (``WAIT_MS``); the server, its kernels and the browser are stopped even on
failure. Pictures of the test, of Reveal asking and of the reveal go to
``test-artifacts/browser-listen-<front end>/``.
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
    FRONTENDS,
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
# What the listener gives each letter (their own: the first clip they hear is their A).
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


# The sha-256 of the bytes of every <audio> source on the page (embedded or linked: fetched as
# the player would), said by whether it plays in the listening test.
SOURCES_JS = """
async () => Promise.all([...document.querySelectorAll('audio')].map(async (a) => {
  const src = a.currentSrc || a.src || (a.querySelector('source') || {}).src || '';
  const bytes = await (await fetch(src)).arrayBuffer();
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return {test: !!a.closest('.apiframe-listen'), size: bytes.byteLength,
          sha256: Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('')};
}))
"""


def source_hashes(page: Any) -> tuple[set[str], set[str]]:
    """The hashes of every player's source: the test's, and the rest of the page's."""
    test, rest = set(), set()
    for source in page.evaluate(SOURCES_JS):
        assert source["size"] > 1000, source
        (test if source["test"] else rest).add(source["sha256"])
    return test, rest


def drive(page: Any, server: Any, art: Path) -> None:
    open_and_run_all(page, server, "listen.ipynb")
    wait_for_cells_without_errors(page)
    page.wait_for_selector(".apiframe-listen .apiframe-listen-clip-C button.apiframe-listen-score")
    test = page.locator(".apiframe-listen")
    assert page.locator(".apiframe-listen .apiframe-listen-clip").count() == 3
    assert page.locator(".apiframe-listen-name input").input_value() == "Ana"
    test.scroll_into_view_if_needed()
    test.screenshot(path=str(art / "test.png"))

    # Blind on the page: the grid is folded away, and no clip's bytes are another player's.
    grid = page.locator(".jp-OutputArea-output .apiframe-batch")
    assert grid.count() == 1 and grid.is_hidden(), "the labelled grid shows while the test runs"
    clips, others = source_hashes(page)
    assert len(clips) == 3 and len(others) >= 3, (clips, others)
    assert not clips & others, "a clip can be matched to a card by its bytes"

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

    # Reveal asks first; Cancel keeps the test going.
    page.locator("button.apiframe-listen-reveal-button").click()
    confirm = page.locator("button.apiframe-listen-confirm")
    confirm.wait_for()
    test.screenshot(path=str(art / "confirm.png"))
    page.locator("button.apiframe-listen-cancel").click()
    confirm.wait_for(state="hidden")
    assert page.locator(".apiframe-listen").count() == 1
    page.locator("button.apiframe-listen-reveal-button").click()
    confirm.click()

    reveal = page.locator(".jp-OutputArea-output div.apiframe-listen-reveal")
    reveal.wait_for()
    reveal.scroll_into_view_if_needed()
    reveal.screenshot(path=str(art / "reveal.png"))
    assert page.locator(".apiframe-listen").count() == 0, "the test's widgets are still shown"
    assert grid.is_visible(), "the grid did not come back with the reveal"
    assert reveal.locator("audio").count() == 3, "a clip named without a player beside it"
    text = reveal.inner_text()
    assert "over 1 listener" in text and "Judgements written to" in text, text
    for prompt in PROMPTS:
        assert prompt in text, text
    html = page.content()
    for secret in FORBIDDEN_STRINGS:
        assert secret not in html


@pytest.mark.parametrize("frontend", list(FRONTENDS))
def test_a_listener_plays_rates_and_reveals_blind(
    frontend: str, playwright_instance: Any, tmp_path: Path,
) -> None:
    art = artifacts_dir(f"browser-listen-{frontend}")
    for old in art.glob("*"):
        old.unlink()
    root = tmp_path / "root"
    write_notebook(root / "listen.ipynb", CELLS)
    with jupyter_server(FRONTENDS[frontend], root, tmp_path / "env", job_seconds=JOB_SECONDS,
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
    assert [(r.kind, r.listener, r.shown_as, r.position, r.score) for r in ratings] == [
        (RATING, "Ana", clip, i, score) for i, (clip, score) in enumerate(SCORES.items())]
    assert len({r.session for r in ratings}) == 1 and len({r.clip for r in ratings}) == 3
    assert {jobs[r.job_id] for r in ratings} == set(PROMPTS)
