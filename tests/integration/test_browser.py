"""``quickstart.ipynb`` in a real JupyterLab and a real Notebook 7, in Debian's Chromium.

What a person sees is asserted: the progress bar appears and advances while the job runs, turns
to its success style, and is replaced by the summary; an ``<audio>`` element ends up playable with
a duration equal to the requested length; no error output anywhere; no key in the page.

A second test runs one ``%%music --model suno`` cell in JupyterLab and asserts the two-track
result: one summary holding two labelled players ("Track 1", "Track 2"), both playable with the
length the prompt asks for, with different audio.

Screenshots of the running and finished states go to ``test-artifacts/browser-<front end>/``
(the two-track cell to ``test-artifacts/browser-jupyterlab-two-tracks/``). With
``APIFRAME_UPDATE_SCREENSHOTS=1`` they are also copied to ``docs/screenshots/``.

Every wait is bounded (``WAIT_MS``); servers, kernels and browsers are stopped even on failure.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("playwright", reason="playwright (python) is not installed")

from tests.jupyter_harness import (
    CHROMIUM,
    FORBIDDEN_STRINGS,
    NOTEBOOKS_DIR,
    SCREENSHOTS_DIR,
    artifacts_dir,
    copy_notebook,
    jupyter_server,
    launch_chromium,
    write_notebook,
)

if not CHROMIUM.exists():
    pytest.skip(
        f"Chromium not found at {CHROMIUM}: install Debian's package "
        "(apt-get install -y --no-install-recommends chromium fonts-dejavu-core) "
        "to run the browser tests",
        allow_module_level=True,
    )

pytestmark = pytest.mark.browser

# Long enough for the bar to be seen at several values (the magic polls every 2 s, growing),
# short enough for a 2-core machine.
JOB_SECONDS = 4.0
# The length quickstart.ipynb asks for, in seconds.
REQUESTED_SECONDS = 10.0
# MP3 frames are 1152 samples (26 ms): the encoded file may be a frame or two longer.
DURATION_TOLERANCE = 0.25
# Bound on every single wait (page load, kernel start, the run, audio metadata).
WAIT_MS = 120_000

FRONTENDS = {"jupyterlab": "lab", "notebook7": "notebook"}

# Installed before any page script: records every distinct state of the progress bars and of
# the summary, from DOM mutations (so a style shown only briefly is not missed) and a timer.
SAMPLER_JS = """
(() => {
  const samples = [];
  window.__apiframeSamples = samples;
  let last = "";
  const snap = () => {
    const bars = [...document.querySelectorAll(
        ".jp-OutputArea-output .widget-hprogress .progress-bar")]
      .map(b => ({width: parseFloat(b.style.width || "0"), cls: b.className}));
    const summaries = document.querySelectorAll(".apiframe-music-summary").length;
    const key = JSON.stringify([bars, summaries]);
    if (key !== last) { last = key; samples.push({bars, summaries}); }
  };
  const start = () => {
    new MutationObserver(snap).observe(document.body, {
      subtree: true, childList: true, attributes: true, attributeFilter: ["style", "class"]});
    setInterval(snap, 50);
  };
  if (document.body) start(); else document.addEventListener("DOMContentLoaded", start);
})();
"""

# True once every code cell shows "[N]:", or as soon as an error output appears (fail fast).
ALL_CELLS_DONE_OR_ERROR_JS = """
() => {
  const prompts = [...document.querySelectorAll(".jp-CodeCell .jp-InputArea-prompt")];
  const done = prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
  const errors = document.querySelectorAll(
    '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]').length;
  return done || errors > 0;
}
"""
STDERR_SELECTOR = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'


AUDIO_JS = """
async () => {
  const results = [];
  for (const el of document.querySelectorAll(".jp-OutputArea-output audio")) {
    const r = {controls: el.controls, error: null};
    try {
      if (el.readyState < 1) {
        await new Promise((resolve, reject) => {
          el.addEventListener("loadedmetadata", resolve, {once: true});
          el.addEventListener("error", () => reject(new Error("media error " +
            (el.error && el.error.code))), {once: true});
          setTimeout(() => reject(new Error("no metadata within 60 s")), 60000);
          el.load();
        });
      }
      r.duration = el.duration;
      r.src = el.currentSrc.slice(0, 32);
      el.muted = true;
      await el.play();
      r.playing = !el.paused;
      el.pause();
    } catch (e) {
      r.error = String(e);
    }
    results.push(r);
  }
  return results;
}
"""


@pytest.fixture(scope="module")
def playwright_instance() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        yield pw


def wait_for_kernel(server: Any, page: Any) -> None:
    """Until the page's kernel is connected and idle (the REST API tells, not the DOM alone)."""
    deadline = time.monotonic() + WAIT_MS / 1000
    while time.monotonic() < deadline:
        _, kernels = server.api("GET", "/api/kernels")
        if any(k.get("connections", 0) >= 1 and k.get("execution_state") == "idle"
               for k in kernels or []):
            break
        accept_dialogs(page)
        page.wait_for_timeout(250)
    else:
        raise TimeoutError("the notebook's kernel never became idle and connected")
    page.wait_for_selector('.jp-Notebook-ExecutionIndicator[data-status="idle"]',
                           state="attached")


