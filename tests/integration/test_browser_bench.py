"""The batch grid's audition bench and its Suno cards, in a real JupyterLab and Notebook 7.

A ``%%music --each-line --model suno`` cell makes three jobs of two tracks each. Once the batch
has ended, in the live grid: the bench's bar shows (its script ran); with loudness matching on,
every player's volume is its gain from its own track's measured LUFS down to the quietest
(off, every volume is 1); the keys 1 to 3 (the pointer over the grid) and the cards' buttons
switch the playing clip to that card's same track at the same position (within
:data:`POSITION_TOLERANCE`), with one clip playing; sorting and filtering reorder and hide cards
while the playing player goes on. Each card labels its players and measurement blocks
("track 1 · title"), keeps numbers with their units, and carries its whole prompt (a tooltip
and a fold). JupyterLab runs in its dark theme: every secondary text of a card has a contrast
of at least 4.5:1 on what is behind it, from computed styles. In Notebook 7 every player's seek
bar (Chromium's timeline, measured through the DevTools protocol) is at least
:data:`MIN_SEEK_PX` wide. A picture of the bench goes to ``docs/screenshots/`` with
``APIFRAME_UPDATE_SCREENSHOTS=1``.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("playwright", reason="playwright (python) is not installed")

from tests.integration.test_browser import (  # the Chromium check (a module-level skip) comes with these
    FRONTENDS,
    open_and_run_all,
    playwright_instance,
    save_screenshot,
    wait_for_cells_without_errors,
    watched_page,
)
from tests.jupyter_harness import (
    SCREENSHOTS_DIR,
    artifacts_dir,
    jupyter_server,
    launch_chromium,
    write_notebook,
)

pytestmark = pytest.mark.browser

__all__ = ["playwright_instance"]  # a fixture: imported so pytest finds it here

# The sandbox makes each track as long as its prompt says; the long prompt is shortened in
# its label, so its card must offer the whole of it.
PROMPTS = (
    "A 12 second calm piano loop",
    "A 12 second upbeat synthwave drive with arpeggios, gated snare and a warm bass line at night",
    "A 12 second dark cello drone",
)
CELLS = (
    "%load_ext apiframe_magic",
    "%%music --each-line --model suno --instrumental --concurrency 3 --out batch\n" + "\n".join(PROMPTS),
)
JOB_SECONDS = 1.0
POSITION_TOLERANCE = 0.3
MIN_SEEK_PX = 200
MIN_CONTRAST = 4.5
SCREENSHOT_MAX_BYTES = 150_000
GRID = ".jp-OutputArea-output .apiframe-batch"

# Logs every pause and start of a grid's players: which card and track, and where.
RECORDER_JS = """
(grid) => {
  window.__benchLog = [];
  const note = (kind) => (event) => {
    const el = event.target;
    if (!(el instanceof HTMLMediaElement) || !grid.contains(el)) return;
    const card = el.closest(".apiframe-batch-card").querySelector("[data-card]").dataset.card;
    const track = el.closest("[data-track]").dataset.track;
    window.__benchLog.push({kind, card, track, t: el.currentTime});
  };
  document.addEventListener("pause", note("pause"), true);
  document.addEventListener("playing", note("playing"), true);
  for (const a of grid.querySelectorAll("audio")) { a.muted = true; a.loop = true; }
}
"""

# Each player of the grid: its card, track, volume, the LUFS of its track, whether it plays.
PLAYERS_JS = """
(grid) => [...grid.querySelectorAll("audio")].map(a => {
  const card = a.closest(".apiframe-batch-card");
  const track = a.closest("[data-track]").dataset.track;
  const block = card.querySelector(`.apiframe-track-analysis[data-track="${track}"] [data-lufs]`);
  return {card: card.querySelector("[data-card]").dataset.card, track, volume: a.volume,
          lufs: block ? parseFloat(block.dataset.lufs) : null, paused: a.paused, t: a.currentTime};
})
"""

# The contrast (WCAG 2) of every secondary text in the grid against what is behind it.
CONTRAST_JS = """
(grid) => {
  const rgba = (s) => {
    const m = s.match(/[\\d.]+/g).map(Number);
    return [m[0], m[1], m[2], m.length > 3 ? m[3] : 1];
  };
  const lum = ([r, g, b]) => {
    const f = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const behind = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgba(getComputedStyle(e).backgroundColor);
      if (c[3] > 0) return c;
    }
    return [255, 255, 255, 1];
  };
  return [...grid.querySelectorAll("[style*='content-font-color2']")]
    .filter(el => el.offsetParent !== null && el.textContent.trim())
    .map(el => {
      const bg = behind(el), fg = rgba(getComputedStyle(el).color);
      const mix = [0, 1, 2].map(i => fg[i] * fg[3] + bg[i] * (1 - fg[3]));
      const [a, b] = [lum(mix), lum(bg)].sort((x, y) => y - x);
      return {text: el.textContent.slice(0, 40), ratio: (a + 0.05) / (b + 0.05),
              color: getComputedStyle(el).color, background: bg.join(",")};
    });
}
"""


def seek_bar_widths(context: Any, page: Any) -> list[float]:
    """The width of every shown player's seek bar: Chromium's media controls live in a
    user-agent shadow root, which only the DevTools protocol reaches."""
    cdp = context.new_cdp_session(page)
    root = cdp.send("DOM.getDocument", {"depth": -1, "pierce": True})["root"]
    found: list[int] = []

    def walk(node: dict[str, Any]) -> None:
        if "-webkit-media-controls-timeline" in node.get("attributes", []):
            found.append(node["nodeId"])
        for child in [*node.get("children", []), *node.get("shadowRoots", [])]:
            walk(child)

    walk(root)
    widths = []
    for node_id in found:
        with contextlib.suppress(Exception):  # a hidden player (the static copy) has no box
            widths.append(cdp.send("DOM.getBoxModel", {"nodeId": node_id})["model"]["width"])
    return widths


def log(page: Any) -> list[dict[str, Any]]:
    return list(page.evaluate("window.__benchLog"))


def switch(page: Any, grid: Any, how: Any, card: str, track: str, art: Path, name: str) -> None:
    """Switch with ``how`` (a key press or a click) to ``card``: the clip that played pauses
    where it was, and ``card``'s same track starts from there; nothing else plays."""
    before = len(log(page))
    how()
    page.wait_for_function(
        "([n, card]) => window.__benchLog.slice(n).some(e => e.kind === 'playing' && e.card === card)",
        arg=[before, card])
    events = log(page)[before:]
    (art / f"{name}.json").write_text(json.dumps(events, indent=1))
    paused = [e for e in events if e["kind"] == "pause"]
    started = next(e for e in events if e["kind"] == "playing" and e["card"] == card)
    assert started["track"] == track, events
    assert paused, f"nothing was playing before {name}: {events}"
    assert abs(paused[-1]["t"] - started["t"]) <= POSITION_TOLERANCE, events
    playing = [p for p in page.evaluate(PLAYERS_JS, grid.element_handle()) if not p["paused"]]
    assert [(p["card"], p["track"]) for p in playing] == [(card, track)], playing


