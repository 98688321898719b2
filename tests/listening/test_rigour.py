"""A rigorous blind test: the statistics checked against scipy (Student's t intervals, Holm,
Bradley-Terry fitted by scipy's optimiser with its intervals from the likelihood's curvature),
each listener's own order and letters recorded in the ledger, ties kept as ties, the controls
(hidden reference, anchor, a clip heard twice) reported apart and never in history(), clips whose
bytes match no file, and a listening kit: written with no label in it, its answers read back,
checked and collected into the ledger, in Python and through ``%music listen --collect``.

The tracks come from a real sandbox over HTTP; nothing is mocked and nothing is timed.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from IPython.core.error import UsageError

import apiframe_magic
from apiframe_magic.analysis._measure import decode
from apiframe_magic.display import listen_reveal_html
from apiframe_magic.jobs import Batch
from apiframe_magic.ledger import PAIR, RATING, TEST_ROLE, Ledger
from apiframe_magic.listening import (
    ListeningTest,
    bradley_terry,
    group_stats,
    holm,
    pairwise,
    read_answers,
    t_quantile,
    write_kit,
)
from apiframe_magic.listening._kit import ANSWERS_FORMAT
from apiframe_magic.magic._options import parse_music_line
from apiframe_magic.sandbox import SandboxServer
from tests.conftest import CANARY_KEY
from tests.listening._tracks import make_tracks
from tests.magic.test_magic import RaisingShell, everything_shown, music_shell, run

scipy_stats = pytest.importorskip("scipy.stats")
scipy_optimize = pytest.importorskip("scipy.optimize")

PROMPTS = ("a calm piano for studying", "an upbeat synthwave track", "a marching band in the rain",
           "a lullaby on a music box")


# -- the statistics against scipy -----------------------------------------------------------


def test_t_quantiles_match_scipy() -> None:
    for df in range(1, 61):
        for q in (0.6, 0.9, 0.95, 0.975, 0.995):
            assert t_quantile(q, df) == pytest.approx(scipy_stats.t.ppf(q, df), abs=1e-8), (q, df)


def test_mean_confidence_intervals_match_scipy() -> None:
    rng = np.random.default_rng(3)
    for n in (2, 3, 5, 12, 40):
        scores = [int(v) for v in rng.integers(1, 6, n)]
        (stats,) = group_stats({"x": scores})
        expected = scipy_stats.t.interval(0.95, n - 1, loc=np.mean(scores), scale=scipy_stats.sem(scores))
        assert stats.ci is not None
        assert stats.ci == pytest.approx(expected, abs=1e-9) or np.std(scores) == 0
    (one,) = group_stats({"x": [4]})
    assert one.ci is None


def holm_reference(p: list[float]) -> list[float]:
    """Holm by its definition: reject H_(i) while p_(i) <= alpha / (m - i + 1); the adjusted
    p-value is the smallest alpha at which each is rejected (found by scanning alphas)."""
    m = len(p)
    order = sorted(range(m), key=lambda i: p[i])
    adjusted = [0.0] * m
    for rank, index in enumerate(order):
        adjusted[index] = min(1.0, max((m - j) * p[order[j]] for j in range(rank + 1)))
    return adjusted


def test_holm_matches_its_definition_and_the_textbook_example() -> None:
    # Holm (1979) as usually taught: 0.01, 0.04, 0.03, 0.005 with m = 4.
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    rng = np.random.default_rng(5)
    for m in (1, 2, 3, 10, 120):
        p = [float(v) for v in rng.uniform(0, 0.2, m)]
        assert holm(p) == pytest.approx(holm_reference(p))
    assert holm([]) == []


def test_holm_corrected_pairs_of_a_sixteen_clip_test() -> None:
    names = [chr(ord("A") + i) for i in range(16)]
    outcomes = [(a, b, 1 if (i + j) % 3 else -1, f"s{k}")
                for (i, a), (j, b) in itertools.combinations(enumerate(names), 2) for k in range(6)]
    pairs = pairwise(names, outcomes)
    assert len(pairs) == 120
    expected = holm([p.p_value for p in pairs])
    assert [p.adjusted_p for p in pairs] == pytest.approx(expected)
    assert all(p.p >= p.p_value for p in pairs)


def bt_reference(names: list[str], outcomes: list[tuple[str, str, int, str]]) -> tuple[Any, Any]:
    """The Bradley-Terry log-strengths (mean 0) by scipy's optimiser on the log-likelihood, and
    their covariance: the inverse of the likelihood's Hessian in the first m - 1 parameters
    (the last fixed by the sum), computed numerically."""
    m = len(names)
    wins = np.zeros((m, m))
    for first, second, score, _ in outcomes:
        i, j = names.index(first), names.index(second)
        share = 1.0 if score > 0 else 0.0 if score < 0 else 0.5
        wins[i, j] += share
        wins[j, i] += 1 - share

    def full(x: Any) -> Any:
        return np.append(x, -np.sum(x))

    def nll(x: Any) -> float:
        theta = full(x)
        diff = theta[:, None] - np.logaddexp(theta[:, None], theta[None, :])
        return float(-(wins * diff).sum())

    fit = scipy_optimize.minimize(nll, np.zeros(m - 1), method="BFGS", options={"gtol": 1e-11})
    x = fit.x
    h = 1e-4
    hessian = np.zeros((m - 1, m - 1))
    for a in range(m - 1):
        for b in range(m - 1):
            ea, eb = np.eye(m - 1)[a] * h, np.eye(m - 1)[b] * h
            hessian[a, b] = (
                nll(x + ea + eb) - nll(x + ea - eb) - nll(x - ea + eb) + nll(x - ea - eb)) / (4 * h * h)
    inner = np.linalg.inv(hessian)
    # The covariance of all m log-strengths: theta = T x with T = [I; -1...-1].
    transform = np.vstack([np.eye(m - 1), -np.ones(m - 1)])
    return full(x), transform @ inner @ transform.T


def test_bradley_terry_matches_a_scipy_fit_with_its_intervals() -> None:
    rng = np.random.default_rng(11)
    names = list("ABCDE")
    true = np.exp(rng.normal(size=5))
    outcomes = []
    for k in range(500):
        i, j = rng.choice(5, 2, replace=False)
        p = true[i] / (true[i] + true[j])
        draw = rng.random()
        score = 1 if draw < 0.9 * p else -1 if draw > 0.9 * p + 0.1 else 0  # some ties
        outcomes.append((names[i], names[j], score, f"s{k % 20}"))
    strengths = bradley_terry(names, outcomes)
    theta, covariance = bt_reference(names, outcomes)
    assert [s.group for s in strengths] == names
    assert np.log([s.strength for s in strengths]) == pytest.approx(theta, abs=1e-6)
    for index, s in enumerate(strengths):
        se = float(np.sqrt(covariance[index, index]))
        assert s.ci is not None
        low, high = np.log(s.ci)
        assert (high - low) / 2 == pytest.approx(1.959963984540054 * se, rel=2e-3)
        assert (low + high) / 2 == pytest.approx(theta[index], abs=1e-6)


def test_a_clip_that_won_everything_has_no_finite_interval() -> None:
    outcomes = [("A", "B", 1, "s"), ("A", "C", 1, "s"), ("B", "C", 1, "s"), ("C", "B", 1, "t")]
    strengths = {s.group: s for s in bradley_terry(["A", "B", "C"], outcomes)}
    assert strengths["A"].ci is None and strengths["A"].strength > strengths["B"].strength


# -- tests of real tracks --------------------------------------------------------------------


@pytest.fixture(scope="module")
def tracks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Batch, Path]]:
    yield make_tracks(tmp_path_factory.mktemp("rigour"), PROMPTS)


def test_each_listener_has_an_order_and_letters_of_their_own_recorded_in_the_ledger(
    tracks: tuple[Batch, Path], tmp_path: Path,
) -> None:
    batch, _ = tracks
    with Ledger.open(tmp_path / "l.sqlite3") as ledger:
        test = ListeningTest(batch, seed=8, ledger=ledger)
        runs = [test.listener(f"student {i}") for i in range(6)]
        orders = {tuple(slot.clip for slot in run.slots) for run in runs}
        assert len(orders) > 1, "every listener heard the same order"
        for run in runs:
            assert run.letters == ("A", "B", "C", "D")  # letters follow each listener's order
            assert sorted(slot.clip for slot in run.slots) == ["A", "B", "C", "D"]
            for letter in run.letters:
                run.rate(letter, 3)
            run.submit()
        again = ListeningTest(batch, seed=8)
        assert [again.listener("x").slots for _ in range(6)] == [run.slots for run in runs]
        stored = ledger.ratings()
    assert len(stored) == 24
    for record in stored:
        run = next(r for r in runs if r.session == record.session)
        assert record.position is not None and record.shown_as == run.letters[record.position]
        assert run.slot(record.shown_as).clip == record.clip and record.role == TEST_ROLE
    # The CSV carries them too.
    rows = test.rows()
    assert {(row["shown_as"], row["position"]) for row in rows} == {(c, i) for i, c in enumerate("ABCD")}


def test_ties_are_ties_never_broken_by_a_letter(tracks: tuple[Batch, Path]) -> None:
    batch, _ = tracks
    test = ListeningTest(batch, seed=2)
    for i in range(3):
        run = test.listener(f"p{i}")
        for letter in run.letters:
            clip = run.slot(letter).clip
            run.rate(letter, 5 if clip in ("A", "D") else 2)
        run.submit()
    reveal = test.reveal()
    assert reveal.verdict == "No clear winner: A and D tie at 5.00, over 3 listeners"
    assert reveal.winner is None
    top = [r for r in reveal.ranking if r.rank == 1]
    assert {r.name for r in top} == {"A", "D"} and all(r.tied for r in top)
    assert "1= A" in str(reveal) and "1= D" in str(reveal)


def test_pairs_rank_by_bradley_terry_strength_with_intervals(tracks: tuple[Batch, Path]) -> None:
    batch, _ = tracks
    test = ListeningTest(batch, pairs=True, seed=4)
    quality = {"A": 3, "B": 2, "C": 1, "D": 0}
    for i in range(10):
        run = test.listener(f"p{i}")
        for first, second in run.pairs:
            a, b = run.slot(first).clip, run.slot(second).clip
            better = first if quality[a] > quality[b] else second
            # Listener 0 and 1 disagree on one pair, so every clip has a finite strength.
            if i < 2 and {a, b} == {"A", "D"}:
                better = second if better == first else first
            run.prefer(first, second, better)
        run.submit()
    reveal = test.reveal()
    assert [r.name for r in reveal.ranking] == ["A", "B", "C", "D"]
    assert reveal.ranked_by == "Bradley-Terry strength"
    assert all(r.ci is not None and r.ci[0] < r.value < r.ci[1] for r in reveal.ranking)
    assert len(reveal.pairs) == 6 and all(p.adjusted_p is not None for p in reveal.pairs)
    assert reveal.verdict.startswith("No clear winner: A leads B") or reveal.winner == "A"
    assert "(Holm-corrected, 6 pairs)" in reveal.verdict


def test_controls_are_judged_blind_reported_apart_and_never_in_history(
    tracks: tuple[Batch, Path], tmp_path: Path,
) -> None:
    batch, made_with = tracks
    tested, reference = batch.results[:3], batch.results[3]
    test = ListeningTest(list(tested), seed=6, reference=reference, anchor=True, repeat=True,
                         ledger=made_with)
    roles = [c.role for c in test.clips]
    assert roles == ["test", "test", "test", "reference", "anchor"]
    anchor = test.clips[4]
    assert anchor.of in {"A", "B", "C"} and "low-passed at 3.5 kHz" in anchor.describe()
    assert "hidden reference" in test.clips[3].describe()
    for i in range(4):
        run = test.listener(f"l{i}")
        assert len(run.slots) == 6  # five clips, one of those under test heard twice
        repeated = [s for s in run.slots if s.role == "repeat"]
        assert len(repeated) == 1
        places = [i for i, s in enumerate(run.slots) if s.clip == repeated[0].clip]
        assert places[1] - places[0] > 1, "heard twice back to back"
        for letter in run.letters:
            slot = run.slot(letter)
            run.rate(letter, {"reference": 5, "anchor": 1}.get(test.clip(slot.clip).role, 3))
        run.submit()
    reveal = test.reveal()
    assert {g.group for g in reveal.controls} == {"D", "E"}
    assert {g.group: g.mean for g in reveal.controls} == {"D": 5.0, "E": 1.0}
    assert {r.name for r in reveal.ranking} == {"A", "B", "C"}
    assert len(reveal.repeats) == 4 and all(r.agrees for r in reveal.repeats)
    html = listen_reveal_html(reveal)
    assert "apiframe-listen-controls" in html and "Heard twice" in html
    # history(): three ratings of each clip under test, the repeat, reference and anchor left out.
    table = apiframe_magic.history(ledger=made_with)
    rows = table.to_dict("records") if hasattr(table, "to_dict") else table
    by_job = {row["job_id"]: row for row in rows}
    assert by_job[reference.job_id]["ratings"] == 0
    assert sorted(by_job[r.job_id]["ratings"] for r in tested) == [4, 4, 4]


def test_a_repeated_pair_checks_the_listener(tracks: tuple[Batch, Path]) -> None:
    batch, _ = tracks
    test = ListeningTest(batch, pairs=True, seed=9, repeat=True)
    run = test.listener("Ana")
    assert len(run.pairs) == 7 and run.repeated_pair is not None
    again = run.pairs[run.repeated_pair]
    assert (again[1], again[0]) in run.pairs[: run.repeated_pair - 1]
    for first, second in run.pairs:
        run.prefer(first, second, min(first, second))  # always the earlier letter: consistent
    run.submit()
    (repeat,) = test.reveal().repeats
    assert repeat.agrees and repeat.other_clip is not None


def test_a_clip_plays_bytes_no_file_holds_and_sounds_the_same(tracks: tuple[Batch, Path]) -> None:
    batch, _ = tracks
    test = ListeningTest(batch, seed=1)
    files = {hashlib.sha256(p.read_bytes()).hexdigest() for p in (c.path for c in test.clips)}
    for clip in test.clips:
        blind = test.audio(clip.name)
        assert hashlib.sha256(blind).hexdigest() not in files
        assert blind[:3] == b"ID3" or blind[0] == 0xFF  # an MP3
        # The same music: the decoded blind clip is loud where the original is.
        original, rate = decode(clip.path)
        path = clip.path.with_suffix(".blind-check.mp3")
        path.write_bytes(blind)
        copy, copy_rate = decode(path)
        path.unlink()
        assert copy_rate == rate and abs(len(copy) - len(original)) < rate // 5
        rms = float(np.sqrt(np.mean(original**2)))
        assert float(np.sqrt(np.mean(copy**2))) == pytest.approx(rms, rel=0.1)


# -- the listening kit -----------------------------------------------------------------------


def answers(test: ListeningTest, listener: str, session: str, scores: dict[str, int]) -> dict[str, Any]:
    """What the kit's page hands back for a listener who rates the test's clips ``scores``."""
    run = test.listener(listener)  # an order drawn as the page would draw one
    return {
        "format": ANSWERS_FORMAT, "test": test.id, "session": session, "listener": listener,
        "mode": RATING, "created_at": "2026-01-01T00:00:00.000Z",
        "judgements": [
            {"shown_as": slot.letter, "clip": slot.clip, "position": i, "score": scores[slot.clip],
             "repeat": False}
            for i, slot in enumerate(run.slots)
        ],
    }


def test_a_kit_names_nothing_and_embeds_every_clip_re_encoded(
    tracks: tuple[Batch, Path], tmp_path: Path,
) -> None:
    batch, _ = tracks
    test = ListeningTest(batch, seed=3, repeat=True)
    kit = write_kit(test, tmp_path / "kit" / "test.html", min_play=2)
    page = kit.read_text(encoding="utf-8")
    assert test.id in page and "default-src 'none'" in page
    for clip in test.clips:
        for secret in (clip.prompt, clip.job_id, clip.path.name, clip.path.stem, clip.model):
            assert secret and secret not in page, secret
    sources = re.findall(r"data:audio/mpeg;base64,([A-Za-z0-9+/=]+)", page)
    assert len(sources) == len(test.clips)
    files = {hashlib.sha256(c.path.read_bytes()).hexdigest() for c in test.clips}
    assert not files & {hashlib.sha256(base64.b64decode(s)).hexdigest() for s in sources}
    assert not re.search(r"(src|href)\s*=\s*[\"']?https?:", page), "the page would fetch something"


def test_kit_answers_are_checked_then_collected_once(tracks: tuple[Batch, Path], tmp_path: Path) -> None:
    batch, _ = tracks
    with Ledger.open(tmp_path / "l.sqlite3") as ledger:
        test = ListeningTest(batch, seed=3, ledger=ledger)
        definition = test.save(tmp_path / "listening" / f"{test.id}.json")
        scores = {"A": 5, "B": 1, "C": 3, "D": 2}
        files = []
        hostile = ('=HYPERLINK("https://evil.example","x")', "<b onmouseover=alert(1)>Ana</b>")
        for i, name in enumerate(hostile):
            path = tmp_path / f"answers-{i}.json"
            path.write_text(json.dumps(answers(test, name, f"kit-{i:08x}", scores)), encoding="utf-8")
            files.append(path)
        loaded = ListeningTest.load(definition, ledger=ledger)
        assert [c.name for c in loaded.clips] == [c.name for c in test.clips] and loaded.id == test.id
        assert len(loaded.collect(files)) == 2
        assert loaded.collect(files) == [], "collected twice"
        stored = ledger.ratings()
    assert len(stored) == 8
    assert {r.session for r in stored} == {f"{test.id}/kit-00000000", f"{test.id}/kit-00000001"}
    assert {r.clip: r.score for r in stored} == scores
    reveal = loaded.reveal()
    assert reveal.ranking[0].name == "A" and reveal.listeners == 2
    html = listen_reveal_html(reveal)
    assert "<b onmouseover" not in html
    csv_text = loaded.to_csv(tmp_path / "out.csv").read_text(encoding="utf-8")
    assert "'=HYPERLINK" in csv_text


def judgement(clip: str, score: int, letter: str) -> dict[str, Any]:
    return {"clip": clip, "score": score, "position": 0, "shown_as": letter}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format": "something else"}, "not a listening kit's answers"),
        ({"test": "listen-00000000"}, "answers to test 'listen-00000000'"),
        ({"session": "../x"}, "no kit session id"),
        ({"listener": "   "}, "no listener's name"),
        ({"judgements": [judgement("Z", 3, "A")]}, "does not fit the test"),
        ({"judgements": [judgement("A", 9, "A")]}, "does not fit the test"),
        ({"judgements": [judgement("A", 3, "<i>")]}, "not a clip's letter"),
        ({"mode": PAIR, "judgements": []}, "pair answers, but this test asks for ratings"),
    ],
)
def test_answers_that_do_not_fit_are_refused_in_one_line(
    tracks: tuple[Batch, Path], tmp_path: Path, change: dict[str, Any], message: str,
) -> None:
    batch, _ = tracks
    test = ListeningTest(batch, seed=3)
    document = {**answers(test, "Ana", "kit-0000aaaa", {"A": 1, "B": 2, "C": 3, "D": 4}), **change}
    path = tmp_path / "a.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(ValueError, match=re.escape(message)) as caught:
        test.collect([path])
    assert "\n" not in str(caught.value) and not test.judgements
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match="not a listening kit's answers"):
        read_answers(path)


# -- %music listen --kit and --collect -------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("listen b --collect a.json", "takes no VAR"),
        ("listen --collect a.json --pairs", "takes only --csv and --out"),
        ("listen b --reference 1x", "--reference 1x: not a valid Python variable name"),
        ("listen b --kit ' '", "--kit ' ': not a usable file path"),
        ("history --kit k.html", "go with %music listen"),
    ],
)
def test_kit_options_are_checked_in_one_line(line: str, message: str) -> None:
    with pytest.raises(UsageError, match=re.escape(message)):
        parse_music_line(line)


def test_kit_options_parse() -> None:
    command = parse_music_line("listen b --kit k.html --anchor --repeat --reference r --pairs").listen
    assert command is not None
    assert (command.kit, command.anchor, command.repeat, command.reference, command.pairs) == (
        "k.html", True, True, "r", True)
    collect = parse_music_line("listen --collect a.json 'b c.json' --csv j.csv").listen
    assert collect is not None and collect.var is None and collect.collect == ("a.json", "b c.json")


@pytest.fixture
def music(sandbox: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RaisingShell]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("APIFRAME_API_KEY", CANARY_KEY)
    monkeypatch.setenv("APIFRAME_BASE_URL", sandbox.url)
    with music_shell() as sh:
        yield sh


def test_a_kit_is_written_from_a_terminal_and_its_answers_collected_into_the_ledger(
    music: RaisingShell,
) -> None:
    run(music, "%%music --each-line --length 5s --out b\n" + "\n".join(PROMPTS[:3]))
    captured = run(music, "%music listen b --kit kits/class.html --out t")
    test = music.user_ns["t"]
    assert isinstance(test, ListeningTest)
    assert f"Listening kit {test.id}: kits/class.html" in captured.stdout
    assert Path("kits/class.html").exists()
    assert Path("apiframe_outputs/listening", f"{test.id}.json").exists()
    document = answers(test, "Ana", "kit-12345678", {"A": 2, "B": 5, "C": 1})
    Path("back").mkdir()
    Path("back/ana.json").write_text(json.dumps(document), encoding="utf-8")
    captured = run(music, "%music listen --collect back/*.json --out u")
    assert "Collected 1 listener into test" in captured.stdout
    shown = everything_shown(captured)
    assert "No clear winner: B leads A" in shown and "apiframe-listen-reveal" in shown
    csv_path = Path("apiframe_outputs", f"{test.id}.csv")
    assert csv_path.exists() and f"Judgements written to {csv_path}" in shown
    with Ledger.open(Path("apiframe_outputs") / ".apiframe-ledger.sqlite3") as ledger:
        stored = ledger.ratings()
    assert [(r.listener, r.clip, r.score) for r in stored] == [
        ("Ana", j["clip"], j["score"]) for j in document["judgements"]]
    again = run(music, "%music listen --collect back/ana.json")
    assert "Collected 0 listeners" in again.stdout and "1 file already collected" in again.stdout
    with pytest.raises(UsageError, match="no file matches"):
        music.run_line_magic("music", "listen --collect nothing/*.json")


def test_controls_in_the_widgets_then_the_reveal_reports_them_apart(music: RaisingShell) -> None:
    from IPython.utils.capture import capture_output

    from tests.magic.test_magic import magics

    run(music, "%%music --each-line --length 5s --out b\n" + "\n".join(PROMPTS[:3]))
    music.user_ns["r"] = music.user_ns["b"].results[2]
    music.user_ns["two"] = list(music.user_ns["b"].results[:2])
    music.run_line_magic("config", "MusicMagics.progress = 'widget'")
    with capture_output() as captured:
        music.run_line_magic("music", "listen two --reference r --anchor --repeat --min-play 0 --out t")
        view = magics(music).listen_view
        assert view is not None
        test = music.user_ns["t"]
        assert [c.role for c in test.clips] == ["test", "test", "reference", "anchor"]
        assert list(view.scores) == ["A", "B", "C", "D", "E"]  # four clips, one heard twice
        assert "apiframe-batch" in view.title.value and "display:none" in view.title.value  # folded
        for letter, buttons in view.scores.items():
            buttons[{"reference": 4, "anchor": 0}.get(test.clip(view.run.slot(letter).clip).role, 2)].click()
        view.reveal_button.click()
        view.confirm_button.click()
    html = [o.data for o in captured.outputs if o.update][-1]["text/html"]
    assert "apiframe-listen-controls" in html and "hidden reference" in html and "low-passed" in html
    assert "Heard twice</b>: 1 of 1 listeners gave the same answer" in html
    assert html.count("<audio") == 4  # a player beside each clip the reveal names
