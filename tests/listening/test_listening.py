"""Blind listening tests: the statistics against textbook values, tests built from real sandbox
tracks (shuffled by seed, every pair once), judgements pooled across listeners, recorded in a real
ledger (``history()`` shows them) and exported to CSV; and ``%music listen`` in a real shell.

The tracks come from one batch run against a real sandbox over HTTP, once for the module; the
magic's tests make their own in the shell. Nothing is mocked and nothing is timed.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output

import apiframe_magic
from apiframe_magic.display import NEEDS_NOTEBOOK, ListenView
from apiframe_magic.jobs import Batch
from apiframe_magic.ledger import PAIR, RATING, Ledger, RatingRecord
from apiframe_magic.listening import (
    CSV_COLUMNS,
    ListeningTest,
    clip_name,
    format_p,
    group_stats,
    pairwise,
    read_ratings_csv,
    sign_test,
)
from apiframe_magic.magic._options import parse_music_line
from apiframe_magic.sandbox import SandboxServer
from tests.conftest import CANARY_KEY
from tests.listening._tracks import make_tracks
from tests.magic.test_magic import RaisingShell, magics, music_shell, run

PROMPTS = ("a calm piano for studying", "an upbeat synthwave track", "a marching band in the rain")


# -- the statistics ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wins", "losses", "p"),
    [
        (9, 1, 0.02148),  # 9 of 10 prefer B: 2 * 11/1024
        (1, 9, 0.02148),  # two-sided: the same either way round
        (15, 5, 0.04139),  # 15 of 20: 2 * 21700/2^20
        (10, 2, 0.03857),  # 10 of 12: 2 * 79/4096
        (8, 0, 0.00781),  # all of 8: 2/256
        (5, 5, 1.0),
        (0, 0, 1.0),  # nobody preferred either
        (6, 5, 1.0),  # never above 1
    ],
)
def test_the_sign_test_gives_the_textbook_p_values(wins: int, losses: int, p: float) -> None:
    assert sign_test(wins, losses) == pytest.approx(p, abs=5e-6)


def test_the_sign_test_agrees_with_scipys_exact_binomial_test() -> None:
    stats = pytest.importorskip("scipy.stats")
    for n in range(1, 31):
        for wins in range(n + 1):
            expected = stats.binomtest(wins, n, 0.5, alternative="two-sided").pvalue
            assert sign_test(wins, n - wins) == pytest.approx(expected, rel=1e-9), (wins, n)


def test_the_sign_test_refuses_negative_counts() -> None:
    with pytest.raises(ValueError, match="counts"):
        sign_test(-1, 3)


def test_pairwise_wins_drop_ties_from_the_sign_test_and_count_listeners() -> None:
    outcomes = [("B", "A", 1, f"s{i}") for i in range(9)] + [("A", "B", 1, "s9")]
    outcomes += [("A", "B", 0, f"t{i}") for i in range(5)]  # five with no preference
    (stats,) = pairwise(["A", "B"], outcomes)
    assert (stats.a, stats.b, stats.wins_a, stats.wins_b, stats.ties) == ("A", "B", 1, 9, 5)
    assert stats.listeners == 15 and stats.n == 10 and stats.win_rate == pytest.approx(0.1)
    assert stats.p_value == pytest.approx(0.02148, abs=5e-6)


def test_group_means_and_their_spread() -> None:
    table = group_stats({"x": [2, 4, 4, 4, 5, 5, 7, 9], "y": [3], "z": []})
    assert [g.group for g in table] == ["x", "y"]  # no scores, no row
    x, y = table
    assert (x.n, x.mean, x.low, x.high) == (8, 5.0, 2, 9)
    assert x.sd == pytest.approx(2.13809, abs=1e-5)  # the sample standard deviation
    assert y.sd is None


def test_p_values_are_said_briefly() -> None:
    assert [format_p(p) for p in (0.0312, 0.0039, 0.0004, 0.5)] == [
        "p = 0.03", "p = 0.004", "p < 0.001", "p = 0.50"]


def test_neutral_names_run_a_to_z_then_aa() -> None:
    assert [clip_name(i) for i in (0, 1, 25, 26, 27, 51, 52, 701, 702)] == [
        "A", "B", "Z", "AA", "AB", "AZ", "BA", "ZZ", "AAA"]


# -- tests made of real tracks ---------------------------------------------------------------


@pytest.fixture(scope="module")
def tracks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Batch, Path]]:
    """Three 5-second sandbox tracks made by a batch through a ledger, and that ledger's path."""
    yield make_tracks(tmp_path_factory.mktemp("listening"), PROMPTS)


