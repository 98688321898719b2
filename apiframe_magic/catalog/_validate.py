"""The server's view of a submit body: :func:`validate_body`.

Shared by the client (before anything is sent) and the sandbox (to answer ``400`` with
``details``), so the two cannot disagree about what the service accepts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .._public import public
from ._registry import MODELS
from ._spec import is_http_url

__all__ = ["PROMPT_MAX", "WEBHOOK_EVENTS", "check_webhooks", "validate_body"]

PROMPT_MAX = 5000
WEBHOOK_EVENTS = ("progress", "completed", "failed")
_TOP_LEVEL_KEYS = frozenset({"prompt", "model", "webhookUrl", "webhookEvents"})


@public
def validate_body(body: Any) -> dict[str, list[str]]:
    """Check a submit body against the contract; return problems by JSON path (empty when valid).

    Types, ranges, the model's own rules and unknown keys at both levels
    (``additionalProperties: false``) are checked, as the live API does.
    """
    if not isinstance(body, Mapping):
        return {"$": ["request body must be a JSON object"]}
    problems: dict[str, list[str]] = {}

    def add(path: str, message: str) -> None:
        problems.setdefault(path, []).append(message)

    model_id = body.get("model")
    spec = MODELS.get(model_id) if isinstance(model_id, str) else None
    if model_id is None:
        add("model", "is required")
    elif spec is None:
        add("model", "must be one of " + ", ".join(MODELS))

    allowed = _TOP_LEVEL_KEYS | ({spec.params_key} if spec else set())
    for key in body:
        if key not in allowed:
            add(str(key), "is not an allowed property")

    params: Mapping[str, Any] = {}
    if spec is not None and spec.params_key in body:
        given = body[spec.params_key]
        if not isinstance(given, Mapping):
            add(spec.params_key, "must be an object")
        else:
            params = given
            for path, messages in spec.check_params(given).items():
                for message in messages:
                    add(path, message)

    prompt = body.get("prompt")
    limit = spec.prompt_limit(params) if spec else PROMPT_MAX
    if prompt is None:
        add("prompt", "is required")
    elif not isinstance(prompt, str):
        add("prompt", "must be a string")
    elif not 1 <= len(prompt) <= limit:
        add("prompt", f"must be 1 to {limit} characters")

    check_webhooks(body, add)
    return problems


def check_webhooks(body: Mapping[str, Any], add: Callable[[str, str], None]) -> None:
    """The rules of ``webhookUrl`` and ``webhookEvents``, the same in every body that takes them
    (a submit, a Suno action): each problem is passed to ``add(path, message)``."""
    if "webhookUrl" in body:
        url = body["webhookUrl"]
        if not isinstance(url, str) or not is_http_url(url):
            add("webhookUrl", "must be an absolute http(s) URL")
    if "webhookEvents" in body:
        events = body["webhookEvents"]
        if (
            not isinstance(events, list)
            or not events
            or not all(isinstance(e, str) and e in WEBHOOK_EVENTS for e in events)
        ):
            add("webhookEvents", "must be a non-empty list of " + ", ".join(WEBHOOK_EVENTS))
