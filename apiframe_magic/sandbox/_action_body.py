"""The body of ``POST /v2/music/suno/action``, checked as the contract's table says.

``additionalProperties: false``, discriminated by ``action``: each action takes its own fields
(:data:`ACTION_FIELDS`), and ``stems`` only the parent, the track and the webhook fields.
What needs the parent (``continueAt`` against the track's duration, a ``trackId`` of that
job) is checked by :meth:`~._state.SandboxState.submit_action` once the parent is found.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..catalog import PROMPT_MAX, validate_body

__all__ = ["ACTION_CREDITS", "ACTION_FIELDS", "validate_action"]

#: The contract's Suno page: 11 credits per action, like a generation; refunded on failure.
ACTION_CREDITS = 11
_COMMON = frozenset({"action", "parentJobId", "index", "trackId", "webhookUrl", "webhookEvents"})
_SONG = frozenset({"prompt", "title", "style", "negative_tags"})
ACTION_FIELDS: Mapping[str, frozenset[str]] = {
    "extend": _COMMON | _SONG | {"continueAt"},
    "cover": _COMMON | _SONG | {"audio_weight"},
    "add_vocals": _COMMON | _SONG,
    "stems": _COMMON,
}
_TEXT_LIMITS = (("prompt", PROMPT_MAX), ("title", 80), ("style", 1000), ("negative_tags", 500))
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def validate_action(body: Any) -> dict[str, list[str]]:
    """Problems with an action body by JSON path (empty when valid), parent-free rules only."""
    if not isinstance(body, Mapping):
        return {"$": ["request body must be a JSON object"]}
    problems: dict[str, list[str]] = {}

    def add(path: str, message: str) -> None:
        problems.setdefault(path, []).append(message)

    action = body.get("action")
    if action is None:
        add("action", "is required")
    elif action not in ACTION_FIELDS:
        add("action", "must be one of " + ", ".join(ACTION_FIELDS))
    allowed = ACTION_FIELDS.get(action, frozenset()) if isinstance(action, str) else frozenset()
    for key in body:
        if allowed and key not in allowed:
            add(str(key), f"is not an allowed property for {action}")
    parent = body.get("parentJobId")
    if parent is None:
        add("parentJobId", "is required")
    elif not isinstance(parent, str) or not _UUID.fullmatch(parent):
        add("parentJobId", "must be a UUID")
    if "index" in body and "trackId" in body:
        add("index", "give index or trackId, not both")
    if "index" in body and (not isinstance(body["index"], int) or isinstance(body["index"], bool)
                            or body["index"] not in (1, 2)):
        add("index", "must be 1 or 2")
    if "trackId" in body and not (isinstance(body["trackId"], str)
                                  and 1 <= len(body["trackId"]) <= 200):
        add("trackId", "must be 1 to 200 characters")
    if "continueAt" in body and not (_number(body["continueAt"]) and body["continueAt"] > 0):
        add("continueAt", "must be a number of seconds greater than 0")
    if "audio_weight" in body and not (_number(body["audio_weight"])
                                       and 0 <= body["audio_weight"] <= 1):
        add("audio_weight", "must be a number from 0 to 1")
    for name, limit in _TEXT_LIMITS:
        if name in body and not (isinstance(body[name], str) and len(body[name]) <= limit):
            add(name, f"must be a string of at most {limit} characters")
    if action == "add_vocals" and not (isinstance(body.get("prompt"), str)
                                       and body["prompt"].strip()):
        add("prompt", "is required for add_vocals (the lyrics)")
    # The webhook fields follow generate's rules: checked by the same code.
    hooks = {k: body[k] for k in ("webhookUrl", "webhookEvents") if k in body}
    for path, messages in validate_body({"prompt": "-", "model": "suno", **hooks}).items():
        for message in messages:
            add(path, message)
    return problems