def accept_dialogs(page: Any) -> None:
    """A "Select Kernel" (or any) dialog would block the run: accept it."""
    button = page.locator(".jp-Dialog button.jp-mod-accept")
    if button.count():
        button.first.click()


def run_all_cells(page: Any) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()


def wait_for_cells_without_errors(page: Any) -> Any:
    """Wait until every code cell has run (or one failed); fail with the first error outputs if
    any cell wrote to stderr. Returns the stderr locator, to check again later."""
    page.wait_for_function(ALL_CELLS_DONE_OR_ERROR_JS)
    stderr = page.locator(STDERR_SELECTOR)
    if stderr.count():
        page.wait_for_timeout(500)  # let the rest of the error text arrive
        pytest.fail("error output while running:\n" + "\n".join(
            t[:400] for t in stderr.all_inner_texts()[:3]))
    return stderr


def watched_page(context: Any) -> tuple[Any, list[str]]:
    """The context's page with the tests' timeout, and the list its console messages and page
    errors are appended to (written to the artifacts at the end)."""
    page = context.pages[0] if context.pages else context.new_page()
    page.set_default_timeout(WAIT_MS)
    console: list[str] = []
    page.on("console", lambda msg: console.append(f"{msg.type}: {msg.text}"))
    page.on("pageerror", lambda err: console.append(f"pageerror: {err}"))
    return page, console


def open_and_run_all(page: Any, server: Any, name: str) -> None:
    """Open notebook ``name``, wait for its kernel, and run all its cells."""
    page.goto(server.notebook_url(name))
    page.wait_for_selector(".jp-Notebook .jp-CodeCell")
    wait_for_kernel(server, page)
    run_all_cells(page)


def bar_history(samples: list[dict[str, Any]]) -> list[tuple[float, str]]:
    return [(s["bars"][0]["width"], s["bars"][0]["cls"]) for s in samples if s["bars"]]


def save_screenshot(locator: Any, path: Path) -> None:
    locator.screenshot(path=str(path), animations="disabled", caret="hide")


