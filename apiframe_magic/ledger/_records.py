"""What the ledger stores about a job and its tracks, as immutable records.

Times are ISO 8601 strings in UTC with milliseconds (``2026-05-09T07:35:25.123+00:00``): readable
in the file itself, ordered as strings, and parsed back by :meth:`datetime.fromisoformat`.
"""

from __future__ import annotations

import hashlib
import os
import stat
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

__all__ = [
    "CANCELLED",
    "COMPLETED",
    "FAILED",
    "FINISHED_STATUSES",
    "PAIR",
    "PROCESSING",
    "QUEUED",
    "RATING",
    "REQUESTED",
    "ROLES",
    "SAVED",
    "STATUSES",
    "SUBMITTED",
    "TEST_ROLE",
    "JobRecord",
    "NewJob",
    "RatingRecord",
    "TrackRecord",
    "file_sha256",
    "iso_utc",
    "service_of",
    "service_time",
    "utc_now",
]

REQUESTED = "REQUESTED"  # written before the POST; no job id yet
SUBMITTED = "SUBMITTED"  # the 202 arrived with the job id
QUEUED = "QUEUED"
PROCESSING = "PROCESSING"
COMPLETED = "COMPLETED"  # the service finished; the audio is not saved yet
FAILED = "FAILED"
CANCELLED = "CANCELLED"
SAVED = "SAVED"  # every track downloaded and checksummed

STATUSES = (REQUESTED, SUBMITTED, QUEUED, PROCESSING, COMPLETED, FAILED, CANCELLED, SAVED)
# Nothing more will happen to a job in one of these.
FINISHED_STATUSES = frozenset({FAILED, CANCELLED, SAVED})

_CHUNK = 1 << 20
_KEY_MAX = 255  # the longest Idempotency-Key the service takes


def utc_now() -> str:
    """Now, as the ledger writes times."""
    return iso_utc(datetime.now(timezone.utc))


def iso_utc(moment: datetime) -> str:
    """``moment`` in UTC as the ledger writes times; a naive datetime is taken as local time."""
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds")


def service_time(value: object) -> str | None:
    """A time the service gave (a job's ``createdAt`` or ``completedAt``) as the ledger writes
    times, or ``None`` when it is missing or not an ISO 8601 time: the service's fields are read
    leniently, and a time it did not give is not made up. A time without a zone is UTC, as the
    service's times are (``2026-03-15T10:00:00.000Z``)."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text[-1:] in ("Z", "z"):
        text = text[:-1] + "+00:00"  # Python 3.10's fromisoformat does not read "Z"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return iso_utc(moment)


def service_of(account: str) -> str:
    """The service part of an account identity: ``"sandbox"``, or the API's base URL (an account
    is the base URL, ``#`` and a short hash of the key; the sandbox's is ``"sandbox"``).

    >>> service_of("https://api.apiframe.ai#1a2b3c4d")
    'https://api.apiframe.ai'
    """
    return account.split("#", 1)[0]


def file_sha256(path: str | os.PathLike[str]) -> str:
    """The SHA-256 (hex) of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class TrackRecord:
    """One saved audio file of a job: where it is and what it was when it was saved.

    ``index`` is the track's position in the job's result (0 for the first); ``duration`` is in
    seconds; ``audio_url`` is where the service served it, to download it again if the file goes.
    ``measurements`` is what was measured in the file (a JSON object of loudness, peak, ...),
    ``None`` until it was measured.
    """

    index: int
    path: str
    size: int
    sha256: str
    duration: float | None = None
    audio_url: str | None = None
    title: str | None = None
    measurements: dict[str, Any] | None = field(default=None, compare=False)

    @classmethod
    def from_file(
        cls,
        index: int,
        path: str | os.PathLike[str],
        *,
        duration: float | None = None,
        audio_url: str | None = None,
        title: str | None = None,
        measurements: dict[str, Any] | None = None,
    ) -> TrackRecord:
        """The record of a file just saved: its absolute path, size and SHA-256 read from disk."""
        absolute = os.path.abspath(os.fspath(path))
        return cls(
            index=index,
            path=absolute,
            size=os.stat(absolute).st_size,
            sha256=file_sha256(absolute),
            duration=duration,
            audio_url=audio_url,
            title=title,
            measurements=measurements,
        )

    def intact(self) -> bool:
        """Whether the file is still exactly what was saved: a regular file of the same size with
        the same SHA-256. A file deleted, truncated or edited by hand is not intact, so it is never
        served from the ledger."""
        try:
            info = os.stat(self.path)
        except OSError:
            return False
        if not stat.S_ISREG(info.st_mode) or info.st_size != self.size:
            return False
        try:
            return file_sha256(self.path) == self.sha256
        except OSError:
            return False


