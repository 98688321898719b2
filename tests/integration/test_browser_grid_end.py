"""The end of a ``%%music --each-line`` batch in a real JupyterLab and Notebook 7, in Debian's Chromium.

What a person sees is asserted:

- a player started while the batch runs goes on playing through the batch's end (the same
  element, never paused, its time moving on), and the end shows one grid, not two;
- the kernel reports busy for as long as the batch cell runs (the notebook's execution
  indicator never reads idle while the grid is live and the cell shows ``[*]``);
- stopped part way (the stop button), the cards already saved keep their players and say saved,
  and the head says what is saved, still running on the server and not submitted;
- the saved notebook reopened with a new kernel (no widget state) shows the static copy of the
  grid, its players and its waveforms and spectrograms, and no "model not found"; opened as
  someone else would (an untrusted copy), the waveforms still show.
"""

from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("playwright", reason="playwright (python) is not installed")

from tests.integration.test_browser import (  # the Chromium check (a module-level skip) comes with these
    FRONTENDS,
    accept_dialogs,
    open_and_run_all,
    playwright_instance,
    save_screenshot,
    wait_for_cells_without_errors,
    wait_for_kernel,
    watched_page,
)
from tests.integration.test_browser_grid import PLAY_JS
from tests.jupyter_harness import artifacts_dir, jupyter_server, launch_chromium, write_notebook

pytestmark = pytest.mark.browser

__all__ = ["playwright_instance"]  # a fixture: imported so pytest finds it here

PROMPTS = ("calm piano at dawn", "upbeat synthwave drive", "rainy marching band", "dark cello drone")
CELLS = (
    "%load_ext apiframe_magic",
    "%%music --each-line --length 5s --concurrency 1 --out batch\n" + "\n".join(PROMPTS),
    "print(len(batch.results), len(batch.failed))",
)
JOB_SECONDS = 2.0

LIVE_GRID = ".jp-OutputArea-output .apiframe-batch"
STATIC_GRID = ".jp-OutputArea-output .apiframe-batch-static"
SAVED_CARD = f"{LIVE_GRID} .apiframe-batch-card:has-text(' · saved')"

# Every 50 ms while the grid is live and its cell shows [*]: what the notebook's execution indicator
# and (JupyterLab) the status bar say of the kernel.
STATUS_SAMPLER_JS = """
(() => {
  const seen = [];
  window.__apiframeStatus = seen;
  setInterval(() => {
    const grid = document.querySelector(".jp-OutputArea-output .apiframe-batch");
    if (!grid) return;
    const cell = grid.closest(".jp-CodeCell");
    const prompt = cell && cell.querySelector(".jp-InputArea-prompt");
    if (!prompt || !/\\[\\*\\]/.test(prompt.textContent)) return;
    const indicator = document.querySelector(".jp-Notebook-ExecutionIndicator");
    seen.push("indicator " + (indicator ? indicator.getAttribute("data-status") : "none"));
    // JupyterLab's status bar: "Python 3 (ipykernel) | Busy" (Notebook 7 has none).
    const bar = document.querySelector("#jp-main-statusbar");
    const said = bar && /\\|\\s*(Idle|Busy|Starting|Restarting|Unknown)/.exec(bar.textContent);
    if (said) seen.push("status bar " + said[1].toLowerCase());
  }, 50);
})();
"""

PLAYING_JS = "el => ({connected: el.isConnected, paused: el.paused, time: el.currentTime})"

HEAD_JS = "el => el.querySelector('div').textContent"


def visible_text(page: Any) -> str:
    """The text of the outputs that are rendered. (``innerText`` of an element that is not
    rendered, such as an output the static copy hides, is its whole text content: left out.)"""
    texts: list[str] = page.locator(".jp-OutputArea-output").evaluate_all(
        "els => els.filter(e => e.getClientRects().length > 0).map(e => e.innerText)"
    )
    return "\n".join(texts)


def drive_the_end(page: Any, server: Any, art: Path) -> None:
    open_and_run_all(page, server, "batch.ipynb")
    page.wait_for_selector(SAVED_CARD)
    player = page.locator(f"{SAVED_CARD} audio").first.element_handle()
    player.evaluate("el => { el.loop = true; }")  # a 5 s clip must not end before the checks
    started = player.evaluate(PLAY_JS)
    assert started["duration"] > 4 and not started["paused"], started

    wait_for_cells_without_errors(page)
    music_cell = page.locator(".jp-CodeCell").nth(1)
    head = music_cell.locator(LIVE_GRID).first
    page.wait_for_function(
        "() => /4 of 4/.test(document.querySelector('.jp-OutputArea-output .apiframe-batch').textContent)")
    at_end = player.evaluate(PLAYING_JS)
    page.wait_for_timeout(700)
    later = player.evaluate(PLAYING_JS)
    assert at_end["connected"] and not at_end["paused"], at_end
    assert later["connected"] and not later["paused"] and later["time"] > at_end["time"], (at_end, later)
    with contextlib.suppress(Exception):
        save_screenshot(music_cell, art / "end.png")

    # One grid shows: the live one; its static copy is there for the saved notebook, hidden.
    assert music_cell.locator(LIVE_GRID).count() == 1 and head.is_visible()
    assert music_cell.locator(STATIC_GRID).count() == 1
    assert not music_cell.locator(STATIC_GRID).is_visible()
    assert music_cell.locator(f"{LIVE_GRID} audio").count() == len(PROMPTS)
    assert music_cell.locator(f"{LIVE_GRID} img.apiframe-waveform").count() == len(PROMPTS)
    assert "4 of 4" in head.evaluate(HEAD_JS)

    statuses = page.evaluate("() => window.__apiframeStatus")
    assert statuses, "the batch cell was never seen running"
    # The indicator follows the cell; the status bar, the kernel's last status message: it may
    # still show the instant before the cell's own busy arrived, then must stay busy.
    indicator = [s.split()[-1] for s in statuses if s.startswith("indicator")]
    assert set(indicator) == {"busy"}, f"while the batch ran: {statuses}"
    bar = [s.split()[-1] for s in statuses if s.startswith("status bar")]
    if frontend_has_status_bar(page):
        assert "busy" in bar and "idle" not in bar[bar.index("busy"):], f"while the batch ran: {statuses}"