def drive_quickstart(frontend: str, server: Any, context: Any, art: Path) -> None:
    context.add_init_script(SAMPLER_JS)
    page, console = watched_page(context)
    try:
        open_and_run_all(page, server, "quickstart.ipynb")

        # Running: the bar appears, then moves.
        page.wait_for_selector(".jp-OutputArea-output .widget-hprogress")
        page.wait_for_function(
            """() => [...document.querySelectorAll(
                 ".jp-OutputArea-output .widget-hprogress .progress-bar")]
               .some(b => parseFloat(b.style.width || "0") > 0)"""
        )
        music_cell = page.locator(".jp-CodeCell", has=page.locator(".widget-hprogress")).first
        save_screenshot(music_cell, art / "running.png")
        running_captured = page.locator(".widget-hprogress").count() > 0
        page.screenshot(path=str(art / "running-page.png"))

        # Finished: every code cell numbered, the summary in place.
        stderr = wait_for_cells_without_errors(page)
        page.wait_for_selector(".jp-OutputArea-output .apiframe-music-summary")
        music_cell = page.locator(".jp-CodeCell", has=page.locator(".apiframe-music-summary"))
        assert music_cell.count() == 1
        music_cell.scroll_into_view_if_needed()
        page.wait_for_timeout(300)  # let the player finish laying out before the picture
        save_screenshot(music_cell, art / "finished.png")
        page.screenshot(path=str(art / "finished-page.png"), full_page=True)

        samples = page.evaluate("window.__apiframeSamples")
        (art / "progress-samples.json").write_text(json.dumps(samples, indent=1))
        history = bar_history(samples)
        widths = [w for w, _ in history]
        assert history, "the progress bar never appeared"
        assert any(0 < w < 100 for w in widths), f"the bar never showed progress: {widths}"
        assert len({w for w in widths if w > 0}) >= 2, f"the bar did not advance: {widths}"
        assert widths == sorted(widths), f"the bar went backwards: {widths}"
        assert any("progress-bar-success" in c for _, c in history), "no success style"
        assert not any("progress-bar-danger" in c for _, c in history), "danger style shown"
        last_bar = max(i for i, s in enumerate(samples) if s["bars"])
        assert any(s["summaries"] and not s["bars"] for s in samples[last_bar + 1:]), (
            "the bar was not replaced by the summary"
        )
        assert music_cell.locator(".widget-hprogress").count() == 0

        summary_text = music_cell.locator(".apiframe-music-summary").inner_text()
        assert "10" in summary_text, summary_text

        audio = page.evaluate(AUDIO_JS)
        (art / "audio.json").write_text(json.dumps(audio, indent=1))
        assert audio, "no <audio> element in the outputs"
        for info in audio:
            assert info["error"] is None, info
            assert info["controls"], info
            assert info["playing"], info
            assert abs(info["duration"] - REQUESTED_SECONDS) <= DURATION_TOLERANCE, info
        assert music_cell.locator("audio").count() == 1

        assert stderr.count() == 0, stderr.all_inner_texts()
        outputs_text = "\n".join(page.locator(".jp-OutputArea-output").all_inner_texts())
        assert "Traceback" not in outputs_text
        assert page.locator(".jp-OutputArea-output .apiframe-sandbox-notice").count() == 1

        html = page.content()
        for secret in FORBIDDEN_STRINGS:
            assert secret not in html, f"{secret} appears in the page"
            assert secret not in outputs_text

        if os.environ.get("APIFRAME_UPDATE_SCREENSHOTS") == "1":
            SCREENSHOTS_DIR.mkdir(parents=True, exist_ok=True)
            assert running_captured, "the running screenshot missed the progress bar"
            shutil.copyfile(art / "running.png", SCREENSHOTS_DIR / f"{frontend}-running.png")
            shutil.copyfile(art / "finished.png", SCREENSHOTS_DIR / f"{frontend}-finished.png")
    except BaseException:
        with contextlib.suppress(Exception):
            page.screenshot(path=str(art / "failure.png"), full_page=True)
        raise
    finally:
        (art / "console.log").write_text("\n".join(console))


@pytest.mark.parametrize("frontend", list(FRONTENDS))
def test_quickstart_in_browser(frontend: str, playwright_instance: Any, tmp_path: Path) -> None:
    assert f"--length {REQUESTED_SECONDS:g}s" in (NOTEBOOKS_DIR / "quickstart.ipynb").read_text()
    art = artifacts_dir(f"browser-{frontend}")
    for old in art.glob("*"):
        old.unlink()
    root = tmp_path / "root"
    copy_notebook("quickstart.ipynb", root)
    with jupyter_server(
        FRONTENDS[frontend], root, tmp_path / "env", job_seconds=JOB_SECONDS,
        log_path=art / "server.log",
    ) as server:
        context = launch_chromium(playwright_instance, tmp_path / "profile")
        try:
            drive_quickstart(frontend, server, context, art)
        finally:
            context.close()
            server.shutdown_kernels()


# The two-track notebook: Suno makes two tracks per job; the sandbox makes each as long as the
# prompt says ("a 10 second ...").
TWO_TRACK_PROMPT = "A 10 second dreamy synth-pop loop with soft pads and a slow beat"
TWO_TRACK_CELLS = (
    "%load_ext apiframe_magic",
    f"%%music --model suno --instrumental --out r\n{TWO_TRACK_PROMPT}",
    "len(r.tracks), r.tracks[0].path != r.tracks[1].path",
)
# Nothing in this test watches the bar: the job can be short.
TWO_TRACK_JOB_SECONDS = 1.0
# The finished cell's picture in the README must stay light.
TWO_TRACK_SCREENSHOT_MAX_BYTES = 150_000

# Every player in one element, loaded and played: its duration, whether it played, its source
# (full sources compared in the page; only a prefix and length come back).
TRACK_AUDIO_JS = """
async (root) => {
  const players = [...root.querySelectorAll("audio")];
  const results = [];
  for (const el of players) {
    const r = {controls: el.controls, error: null};
    try {
      if (el.readyState < 1) {
        await new Promise((resolve, reject) => {
          el.addEventListener("loadedmetadata", resolve, {once: true});
          el.addEventListener("error", () => reject(new Error("media error " +
            (el.error && el.error.code))), {once: true});
          setTimeout(() => reject(new Error("no metadata within 60 s")), 60000);
          el.load();
        });
      }
      r.duration = el.duration;
      r.src = el.currentSrc.slice(0, 32);
      r.srcLength = el.currentSrc.length;
      el.muted = true;
      await el.play();
      r.playing = !el.paused;
      el.pause();
    } catch (e) {
      r.error = String(e);
    }
    results.push(r);
  }
  return {players: results, distinctSources: new Set(players.map(p => p.currentSrc)).size};
}
"""


