"""The data of the Apiframe v2 music API: requests, jobs, tracks, formats and credits.

Model-specific parameters live in one table, :data:`MODELS`: each :class:`ModelSpec` names the
params key of the request body (``elevenlabsParams``) and declares its parameters as
:class:`ParamSpec` rows. :func:`validate_body` checks a whole request body against that table
and is shared by the client (before anything is sent) and the sandbox server (to answer 400
with ``details`` exactly as the service does).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

from ._exceptions import RequestValidationError

__all__ = [
    "DEFAULT_MODEL",
    "MODELS",
    "OUTPUT_FORMATS",
    "TERMINAL_STATUSES",
    "WEBHOOK_EVENTS",
    "AudioFormat",
    "Job",
    "ModelSpec",
    "MusicRequest",
    "ParamSpec",
    "Track",
    "credit_cost",
    "format_length",
    "parse_length",
    "validate_body",
]

DEFAULT_MODEL = "elevenlabs-music"
WEBHOOK_EVENTS = ("progress", "completed", "failed")
TERMINAL_STATUSES = frozenset({"COMPLETED", "FAILED", "CANCELLED"})
PROMPT_MAX = 5000
MIN_LENGTH_MS = 5_000
MAX_LENGTH_MS = 300_000


@dataclass(frozen=True)
class AudioFormat:
    """One documented ``output_format`` value and what it produces."""

    name: str
    container: Literal["mp3", "wav"]
    sample_rate: int
    bitrate_kbps: int | None = None

    @property
    def extension(self) -> str:
        return self.container

    @property
    def mime_type(self) -> str:
        return "audio/mpeg" if self.container == "mp3" else "audio/wav"

    @property
    def label(self) -> str:
        if self.bitrate_kbps:
            return f"MP3 {self.bitrate_kbps} kbps, {self.sample_rate / 1000:g} kHz"
        return f"WAV {self.sample_rate / 1000:g} kHz"


OUTPUT_FORMATS: dict[str, AudioFormat] = {
    f.name: f
    for f in (
        AudioFormat("mp3_standard", "mp3", 44100, 128),
        AudioFormat("mp3_high_quality", "mp3", 44100, 192),
        AudioFormat("wav_16khz", "wav", 16000),
        AudioFormat("wav_22khz", "wav", 22050),
        AudioFormat("wav_24khz", "wav", 24000),
        AudioFormat("wav_cd_quality", "wav", 44100),
    )
}
DEFAULT_OUTPUT_FORMAT = "mp3_high_quality"


@dataclass(frozen=True)
class ParamSpec:
    """One parameter inside a model's params object, with the rules the API enforces."""

    name: str
    kind: Literal["int", "bool", "str", "enum", "float"]
    minimum: float | None = None
    maximum: float | None = None
    step: int | None = None
    choices: tuple[str, ...] = ()
    max_length: int | None = None

    def check(self, value: Any) -> str | None:
        """Return why ``value`` is not acceptable, or ``None`` when it is."""
        if self.kind == "bool":
            return None if isinstance(value, bool) else "must be true or false"
        if self.kind == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                return "must be an integer"
            return self._check_range(value)
        if self.kind == "float":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                return "must be a number"
            return self._check_range(value)
        if not isinstance(value, str):
            return "must be a string"
        if self.kind == "enum" and value not in self.choices:
            return "must be one of " + ", ".join(self.choices)
        if self.max_length is not None and len(value) > self.max_length:
            return f"must be at most {self.max_length} characters"
        return None

    def _check_range(self, value: float) -> str | None:
        if self.minimum is not None and value < self.minimum:
            return f"must be between {self.minimum:g} and {self.maximum:g}"
        if self.maximum is not None and value > self.maximum:
            return f"must be between {self.minimum:g} and {self.maximum:g}"
        if self.step and (value - (self.minimum or 0)) % self.step:
            return f"must be a multiple of {self.step}"
        return None


@dataclass(frozen=True)
class ModelSpec:
    """A music model served by ``POST /v2/music/generate`` and the params object it accepts."""

    id: str
    params_key: str
    params: tuple[ParamSpec, ...]
    prompt_max: int = PROMPT_MAX
    tracks: int = 1

    def param(self, name: str) -> ParamSpec | None:
        return next((p for p in self.params if p.name == name), None)