def frontend_has_status_bar(page: Any) -> bool:
    return bool(page.locator("#jp-main-statusbar").count())


def drive_reopened(page: Any, server: Any, root: Path, art: Path) -> None:
    """The notebook as the front end saved it, reopened on a new kernel; then an untrusted copy."""
    page.keyboard.press("Control+s")
    page.wait_for_timeout(1500)
    server.shutdown_kernels()
    saved = json.loads((root / "batch.ipynb").read_text())
    grid_outputs = [o for o in saved["cells"][1]["outputs"]
                    if "apiframe-batch" in "".join(o.get("data", {}).get("text/html", ""))]
    assert len(grid_outputs) == 1 and "".join(grid_outputs[0]["data"]["text/html"]).count("<audio") == 4

    saved["metadata"]["shared"] = True  # any change: its signature no longer matches, so untrusted
    (root / "shared.ipynb").write_text(json.dumps(saved), encoding="utf-8")
    for name in ("batch.ipynb", "shared.ipynb"):
        page.goto(server.notebook_url(name))
        page.wait_for_selector(".jp-Notebook .jp-CodeCell")
        wait_for_kernel(server, page)
        accept_dialogs(page)
        music_cell = page.locator(".jp-CodeCell").nth(1)
        static = music_cell.locator(STATIC_GRID)
        static.wait_for(state="visible")
        page.wait_for_timeout(1000)  # a widget output would say "model not found" by now
        with contextlib.suppress(Exception):
            save_screenshot(music_cell, art / f"reopened-{name}.png")
        assert "model not found" not in visible_text(page), name
        assert music_cell.locator(LIVE_GRID).count() == 0, name
        assert static.locator("audio").count() == len(PROMPTS), name
        waves = static.locator("img.apiframe-waveform")
        assert waves.count() == len(PROMPTS), name
        drawn = waves.evaluate_all("els => els.map(e => e.complete && e.naturalWidth > 0)")
        assert all(drawn), (name, drawn)
        assert re.search(r"\b4 of 4\b", static.inner_text()), name
        server.shutdown_kernels()


def drive_stop(page: Any, server: Any, art: Path) -> None:
    open_and_run_all(page, server, "stop.ipynb")
    page.wait_for_selector(SAVED_CARD)
    player = page.locator(f"{SAVED_CARD} audio").first.element_handle()
    player.evaluate("el => { el.loop = true; }")
    player.evaluate(PLAY_JS)
    page.locator(".lm-MenuBar-itemLabel", has_text="Kernel").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Interrupt Kernel").first.click()
    music_cell = page.locator(".jp-CodeCell").nth(1)
    music_cell.locator(".jp-OutputArea-output", has_text="stopped:").first.wait_for()
    page.wait_for_timeout(500)
    with contextlib.suppress(Exception):
        save_screenshot(music_cell, art / "stopped.png")
    still = player.evaluate(PLAYING_JS)
    assert still["connected"] and not still["paused"], still
    grid = music_cell.locator(LIVE_GRID)
    head = grid.evaluate(HEAD_JS)
    cards = grid.locator(".apiframe-batch-card")
    saved = [i for i in range(cards.count()) if " · saved" in cards.nth(i).inner_text()]
    assert saved, "no card says saved"
    assert all(cards.nth(i).locator("audio").count() == 1 for i in saved)
    assert re.search(rf"\b{len(saved)} of {len(PROMPTS)} saved\b", head), head
    others = [cards.nth(i).inner_text() for i in range(cards.count()) if i not in saved]
    assert all("still running on the server" in t or "not submitted" in t for t in others), others
    assert "not submitted (nothing charged)" in head, head


@pytest.mark.parametrize("frontend", list(FRONTENDS))
def test_the_end_and_the_stop_of_a_batch(frontend: str, playwright_instance: Any, tmp_path: Path) -> None:
    art = artifacts_dir(f"browser-grid-end-{frontend}")
    for old in art.glob("*"):
        old.unlink()
    root = tmp_path / "root"
    write_notebook(root / "batch.ipynb", CELLS)
    # Other prompts: the ledger would answer the first notebook's at once.
    write_notebook(root / "stop.ipynb", [
        CELLS[0], CELLS[1].replace("--out batch", "--out stopped").replace(" drone", " drone again")
        .replace("calm ", "quiet ").replace("upbeat ", "fast ").replace("rainy ", "sunny ")])
    with jupyter_server(
        FRONTENDS[frontend], root, tmp_path / "env", job_seconds=JOB_SECONDS, log_path=art / "server.log",
    ) as server:
        context = launch_chromium(playwright_instance, tmp_path / "profile")
        context.add_init_script(STATUS_SAMPLER_JS)
        page, console = watched_page(context)
        try:
            drive_the_end(page, server, art)
            drive_reopened(page, server, root, art)
            drive_stop(page, server, art)
        except BaseException:
            with contextlib.suppress(Exception):
                page.screenshot(path=str(art / "failure.png"), full_page=True)
            raise
        finally:
            (art / "console.log").write_text("\n".join(console))
            context.close()
            server.shutdown_kernels()
