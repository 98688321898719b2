"""The follow-up actions on a Suno track, as data: one :class:`ActionSpec` per action of
``POST /v2/music/suno/action`` (``extend``, ``cover``, ``add_vocals``, ``stems``).

An action is a request like any other: its spec says which body fields it takes (with the same
:class:`~apiframe_magic.catalog.ParamSpec` rows a model's params use), what it costs, what it
yields and which parents it accepts, and :func:`validate_action_body` is the server's view of a
body, shared by the client (before anything is sent) and the sandbox (to answer ``400`` with
``details``). :func:`parent_problem` and :func:`continue_at_problem` are the rules that need the
parent job, which the body alone cannot tell (the service answers ``409`` or ``400`` for them).

Nothing here knows about HTTP or IPython.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from .._public import public
from ._rules import OptionError
from ._spec import ParamSpec
from ._suno import SUNO
from ._validate import PROMPT_MAX, check_webhooks

__all__ = [
    "ACTIONS",
    "ACTION_PATH",
    "ADD_VOCALS",
    "COVER",
    "EXTEND",
    "STEMS",
    "ActionSpec",
    "continue_at_problem",
    "get_action",
    "parent_problem",
    "validate_action_body",
]

ACTION_PATH = "/v2/music/suno/action"

# Which track of the parent: the same rows for every action.
INDEX = ParamSpec("index", "int", "which track of the parent job: 1 or 2", minimum=1, maximum=2)
TRACK_ID = ParamSpec("trackId", "str", "which track of the parent job, by its id",
                     min_length=1, max_length=200)
_COMMON_KEYS = frozenset({"action", "parentJobId", "index", "trackId", "webhookUrl", "webhookEvents"})

_CONTINUE_AT = ParamSpec("continueAt", "float", "seconds into the track where the extension starts "
                         "(default: its end)", minimum=0, exclusive_minimum=True)
_AUDIO_WEIGHT = ParamSpec("audio_weight", "float", "how closely the cover follows the source",
                          minimum=0, maximum=1)
_TITLE = ParamSpec("title", "str", "song title (default: the parent's)", max_length=80)
_STYLE = ParamSpec("style", "str", "musical style (default: the parent's)", max_length=1000)
_NEGATIVE_TAGS = ParamSpec("negative_tags", "str", "styles to avoid", max_length=500)
_OVERRIDES = (_TITLE, _STYLE, _NEGATIVE_TAGS)

PromptUse = Literal["none", "optional", "required"]


@public
@dataclass(frozen=True)
class ActionSpec:
    """One action of ``POST /v2/music/suno/action``: the fields it takes, its price, what it yields.

    Every action takes ``action``, ``parentJobId``, ``index`` or ``trackId`` and the webhook
    fields; beyond those, ``params`` are the fields a user sets with ``--param KEY=VALUE``
    (``audio_weight``, ``title``, ...), ``prompt`` says whether the action takes a ``prompt``
    (lyrics in custom mode, else a description; ``required`` for ``add_vocals``, whose lyrics it
    is), and ``continue_at`` whether it takes ``continueAt``. Its result is ``tracks`` tracks
    of ``model``; ``track_titles`` name them in order when they are not songs (``stems``:
    vocals first); ``chainable`` says whether that result accepts an action in turn.
    """

    id: str
    label: str
    description: str
    params: tuple[ParamSpec, ...] = ()
    prompt: PromptUse = "optional"
    prompt_help: str = ""
    continue_at: bool = False
    credits: int = 11
    model: str = SUNO.id
    tracks: int = 2
    track_titles: tuple[str, ...] = ()
    chainable: bool = True

    @property
    def fields(self) -> tuple[ParamSpec, ...]:
        """Every body field this action takes besides the common ones, as JSON names them."""
        own: list[ParamSpec] = []
        if self.prompt != "none":
            own.append(ParamSpec("prompt", "str", self.prompt_help, min_length=1, max_length=PROMPT_MAX))
        if self.continue_at:
            own.append(_CONTINUE_AT)
        return (*own, *self.params)

    @property
    def keys(self) -> frozenset[str]:
        """Every top-level key a body of this action may have."""
        return _COMMON_KEYS | {f.name for f in self.fields}

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    def field(self, name: str) -> ParamSpec | None:
        """The rules of body field ``name`` (a common one included); ``None`` if not taken."""
        common = {INDEX.name: INDEX, TRACK_ID.name: TRACK_ID}
        return common.get(name) or next((f for f in self.fields if f.name == name), None)

    def param(self, name: str) -> ParamSpec | None:
        return next((p for p in self.params if p.name == name), None)

    def parse_param(self, key: str, text: str) -> Any:
        """The value of ``--param KEY=VALUE`` for this action, typed and checked; a one-line
        :class:`~apiframe_magic.catalog.OptionError` naming the param otherwise (the actions
        that do take it, for one this action does not)."""
        param = self.param(key)
        if param is None:
            takes = f"it takes {', '.join(self.param_names)}" if self.params else "it takes no --param"
            takers = ", ".join(a.id for a in ACTIONS.values() if a.param(key) is not None)
            also = f"; actions that do: {takers}" if takers else ""
            raise OptionError(f"--param {key}", text, f"{self.id} has no param {key}; {takes}{also}")
        try:
            value = param.parse(text)
            why = param.check(value)
        except ValueError as e:
            why = str(e)
        if why is not None:
            raise OptionError(f"--param {key}", text, f"{key} {why}", f"--param {key}={text}: {key} {why}")
        return value

    def price_bounds(self) -> tuple[int, int]:
        """What one action costs: the documented price, the same for every body (11 credits)."""
        return self.credits, self.credits

    def check_body(self, body: Mapping[str, Any]) -> dict[str, list[str]]:
        """Problems with a body of this action, by JSON path; empty when valid (see
        :func:`validate_action_body`, which also checks ``action`` itself)."""
        problems: dict[str, list[str]] = {}

        def add(path: str, message: str) -> None:
            problems.setdefault(path, []).append(message)

        for key in body:
            if key not in self.keys:
                add(str(key), "is not an allowed property")
        parent = body.get("parentJobId")
        if parent is None:
            add("parentJobId", "is required")
        elif not _is_uuid(parent):
            add("parentJobId", "must be a job id (a UUID)")
        if "index" in body and "trackId" in body:
            add("trackId", "give index or trackId, not both")
        for spec in self.fields:
            if spec.name not in body:
                if spec.name == "prompt" and self.prompt == "required":
                    add("prompt", f"is required ({self.prompt_help})")
                continue
            why = spec.check(body[spec.name])
            if why is not None:
                add(spec.name, why)
        for spec in (INDEX, TRACK_ID):
            if spec.name in body and (why := spec.check(body[spec.name])) is not None:
                add(spec.name, why)
        check_webhooks(body, add)
        return problems


def _is_uuid(value: Any) -> bool:
    if not isinstance(value, str) or len(value) != 36:
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


EXTEND = ActionSpec(
    id="extend",
    label="Extend",
    description="Continue a track from a point in it (default: its end); the new pair holds the "
                "continuation.",
    params=_OVERRIDES,
    prompt_help="lyrics of the continuation in custom mode, else a description",
    continue_at=True,
)

COVER = ActionSpec(
    id="cover",
    label="Cover",
    description="The same song re-sung and re-played in another style.",
    params=(_AUDIO_WEIGHT, *_OVERRIDES),
    prompt_help="lyrics in custom mode, else a description of the cover",
)

ADD_VOCALS = ActionSpec(
    id="add_vocals",
    label="Add vocals",
    description="Vocals sung over an instrumental track, from the lyrics given.",
    params=_OVERRIDES,
    prompt="required",
    prompt_help="the lyrics to sing",
)

STEMS = ActionSpec(
    id="stems",
    label="Stems",
    description="The track split in two: the vocals and the instrumental.",
    prompt="none",
    track_titles=("vocals", "instrumental"),
    chainable=False,
)

ACTIONS: dict[str, ActionSpec] = {spec.id: spec for spec in (EXTEND, COVER, ADD_VOCALS, STEMS)}


def get_action(name: str) -> ActionSpec:
    """The spec of action ``name``; ``KeyError`` naming the actions when there is none."""
    try:
        return ACTIONS[name]
    except KeyError:
        raise KeyError(f"unknown action {name!r}: one of {', '.join(ACTIONS)}") from None


@public
def validate_action_body(body: Any) -> dict[str, list[str]]:
    """Check a ``POST /v2/music/suno/action`` body against the contract; return problems by JSON
    path (empty when valid), in the shape of :func:`validate_body`'s ``details``.

    The action, the parent's id, the track (``index`` 1 or 2, or a ``trackId``, not both; neither
    is the first track, as the sandbox reads it: the contract does not say), the
    action's own fields with their bounds, the webhooks, and unknown keys
    (``additionalProperties: false``: ``continueAt`` in a cover is refused) are checked. What needs
    the parent job (its status, model and track lengths) is :func:`parent_problem` and
    :func:`continue_at_problem`.
    """
    if not isinstance(body, Mapping):
        return {"$": ["request body must be a JSON object"]}
    name = body.get("action")
    if name is None:
        return {"action": ["is required"]}
    spec = ACTIONS.get(name) if isinstance(name, str) else None
    if spec is None:
        return {"action": ["must be one of " + ", ".join(ACTIONS)]}
    return spec.check_body(body)


def parent_problem(parent_model: str | None, parent_action: str | None) -> str | None:
    """Why a job cannot be the parent of an action, or ``None`` when it can: a ``suno`` job, or the
    result of an action whose result is chainable (``extend``, ``cover``, ``add_vocals``), never
    a ``stems`` result. ``None`` for what is not known (the service then decides)."""
    if parent_action is not None:
        spec = ACTIONS.get(parent_action)
        if spec is not None and not spec.chainable:
            return f"a {spec.id} result takes no further action"
        return None
    if parent_model is not None and parent_model != SUNO.id:
        return f"only a {SUNO.id} job (or an extend, cover or add_vocals result) takes an action; " \
               f"this is a {parent_model} job"
    return None


def continue_at_problem(continue_at: float, duration: float | None) -> str | None:
    """Why ``continue_at`` seconds cannot start an extension of a track ``duration`` seconds long
    (``None``: unknown), or ``None`` when it can: it must be before the track's end."""
    if duration is not None and continue_at >= duration:
        return f"must be less than the track's length ({duration:g} s)"
    return None
