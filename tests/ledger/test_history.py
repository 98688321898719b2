"""``Ledger.history_rows`` reads the history table in three queries and gives exactly what
``history_rows(ledger.history(...), ledger.ratings(...))`` gives, record by record."""

from __future__ import annotations

from pathlib import Path

import pytest

from apiframe_magic.jobs import history
from apiframe_magic.ledger import (
    DEFAULT_LEDGER_NAME,
    HISTORY_COLUMNS,
    Ledger,
    NewJob,
    RatingRecord,
    TrackRecord,
    fingerprint,
    history_frame,
    history_rows,
    idempotency_key,
    rows_frame,
)


def job(ledger: Ledger, n: int, *, account: str = "sandbox", model: str = "m", tracks: int = 1,
        status: str = "SAVED") -> None:
    prompt = f"Café take {n}" if n % 2 else f"piano take {n}"
    params = {"music_length_ms": 1000 * n, "nested": {"b": 1, "a": [n]}}
    fp = fingerprint(account=account, model=model, prompt=prompt, params=params, take=1)
    record = ledger.begin(NewJob(
        fingerprint=fp, account=account, model=model, prompt=prompt, params=params, take=1,
        request={"prompt": prompt}, idempotency_key=idempotency_key(fp), label=f"L{n}" if n % 3 else None,
    ))
    if status == "REQUESTED":
        return
    ledger.submitted(record.id, f"job-{n}")
    if status == "SAVED":
        ledger.completed(f"job-{n}", credits=10 + n, tracks=[
            TrackRecord(i, f"/out/{n}-{i}.mp3", 3, "0" * 64, 5.0 + i, None, None,
                        {"loudness_lufs": -14.0 - i, "key": "C"} if n % 4 else None)
            for i in range(tracks)
        ])


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    opened = Ledger.open(tmp_path / DEFAULT_LEDGER_NAME)
    for n in range(1, 13):
        job(opened, n, account="acct" if n == 5 else "sandbox", model="x" if n == 7 else "m",
            tracks=3 if n == 6 else (0 if n == 8 else 1),
            status={9: "REQUESTED", 10: "SUBMITTED"}.get(n, "SAVED"))
    opened.rate([
        RatingRecord("s1", "me", "rating", "A", "job-1", 0, 4),
        RatingRecord("s1", "me", "rating", "B", "job-1", 0, 5),
        RatingRecord("s1", "me", "rating", "C", "job-2", 0, 2),
        RatingRecord("s2", "me", "pair", "A", "job-2", 0, 1, "B", "job-3", 0),
        RatingRecord("s2", "me", "pair", "A", "job-3", 0, -1, "B", "job-12", 0),
        RatingRecord("s2", "me", "pair", "A", "job-4", 0, 0, "B", "job-4", 1),
        RatingRecord("s2", "me", "rating", "Z", "job-unknown", 0, 3),
    ])
    return opened


@pytest.mark.parametrize("query", [
    {}, {"limit": None}, {"limit": 3}, {"model": "x"}, {"text": "CAFÉ"}, {"account": "acct"},
    {"text": "take", "limit": 2},
])
def test_history_rows_read_in_one_go_are_the_rows_of_the_records(
    ledger: Ledger, query: dict[str, object]
) -> None:
    with ledger:
        records = ledger.history(**query)  # type: ignore[arg-type]
        expected = history_rows(records, ledger.ratings(job_ids=[r.job_id for r in records if r.job_id]))
        rows = ledger.history_rows(**query)  # type: ignore[arg-type]
    assert rows == expected and rows
    assert all(list(row) == list(HISTORY_COLUMNS) for row in rows)


def test_the_frame_is_the_same_either_way(ledger: Ledger) -> None:
    """Built column by column, the frame is the one a DataFrame of the row dicts was."""
    pandas = pytest.importorskip("pandas")
    with ledger:
        records = ledger.history(limit=None)
        ratings = ledger.ratings(job_ids=[r.job_id for r in records if r.job_id])
        fast = rows_frame(ledger.history_rows(limit=None))
    of_dicts = pandas.DataFrame(history_rows(records, ratings), columns=list(HISTORY_COLUMNS))
    of_dicts["when"] = pandas.to_datetime(of_dicts["when"], utc=True)
    pandas.testing.assert_frame_equal(fast, of_dicts)
    pandas.testing.assert_frame_equal(history_frame(records, ratings), of_dicts)


def test_apiframe_magic_history_shows_the_whole_table(ledger: Ledger) -> None:
    pandas = pytest.importorskip("pandas")
    path = ledger.path
    ledger.close()
    frame = history(ledger=path, limit=None)
    from apiframe_magic.jobs._adherence import ADHERENCE_COLUMNS

    assert isinstance(frame, pandas.DataFrame)
    assert list(frame.columns) == [*HISTORY_COLUMNS, *ADHERENCE_COLUMNS]
    assert len(frame) == 12 and frame["job_id"].iloc[-1] == "job-1"
    assert frame.set_index("job_id").loc["job-1", "rating"] == 4.5
