"""A listening kit: a blind test as one HTML file for listeners elsewhere, and their answers back.

:func:`write_kit` writes a self-contained page (inline CSS and JavaScript, every clip embedded as
a ``data:`` URI of its re-encoded MP3, nothing fetched from a network) that names nothing: it
holds the test's id, its clips' neutral names and their audio, and no prompt, model, label, job id
or file name. A listener opens it in a browser (headphones on), types their name, and hears the
clips in an order and under letters drawn for them in the page; a clip's buttons open once it has
played for ``min_play`` seconds. "Save my answers" hands back a small JSON file (a download made
in the page from a ``Blob``), which the listener returns to whoever runs the test.

:func:`read_answers` reads such a file back, checking it is one and belongs to the test;
:meth:`KitAnswers.records` turns it into the ledger's judgements. The listener's name is data
throughout: the page sets it as text, never as markup.
"""

from __future__ import annotations

import base64
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..ledger import PAIR, RATING, TEST_ROLE, RatingRecord

if TYPE_CHECKING:
    from ._session import ListeningTest

__all__ = ["ANSWERS_FORMAT", "KitAnswers", "read_answers", "write_kit"]

ANSWERS_FORMAT = "apiframe-listening-answers/1"
"""The ``format`` of an answers file."""

MAX_ANSWERS_BYTES = 1_000_000
"""An answers file larger than this is not one (a real one is a few kilobytes)."""

_SESSION = re.compile(r"kit-[0-9a-f]{8,32}")


@dataclass(frozen=True)
class KitAnswers:
    """One listener's answers from a kit: the test's ``test`` id, the kit's ``session`` id for
    this listener, their name, and their judgements as the page recorded them."""

    test: str
    session: str
    listener: str
    mode: str
    created_at: str | None
    judgements: tuple[dict[str, Any], ...]
    path: Path

    def records(self, test: ListeningTest) -> list[RatingRecord]:
        """The judgements as the ledger stores them, for ``test`` (whose clips they name); a
        clip heard a second time has the role ``"repeat"``, a control clip its own role.
        ``ValueError`` in one line for an answer that does not fit the test."""
        from ._session import REPEAT

        session = f"{test.id}/{self.session}"
        found = []
        for index, item in enumerate(self.judgements):
            try:
                clip = test.clip(str(item["clip"]))
                score = item["score"]
                position = item["position"]
                if not isinstance(score, int) or not isinstance(position, int) or isinstance(score, bool):
                    raise ValueError("score and position are whole numbers")
                repeat = item.get("repeat") is True
                if self.mode == PAIR:
                    other = test.clip(str(item["other_clip"]))
                    role = REPEAT if repeat else next(
                        (r for r in (clip.role, other.role) if r != TEST_ROLE), TEST_ROLE)
                    found.append(RatingRecord(
                        session, self.listener, PAIR, clip.name, clip.job_id, clip.track, score,
                        other_clip=other.name, other_job_id=other.job_id, other_track=other.track,
                        created_at=self.created_at, shown_as=_letter(item["shown_as"]),
                        other_shown_as=_letter(item["other_shown_as"]), position=position, role=role,
                    ))
                else:
                    found.append(RatingRecord(
                        session, self.listener, RATING, clip.name, clip.job_id, clip.track, score,
                        created_at=self.created_at, shown_as=_letter(item["shown_as"]),
                        position=position, role=REPEAT if repeat else clip.role,
                    ))
            except (KeyError, ValueError, TypeError) as e:
                message = str(e).strip("'\"")
                raise ValueError(
                    f"{self.path.name}: answer {index + 1} does not fit the test: {message}") from None
        return found


def _letter(value: object) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[A-Z]{1,3}", value):
        raise ValueError(f"{value!r} is not a clip's letter")
    return value


def read_answers(path: str | os.PathLike[str], test_id: str | None = None) -> KitAnswers:
    """The answers file at ``path``, checked: an answers file of a kit, of test ``test_id``
    when given. ``ValueError`` in one line otherwise."""
    target = Path(path)
    name = target.name
    try:
        if target.stat().st_size > MAX_ANSWERS_BYTES:
            raise ValueError("too large to be a kit's answers")
        document = json.loads(target.read_text(encoding="utf-8"))
    except OSError as e:
        raise ValueError(f"{name}: cannot be read ({e.strerror or e})") from None
    except ValueError as e:
        raise ValueError(f"{name}: not a listening kit's answers ({e})") from None
    if not isinstance(document, dict) or document.get("format") != ANSWERS_FORMAT:
        raise ValueError(f"{name}: not a listening kit's answers (no format {ANSWERS_FORMAT!r})")
    test = document.get("test")
    if test_id is not None and test != test_id:
        raise ValueError(f"{name}: answers to test {test!r}, not to {test_id}")
    session, listener = document.get("session"), document.get("listener")
    mode, judgements = document.get("mode"), document.get("judgements")
    created = document.get("created_at")
    if not isinstance(session, str) or not _SESSION.fullmatch(session):
        raise ValueError(f"{name}: no kit session id")
    if not isinstance(listener, str) or not " ".join(listener.split()) or len(listener) > 200:
        raise ValueError(f"{name}: no listener's name (or one over 200 characters)")
    if mode not in (RATING, PAIR) or not isinstance(judgements, list):
        raise ValueError(f"{name}: no judgements")
    if not all(isinstance(item, dict) for item in judgements):
        raise ValueError(f"{name}: a judgement is not an object")
    return KitAnswers(
        test=str(test), session=session, listener=" ".join(listener.split()), mode=mode,
        created_at=created if isinstance(created, str) else None, judgements=tuple(judgements),
        path=target,
    )


