"""Schema 5: a Suno action's lineage (action, parent job, track, continueAt) in its own columns,
filled in place for older files from the body they stored; history() shows it and
lineage_tree draws what was made from what."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from apiframe_magic.ledger import (
    HISTORY_COLUMNS,
    SCHEMA_VERSION,
    Ledger,
    NewJob,
    fingerprint,
    idempotency_key,
    lineage_tree,
)
from apiframe_magic.ledger._schema import MIGRATIONS, migrate

PARENT = "3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f"


def new_job(prompt: str, request: dict[str, object], **lineage: object) -> NewJob:
    fp = fingerprint(account="sandbox", model="suno", prompt=prompt, params=request, take=1)
    return NewJob(fingerprint=fp, account="sandbox", model="suno", prompt=prompt, params=request,
                  take=1, request=request, idempotency_key=idempotency_key(fp), **lineage)  # type: ignore[arg-type]


def test_a_schema_four_file_gains_the_lineage_columns_filled_from_its_bodies(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    connection = sqlite3.connect(path, isolation_level=None)
    body = {"action": "extend", "parentJobId": PARENT, "index": 2, "continueAt": 90.0}
    try:
        assert migrate(connection, MIGRATIONS[:4]) == 0
        for n, request in enumerate(({"prompt": "calm piano", "model": "suno"}, body), start=1):
            connection.execute(
                "INSERT INTO jobs (fingerprint, account, model, prompt, params, take, request, "
                "idempotency_key, job_id, status, created_at, updated_at) "
                "VALUES (?, 'sandbox', 'suno', '', '{}', 1, ?, 'k', ?, 'SAVED', 't', 't')",
                (f"fp{n}", json.dumps(request), f"job-{n}"),
            )
    finally:
        connection.close()
    assert SCHEMA_VERSION == 5
    with Ledger.open(path) as ledger:
        generated, extension = ledger.get("job-1"), ledger.get("job-2")
    assert generated is not None and extension is not None
    assert (generated.action, generated.parent_job_id, generated.parent_track) == (None, None, None)
    assert (extension.action, extension.parent_job_id, extension.parent_track, extension.continue_at) \
        == ("extend", PARENT, 2, 90.0)


def test_begin_records_the_lineage_and_history_shows_it(tmp_path: Path) -> None:
    with Ledger.open(tmp_path / "ledger.sqlite") as ledger:
        parent = ledger.begin(new_job("calm piano", {"prompt": "calm piano"}))
        ledger.submitted(parent.id, PARENT)
        body = {"action": "stems", "parentJobId": PARENT, "index": 2}
        child = ledger.begin(new_job("", body, action="stems", parent_job_id=PARENT, parent_track=2))
        ledger.submitted(child.id, "7a1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f")
        rows = {row["job_id"]: row for row in ledger.history_rows(limit=None)}
    assert {"action", "parent_job_id", "parent_track"} <= set(HISTORY_COLUMNS)
    stems = rows["7a1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f"]
    assert (stems["action"], stems["parent_job_id"], stems["parent_track"]) == ("stems", PARENT, 2)
    assert rows[PARENT]["action"] is None


def test_the_tree_puts_each_action_under_its_parent() -> None:
    rows = [
        {"job_id": "aaaaaaaa-1", "prompt": "calm piano by the sea", "model": "suno", "take": 1,
         "status": "SAVED", "when": "1", "label": None, "params": {}, "action": None,
         "parent_job_id": None, "parent_track": None},
        {"job_id": "bbbbbbbb-2", "prompt": "", "model": "suno", "take": 1, "status": "SAVED",
         "when": "2", "label": None, "params": {"continueAt": 90.0}, "action": "extend",
         "parent_job_id": "aaaaaaaa-1", "parent_track": 1},
        {"job_id": "cccccccc-3", "prompt": "", "model": "suno", "take": 1, "status": "SAVED",
         "when": "3", "label": None, "params": {}, "action": "stems",
         "parent_job_id": "bbbbbbbb-2", "parent_track": 2},
        {"job_id": "dddddddd-4", "prompt": "", "model": "suno", "take": 1, "status": "PROCESSING",
         "when": "4", "label": None, "params": {}, "action": "cover",
         "parent_job_id": "aaaaaaaa-1", "parent_track": 1},
    ]
    assert lineage_tree(rows).splitlines() == [
        "calm piano by the sea · suno · job aaaaaaaa · take 1",
        "├── extend track 1 at 1:30 · job bbbbbbbb",
        "│   └── stems track 2 · job cccccccc",
        "└── cover track 1 · job dddddddd · processing",
    ]
    # A parent the rows do not hold: the action starts its own tree and names it.
    assert lineage_tree(rows[2:3]) == "stems track 2 of job bbbbbbbb · job cccccccc"
