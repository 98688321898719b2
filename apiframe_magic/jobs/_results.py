"""What a finished job leaves behind (:class:`MusicResult`, one :class:`SavedTrack` per track) and
what a display is told while a job runs (:class:`JobObserver`).

Results hold no credentials: a result records where it came from by name only, so pickling one
(or ``%store``) never writes the API key.

Each track carries what was measured in it (:class:`~apiframe_magic.analysis.Measurements`), or
``None`` until :meth:`MusicResult.measure` measured it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from .._public import public
from ..analysis import Adherence, Measurements
from ..catalog import PromptAsks
from ..client import ActionRequest, AnyRequest, Job, Track

if TYPE_CHECKING:
    from ..ledger import Ledger

__all__ = ["JobObserver", "MusicResult", "SavedTrack"]

_T = TypeVar("_T")

class RenamedService:
    """Loads what was pickled (or ``%store``-d) before the field ``backend`` was named ``service``."""

    def __setstate__(self, state: dict[str, Any]) -> None:
        if "backend" in state:
            state.setdefault("service", state.pop("backend"))
        self.__dict__.update(state)


class JobObserver(Protocol):
    """What a display is told about one job. Every method is optional to act on."""

    def submitted(self, job_id: str) -> None: ...

    def progress(self, job: Job) -> None: ...

    def downloading(self, job: Job) -> None: ...


@public
@dataclass(frozen=True)
class SavedTrack:
    """One track of a finished job, saved: its audio file, its JSON sidecar and what the service
    said about it (``title``, ``tags`` and ``image_url`` where the model fills them).

    ``measurements`` is what was measured in the file (loudness, peak, clipping, tempo, key: see
    :func:`apiframe_magic.analysis.measure`), ``None`` until it was measured."""

    index: int
    path: Path
    metadata_path: Path
    audio_format: str
    duration: float | None
    size: int
    track: Track
    measurements: Measurements | None = None

    @property
    def track_id(self) -> str | None:
        return self.track.id

    @property
    def title(self) -> str | None:
        return self.track.title

    @property
    def tags(self) -> Any:
        return self.track.tags

    @property
    def image_url(self) -> str | None:
        return self.track.image_url

    @property
    def audio_url(self) -> str:
        return self.track.audio_url

    def audio_bytes(self) -> bytes:
        return self.path.read_bytes()

    def __repr__(self) -> str:
        duration = f"{self.duration:.1f} s" if self.duration is not None else "? s"
        return f"<SavedTrack {self.index + 1}: {str(self.path)!r} {duration} {self.audio_format}>"


@public
@dataclass
class MusicResult(RenamedService):
    """A finished job: the job, its request and every track it produced, saved.

    ``tracks`` holds one :class:`SavedTrack` per track (Suno, Udio and Producer make two,
    Mureka ``n``); ``path``, ``metadata_path``, ``audio_format`` and ``duration`` are the first
    track's, for one-track models. In a notebook with the extension loaded it displays as a
    player per track; as text it is one line.

    ``from_ledger`` marks a result answered by the job ledger: the same request was generated and
    saved before, its files are intact, and nothing was submitted or paid for this time; its
    tracks carry the measurements the ledger stored. ``ledger_path`` is the ledger it was
    recorded in (a path, so a pickled result stays a plain value), where :meth:`measure`
    records what it measures. ``service`` is where the job ran: ``"sandbox"`` or the API's base
    URL.

    The result of a Suno action (``request`` an :class:`~apiframe_magic.ActionRequest`) says what
    it came from: :attr:`action`, :attr:`parent_job_id`, :attr:`parent_track` and ``lineage``
    (``"extension of calm piano at 1:30"``). An extension's :meth:`whole_song` is the parent up
    to ``continueAt`` followed by the extension, one file joined here (``whole_songs``: one per
    track); a stems result names its tracks (:attr:`vocals`, :attr:`instrumental`).
    """

    job: Job
    request: AnyRequest | None
    tracks: tuple[SavedTrack, ...]
    elapsed: float
    service: str
    from_ledger: bool = False
    ledger_path: str | None = field(default=None, repr=False)
    lineage: str | None = None
    whole_songs: tuple[Path, ...] = ()

    @property
    def path(self) -> Path:
        """The first track's audio file."""
        return self.tracks[0].path

    @property
    def metadata_path(self) -> Path:
        """The first track's JSON sidecar."""
        return self.tracks[0].metadata_path

    @property
    def audio_format(self) -> str:
        """The container of the first track: ``"mp3"`` or ``"wav"``."""
        return self.tracks[0].audio_format

    @property
    def duration(self) -> float | None:
        """The first track's length in seconds."""
        return self.tracks[0].duration

    @property
    def measurements(self) -> Measurements | None:
        """What was measured in the first track (``None`` until :meth:`measure`)."""
        return self.tracks[0].measurements

    @property
    def requested_seconds(self) -> float | None:
        """The length asked for, in seconds, for models that take one."""
        length = self.request.music_length_ms if self.request is not None else None
        return None if length is None else length / 1000

    def measure(self, *, extra: bool = True, ledger: Ledger | None = None) -> MusicResult:
        """Measure every track not measured yet, and fill in the tempo and key of tracks measured
        before the ``analysis`` extra was installed (see :func:`apiframe_magic.analysis.measure`;
        ``extra``: tempo and key too, with that extra), and record the measurements in
        ``ledger``, else in the ledger at :attr:`ledger_path`. Returns this result.

        It never fails: an undecodable file gets empty measurements with a note, and a ledger
        that cannot be written keeps the measurements on the result only."""
        from ._measure import measure_result

        return measure_result(self, ledger=ledger, extra=extra)

    @property
    def asks(self) -> PromptAsks:
        """What the prompt asked for in so many words (a tempo, a key, a metre) and the length
        the request asked for (see :func:`apiframe_magic.catalog.asks_of`)."""
        from ._adherence import asks_for

        return asks_for(self.request)

    @property
    def adherence(self) -> Adherence:
        """Whether the first track has what the prompt asked for: ``"asked 120 bpm, measured
        119 ✓"`` (see :func:`apiframe_magic.analysis.adherence`); empty when nothing was asked."""
        from ._adherence import adherence_of

        return adherence_of(self.request, self.measurements)

    @property
    def action(self) -> str | None:
        """The Suno action that made it (``extend``, ``cover``, ``add_vocals``, ``stems``), or
        ``None`` for a generation."""
        return self.request.action if isinstance(self.request, ActionRequest) else None

    @property
    def parent_job_id(self) -> str | None:
        """The job an action worked on (``None`` for a generation)."""
        return self.request.parent_job_id if isinstance(self.request, ActionRequest) else None

    @property
    def parent_track(self) -> int | str | None:
        """The parent's track an action worked on: its number from 1 (or its id)."""
        return self.request.track if isinstance(self.request, ActionRequest) else None

    def whole_song(self, track: int = 1) -> Path:
        """The whole song of an extension's track ``track`` (from 1): the parent up to
        ``continueAt`` followed by the extension, one WAV file beside the others."""
        if self.action != "extend":
            raise ValueError(f"whole_song(): only an extension has one; this is "
                             f"{'a ' + self.action + ' result' if self.action else 'a generation'}")
        if not 1 <= track <= len(self.whole_songs):
            raise ValueError(f"whole_song({track}): the whole songs of this extension are "
                             f"{', '.join(map(str, range(1, len(self.whole_songs) + 1))) or 'not joined'}")
        return self.whole_songs[track - 1]

    def _stem(self, name: str) -> Path:
        found = next((t.path for t in self.tracks if (t.title or "").lower() == name), None)
        if self.action != "stems" or found is None:
            raise AttributeError(f"{name}: only a stems result has a {name} track")
        return found

    @property
    def vocals(self) -> Path:
        """A stems result's vocal track (its audio file)."""
        return self._stem("vocals")

    @property
    def instrumental(self) -> Path:
        """A stems result's instrumental track (its audio file)."""
        return self._stem("instrumental")

    @property
    def paths(self) -> list[Path]:
        """Every track's audio file, in order."""
        return [t.path for t in self.tracks]

    @property
    def model(self) -> str | None:
        return self.request.model if self.request else self.job.model

    @property
    def job_id(self) -> str:
        return self.job.id

    @property
    def prompt(self) -> str | None:
        return self.request.prompt if self.request else None

    @property
    def credits(self) -> int | None:
        """Credits this run cost: what the server reported, or 0 when the ledger answered."""
        return 0 if self.from_ledger else self.job.credit_cost

    @property
    def sandbox(self) -> bool:
        return self.service == "sandbox"

    @property
    def backend(self) -> str:
        """Deprecated name of :attr:`service` (where the job ran)."""
        return self.service

    def audio_bytes(self) -> bytes:
        return self.path.read_bytes()

    def __repr__(self) -> str:
        duration = f"{self.duration:.1f} s" if self.duration is not None else "? s"
        more = f" (+{len(self.tracks) - 1} more tracks)" if len(self.tracks) > 1 else ""
        return (f"<MusicResult {str(self.path)!r} {duration} {self.audio_format}{more}, "
                f"job {self.job_id}>")
