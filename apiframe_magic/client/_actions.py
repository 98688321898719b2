"""The follow-up actions on a Suno track as requests: :class:`ActionRequest` and one subclass per
action (:class:`ExtendRequest`, :class:`CoverRequest`, :class:`AddVocalsRequest`,
:class:`StemsRequest`).

An action request is a request like a :class:`~apiframe_magic.MusicRequest`: frozen, checked
when it is made by the catalog's :func:`~apiframe_magic.catalog.validate_action_body` (the same
check the sandbox answers ``400`` with), ``to_json()`` exactly the body of
``POST /v2/music/suno/action``, and the attributes the jobs layer reads from any request
(``model``, ``prompt``, ``params``, ``audio_format``, ``track_count``, ``spec``,
``credit_cost``), so :func:`~apiframe_magic.generate`, a batch and the blocking client run it as
they run a generation. :meth:`ActionRequest.check_parent` adds the rules that need the parent
job (its status, its model, its tracks' lengths), so that nothing the service would refuse
costs a credit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, TypeAlias

from .._exceptions import RequestValidationError
from .._public import public
from ..catalog import (
    ACTION_PATH,
    ACTIONS,
    SUNO,
    ActionSpec,
    AudioFormat,
    ModelSpec,
    continue_at_problem,
    parent_problem,
    validate_action_body,
)
from ._types import Job, MusicRequest, Track, _body_hash, _events_tuple

__all__ = [
    "ActionRequest",
    "AddVocalsRequest",
    "AnyRequest",
    "CoverRequest",
    "ExtendRequest",
    "StemsRequest",
    "request_from_json",
]

# The body's JSON names, as the Python API spells them (the rest are the same in both).
_KEYWORDS = {
    "parentJobId": "parent_job_id", "trackId": "track_id", "continueAt": "continue_at",
    "webhookUrl": "webhook_url", "webhookEvents": "webhook_events",
}
_WEBHOOK_KEYS = ("webhookUrl", "webhookEvents")
# The body's own fields of an action, past its parent and track (``ActionRequest.fields``).
_FIELDS = frozenset({"prompt", "continueAt", "audio_weight", "title", "style", "negative_tags"})


@public
@dataclass(frozen=True, init=False, eq=False)
class ActionRequest:
    """An action on one track of a finished Suno job, validated when it is made.

    ``action`` is ``extend``, ``cover``, ``add_vocals`` or ``stems``; ``parent_job_id`` the job
    whose track it works on, picked by ``index`` (1 or 2; the default is 1) or ``track_id``.
    The other keywords are the action's own fields (see :data:`apiframe_magic.catalog.ACTIONS`);
    one the action does not take, or a value out of its bounds, raises a one-line
    :class:`~apiframe_magic.RequestValidationError` naming the keyword, before anything is sent.
    The subclasses (:class:`ExtendRequest`, ...) take just their action's keywords; an
    ``ActionRequest`` of an action equals the subclass's request with the same body.

    >>> StemsRequest("3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f").to_json()
    {'action': 'stems', 'parentJobId': '3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f', 'index': 1}
    """

    action: str
    parent_job_id: str
    index: int | None
    track_id: str | None
    fields: Mapping[str, Any]
    webhook_url: str | None
    webhook_events: tuple[str, ...] | None

    endpoint: ClassVar[str] = ACTION_PATH
    """The route this request is sent to."""

    # How this class names body fields in messages, where it differs from _KEYWORDS.
    _spelled: ClassVar[Mapping[str, str]] = {}

    def __init__(
        self,
        action: str,
        parent_job_id: str,
        *,
        index: int | None = None,
        track_id: str | None = None,
        prompt: str | None = None,
        continue_at: float | None = None,
        audio_weight: float | None = None,
        title: str | None = None,
        style: str | None = None,
        negative_tags: str | None = None,
        webhook_url: str | None = None,
        webhook_events: Sequence[str] | None = None,
    ) -> None:
        given = {"prompt": prompt, "continueAt": continue_at, "audio_weight": audio_weight,
                 "title": title, "style": style, "negative_tags": negative_tags}
        if index is None and track_id is None:
            index = 1
        object.__setattr__(self, "action", action)
        object.__setattr__(self, "parent_job_id", parent_job_id)
        object.__setattr__(self, "index", index)
        object.__setattr__(self, "track_id", track_id)
        assert given.keys() == _FIELDS
        object.__setattr__(self, "fields", {k: v for k, v in given.items() if v is not None})
        object.__setattr__(self, "webhook_url", webhook_url)
        object.__setattr__(self, "webhook_events", _events_tuple(webhook_events))
        spec = ACTIONS.get(action) if isinstance(action, str) else None
        if isinstance(prompt, str) and not prompt.strip():
            if spec is not None and spec.prompt == "required":
                raise RequestValidationError(self._keyword("prompt"), prompt,
                                             f"is required for {action} ({spec.prompt_help})")
            if prompt:
                raise RequestValidationError(self._keyword("prompt"), prompt, "must contain some text")
        problems = validate_action_body(self.to_json())
        if problems:
            path, messages = next(iter(problems.items()))
            message = messages[0]
            if message == "is not an allowed property":
                message = f"{action} does not take it"
            elif message.startswith("is required"):
                message = f"is required for {action}" + message.removeprefix("is required")
            raise RequestValidationError(self._keyword(path), self.to_json().get(path), message)

    @classmethod
    def _keyword(cls, path: str) -> str:
        return cls._spelled.get(path) or _KEYWORDS.get(path, path)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ActionRequest):
            return NotImplemented
        return self.to_json() == other.to_json()

    def __hash__(self) -> int:
        return _body_hash(self.to_json())

    # -- what the jobs layer reads from any request ---------------------------------------

    @property
    def action_spec(self) -> ActionSpec:
        """The action's rules, price and yield (see :mod:`apiframe_magic.catalog`)."""
        return ACTIONS[self.action]

    @property
    def model(self) -> str:
        """The model that makes the result: ``suno``."""
        return self.action_spec.model

    @property
    def spec(self) -> ModelSpec:
        """The model's spec (Suno's), as :attr:`MusicRequest.spec <apiframe_magic.MusicRequest.spec>`."""
        return SUNO

    @property
    def prompt(self) -> str:
        """The lyrics or description given (``add_vocals``: the lyrics); empty when none is."""
        value = self.fields.get("prompt")
        return value if isinstance(value, str) else ""

    @property
    def params(self) -> Mapping[str, Any]:
        """The body without its webhooks: what makes this request ask for some music (the job
        ledger's fingerprint is made of it), as a ``MusicRequest``'s params are."""
        return {k: v for k, v in self.to_json().items() if k not in _WEBHOOK_KEYS}

    @property
    def continue_at(self) -> float | None:
        value = self.fields.get("continueAt")
        return float(value) if isinstance(value, (int, float)) else None

    @property
    def music_length_ms(self) -> int | None:
        """Always ``None``: an action asks for no length."""
        return None

    @property
    def force_instrumental(self) -> bool | None:
        return None

    @property
    def output_format(self) -> str | None:
        return None

    @property
    def audio_format(self) -> AudioFormat:
        """The format the audio comes back in (Suno's MP3)."""
        return self.spec.audio_format({})

    @property
    def credit_cost(self) -> int:
        """What the action costs: 11 credits, refunded if it fails."""
        return self.action_spec.credits

    @property
    def track_count(self) -> int:
        """How many tracks the job returns (a pair of songs, or the two stems)."""
        return self.action_spec.tracks

    @property
    def track(self) -> int | str:
        """The parent's track acted on: its ``index`` (from 1), or its id."""
        return self.index if self.index is not None else str(self.track_id)

    # -- the wire --------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """The body of ``POST /v2/music/suno/action``."""
        body: dict[str, Any] = {"action": self.action, "parentJobId": self.parent_job_id}
        if self.index is not None:
            body["index"] = self.index
        if self.track_id is not None:
            body["trackId"] = self.track_id
        body.update(self.fields)
        if self.webhook_url is not None:
            body["webhookUrl"] = self.webhook_url
        if self.webhook_events is not None:
            body["webhookEvents"] = list(self.webhook_events)
        return body

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> ActionRequest:
        """Rebuild a request from its body (as stored in the job ledger or a job's ``input``), as
        the subclass of its action; :class:`~apiframe_magic.RequestValidationError` if invalid."""
        action = body.get("action")
        if not isinstance(action, str) or action not in ACTIONS:
            raise RequestValidationError("action", action, "must be one of " + ", ".join(ACTIONS))
        events = body.get("webhookEvents")
        extra = sorted(set(body) - _FIELDS - {"action", "parentJobId", "index", "trackId", *_WEBHOOK_KEYS})
        if extra:
            raise RequestValidationError(_KEYWORDS.get(extra[0], extra[0]), body[extra[0]],
                                         f"{action} does not take it")
        request = ActionRequest(
            action,
            body.get("parentJobId"),  # type: ignore[arg-type]  # checked by the constructor
            index=body.get("index"), track_id=body.get("trackId"),
            prompt=body.get("prompt"), continue_at=body.get("continueAt"),
            audio_weight=body.get("audio_weight"), title=body.get("title"), style=body.get("style"),
            negative_tags=body.get("negative_tags"), webhook_url=body.get("webhookUrl"),
            webhook_events=tuple(events) if isinstance(events, list) else None,
        )
        subclass = _BY_ACTION[action]
        # The subclass's instance of the same checked body, without checking it again.
        typed = object.__new__(subclass)
        typed.__dict__.update(request.__dict__)
        return typed

    # -- the rules that need the parent ---------------------------------------------------

    def check_parent(self, parent: Job) -> None:
        """Refuse, before a credit is spent, an action the service would refuse for ``parent``
        (its job, as :meth:`~apiframe_magic.AsyncApiframeClient.get_job` returns it): a parent
        not COMPLETED, of another model or a ``stems`` result (the service's ``409``), a track it
        does not have, or an extension starting at or past the track's end. One-line
        :class:`~apiframe_magic.RequestValidationError` naming the keyword."""
        where = self._keyword("parentJobId")
        if parent.id and parent.id != self.parent_job_id:
            raise ValueError(f"check_parent: job {parent.id} is not this request's parent")
        if parent.status != "COMPLETED":
            raise RequestValidationError(
                where, self.parent_job_id,
                f"the job is {parent.status}; an action needs a COMPLETED job")
        why = parent_problem(parent.model, parent.action)
        if why is not None:
            raise RequestValidationError(where, self.parent_job_id, why)
        track = self.parent_track(parent)
        at = self.continue_at
        if at is not None and (why := continue_at_problem(at, track.duration)) is not None:
            raise RequestValidationError(self._keyword("continueAt"), at, why)

    def parent_track(self, parent: Job) -> Track:
        """The track of ``parent`` this request acts on; a one-line
        :class:`~apiframe_magic.RequestValidationError` when the job has no such track."""
        if self.track_id is not None:
            found = next((t for t in parent.tracks if t.id == self.track_id), None)
            if found is None:
                ids = ", ".join(str(t.id) for t in parent.tracks if t.id) or "none"
                raise RequestValidationError(self._keyword("trackId"), self.track_id,
                                             f"job {parent.id} has no such track (its tracks: {ids})")
            return found
        index = self.index or 1
        if not 1 <= index <= len(parent.tracks):
            raise RequestValidationError(
                "index", index, f"job {parent.id} has {len(parent.tracks)} track(s)")
        return parent.tracks[index - 1]