MODELS: dict[str, ModelSpec] = {
    DEFAULT_MODEL: ModelSpec(
        id=DEFAULT_MODEL,
        params_key="elevenlabsParams",
        params=(
            ParamSpec("music_length_ms", "int", MIN_LENGTH_MS, MAX_LENGTH_MS, step=1000),
            ParamSpec("force_instrumental", "bool"),
            ParamSpec("output_format", "enum", choices=tuple(OUTPUT_FORMATS)),
        ),
    ),
}

_TOP_LEVEL_KEYS = {"prompt", "model", "webhookUrl", "webhookEvents"}


def validate_body(body: Any) -> dict[str, list[str]]:
    """Check a submit body against the contract; return problems by JSON path (empty when valid).

    This is the server's view: it checks types, ranges and unknown keys at both levels
    (``additionalProperties: false``), as the live API does.
    """
    if not isinstance(body, Mapping):
        return {"$": ["request body must be a JSON object"]}
    problems: dict[str, list[str]] = {}

    def add(path: str, message: str) -> None:
        problems.setdefault(path, []).append(message)

    prompt = body.get("prompt")
    model_id = body.get("model")
    spec = MODELS.get(model_id) if isinstance(model_id, str) else None
    if prompt is None:
        add("prompt", "is required")
    elif not isinstance(prompt, str):
        add("prompt", "must be a string")
    elif not 1 <= len(prompt) <= (spec.prompt_max if spec else PROMPT_MAX):
        add("prompt", f"must be 1 to {spec.prompt_max if spec else PROMPT_MAX} characters")
    if model_id is None:
        add("model", "is required")
    elif spec is None:
        add("model", "must be one of " + ", ".join(MODELS))

    allowed = _TOP_LEVEL_KEYS | ({spec.params_key} if spec else set())
    for key in body:
        if key not in allowed:
            add(str(key), "is not an allowed property")

    if spec is not None and spec.params_key in body:
        params = body[spec.params_key]
        if not isinstance(params, Mapping):
            add(spec.params_key, "must be an object")
        else:
            for name, value in params.items():
                path = f"{spec.params_key}.{name}"
                param = spec.param(str(name))
                if param is None:
                    add(path, "is not an allowed property")
                elif (why := param.check(value)) is not None:
                    add(path, why)

    if "webhookUrl" in body:
        url = body["webhookUrl"]
        if not isinstance(url, str) or not _is_http_url(url):
            add("webhookUrl", "must be an absolute http(s) URL")
    if "webhookEvents" in body:
        events = body["webhookEvents"]
        if (
            not isinstance(events, list)
            or not events
            or not all(isinstance(e, str) and e in WEBHOOK_EVENTS for e in events)
        ):
            add("webhookEvents", "must be a non-empty list of " + ", ".join(WEBHOOK_EVENTS))
    return problems


def _is_http_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def credit_cost(music_length_ms: int | None) -> int | None:
    """Credits charged for a track of this length (10 / 20 / 30); ``None`` when the model picks."""
    if music_length_ms is None:
        return None
    if music_length_ms <= 30_000:
        return 10
    if music_length_ms <= 120_000:
        return 20
    return 30


_LENGTH_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")