def write_kit(test: ListeningTest, path: str | os.PathLike[str], *, min_play: float) -> Path:
    """Write ``test`` as a listening kit (see the module) to ``path``, creating its folder; the
    path written."""
    clips = [
        {"name": clip.name,
         "src": "data:audio/mpeg;base64," + base64.b64encode(test.audio(clip.name)).decode("ascii")}
        for clip in test.clips
    ]
    tested = [clip.name for clip in test.tested]
    config = {
        "format": ANSWERS_FORMAT, "test": test.id, "mode": test.mode, "repeat": test.repeat,
        "minPlay": float(min_play), "clips": clips, "tested": tested,
    }
    # Inside <script>, "</" would end the element: JSON may write it as "<\/" safely.
    data = json.dumps(config, ensure_ascii=True).replace("</", "<\\/")
    page = _PAGE.replace("/*CONFIG*/null", data).replace("TEST_ID", test.id)
    target = Path(path).expanduser()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(page, encoding="utf-8")
    return target


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; media-src data: blob:; \
style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Blind listening test TEST_ID</title>
<style>
body { font: 15px/1.4 system-ui, sans-serif; margin: 2em auto; max-width: 46em; padding: 0 1em; }
.clip, .pair { border: 1px solid #ccc; border-radius: 6px; padding: .5em .8em; margin: .5em 0; }
.clip b { font-size: 17px; margin-right: .6em; }
button { margin: .15em; min-width: 2.4em; padding: .3em .6em; }
button.chosen { background: #1565c0; color: white; }
.muted { color: #666; }
#done a { font-weight: bold; }
</style>
</head>
<body>
<h1>Blind listening test</h1>
<p class="muted">Test <span id="test-id"></span>. Use headphones. Everything stays in this page:
nothing is sent anywhere. At the end, save your answers and hand the file back.</p>
<div id="start">
<label>Your name <input id="listener" autocomplete="off"></label>
<button id="begin">Start</button>
</div>
<div id="test" hidden>
<p id="how"></p>
<div id="clips"></div>
<div id="pairs"></div>
<p id="status" class="muted"></p>
<button id="finish">Save my answers</button>
</div>
<div id="done" hidden><p>Thank you. Your answers: <a id="answers">download the file</a>
(hand it back to whoever runs the test).</p></div>
<script>
"use strict";
const T = /*CONFIG*/null;
const $ = (id) => document.getElementById(id);
$("test-id").textContent = T.test;
function random(n) {
  const a = new Uint32Array(1); crypto.getRandomValues(a); return a[0] % n;
}
function shuffle(list) {
  for (let i = list.length - 1; i > 0; i--) {
    const j = random(i + 1); [list[i], list[j]] = [list[j], list[i]];
  }
  return list;
}
function letter(i) {
  let s = ""; i += 1;
  while (i) { const r = (i - 1) % 26; s = String.fromCharCode(65 + r) + s; i = Math.floor((i - 1) / 26); }
  return s;
}
function hex(bytes) {
  const a = new Uint8Array(bytes); crypto.getRandomValues(a);
  return Array.from(a, (b) => b.toString(16).padStart(2, "0")).join("");
}
const audio = Object.fromEntries(T.clips.map((c) => [c.name, c.src]));
const state = { slots: [], pairs: [], repeated: null, ratings: {}, prefs: {}, heard: new Set() };

function order() {
  const names = shuffle(T.clips.map((c) => c.name));
  const slots = names.map((n) => ({ clip: n, repeat: false }));
  if (T.repeat && T.mode === "rating") {
    const again = T.tested[random(T.tested.length)];
    const first = names.indexOf(again);
    const places = [];
    for (let p = 0; p <= slots.length; p++) if (p !== first && p !== first + 1) places.push(p);
    slots.splice(places[random(places.length)], 0, { clip: again, repeat: true });
  }
  slots.forEach((s, i) => { s.letter = letter(i); });
  state.slots = slots;
  if (T.mode === "pair") {
    const pairs = [];
    for (let i = 0; i < slots.length; i++) for (let j = i + 1; j < slots.length; j++) {
      pairs.push(random(2) ? [slots[i].letter, slots[j].letter] : [slots[j].letter, slots[i].letter]);
    }
    shuffle(pairs);
    if (T.repeat) {
      const tested = new Set(slots.filter((s) => T.tested.includes(s.clip)).map((s) => s.letter));
      const ok = pairs.map((p, i) => i).filter((i) => tested.has(pairs[i][0]) && tested.has(pairs[i][1]));
      const early = ok.filter((i) => i < pairs.length - 1);
      const from = early.length ? early : ok;
      const chosen = from[random(from.length)];
      const first = Math.min(chosen + 2, pairs.length);
      const at = first + random(pairs.length - first + 1);
      pairs.splice(at, 0, [pairs[chosen][1], pairs[chosen][0]]);
      state.repeated = at;
    }
    state.pairs = pairs;
  }
}
const slotOf = (l) => state.slots.find((s) => s.letter === l);

function player(l) {
  const el = document.createElement("audio");
  el.controls = true; el.preload = "auto"; el.src = audio[slotOf(l).clip];
  let last, heard = 0;
  el.addEventListener("seeking", () => { last = undefined; });
  el.addEventListener("timeupdate", () => {
    const t = el.currentTime;
    if (last !== undefined && t > last && t - last < 1.5) heard += t - last;
    last = t;
    if (heard >= T.minPlay && !state.heard.has(l)) { state.heard.add(l); enable(); }
  });
  return el;
}
function button(text, cls, onClick) {
  const b = document.createElement("button"); b.textContent = text; b.className = cls;
  b.addEventListener("click", onClick); return b;
}
function draw() {
  const box = $("clips");
  state.slots.forEach((s) => {
    const div = document.createElement("div"); div.className = "clip"; div.dataset.letter = s.letter;
    const name = document.createElement("b"); name.textContent = s.letter; div.append(name, player(s.letter));
    if (T.mode === "rating") {
      const row = document.createElement("div");
      for (let v = 1; v <= 5; v++) {
        row.append(button(String(v), "score", () => {
          state.ratings[s.letter] = v;
          row.querySelectorAll("button").forEach(
            (b) => b.classList.toggle("chosen", b.textContent === String(v)));
          say();
        }));
      }
      div.append(row);
    }
    box.append(div);
  });
  state.pairs.forEach(([a, b], i) => {
    const div = document.createElement("div"); div.className = "pair"; div.dataset.index = String(i);
    const q = document.createElement("span"); q.textContent = a + " or " + b + "? "; div.append(q);
    [[a, 1], ["no preference", 0], [b, -1]].forEach(([text, score]) => {
      div.append(button(text, "choice", (e) => {
        state.prefs[i] = score;
        div.querySelectorAll("button").forEach((x) => x.classList.toggle("chosen", x === e.target));
        say();
      }));
    });
    $("pairs").append(div);
  });
  $("how").textContent = (T.mode === "rating" ? "Rate each clip from 1 (worst) to 5 (best)."
    : "For each pair, say which clip you prefer.") +
    (T.minPlay > 0 ? " A clip's buttons open once it has played for " + T.minPlay + " s." : "");
  enable(); say();
}
function enable() {
  const open = (l) => T.minPlay <= 0 || state.heard.has(l);
  document.querySelectorAll(".clip").forEach((div) => {
    div.querySelectorAll("button.score").forEach((b) => { b.disabled = !open(div.dataset.letter); });
  });
  document.querySelectorAll(".pair").forEach((div) => {
    const [a, b] = state.pairs[Number(div.dataset.index)];
    div.querySelectorAll("button").forEach((x) => { x.disabled = !(open(a) && open(b)); });
  });
}
function judged() {
  return Object.keys(T.mode === "rating" ? state.ratings : state.prefs).length;
}
function total() { return T.mode === "rating" ? state.slots.length : state.pairs.length; }
function say() { $("status").textContent = judged() + " of " + total() + " judged"; }

$("begin").addEventListener("click", () => {
  const name = $("listener").value.trim().replace(/\\s+/g, " ");
  if (!name) { $("listener").focus(); return; }
  state.listener = name;
  order();
  $("start").hidden = true; $("test").hidden = false;
  draw();
});
$("finish").addEventListener("click", () => {
  if (!judged()) { $("status").textContent = "Nothing to save yet."; return; }
  const judgements = [];
  if (T.mode === "rating") {
    state.slots.forEach((s, i) => {
      if (s.letter in state.ratings) {
        judgements.push({ shown_as: s.letter, clip: s.clip, position: i, score: state.ratings[s.letter],
                          repeat: s.repeat });
      }
    });
  } else {
    state.pairs.forEach(([a, b], i) => {
      if (i in state.prefs) {
        judgements.push({ shown_as: a, other_shown_as: b, clip: slotOf(a).clip, other_clip: slotOf(b).clip,
                          position: i, score: state.prefs[i], repeat: i === state.repeated });
      }
    });
  }
  const session = "kit-" + hex(8);
  const answers = { format: T.format, test: T.test, session: session, listener: state.listener,
                    mode: T.mode, created_at: new Date().toISOString(), judgements: judgements };
  const blob = new Blob([JSON.stringify(answers, null, 1)], { type: "application/json" });
  const link = $("answers");
  link.href = URL.createObjectURL(blob);
  link.download = T.test + "-answers-" + session + ".json";
  $("test").hidden = true; $("done").hidden = false;
  link.click();
});
</script>
</body>
</html>
"""
