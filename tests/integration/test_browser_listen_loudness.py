"""``%music listen`` matches loudness by default, in a real JupyterLab and Notebook 7.

Three 5-second sandbox tracks of different loudness go into a blind test. Each clip, played in
the page, plays at a volume from its track's measured loudness down to the quietest track's:
the volumes the page sets are, as a set, the gains computed here from the saved files' LUFS
(which clip is which stays blind to the page, so the sets are compared), the quietest at 1 and
every other below it.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("playwright", reason="playwright (python) is not installed")

from apiframe_magic.analysis import measure
from apiframe_magic.display._listen import matching_volumes

# Skips this module, saying why, when Debian's Chromium is not installed.
from tests.integration.test_browser import (
    FRONTENDS,
    open_and_run_all,
    playwright_instance,
    wait_for_cells_without_errors,
    watched_page,
)
from tests.jupyter_harness import artifacts_dir, jupyter_server, launch_chromium, write_notebook

pytestmark = pytest.mark.browser

__all__ = ["playwright_instance"]  # a fixture: imported so pytest finds it here

PROMPTS = ("a calm piano for studying", "an upbeat synthwave track", "a marching band in the rain")
CELLS = (
    "%load_ext apiframe_magic",
    "%%music --each-line --length 5s --out b\n" + "\n".join(PROMPTS),
    "%music listen b --min-play 0 --seed 3 --out t",
)

# Plays a clip muted until it is playing; its volume then, and it is paused again.
VOLUME_JS = """
async (audio) => {
  audio.muted = true;
  await audio.play();
  const volume = audio.volume;
  audio.pause();
  return volume;
}
"""


def drive(page: Any, server: Any, art: Path) -> list[float]:
    open_and_run_all(page, server, "listen.ipynb")
    wait_for_cells_without_errors(page)
    page.wait_for_selector(".apiframe-listen .apiframe-listen-clip-C audio")
    volumes = [page.locator(f".apiframe-listen-clip-{clip} audio").evaluate(VOLUME_JS)
               for clip in "ABC"]
    (art / "volumes.json").write_text(json.dumps(volumes))
    return volumes


@pytest.mark.parametrize("frontend", list(FRONTENDS))
def test_listening_clips_play_at_matched_loudness(
    frontend: str, playwright_instance: Any, tmp_path: Path,
) -> None:
    art = artifacts_dir(f"browser-listen-loudness-{frontend}")
    for old in art.glob("*"):
        old.unlink()
    root = tmp_path / "root"
    write_notebook(root / "listen.ipynb", CELLS)
    with jupyter_server(FRONTENDS[frontend], root, tmp_path / "env", job_seconds=1.0,
                        log_path=art / "server.log") as server:
        context = launch_chromium(playwright_instance, tmp_path / "profile")
        page, console = watched_page(context)
        try:
            volumes = drive(page, server, art)
        except BaseException:
            with contextlib.suppress(Exception):
                page.screenshot(path=str(art / "failure.png"), full_page=True)
            raise
        finally:
            (art / "console.log").write_text("\n".join(console))
            context.close()
            server.shutdown_kernels()

    tracks = sorted((root / "apiframe_outputs").glob("*.mp3"))
    assert len(tracks) == len(PROMPTS)
    loudness = {path.name: measure(path, extra=False).loudness_lufs for path in tracks}
    assert len({round(v or 0, 1) for v in loudness.values()}) == len(PROMPTS), loudness
    expected = sorted(matching_volumes(loudness).values())
    assert sorted(volumes) == pytest.approx(expected, abs=0.001), (volumes, loudness)
    assert max(volumes) == 1 and sum(v < 0.99 for v in volumes) == len(PROMPTS) - 1, volumes