def test_the_same_seed_gives_the_same_names_and_every_clip_is_there(tracks: tuple[Batch, Path]) -> None:
    batch, _ = tracks
    first = ListeningTest(batch, seed=7)
    again = ListeningTest(batch, seed=7)
    assert [c.name for c in first.clips] == ["A", "B", "C"]
    assert [(c.name, c.job_id) for c in first.clips] == [(c.name, c.job_id) for c in again.clips]
    assert {c.job_id for c in first.clips} == set(batch.job_ids)
    orders = {tuple(c.prompt for c in ListeningTest(batch, seed=seed).clips) for seed in range(20)}
    assert len(orders) > 1, "the seed does not shuffle"
    assert first.seed == 7 and isinstance(ListeningTest(batch).seed, int)
    by_prompt = {c.prompt: c for c in first.clips}
    assert set(by_prompt) == set(PROMPTS)
    assert all(c.take == 1 and c.model == "elevenlabs-music" and c.path.exists() for c in first.clips)


def test_a_list_of_results_takes_its_takes_from_the_ledger(tracks: tuple[Batch, Path]) -> None:
    batch, ledger_path = tracks
    assert {c.take for c in ListeningTest(list(batch.results), seed=1).clips} == {None}
    with Ledger.open(ledger_path) as ledger:
        test = ListeningTest(list(batch.results), seed=1, ledger=ledger)
    assert {c.take for c in test.clips} == {1}


def test_every_track_of_a_multi_track_result_is_a_clip(tracks: tuple[Batch, Path]) -> None:
    from dataclasses import replace

    one = tracks[0].results[0]
    # A second track of the same job, as Suno makes: the result as the jobs layer would hold it.
    result = replace(one, tracks=(one.tracks[0], replace(one.tracks[0], index=1)))
    test = ListeningTest(result, seed=3)
    assert sorted((c.job_id, c.track) for c in test.clips) == [(result.job_id, 0), (result.job_id, 1)]
    assert all(c.tracks == 2 and "of 2" in c.describe() for c in test.clips)


def test_what_is_not_a_test_of_two_clips_is_refused(tracks: tuple[Batch, Path]) -> None:
    batch, _ = tracks
    with pytest.raises(ValueError, match="at least two clips"):
        ListeningTest([batch.results[0]])
    with pytest.raises(TypeError, match="not a MusicResult"):
        ListeningTest([batch.results[0], "a track"])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="not a dict"):
        ListeningTest({})  # type: ignore[arg-type]


def test_pairs_mode_asks_every_unordered_pair_once_in_an_order_of_its_own(
    tracks: tuple[Batch, Path],
) -> None:
    batch, _ = tracks
    test = ListeningTest(batch, pairs=True, seed=11)
    runs = [test.listener(f"listener {i}") for i in range(8)]
    every_pair = {frozenset(p) for p in (("A", "B"), ("A", "C"), ("B", "C"))}
    for one in runs:
        assert len(one.pairs) == 3 and {frozenset(p) for p in one.pairs} == every_pair
    assert len({one.pairs for one in runs}) > 1, "every listener got the same order and sides"
    again = ListeningTest(batch, pairs=True, seed=11)
    assert [again.listener("x").pairs for _ in range(8)] == [one.pairs for one in runs]
    first, second = runs[0].pairs[0]
    with pytest.raises(ValueError, match="not a comparison"):
        runs[0].prefer(second, first, second)
    with pytest.raises(ValueError, match="ratings"):
        runs[0].rate("A", 3)


