"""A listening kit in Debian's Chromium with the network blocked: a listener elsewhere.

A real shell makes three 5-second sandbox tracks and writes ``%music listen b --kit ... --min-play
1 --repeat``, for ratings and for pairs. Chromium opens the file (``file://``) offline, with every
request that is not the file itself aborted and recorded. The listener types a hostile name, plays
each clip (its buttons open only after a second of playing), rates it (or answers every pair, and
one pair again with sides swapped), and saves their answers: a download made in the page.
``%music listen --collect`` records them in the job ledger: the name as typed, each letter and
position, the second hearing as a repeat. Nothing was requested from a network, no script ran
from the name, and the page names no prompt, model or job id.

Every wait is bounded (``WAIT_MS``); the browser is closed even on failure. Pictures go to
``test-artifacts/browser-kit-<mode>/``.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("playwright", reason="playwright (python) is not installed")

from apiframe_magic.ledger import PAIR, RATING, Ledger
from apiframe_magic.sandbox import SandboxServer

# Skips this module, saying why, when Debian's Chromium is not installed.
from tests.conftest import CANARY_KEY
from tests.integration.test_browser import WAIT_MS, watched_page
from tests.jupyter_harness import artifacts_dir, launch_chromium
from tests.magic.test_magic import RaisingShell, music_shell, run

pytestmark = pytest.mark.browser

PROMPTS = ("a calm piano for studying", "an upbeat synthwave track", "a marching band in the rain")
LISTENER = "<img src=x onerror=alert(1)> Zoë"

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


@pytest.fixture
def music(sandbox: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RaisingShell]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("APIFRAME_API_KEY", CANARY_KEY)
    monkeypatch.setenv("APIFRAME_BASE_URL", sandbox.url)
    with music_shell() as sh:
        yield sh


def play_until_open(page: Any, clip: Any, index: int) -> None:
    """Play the ``index``-th clip until the page counts it heard (a second of playing)."""
    assert clip.locator("audio").evaluate(PLAY_JS), "the clip would not play"
    # Past 1.6 s from the start the page has counted a second heard (its steps are ~0.25 s).
    page.wait_for_function(
        "(i) => document.querySelectorAll('#clips .clip audio')[i].currentTime >= 1.6",
        arg=index, timeout=WAIT_MS)
    clip.locator("audio").evaluate("(audio) => audio.pause()")


def answer_the_kit(page: Any, kit: Path, art: Path, pairs: bool) -> Path:
    """Open the kit offline and answer it (ratings: the letter's place in the order, 1 to 5 in
    turn; pairs: always the first clip shown), then save the answers; the downloaded file."""
    page.goto(kit.as_uri())
    page.locator("#listener").fill(LISTENER)
    page.locator("#begin").click()
    clips = page.locator("#clips .clip")
    clips.first.wait_for()
    count = clips.count()
    assert count == (3 if pairs else 4), "three clips (rating: one of them heard twice)"
    assert [clips.nth(i).get_attribute("data-letter") for i in range(count)] == ["A", "B", "C", "D"][:count]
    page.screenshot(path=str(art / "kit.png"), full_page=True)
    if pairs:
        rows = page.locator("#pairs .pair")
        assert rows.count() == 4, "every pair once and one again"
        assert all(rows.nth(i).locator("button").nth(0).is_disabled() for i in range(4))
        for i in range(count):
            play_until_open(page, clips.nth(i), i)
        for i in range(4):
            button = rows.nth(i).locator("button").nth(0)
            page.wait_for_function("(b) => !b.disabled", arg=button.element_handle(), timeout=WAIT_MS)
            button.click()
            page.locator("#status", has_text=f"{i + 1} of 4 judged").wait_for()
    else:
        for i in range(count):
            clip = clips.nth(i)
            buttons = clip.locator("button.score")
            assert all(buttons.nth(k).is_disabled() for k in range(5)), "open before it was played"
            assert clip.locator("audio").evaluate(PLAY_JS), "the clip would not play"
            page.wait_for_function(
                "(i) => ![...document.querySelectorAll('#clips .clip')[i].querySelectorAll('button.score')]"
                ".some(b => b.disabled)", arg=i, timeout=WAIT_MS)
            clip.locator("audio").evaluate("(audio) => audio.pause()")
            buttons.nth(i % 5).click()
            page.locator("#status", has_text=f"{i + 1} of {count} judged").wait_for()
    with page.expect_download(timeout=WAIT_MS) as download:
        page.locator("#finish").click()
    target = art / "answers.json"
    download.value.save_as(str(target))
    page.locator("#done").wait_for()
    page.screenshot(path=str(art / "done.png"), full_page=True)
    return target


@pytest.mark.parametrize("mode", ["ratings", "pairs"])
def test_a_kit_is_answered_offline_and_collected_into_the_ledger(
    mode: str, music: RaisingShell, playwright_instance: Any, tmp_path: Path,
) -> None:
    pairs = mode == "pairs"
    art = artifacts_dir(f"browser-kit-{mode}")
    for old in art.glob("*"):
        old.unlink()
    run(music, "%%music --each-line --length 5s --out b\n" + "\n".join(PROMPTS))
    captured = run(music, f"%music listen b --kit kit/class.html --min-play 1 --repeat --out t"
                          f"{' --pairs' if pairs else ''}")
    assert "Listening kit" in captured.stdout, captured.stdout + captured.stderr
    kit = (tmp_path / "kit" / "class.html").resolve()
    page_text = kit.read_text(encoding="utf-8")
    for secret in (*PROMPTS, "elevenlabs", *music.user_ns["b"].job_ids):
        assert secret not in page_text

    requested: list[str] = []
    dialogs: list[str] = []

    def route(request_route: Any) -> None:
        url = request_route.request.url
        if url == kit.as_uri():
            request_route.continue_()
        else:
            requested.append(url)
            request_route.abort()

    context = launch_chromium(playwright_instance, tmp_path / "profile", accept_downloads=True)
    context.set_offline(True)
    context.route("**/*", route)
    page, console = watched_page(context)
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    try:
        answers_path = answer_the_kit(page, kit, art, pairs)
    except BaseException:
        with contextlib.suppress(Exception):
            page.screenshot(path=str(art / "failure.png"), full_page=True)
        raise
    finally:
        (art / "console.log").write_text("\n".join(console))
        context.close()
    assert requested == [], f"the kit asked the network for {requested}"
    assert dialogs == [], "a script ran from the listener's name"
    assert not [line for line in console if line.startswith("pageerror")], console

    document = json.loads(answers_path.read_text(encoding="utf-8"))
    test = music.user_ns["t"]
    assert document["test"] == test.id and document["listener"] == LISTENER
    assert len(answers_path.read_bytes()) < 4000, "the answers are a small file"

    captured = run(music, f"%music listen --collect {answers_path} --out u")
    assert "Collected 1 listener" in captured.stdout, captured.stdout + captured.stderr
    with Ledger.open(Path("apiframe_outputs") / ".apiframe-ledger.sqlite3") as ledger:
        ratings = ledger.ratings()
    assert [r.role for r in ratings].count("repeat") == 1
    repeat = next(r for r in ratings if r.role == "repeat")
    if pairs:
        assert [(r.kind, r.listener, r.position, r.score) for r in ratings] == [
            (PAIR, LISTENER, i, 1) for i in range(4)]
        first = next(r for r in ratings if {r.clip, r.other_clip} == {repeat.clip, repeat.other_clip}
                     and r.role != "repeat")
        assert (first.shown_as, first.other_shown_as) == (repeat.other_shown_as, repeat.shown_as)
        # Always the clip on the left: on the pair again, sides swapped, the listener contradicts
        # themselves, and the reveal says so.
        (check,) = music.user_ns["u"].reveal().repeats
        assert not check.agrees
    else:
        assert [(r.kind, r.listener, r.shown_as, r.position, r.score) for r in ratings] == [
            (RATING, LISTENER, letter, i, i % 5 + 1) for i, letter in enumerate("ABCD")]
        assert sum(r.clip == repeat.clip for r in ratings) == 2
    # Every clip was judged (in a pair, as either side: which side comes first is the draw's).
    judged = {c for r in ratings for c in (r.clip, r.other_clip) if c}
    assert {test.clip(c).prompt for c in judged} == set(PROMPTS)