@public
@dataclass(frozen=True, init=False, eq=False)
class ExtendRequest(ActionRequest):
    """Continue track ``index`` (or ``track_id``) of a Suno job from ``continue_at`` seconds
    (default: its end); the new pair holds the continuation. ``prompt`` is lyrics in custom
    mode, else a description; ``title``, ``style`` and ``negative_tags`` override the parent's."""

    def __init__(
        self,
        parent_job_id: str,
        *,
        index: int | None = None,
        track_id: str | None = None,
        continue_at: float | None = None,
        prompt: str | None = None,
        title: str | None = None,
        style: str | None = None,
        negative_tags: str | None = None,
        webhook_url: str | None = None,
        webhook_events: Sequence[str] | None = None,
    ) -> None:
        super().__init__(
            "extend", parent_job_id, index=index, track_id=track_id, continue_at=continue_at,
            prompt=prompt, title=title, style=style, negative_tags=negative_tags,
            webhook_url=webhook_url, webhook_events=webhook_events,
        )


@public
@dataclass(frozen=True, init=False, eq=False)
class CoverRequest(ActionRequest):
    """The track re-sung and re-played in another style; ``audio_weight`` (0 to 1) is how closely
    the cover follows the source."""

    def __init__(
        self,
        parent_job_id: str,
        *,
        index: int | None = None,
        track_id: str | None = None,
        audio_weight: float | None = None,
        prompt: str | None = None,
        title: str | None = None,
        style: str | None = None,
        negative_tags: str | None = None,
        webhook_url: str | None = None,
        webhook_events: Sequence[str] | None = None,
    ) -> None:
        super().__init__(
            "cover", parent_job_id, index=index, track_id=track_id, audio_weight=audio_weight,
            prompt=prompt, title=title, style=style, negative_tags=negative_tags,
            webhook_url=webhook_url, webhook_events=webhook_events,
        )