def parse_length(text: str | float) -> int:
    """Parse a track length into milliseconds: ``30s``, ``1m30s``, ``90000ms``, ``2m``; a bare number
    is seconds. Raises :class:`ValueError` for anything else (range is checked by the request)."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return _seconds_to_ms(float(text), text)
    if not isinstance(text, str):
        raise ValueError(f"length must be text like 30s or 1m30s, not {text!r}")
    s = text.strip().lower().replace(" ", "")
    if re.fullmatch(r"\d+(\.\d+)?", s):
        return _seconds_to_ms(float(s), text)
    if not s or not re.fullmatch(r"(?:\d+(?:\.\d+)?(?:ms|h|m|s))+", s):
        raise ValueError(f"cannot read length {text!r}: use e.g. 30s, 1m30s, 90000ms or 45")
    total_ms = 0.0
    for number, unit in _LENGTH_PART.findall(s):
        total_ms += float(number) * {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000}[unit]
    if not math.isfinite(total_ms) or total_ms != int(total_ms):
        raise ValueError(f"length {text!r} is not a whole number of milliseconds")
    return int(total_ms)


def _seconds_to_ms(seconds: float, original: object) -> int:
    ms = seconds * 1000
    if not math.isfinite(ms) or ms != int(ms):
        raise ValueError(f"length {original!r} is not a whole number of milliseconds")
    return int(ms)


def format_length(ms: int) -> str:
    """``90000`` -> ``1m30s``; the inverse of :func:`parse_length` for whole seconds."""
    seconds, rest = divmod(ms, 1000)
    if rest:
        return f"{ms}ms"
    minutes, seconds = divmod(seconds, 60)
    if minutes and seconds:
        return f"{minutes}m{seconds}s"
    return f"{minutes}m" if minutes else f"{seconds}s"


@dataclass(frozen=True)
class MusicRequest:
    """One music generation request, validated when it is made.

    Unset optional fields are omitted from the JSON, so the service applies its own defaults.
    ``to_json()`` is exactly the body of ``POST /v2/music/generate``.

    >>> MusicRequest("calm piano", music_length_ms=30_000).to_json()
    {'prompt': 'calm piano', 'model': 'elevenlabs-music', 'elevenlabsParams': {'music_length_ms': 30000}}
    """

    prompt: str
    model: str = DEFAULT_MODEL
    music_length_ms: int | None = None
    force_instrumental: bool | None = None
    output_format: str | None = None
    webhook_url: str | None = None
    webhook_events: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if isinstance(self.webhook_events, list):
            object.__setattr__(self, "webhook_events", tuple(self.webhook_events))
        if isinstance(self.prompt, str) and self.prompt and not self.prompt.strip():
            raise RequestValidationError("prompt", self.prompt, "must contain some text")
        problems = validate_body(self.to_json())
        if problems:
            path, messages = next(iter(problems.items()))
            raise RequestValidationError(path, self._value_at(path), messages[0])

    def _value_at(self, path: str) -> Any:
        value: Any = self.to_json()
        for part in path.split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
        return value

    @property
    def spec(self) -> ModelSpec:
        return MODELS[self.model]

    @property
    def params(self) -> dict[str, Any]:
        """The model's params object, with unset keys left out."""
        values = {
            "music_length_ms": self.music_length_ms,
            "force_instrumental": self.force_instrumental,
            "output_format": self.output_format,
        }
        return {k: v for k, v in values.items() if v is not None}

    @property
    def audio_format(self) -> AudioFormat:
        """The format the audio will come back in (the service default when unset)."""
        return OUTPUT_FORMATS[self.output_format or DEFAULT_OUTPUT_FORMAT]

    @property
    def credit_cost(self) -> int | None:
        return credit_cost(self.music_length_ms)

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"prompt": self.prompt, "model": self.model}
        params = self.params
        if params and self.model in MODELS:
            body[MODELS[self.model].params_key] = params
        if self.webhook_url is not None:
            body["webhookUrl"] = self.webhook_url
        if self.webhook_events is not None:
            body["webhookEvents"] = list(self.webhook_events)
        return body

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> MusicRequest:
        """Rebuild a request from a submit body (as stored in a job's ``input`` or a sidecar)."""
        spec = MODELS.get(str(body.get("model", DEFAULT_MODEL)))
        params = dict(body.get(spec.params_key) or {}) if spec else {}
        events = body.get("webhookEvents")
        return cls(
            prompt=body.get("prompt"),  # type: ignore[arg-type]
            model=body.get("model", DEFAULT_MODEL),
            music_length_ms=params.get("music_length_ms"),
            force_instrumental=params.get("force_instrumental"),
            output_format=params.get("output_format"),
            webhook_url=body.get("webhookUrl"),
            webhook_events=tuple(events) if events is not None else None,
        )


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


@dataclass(frozen=True)
class Job:
    """A snapshot of ``GET /v2/jobs/{id}``, parsed leniently.

    ``status`` is kept as the server's string: an unknown status is simply not terminal.
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
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Job:
        progress = data.get("progress")
        cost = data.get("creditCost")
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
            expired=bool(data.get("expired", False)),
            raw=dict(data),
        )

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def audio_url(self) -> str | None:
        """The first track's URL (ElevenLabs Music returns one track)."""
        return self.tracks[0].audio_url if self.tracks else None
