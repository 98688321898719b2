"""A ``%%music --each-line`` cell in a real JupyterLab and a real Notebook 7, in Debian's Chromium.

What a person sees is asserted: the batch grid appears with one card per prompt, each labelled
with its prompt; it fills in while the cell runs (seen with some cards done and others not, at
more than one count, and never going backwards), its overall line always agreeing with the cards;
it ends as static HTML saying "N of N" with a player on every card, and one card's player plays
a track of the requested length. No error output, no progress widget, no key in the page.

The cell asks for ``--concurrency 2``: the jobs then finish in waves of two, each at least a
sandbox job's duration after the last, so the partly filled grid is on screen for seconds rather
than depending on which of five simultaneous jobs the poller notices first.

The page is sampled from DOM mutations and a timer (installed before any page script), so a
state shown only briefly is not missed. Screenshots of the partly filled and the finished grid,
and the samples, go to ``test-artifacts/browser-grid-<front end>/``.
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
    DURATION_TOLERANCE,
    FRONTENDS,
    open_and_run_all,
    playwright_instance,
    save_screenshot,
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

__all__ = ["playwright_instance"]  # a fixture: imported so pytest finds it here

# At most four words each, distinct in their first four: each card's label is its prompt.
PROMPTS = (
    "calm piano at dawn",
    "upbeat synthwave drive",
    "rainy marching band",
    "bright ukulele morning",
    "dark cello drone",
)
REQUESTED_SECONDS = 5.0
CONCURRENCY = 1
GRID_CELLS = (
    "%load_ext apiframe_magic",
    f"%%music --each-line --length {REQUESTED_SECONDS:g}s --concurrency {CONCURRENCY} --out batch\n"
    + "\n".join(PROMPTS),
    "print(len(batch.results), len(batch.failed))",
)
# One job at a time, each long enough to play a finished card while the next one runs.
JOB_SECONDS = 3.0

# Records every distinct state of the grid: its overall line and, per card, its label, its
# status (the second part of the card's first line) and how many players it holds. Elapsed
# times are left out of the comparison so the list holds only changes that matter.
GRID_SAMPLER_JS = """
(() => {
  const samples = [];
  window.__apiframeGridSamples = samples;
  let last = "";
  const snap = () => {
    const grids = [...document.querySelectorAll(".jp-OutputArea-output .apiframe-batch")];
    const state = grids.map(grid => {
      const head = grid.firstElementChild ? grid.firstElementChild.textContent : "";
      const match = /(\\d+) of (\\d+)/.exec(head);
      const cards = [...grid.querySelectorAll(".apiframe-batch-card")].map(card => {
        const line = card.firstElementChild ? card.firstElementChild.textContent : "";
        const label = card.querySelector("b");
        return {label: label ? label.textContent : null,
                status: (line.split(" · ")[1] || "").trim(),
                players: card.querySelectorAll("audio").length};
      });
      return {done: match ? +match[1] : null, total: match ? +match[2] : null, cards};
    });
    const key = JSON.stringify(state);
    if (key !== last) { last = key; samples.push(state); }
  };
  const start = () => {
    new MutationObserver(snap).observe(document.body, {
      subtree: true, childList: true, characterData: true});
    setInterval(snap, 50);
  };
  if (document.body) start(); else document.addEventListener("DOMContentLoaded", start);
})();
"""

# True once any card of the grid is done (part way or at the end).
GRID_PARTLY_OR_FULLY_DONE_JS = """
() => {
  const cards = [...document.querySelectorAll(
      ".jp-OutputArea-output .apiframe-batch .apiframe-batch-card")];
  return cards.some(c => / · saved\\b/.test(c.firstElementChild.textContent));
}
"""

# How many cards of the (first) grid are done.
DONE_COUNT_JS = """
() => [...document.querySelectorAll(".jp-OutputArea-output .apiframe-batch .apiframe-batch-card")]
  .filter(c => / · saved\\b/.test(c.firstElementChild.textContent)).length