def test_twelve_listeners_pool_into_one_verdict_recorded_in_the_ledger(
    tracks: tuple[Batch, Path], tmp_path: Path
) -> None:
    batch, made_with = tracks
    ledger_path = tmp_path / "ratings.sqlite3"
    with Ledger.open(ledger_path) as ledger:
        test = ListeningTest(batch, seed=5, ledger=ledger)
        for i in range(12):
            run = test.listener(f"student {i + 1}")
            # Each listener has letters of their own: rate the test's clips through them.
            run.rate(run.letter("A"), 3)
            run.rate(run.letter("B"), 5 if i < 10 else 3)  # B above A for 10 listeners, level for 2
            run.rate(run.letter("C"), 2)
            assert run.complete
            assert len(run.submit()) == 3
        stored = ledger.ratings()
    reveal = test.reveal()
    # 10 of 10, ties dropped; Holm multiplies the smallest of the three p-values by 3, B vs A's by 1.
    assert reveal.verdict == "B wins, p = 0.002 (Holm-corrected, 3 pairs), over 12 listeners"
    assert [(r.name, r.rank) for r in reveal.ranking] == [("B", 1), ("A", 2), ("C", 3)]
    assert reveal.winner == "B" and reveal.listeners == 12 and reveal.judgements == 36
    b_vs_a = reveal.pair("B", "A")
    assert b_vs_a is not None and (b_vs_a.wins_a, b_vs_a.wins_b, b_vs_a.ties) == (10, 0, 2)
    means = {g.group: g.mean for g in reveal.by_clip}
    assert means["B"] == pytest.approx((10 * 5 + 2 * 3) / 12)
    assert {g.group for g in reveal.by_prompt} == set(PROMPTS)
    assert "B wins" in str(reveal) and str(test.clip("B").prompt) in str(reveal)

    assert len(stored) == 36 and {r.kind for r in stored} == {RATING}
    assert len({r.session for r in stored}) == 12 and stored[0].listener == "student 1"
    assert stored == test.judgements  # the same records, times included

    # history() joins them to the jobs (the jobs are in the batch's ledger: copy the ratings there).
    with Ledger.open(made_with) as ledger:
        ledger.rate(stored)
    table = apiframe_magic.history(ledger=made_with)
    rows = table.to_dict("records") if hasattr(table, "to_dict") else table
    by_job = {row["job_id"]: row for row in rows}
    assert by_job[test.clip("B").job_id]["rating"] == pytest.approx(means["B"])
    assert by_job[test.clip("C").job_id]["ratings"] == 12


def test_without_a_clear_preference_there_is_no_winner(tracks: tuple[Batch, Path]) -> None:
    batch, _ = tracks
    test = ListeningTest(batch, pairs=True, seed=2)
    assert test.reveal().verdict.startswith("No verdict yet")
    for i in range(3):
        run = test.listener(f"p{i}")
        for first, second in run.pairs:
            run.prefer(first, second, None if i else first)
        run.submit()
    reveal = test.reveal()
    assert reveal.winner is None
    assert reveal.verdict.startswith("No clear winner:") and reveal.verdict.endswith("over 3 listeners")
    assert all(p.ties >= 2 for p in reveal.pairs)


