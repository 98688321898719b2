"""The data of the Apiframe v2 music API: the request, the job and its tracks, and the answers of the
other endpoints.

What each music model accepts lives in :mod:`apiframe_magic.catalog` (one
:class:`~apiframe_magic.catalog.ModelSpec` per model); these are the wire data built on it. A
:class:`MusicRequest` is checked against its model's spec when it is made, with the same
:func:`~apiframe_magic.catalog.validate_body` the sandbox uses to answer ``400``, so nothing
invalid is ever sent. Everything else is parsed leniently: the service's documentation and its
SDK disagree on some shapes, and the client accepts both.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .._exceptions import RequestValidationError
from .._public import public
from ..catalog import (
    ACTIONS,
    DEFAULT_MODEL,
    ELEVENLABS_MUSIC,
    MODELS,
    AudioFormat,
    ModelSpec,
    validate_body,
)

__all__ = [
    "TERMINAL_STATUSES",
    "Account",
    "Job",
    "JobPage",
    "ModelInfo",
    "MusicRequest",
    "SubmittedJob",
    "Track",
]

TERMINAL_STATUSES = frozenset({"COMPLETED", "FAILED", "CANCELLED"})


_ELEVENLABS_SHORTCUTS = ("music_length_ms", "force_instrumental", "output_format")


def _events_tuple(events: Sequence[str] | None) -> Sequence[str] | None:
    """``webhook_events`` as a request keeps it: a tuple (a lone string is left as given)."""
    return tuple(events) if events is not None and not isinstance(events, str) else events


def _body_hash(body: Mapping[str, Any]) -> int:
    """The hash of a request, made of its body (equal bodies, equal hashes)."""
    return hash(json.dumps(body, sort_keys=True))


@public
@dataclass(frozen=True, init=False)
class MusicRequest:
    """One music generation request for any model, validated when it is made.

    ``params`` is the model's params object (``sunoParams``, ``elevenlabsParams``, ...), snake_case
    keys as the API takes them; unset keys are left out, so the service applies its defaults.
    For ElevenLabs Music, ``music_length_ms``, ``force_instrumental`` and ``output_format`` may be
    given as keywords. ``to_json()`` is exactly the body of ``POST /v2/music/generate``; an invalid
    request raises :class:`~apiframe_magic.RequestValidationError` here, before anything is sent.

    >>> MusicRequest("calm piano", music_length_ms=30_000).to_json()
    {'prompt': 'calm piano', 'model': 'elevenlabs-music', 'elevenlabsParams': {'music_length_ms': 30000}}
    >>> MusicRequest("lofi beat", "mureka", params={"n": 3}).track_count
    3
    """

    prompt: str
    model: str
    params: Mapping[str, Any]
    webhook_url: str | None
    webhook_events: tuple[str, ...] | None

    endpoint: ClassVar[str] = "/v2/music/generate"
    """The route this request is sent to."""

    def __init__(
        self,
        prompt: str,
        model: str = DEFAULT_MODEL,
        *,
        params: Mapping[str, Any] | None = None,
        music_length_ms: int | None = None,
        force_instrumental: bool | None = None,
        output_format: str | None = None,
        webhook_url: str | None = None,
        webhook_events: Sequence[str] | None = None,
    ) -> None:
        merged = dict(params or {})
        shortcuts = {"music_length_ms": music_length_ms, "force_instrumental": force_instrumental,
                     "output_format": output_format}
        for name, value in shortcuts.items():
            if value is None:
                continue
            if model != ELEVENLABS_MUSIC.id:
                raise RequestValidationError(
                    name, value,
                    f"applies to {ELEVENLABS_MUSIC.id} only; give {model} params with params={{...}}",
                )
            merged[name] = value
        object.__setattr__(self, "prompt", prompt)
        object.__setattr__(self, "model", model)
        object.__setattr__(self, "params", merged)
        object.__setattr__(self, "webhook_url", webhook_url)
        object.__setattr__(self, "webhook_events", _events_tuple(webhook_events))
        if isinstance(prompt, str) and prompt and not prompt.strip():
            raise RequestValidationError("prompt", prompt, "must contain some text")
        problems = validate_body(self.to_json())
        if problems:
            path, messages = next(iter(problems.items()))
            raise RequestValidationError(path, self._value_at(path), messages[0])

    def _value_at(self, path: str) -> Any:
        value: Any = self.to_json()
        for part in path.split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
        return value

    def __hash__(self) -> int:
        return _body_hash(self.to_json())

    @property
    def spec(self) -> ModelSpec:
        """What the model accepts (see :mod:`apiframe_magic.catalog`)."""
        return MODELS[self.model]

    @property
    def music_length_ms(self) -> int | None:
        """The requested length, for models that take one (ElevenLabs Music)."""
        name = self.spec.length_param
        value = self.params.get(name) if name else None
        return value if isinstance(value, int) else None

    @property
    def force_instrumental(self) -> bool | None:
        value = self.params.get("force_instrumental")
        return value if isinstance(value, bool) else None

    @property
    def output_format(self) -> str | None:
        name = self.spec.format_param
        value = self.params.get(name) if name else None
        return value if isinstance(value, str) else None

    @property
    def audio_format(self) -> AudioFormat:
        """The format the audio will come back in (the service default when unset)."""
        return self.spec.audio_format(self.params)

    @property
    def credit_cost(self) -> int | None:
        """Documented credits for this job; ``None`` where the price is not documented or the
        length is left to the model."""
        return self.spec.cost(self.params)

    @property
    def track_count(self) -> int:
        """How many tracks the job returns."""
        return self.spec.track_count(self.params)

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"prompt": self.prompt, "model": self.model}
        if self.params:
            spec = MODELS.get(self.model)
            body[spec.params_key if spec else "params"] = dict(self.params)
        if self.webhook_url is not None:
            body["webhookUrl"] = self.webhook_url
        if self.webhook_events is not None:
            body["webhookEvents"] = list(self.webhook_events)
        return body

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> MusicRequest:
        """Rebuild a request from a submit body (as stored in a job's ``input`` or a sidecar)."""
        model = body.get("model", DEFAULT_MODEL)
        spec = MODELS.get(str(model))
        params = body.get(spec.params_key) if spec else None
        events = body.get("webhookEvents")
        return cls(
            prompt=body.get("prompt"),  # type: ignore[arg-type]
            model=model,
            params=dict(params) if isinstance(params, Mapping) else None,
            webhook_url=body.get("webhookUrl"),
            webhook_events=tuple(events) if isinstance(events, list) else None,
        )


@public
@dataclass(frozen=True)
class Track:
    """One generated audio file of a completed job."""

    audio_url: str
    id: str | None = None
    image_url: str | None = None
    title: str | None = None
    tags: Any = None
    duration: float | None = None

    @classmethod
    def from_json(cls, data: Any) -> Track:
        if isinstance(data, str):
            return cls(audio_url=data)
        duration = data.get("duration")
        return cls(
            audio_url=str(data.get("audioUrl") or data.get("audio_url") or data.get("url") or ""),
            id=data.get("id"),
            image_url=data.get("imageUrl"),
            title=data.get("title"),
            tags=data.get("tags"),
            duration=float(duration) if isinstance(duration, (int, float)) else None,
        )


def _tracks_from_result(result: Any) -> tuple[Track, ...]:
    """Accept every documented shape of ``result``: the object, a bare URL, or a list of URLs."""
    if result is None:
        return ()
    if isinstance(result, str):
        return (Track(audio_url=result),)
    if isinstance(result, Sequence):
        return tuple(Track.from_json(item) for item in result if item)
    if isinstance(result, Mapping):
        tracks = result.get("tracks")
        if isinstance(tracks, Sequence) and not isinstance(tracks, str):
            return tuple(Track.from_json(t) for t in tracks if t)
        for key in ("audioUrl", "audio_url", "url"):
            if isinstance(result.get(key), str):
                return (Track.from_json(result),)
    return ()


@public
@dataclass(frozen=True)
class Job:
    """A snapshot of ``GET /v2/jobs/{id}``, parsed leniently.

    ``status`` is kept as the server's string: an unknown status is simply not terminal.
    ``expired`` is true once the service has purged the job's files (its URLs then fail).
    A job made by a Suno action (``POST /v2/music/suno/action``) names it in ``action``
    (``extend``, ``cover``, ``add_vocals``, ``stems``) and its parent in ``parent_job_id``, read
    from the job's ``input`` (or its top level) where the service gives them; ``None`` otherwise.
    ``raw`` holds the decoded JSON as received.
    """

    id: str
    status: str
    model: str | None = None
    progress: int | None = None
    tracks: tuple[Track, ...] = ()
    error: str | None = None
    credit_cost: int | None = None
    webhook_status: str | None = None
    created_at: str | None = None
    completed_at: str | None = None
    expired: bool = False
    action: str | None = None
    parent_job_id: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Job:
        progress = data.get("progress")
        cost = data.get("creditCost")
        given = data.get("input")
        body: Mapping[str, Any] = given if isinstance(given, Mapping) else {}

        def text(*names: str) -> str | None:
            found = next((s[n] for s in (data, body) for n in names if isinstance(s.get(n), str)), None)
            return found.strip() or None if found is not None else None

        expired = data.get("expired")
        return cls(
            id=str(data.get("id") or data.get("jobId") or ""),
            status=str(data.get("status") or "UNKNOWN").upper(),
            model=data.get("model"),
            progress=int(progress) if isinstance(progress, (int, float)) else None,
            tracks=_tracks_from_result(data.get("result")),
            error=data.get("error") if isinstance(data.get("error"), str) else None,
            credit_cost=int(cost) if isinstance(cost, (int, float)) else None,
            webhook_status=data.get("webhookStatus"),
            created_at=data.get("createdAt"),
            completed_at=data.get("completedAt"),
            expired=expired is True or (isinstance(expired, str) and expired.lower() == "true"),
            action=text("action"),
            parent_job_id=text("parentJobId", "parent_job_id"),
            raw=dict(data),
        )

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def audio_url(self) -> str | None:
        """The first track's URL (``tracks`` has every one)."""
        return self.tracks[0].audio_url if self.tracks else None

    @property
    def stems(self) -> dict[str, Track]:
        """The tracks of a ``stems`` job by name (``{"vocals": ..., "instrumental": ...}``); empty
        for any other job. Told apart by their title or id where these name them, else by order
        (vocals first), as the contract says."""
        names = ACTIONS["stems"].track_titles
        if self.action != "stems" or len(self.tracks) != len(names):
            return {}
        named = [_stem_name(t, names) for t in self.tracks]
        if sorted(n for n in named if n is not None) == sorted(names):
            return {str(name): track for name, track in zip(named, self.tracks, strict=True)}
        return dict(zip(names, self.tracks, strict=True))


def _stem_name(track: Track, names: Sequence[str]) -> str | None:
    """The stem a track's title (else its id) names, if exactly one."""
    for label in (track.title, track.id):
        if isinstance(label, str):
            found = [n for n in names if n in label.lower()]
            if len(found) == 1:
                return found[0]
    return None


@public
@dataclass(frozen=True)
class SubmittedJob:
    """The answer to a submit: the job's id, its status, and the Idempotency-Key that was sent
    (submit again with it to get the same job back instead of a new one)."""

    job_id: str
    status: str
    idempotency_key: str


@public
@dataclass(frozen=True)
class JobPage:
    """One page of ``GET /v2/jobs``; pass ``next_cursor`` as ``cursor`` for the next one.

    ``models`` holds the model ids the listed scope used, when asked for with
    ``include_models=True`` (``None`` when the server sent none)."""

    jobs: tuple[Job, ...]
    next_cursor: str | None
    has_more: bool
    models: tuple[str, ...] | None = None


@public
@dataclass(frozen=True)
class Account:
    """``GET /v2/me``, read leniently: any field the server leaves out is ``None``."""

    credits: int | None
    plan: str | None
    max_concurrent_jobs: int | None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


@public
@dataclass(frozen=True)
class ModelInfo:
    """One entry of ``GET /v2/models``."""

    id: str
    label: str | None = None
    modality: str | None = None
    description: str | None = None
    cost_min: int | None = None
    cost_max: int | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