def drive(frontend: str, context: Any, server: Any, art: Path) -> None:
    page, console = watched_page(context)
    try:
        open_and_run_all(page, server, "bench.ipynb")
        wait_for_cells_without_errors(page)
        grid = page.locator(GRID).first
        page.wait_for_function(
            f"() => document.querySelectorAll(`{GRID} .apiframe-track-analysis [data-lufs]`).length === 6")
        handle = grid.element_handle()
        bar = grid.locator(".apiframe-bench-bar")
        assert bar.is_visible(), "the bench's script did not run"
        page.evaluate(RECORDER_JS, handle)

        # The cards: each player and measurement block under its track, numbers with their
        # units, the whole prompt in the card.
        cards = grid.locator(".apiframe-batch-card")
        assert cards.count() == len(PROMPTS)
        for n, prompt in enumerate(PROMPTS):
            card = cards.nth(n)
            labels = card.locator(".apiframe-track-player > div:first-child").all_inner_texts()
            assert [t.split(" · ")[0] for t in labels] == ["track 1", "track 2"], labels
            assert card.locator(".apiframe-track-player audio").count() == 2
            blocks = card.locator(".apiframe-track-analysis").all_inner_texts()
            assert [b.splitlines()[0] for b in blocks] == ["track 1", "track 2"], blocks
            assert card.locator("b[title]").first.get_attribute("title") == prompt
            lines = card.locator(".apiframe-measurements").all_text_contents()
            assert len(lines) == 2, lines
            for line in lines:  # "-14.1 LUFS": held together by a no-break space
                measured = [p for p in line.split(" · ") if any(c.isdigit() for c in p)]
                assert len(measured) >= 4 and all(" " not in p and "\u00a0" in p for p in measured), line
        long_card = cards.nth(1)
        assert PROMPTS[1] not in long_card.locator("b").first.inner_text(), "the label was not shortened"
        long_card.locator("details summary").click()
        assert PROMPTS[1] in long_card.locator("details").inner_text()

        # Loudness matching: each clip down to the quietest, from its track's LUFS.
        page.mouse.move(*center(grid.locator(":scope > div").first))
        page.keyboard.press("1")
        page.wait_for_function("() => window.__benchLog.some(e => e.kind === 'playing')")
        players = page.evaluate(PLAYERS_JS, handle)
        (art / "players.json").write_text(json.dumps(players, indent=1))
        quietest = min(p["lufs"] for p in players)
        for p in players:
            assert p["volume"] == pytest.approx(min(1.0, 10 ** ((quietest - p["lufs"]) / 20)), abs=0.005), p
        assert len({round(p["volume"], 3) for p in players}) > 1, players
        match = bar.locator(".apiframe-bench-match")
        match.uncheck()
        assert all(p["volume"] == 1 for p in page.evaluate(PLAYERS_JS, handle))
        match.check()
        assert not any(p["volume"] == 1 for p in page.evaluate(PLAYERS_JS, handle)
                       if p["lufs"] > quietest + 0.01)

        # Keys: card 1 plays; 2, then 3, take over at the same moment; a card's button too.
        page.wait_for_function("el => [...el.querySelectorAll('audio')].some(a => a.currentTime > 1)",
                               arg=handle)
        page.mouse.move(*center(grid.locator(":scope > div").first))
        switch(page, grid, lambda: page.keyboard.press("2"), "2", "0", art, "key-2")
        page.wait_for_timeout(400)  # let the clip move on, so a position check means something
        switch(page, grid, lambda: page.keyboard.press("3"), "3", "0", art, "key-3")
        page.wait_for_timeout(400)
        switch(page, grid, lambda: grid.locator(".apiframe-bench-pick[data-card='1']").click(),
               "1", "0", art, "button-1")
        # The second track of a card goes on as the second track of the next.
        second = cards.nth(0).locator(".apiframe-track-player[data-track='1'] audio")
        second.evaluate("a => { a.currentTime = 2; return a.play(); }")
        page.wait_for_function("() => window.__benchLog.slice(-1)[0].track === '1'")
        page.mouse.move(*center(grid.locator(":scope > div").first))
        switch(page, grid, lambda: page.keyboard.press("2"), "2", "1", art, "key-2-track-2")

        # Sort and filter: cards move and hide, the player playing goes on.
        playing = grid.locator(".apiframe-batch-card").nth(1).locator("audio").nth(1).element_handle()
        bar.locator(".apiframe-bench-sort").select_option("lufs")
        lufs_order = page.evaluate(
            "el => [...el.querySelectorAll('.apiframe-batch-card')].map(c => "
            "[+c.style.order, parseFloat(c.querySelector('[data-card]').dataset.lufs)])", handle)
        by_order = [lufs for _, lufs in sorted(lufs_order)]
        assert by_order == sorted(by_order), lufs_order
        bar.locator(".apiframe-bench-filter").fill("synthwave")
        shown = [c.is_visible() for c in cards.all()]
        assert shown == [False, True, False], shown
        heard = playing.evaluate("a => a.currentTime")
        page.wait_for_function(f"a => a.isConnected && !a.paused && a.currentTime > {heard} + 0.3",
                               arg=playing)
        bar.locator(".apiframe-bench-filter").fill("")
        bar.locator(".apiframe-bench-sort").select_option("")
        assert all(c.is_visible() for c in cards.all())

        if frontend == "notebook7":
            widths = seek_bar_widths(context, page)
            (art / "seek-bars.json").write_text(json.dumps(widths))
            assert len(widths) >= 6 and min(widths) >= MIN_SEEK_PX, widths
        else:  # in the dark theme
            contrasts = page.evaluate(CONTRAST_JS, handle)
            (art / "contrast.json").write_text(json.dumps(contrasts, indent=1))
            assert contrasts and all(c["ratio"] >= MIN_CONTRAST for c in contrasts), contrasts

        page.evaluate("el => el.querySelectorAll('audio').forEach(a => a.pause())", handle)
        page.set_viewport_size({"width": 1280, "height": 1600})  # the whole grid in the picture
        grid.scroll_into_view_if_needed()
        page.wait_for_timeout(300)
        save_screenshot(grid, art / "bench.png")
    except BaseException:
        with contextlib.suppress(Exception):
            page.screenshot(path=str(art / "failure.png"), full_page=True)
        raise
    finally:
        (art / "console.log").write_text("\n".join(console))