def test_pairs_judgements_export_to_csv_and_read_back(tracks: tuple[Batch, Path], tmp_path: Path) -> None:
    batch, _ = tracks
    test = ListeningTest(batch, pairs=True, seed=9)
    for name in ("Ana", "Ben, who types commas"):
        run = test.listener(name)
        for first, second in run.pairs:
            run.prefer(first, second, second)
        run.submit()
    path = test.to_csv(tmp_path / "out" / "judgements.csv")
    assert read_ratings_csv(path) == test.judgements
    with path.open(newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    assert tuple(rows[0]) == CSV_COLUMNS and len(rows) == 6
    assert {row["kind"] for row in rows} == {PAIR}
    assert {row["prompt"] for row in rows} <= set(PROMPTS) and rows[0]["take"] == "1"
    assert {row["listener"] for row in rows} == {"Ana", "Ben, who types commas"}


def test_a_run_records_only_what_was_judged_and_only_once(tracks: tuple[Batch, Path]) -> None:
    batch, _ = tracks
    test = ListeningTest(batch, seed=4)
    run = test.listener("  Ana   Lima ")
    assert run.listener == "Ana Lima"
    run.rate("A", 2)
    run.rate("A", 4)  # a listener may change their mind before submitting
    with pytest.raises(ValueError, match="1 to 5"):
        run.rate("B", 6)
    with pytest.raises(KeyError, match="the clips are A, B, C"):
        run.rate("D", 3)
    (record,) = run.submit()
    assert isinstance(record, RatingRecord) and record.score == 4 and record.created_at
    with pytest.raises(RuntimeError, match="submitted"):
        run.rate("B", 3)
    with pytest.raises(ValueError, match="name"):
        test.listener("   ")


# -- %music listen -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("listen", "needs a variable"),
        ("listen 2fast", "not a valid Python variable name"),
        ("listen b --min-play -1", "--min-play -1: must be 0 or more seconds"),
        ("listen b --min-play nan", "--min-play nan: must be 0 or more seconds"),
        ("listen b --listener ' '", "--listener: give a name"),
        ("listen b --seed x", "invalid int value"),
        ("listen b --limit 3", "%music listen takes --pairs"),
        ("listen b --out 1x", "--out 1x: not a valid Python variable name"),
        ("history --pairs", "go with %music listen"),
        ("status --csv x.csv", "go with %music listen"),
    ],
)
def test_listen_options_are_checked_in_one_line(line: str, message: str) -> None:
    with pytest.raises(UsageError, match=message) as caught:
        parse_music_line(line)
    assert "\n" not in str(caught.value)


def test_listen_options_parse_into_typed_data() -> None:
    command = parse_music_line("listen b --pairs --listener 'Ana Lima' --min-play 1.5 --seed 3 "
                               "--csv out/j.csv --out t")
    assert command.action == "listen" and command.listen is not None
    listen = command.listen
    assert (listen.var, listen.pairs, listen.listener, listen.min_play, listen.seed, listen.csv,
            listen.out) == ("b", True, "Ana Lima", 1.5, 3, "out/j.csv", "t")
    default = parse_music_line("listen b").listen
    assert default is not None and (default.pairs, default.min_play, default.seed) == (False, 3.0, None)