@dataclass(frozen=True)
class NewJob:
    """A request about to be sent, as :meth:`Ledger.begin` writes it ahead of its POST: the
    columns of a new row of the ledger.

    ``fingerprint`` is the request's :func:`fingerprint`, made with ``account`` (whose account
    pays: ``"sandbox"``, or the API's base URL with a short hash of the key). ``service`` is who
    answers it (``"sandbox"`` or the API's base URL), by default the account's base URL.
    ``request`` is the whole body about to be POSTed, never with the API key, and
    ``idempotency_key`` the header sent with it, so a request whose answer never arrived can be
    sent again with the same key and the service replays the job instead of charging twice.
    ``take`` numbers the takes of one request from 1. ``reserved`` is its expected credit cost,
    counted by :meth:`Ledger.spent` until the real cost is known. ``output_dir``, ``save`` and
    ``label`` are what a resumed job needs to be saved where its cell would have saved it, and
    named. ``action``, ``parent_job_id``, ``parent_track`` (from 1) and ``continue_at``
    (seconds) are a Suno action's lineage: what it did to which track of which job (``None``
    for a generation; see :meth:`lineage_of`).

    Raises :class:`ValueError` for what is not a request: no fingerprint, account or model, a
    ``take`` that is not a positive integer, an ``idempotency_key`` that is not 1 to 255 ASCII
    characters. (``params`` and ``request`` must be JSON data: :meth:`Ledger.begin` says so when
    it writes them.)
    """

    fingerprint: str
    account: str
    model: str
    prompt: str
    params: Mapping[str, Any]
    take: int
    request: Mapping[str, Any]
    idempotency_key: str
    service: str = ""
    output_dir: str | os.PathLike[str] | None = None
    save: str | os.PathLike[str] | None = None
    label: str | None = None
    reserved: int | None = None
    action: str | None = None
    parent_job_id: str | None = None
    parent_track: int | None = None
    continue_at: float | None = None

    def __post_init__(self) -> None:
        if not self.fingerprint or not self.account or not self.model:
            raise ValueError("a new job needs a fingerprint, an account and a model")
        take = self.take
        if isinstance(take, bool) or not isinstance(take, int) or take < 1:
            raise ValueError(f"take must be a positive integer, not {take!r}")
        key = self.idempotency_key
        if not key or len(key) > _KEY_MAX or not key.isascii():
            raise ValueError(f"idempotency_key must be 1 to {_KEY_MAX} ASCII characters")
        if not self.service:
            object.__setattr__(self, "service", service_of(self.account))