"""

# Loads one player, plays it muted and reports; the caller then waits for time to advance.
PLAY_JS = """
async (el) => {
  if (el.readyState < 1) {
    await new Promise((resolve, reject) => {
      el.addEventListener("loadedmetadata", resolve, {once: true});
      el.addEventListener("error", () => reject(new Error("media error " +
        (el.error && el.error.code))), {once: true});
      setTimeout(() => reject(new Error("no metadata within 60 s")), 60000);
      el.load();
    });
  }
  el.muted = true;
  await el.play();
  return {duration: el.duration, paused: el.paused, controls: el.controls,
          src: el.currentSrc.slice(0, 24)};
}
"""


def done_count(grid: dict[str, Any]) -> int:
    return sum(card["status"] == "saved" for card in grid["cards"])


def drive_grid(server: Any, context: Any, art: Path) -> None:
    context.add_init_script(GRID_SAMPLER_JS)
    page, console = watched_page(context)
    try:
        open_and_run_all(page, server, "batch.ipynb")

        # Running: the grid appears, then its first cards finish (a picture, if caught part way).
        page.wait_for_selector(".jp-OutputArea-output .apiframe-batch")
        page.wait_for_function(GRID_PARTLY_OR_FULLY_DONE_JS)
        grid = page.locator(".jp-OutputArea-output .apiframe-batch").first
        with contextlib.suppress(Exception):  # a picture only: the samples carry the assertions
            save_screenshot(grid, art / "filling.png")

        # A finished card plays while the others run, and goes on playing as more cards finish:
        # the grid never redraws a player.
        early = grid.locator(".apiframe-batch-card audio").first
        early_handle = early.element_handle()
        early.evaluate("el => { el.loop = true; }")  # a 5 s clip must not end before the check
        playing = page.evaluate(PLAY_JS, early_handle)
        (art / "audio-while-running.json").write_text(json.dumps(playing, indent=1))
        page.wait_for_function("el => !el.paused && el.currentTime > 0.2", arg=early_handle)
        done_then = page.evaluate(DONE_COUNT_JS)
        # Jobs finish one at a time, a few seconds apart: the next to finish is not the last.
        assert done_then <= len(PROMPTS) - 2, "the batch was too far along to check"
        heard = page.evaluate("el => el.currentTime", early_handle)
        page.wait_for_function(f"() => ({DONE_COUNT_JS})() > {done_then}")
        still = page.evaluate("el => ({connected: el.isConnected, paused: el.paused})", early_handle)
        assert still["connected"] and not still["paused"], still
        page.wait_for_function(f"el => el.isConnected && el.currentTime > {heard} + 0.2", arg=early_handle)
        early.evaluate("el => el.pause()")

        # Finished: every code cell numbered, nothing on stderr.
        stderr = wait_for_cells_without_errors(page)
        cells = page.locator(".jp-CodeCell")
        assert cells.count() == len(GRID_CELLS)
        music_cell = cells.nth(1)
        grid = music_cell.locator(".jp-OutputArea-output .apiframe-batch")
        assert grid.count() == 1, "one grid, updated in place"
        music_cell.scroll_into_view_if_needed()
        page.wait_for_timeout(300)  # let the players finish laying out before the picture
        save_screenshot(music_cell, art / "finished.png")
        page.screenshot(path=str(art / "finished-page.png"), full_page=True)

        samples: list[list[dict[str, Any]]] = page.evaluate("window.__apiframeGridSamples")
        (art / "grid-samples.json").write_text(json.dumps(samples, indent=1))
        # A widget grid's views are created one after another: skip the instants before every
        # card, and every card's first line, was drawn.
        states = [
            state[0] for state in samples
            if state and len(state[0]["cards"]) == len(PROMPTS)
            and all(card["label"] for card in state[0]["cards"])
        ]
        assert states, "the grid was never seen"
        total = len(PROMPTS)

        # One card per prompt, labelled with it, in order, from the first drawing to the last.
        for state in states:
            assert [card["label"] for card in state["cards"]] == list(PROMPTS), state
            assert state["total"] == total, state
            # The overall line agrees with the cards: the head and the cards are widgets of
            # their own, so for an instant the head may be behind or ahead of the cards that
            # just finished (at most the jobs running at once).
            assert abs(state["done"] - done_count(state)) <= CONCURRENCY, state

        # It filled in: partly done (at more than one count) before complete, never backwards.
        heads = [state["done"] for state in states]
        assert heads == sorted(heads), f"the overall line went backwards: {heads}"
        counts = [done_count(state) for state in states]
        assert counts == sorted(counts), f"the grid went backwards: {counts}"
        partial = sorted({c for c in counts if 0 < c < total})
        assert len(partial) >= 2, f"the grid was not seen filling in card by card: {counts}"
        assert counts[0] < total, f"the grid was first seen already complete: {counts}"
        assert any(
            card["status"] not in ("saved", "waiting") for state in states for card in state["cards"]
        ), "no card was ever seen running"
        # A card shows its player(s) as soon as its audio is saved, before the batch ends, and
        # keeps them from then on.
        assert any(
            card["players"] >= 1 for state in states if 0 < done_count(state) < total
            for card in state["cards"]
        ), "no player was shown before the batch ended"
        assert all(
            card["players"] >= 1 for state in states for card in state["cards"] if card["status"] == "saved"
        ), "a finished card without its player"

        # The end: N of N, every card saved with a player.
        final = states[-1]
        assert final["done"] == total and counts[-1] == total, final
        assert all(card["players"] >= 1 for card in final["cards"]), final
        head = grid.locator(":scope > div").first.inner_text()
        assert re.search(rf"\b{total} of {total}\b", head), head
        for prompt in PROMPTS:
            card = grid.locator(".apiframe-batch-card", has=page.get_by_text(prompt, exact=True))
            assert card.count() == 1, prompt
            assert card.locator("audio").count() >= 1, prompt
        assert music_cell.locator(".widget-hprogress").count() == 0, "a widget was left behind"

        # One card's player plays: its clock advances.
        player = grid.locator(".apiframe-batch-card").nth(2).locator("audio").first
        handle = player.element_handle()
        info = page.evaluate(PLAY_JS, handle)
        (art / "audio.json").write_text(json.dumps(info, indent=1))
        assert info["controls"], info
        assert abs(info["duration"] - REQUESTED_SECONDS) <= DURATION_TOLERANCE, info
        page.wait_for_function("el => !el.paused && el.currentTime > 0.5", arg=handle)
        player.evaluate("el => el.pause()")

        # The batch object agrees with what is shown.
        last_output = cells.nth(2).locator(".jp-OutputArea-output").inner_text()
        assert last_output.strip() == f"{total} 0", last_output

        assert stderr.count() == 0, stderr.all_inner_texts()
        outputs_text = "\n".join(page.locator(".jp-OutputArea-output").all_inner_texts())
        assert "Traceback" not in outputs_text
        html = page.content()
        for secret in FORBIDDEN_STRINGS:
            assert secret not in html, f"{secret} appears in the page"
            assert secret not in outputs_text
    except BaseException:
        with contextlib.suppress(Exception):
            page.screenshot(path=str(art / "failure.png"), full_page=True)
        raise
    finally:
        (art / "console.log").write_text("\n".join(console))


@pytest.mark.parametrize("frontend", list(FRONTENDS))
def test_batch_grid_fills_in_and_plays(frontend: str, playwright_instance: Any, tmp_path: Path) -> None:
    art = artifacts_dir(f"browser-grid-{frontend}")
    for old in art.glob("*"):
        old.unlink()
    root = tmp_path / "root"
    write_notebook(root / "batch.ipynb", GRID_CELLS)
    with jupyter_server(
        FRONTENDS[frontend], root, tmp_path / "env", job_seconds=JOB_SECONDS,
        log_path=art / "server.log",
    ) as server:
        context = launch_chromium(playwright_instance, tmp_path / "profile")
        try:
            drive_grid(server, context, art)
        finally:
            context.close()
            server.shutdown_kernels()