def boxes_overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return (a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"]
            and a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"])


def drive_two_tracks(server: Any, context: Any, art: Path) -> None:
    page, console = watched_page(context)
    try:
        open_and_run_all(page, server, "two_tracks.ipynb")

        stderr = wait_for_cells_without_errors(page)
        cells = page.locator(".jp-CodeCell")
        assert cells.count() == len(TWO_TRACK_CELLS)
        music_cell = cells.nth(1)
        summary = music_cell.locator(".jp-OutputArea-output .apiframe-music-summary")
        summary.wait_for()
        assert summary.count() == 1
        assert music_cell.locator(".widget-hprogress").count() == 0
        music_cell.scroll_into_view_if_needed()
        page.wait_for_timeout(300)  # let the players finish laying out before the picture
        save_screenshot(music_cell, art / "finished.png")
        page.screenshot(path=str(art / "finished-page.png"), full_page=True)

        # Two players, both playable, each as long as the prompt asks, with different audio.
        assert music_cell.locator("audio").count() == 2
        audio = summary.evaluate(TRACK_AUDIO_JS)
        (art / "audio.json").write_text(json.dumps(audio, indent=1))
        assert len(audio["players"]) == 2, audio
        for info in audio["players"]:
            assert info["error"] is None, info
            assert info["controls"], info
            assert info["playing"], info
            assert abs(info["duration"] - REQUESTED_SECONDS) <= DURATION_TOLERANCE, info
        assert audio["distinctSources"] == 2, audio

        # Each player sits under its own visible label, and nothing overlaps.
        tracks = summary.locator(".apiframe-music-track")
        assert tracks.count() == 2
        boxes = []
        for index in range(2):
            track = tracks.nth(index)
            label = track.get_by_text(f"Track {index + 1}", exact=True)
            assert label.count() == 1, track.inner_text()
            assert label.is_visible()
            assert track.locator("audio").count() == 1
            label_box = label.bounding_box()
            player_box = track.locator("audio").bounding_box()
            assert label_box and player_box
            assert label_box["y"] + label_box["height"] <= player_box["y"] + 1, (
                label_box, player_box)
            boxes.append(player_box)
        assert not boxes_overlap(boxes[0], boxes[1]), boxes
        assert boxes[0]["y"] < boxes[1]["y"], boxes
        summary_text = summary.inner_text()
        assert "Track 1" in summary_text and "Track 2" in summary_text, summary_text

        # The result object agrees with what is shown.
        last_output = cells.nth(2).locator(".jp-OutputArea-output").inner_text()
        assert last_output.strip() == "(2, True)", last_output

        assert stderr.count() == 0, stderr.all_inner_texts()
        outputs_text = "\n".join(page.locator(".jp-OutputArea-output").all_inner_texts())
        assert "Traceback" not in outputs_text
        html = page.content()
        for secret in FORBIDDEN_STRINGS:
            assert secret not in html, f"{secret} appears in the page"
            assert secret not in outputs_text

        if os.environ.get("APIFRAME_UPDATE_SCREENSHOTS") == "1":
            size = (art / "finished.png").stat().st_size
            assert size < TWO_TRACK_SCREENSHOT_MAX_BYTES, f"screenshot of {size} bytes"
            SCREENSHOTS_DIR.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(art / "finished.png", SCREENSHOTS_DIR / "jupyterlab-two-tracks.png")
    except BaseException:
        with contextlib.suppress(Exception):
            page.screenshot(path=str(art / "failure.png"), full_page=True)
        raise
    finally:
        (art / "console.log").write_text("\n".join(console))


def test_two_tracks_in_jupyterlab(playwright_instance: Any, tmp_path: Path) -> None:
    art = artifacts_dir("browser-jupyterlab-two-tracks")
    for old in art.glob("*"):
        old.unlink()
    root = tmp_path / "root"
    write_notebook(root / "two_tracks.ipynb", TWO_TRACK_CELLS)
    with jupyter_server(
        "lab", root, tmp_path / "env", job_seconds=TWO_TRACK_JOB_SECONDS,
        log_path=art / "server.log",
    ) as server:
        context = launch_chromium(playwright_instance, tmp_path / "profile")
        try:
            drive_two_tracks(server, context, art)
        finally:
            context.close()
            server.shutdown_kernels()