@pytest.fixture
def music(sandbox: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RaisingShell]:
    """A shell with the extension, on the ``sandbox`` fixture, working in ``tmp_path``."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("APIFRAME_API_KEY", CANARY_KEY)
    monkeypatch.setenv("APIFRAME_BASE_URL", sandbox.url)
    with music_shell() as sh:
        yield sh


@pytest.fixture
def listen_shell(music: RaisingShell) -> RaisingShell:
    """... in which ``b`` holds a batch of two tracks."""
    run(music, "%%music --each-line --length 5s --out b\n" + "\n".join(PROMPTS[:2]))
    return music


def test_listen_refuses_a_missing_or_wrong_variable(music: RaisingShell) -> None:
    music.user_ns["words"] = ["not", "results"]
    for line, message in (("listen nothing", "no such variable"), ("listen words", "a list, not a batch")):
        with pytest.raises(UsageError, match=message):
            music.run_line_magic("music", line)


def test_listen_without_a_widget_front_end_says_it_needs_a_notebook(listen_shell: RaisingShell) -> None:
    captured = run(listen_shell, "%music listen b --out t")
    assert captured.stdout.strip() == NEEDS_NOTEBOOK
    assert not captured.outputs and "t" not in listen_shell.user_ns


def test_listen_in_widgets_gates_votes_records_listeners_and_reveals(listen_shell: RaisingShell) -> None:
    shell = listen_shell
    shell.run_line_magic("config", "MusicMagics.progress = 'widget'")
    with capture_output() as captured:
        shell.run_line_magic("music", "listen b --listener Ana --seed 1 --min-play 2 --csv j.csv --out t")
    assert any("application/vnd.jupyter.widget-view+json" in o.data for o in captured.outputs)
    view = magics(shell).listen_view
    assert isinstance(view, ListenView)
    test = shell.user_ns["t"]
    assert isinstance(test, ListeningTest) and test.ledger is not None and len(test.clips) == 2
    assert view.name.value == "Ana"
    player = view.players["A"].value
    assert "ontimeupdate=" in player and "data:audio/mpeg;base64," in player and "&gt;=2.0" in player

    assert all(b.disabled for b in view.scores["A"] + view.scores["B"])
    view.flags["A"].value = "played"  # what the player's handler sends once A was heard for 2 s
    assert not any(b.disabled for b in view.scores["A"]) and all(b.disabled for b in view.scores["B"])
    view.scores["A"][3].click()
    view.flags["B"].value = "played"
    view.scores["B"][1].click()
    view.submit_button.click()
    assert [r.listener for r in test.judgements] == ["Ana", "Ana"]
    # The next listener starts over: no name, fresh players, every vote closed again.
    assert view.name.value == "" and all(b.disabled for b in view.scores["A"])
    assert view.players["A"].value != player

    view.name.value = "Ben"
    view.flags["B"].value = "played"
    view.scores["B"][4].click()
    view.reveal_button.click()  # asks first: nothing is revealed yet
    assert view.revealed is None and view.confirm_box.layout.display == "flex"
    view.cancel_button.click()
    assert view.confirm_box.layout.display == "none" and not view.reveal_button.disabled
    view.reveal_button.click()
    with capture_output():
        view.confirm_button.click()  # Ben's vote is recorded by the reveal
    # Judged by the letters each listener saw, recorded under the test's names with those letters.
    expected = [("Ana", "A", 4), ("Ana", "B", 2), ("Ben", "B", 5)]
    assert [(r.listener, r.shown_as, r.score) for r in test.judgements] == expected
    runs = [test.runs[0], test.runs[0], test.runs[1]]
    assert [r.clip for r in test.judgements] == [
        run.slot(r.shown_as or "").clip for run, r in zip(runs, test.judgements, strict=True)]
    assert view.revealed is not None and view.box.comm is None, "the widgets were not closed"

    ledger = Ledger.open(Path("apiframe_outputs") / ".apiframe-ledger.sqlite3")
    with ledger:
        stored = ledger.ratings()
    assert stored == test.judgements
    assert read_ratings_csv("j.csv") == test.judgements
    table = apiframe_magic.history(output_dir="apiframe_outputs")
    rows = table.to_dict("records") if hasattr(table, "to_dict") else table
    assert sorted(row["ratings"] for row in rows) == [1, 2]


def test_the_reveal_is_static_html_naming_every_clip(listen_shell: RaisingShell) -> None:
    shell = listen_shell
    shell.run_line_magic("config", "MusicMagics.progress = 'widget'")
    with capture_output() as captured:
        shell.run_line_magic("music", "listen b --pairs --min-play 0 --seed 2")
        view = magics(shell).listen_view
        assert view is not None
        assert not any(b.disabled for row in view.pair_rows.values() for b in row[2:])
        (first, _), row = next(iter(view.pair_rows.items()))
        row[2].click()  # the first clip of the pair
        view.reveal_button.click()
        view.confirm_button.click()
    updates = [o.data for o in captured.outputs if o.update]
    assert updates, "the widgets were never replaced"
    html = updates[-1]["text/html"]
    assert "apiframe-listen-reveal" in html and "apiframe-listen-verdict" in html
    assert "over 1 listener" in html
    # A player of each clip's own file beside it, now that the reveal names them.
    assert html.count("<audio") == 2 and "Judgements written to" in html
    for prompt in PROMPTS[:2]:
        assert prompt in html
    assert "widget-view" not in json.dumps(updates[-1])
    judged = view.test.judgements[0]
    assert judged.score == 1 and judged.shown_as == first
    assert judged.clip == view.test.runs[0].slot(first).clip