@dataclass(frozen=True)
class JobRecord:
    """One request and the job it became, as the ledger holds it.

    ``id`` is the ledger's own row id, known from :meth:`Ledger.begin` on, before the service
    gives a ``job_id``. ``service`` is who answered it (``"sandbox"`` or the API's base URL) and
    ``account`` whose account paid for it (``"sandbox"``, or the base URL with a short hash of the
    key), the identity its fingerprint was made with. ``request`` is the whole body that was (or
    is about to be) sent, never with the API key, which the ledger is never given. ``reserved``
    is the credit cost expected when the request was made, ``credits`` what the service reported.
    ``output_dir``, ``save`` and ``label`` are what the caller needs to save a resumed job where
    its cell would have saved it, and to name it. Times are ISO 8601 UTC strings (``None`` until
    they happen): ``submitted_at`` to ``downloaded_at`` as this client saw them,
    ``service_created_at`` and ``service_completed_at`` as the service reported them (its
    ``createdAt`` and ``completedAt``; ``None`` when it did not). ``action``, ``parent_job_id``,
    ``parent_track`` and ``continue_at`` are a Suno action's lineage (``None`` for a generation).

    The record is frozen; ``params`` and ``request`` are plain dicts, copies of what the ledger
    holds, so changing them changes nothing stored.
    """

    id: int
    fingerprint: str
    account: str
    model: str
    prompt: str
    params: dict[str, Any]
    take: int
    request: dict[str, Any]
    idempotency_key: str
    job_id: str | None
    status: str
    credits: int | None
    error: str | None
    output_dir: str | None
    save: str | None
    label: str | None
    tracks: tuple[TrackRecord, ...]
    submitted_at: str | None
    started_at: str | None
    completed_at: str | None
    downloaded_at: str | None
    created_at: str
    reserved: int | None = None
    progress: int | None = None
    updated_at: str | None = field(default=None, compare=False)
    service: str = ""
    service_created_at: str | None = None
    service_completed_at: str | None = None
    action: str | None = None
    parent_job_id: str | None = None
    parent_track: int | None = None
    continue_at: float | None = None

    def __post_init__(self) -> None:
        if not self.service:
            object.__setattr__(self, "service", service_of(self.account))

    @property
    def backend(self) -> str:
        """Deprecated: :attr:`account`, by its old name (for one release)."""
        warnings.warn(
            "JobRecord.backend is deprecated: use JobRecord.account (or .service)",
            DeprecationWarning, stacklevel=2,
        )
        return self.account

    @property
    def saved(self) -> bool:
        """Every track was downloaded and recorded."""
        return self.status == SAVED

    @property
    def pending(self) -> bool:
        """Submitted (it has a job id) and neither saved nor ended without audio: resume it."""
        return self.job_id is not None and self.status not in FINISHED_STATUSES

    def intact(self) -> bool:
        """Saved, with at least one track, and every track file still exactly as saved."""
        return self.saved and bool(self.tracks) and all(track.intact() for track in self.tracks)

    @property
    def elapsed(self) -> float | None:
        """Seconds the job took: from the service's ``createdAt`` to its ``completedAt`` when it
        gave both, else from the submission to the moment this client saw the job end (later, by
        up to a polling interval); ``None`` when neither pair is known."""
        if self.service_created_at is not None and self.service_completed_at is not None:
            start, end = self.service_created_at, self.service_completed_at
        elif self.submitted_at is not None and self.completed_at is not None:
            start, end = self.submitted_at, self.completed_at
        else:
            return None
        return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


RATING = "rating"  # a score from 1 to 5 for one clip
PAIR = "pair"  # a preference between two clips
TEST_ROLE = "test"  # a clip under test; the other roles are a blind test's controls
ROLES = (TEST_ROLE, "reference", "anchor", "repeat")


@dataclass(frozen=True)
class RatingRecord:
    """One judgement made in a blind listening test.

    ``session`` names the test (one ``%music listen`` run), ``listener`` who judged. ``clip`` is
    the neutral name the listener saw (``"A"``) for the track ``track`` of job ``job_id``. For a
    :data:`RATING`, ``score`` is 1 to 5. For a :data:`PAIR`, ``other_*`` name the clip it was
    heard against and ``score`` is 1 when ``clip`` was preferred, -1 when the other was, 0 for
    no preference. ``created_at`` is an ISO 8601 UTC string, set by the ledger when ``None``.
    ``shown_as`` (``other_shown_as``) is the letter this listener saw the clip under and
    ``position`` where it came in their order, from 0 (a pair's place among the comparisons).
    ``role`` is :data:`TEST_ROLE` for a clip under test, else the control it was (``"reference"``,
    ``"anchor"``, ``"repeat"``): controls check the listener and never count in ``history()``.
    """

    session: str
    listener: str
    kind: str
    clip: str
    job_id: str
    track: int
    score: int
    other_clip: str | None = None
    other_job_id: str | None = None
    other_track: int | None = None
    created_at: str | None = None
    shown_as: str | None = None
    other_shown_as: str | None = None
    position: int | None = None
    role: str = TEST_ROLE

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}, not {self.role!r}")
        if self.kind == RATING:
            if not 1 <= self.score <= 5 or self.other_job_id is not None:
                raise ValueError(f"a rating is a score from 1 to 5 of one clip, not {self.score!r}")
        elif self.kind == PAIR:
            if self.score not in (-1, 0, 1) or self.other_job_id is None or self.other_clip is None:
                raise ValueError("a pair names the other clip and scores 1, 0 or -1")
        else:
            raise ValueError(f"kind must be {RATING!r} or {PAIR!r}, not {self.kind!r}")