@public
@dataclass(frozen=True, init=False, eq=False)
class AddVocalsRequest(ActionRequest):
    """Vocals singing ``lyrics`` (required, up to 5000 characters) over the track."""

    _spelled: ClassVar[Mapping[str, str]] = {"prompt": "lyrics"}

    def __init__(
        self,
        parent_job_id: str,
        lyrics: str,
        *,
        index: int | None = None,
        track_id: str | None = None,
        title: str | None = None,
        style: str | None = None,
        negative_tags: str | None = None,
        webhook_url: str | None = None,
        webhook_events: Sequence[str] | None = None,
    ) -> None:
        super().__init__(
            "add_vocals", parent_job_id, index=index, track_id=track_id, prompt=lyrics,
            title=title, style=style, negative_tags=negative_tags,
            webhook_url=webhook_url, webhook_events=webhook_events,
        )

    @property
    def lyrics(self) -> str:
        return self.prompt


@public
@dataclass(frozen=True, init=False, eq=False)
class StemsRequest(ActionRequest):
    """The track split into two plain audio tracks: the vocals, then the instrumental. A stems
    result takes no further action."""

    def __init__(
        self,
        parent_job_id: str,
        *,
        index: int | None = None,
        track_id: str | None = None,
        webhook_url: str | None = None,
        webhook_events: Sequence[str] | None = None,
    ) -> None:
        super().__init__(
            "stems", parent_job_id, index=index, track_id=track_id,
            webhook_url=webhook_url, webhook_events=webhook_events,
        )


_BY_ACTION: dict[str, type[ActionRequest]] = {
    "extend": ExtendRequest, "cover": CoverRequest, "add_vocals": AddVocalsRequest,
    "stems": StemsRequest,
}


AnyRequest: TypeAlias = MusicRequest | ActionRequest
"""What a client submits and a job runs: a generation or a Suno action."""


def request_from_json(body: Mapping[str, Any]) -> AnyRequest:
    """The request a body stands for (a job ledger's stored request, a job's ``input``): an
    :class:`ActionRequest` when it names an ``action``, else a
    :class:`~apiframe_magic.MusicRequest`. Invalid bodies raise
    :class:`~apiframe_magic.RequestValidationError`."""
    if "action" in body:
        return ActionRequest.from_json(body)
    return MusicRequest.from_json(body)