def center(locator: Any) -> tuple[float, float]:
    box = locator.bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


@pytest.mark.parametrize("frontend", list(FRONTENDS))
def test_bench_switches_matches_sorts_and_cards_read_well(
    frontend: str, playwright_instance: Any, tmp_path: Path
) -> None:
    art = artifacts_dir(f"browser-bench-{frontend}")
    for old in art.glob("*"):
        old.unlink()
    root = tmp_path / "root"
    write_notebook(root / "bench.ipynb", CELLS)
    with jupyter_server(FRONTENDS[frontend], root, tmp_path / "env", job_seconds=JOB_SECONDS,
                        log_path=art / "server.log") as server:
        if frontend == "jupyterlab":
            themes = (Path(server.env["JUPYTERLAB_SETTINGS_DIR"]) / "@jupyterlab" / "apputils-extension"
                      / "themes.jupyterlab-settings")
            themes.parent.mkdir(parents=True, exist_ok=True)
            themes.write_text(json.dumps({"theme": "JupyterLab Dark"}))
        context = launch_chromium(playwright_instance, tmp_path / "profile")
        try:
            drive(frontend, context, server, art)
        finally:
            context.close()
            server.shutdown_kernels()
    picture = art / "bench.png"
    # The README's picture (light, and light in bytes), refreshed only when asked: a test run
    # never changes the repository's files.
    if frontend == "notebook7" and os.environ.get("APIFRAME_UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS_DIR.mkdir(parents=True, exist_ok=True)
        (SCREENSHOTS_DIR / "bench.png").write_bytes(picture.read_bytes())
    assert picture.stat().st_size <= SCREENSHOT_MAX_BYTES
