"""What is local about a Suno action (extend, cover, add_vocals, stems): finding and checking its
parent before a credit is spent, the lineage the ledger keeps, the names of stems, what a
result says it came from, and the whole song of an extension, joined on this machine.

An action request runs through :func:`~apiframe_magic.generate` like any other request; this
module only holds what the service does not: the parent's files are here, so the parent up to
``continueAt`` followed by the extension is one file here too (:func:`join_whole_song`).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._exceptions import DownloadError
from ..client import ActionRequest, AnyRequest, Job, Track
from ..ledger import SAVED, JobRecord, clock

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from ..client import AsyncApiframeClient
    from ._bookkeeping import Bookkeeping
    from ._results import MusicResult

__all__ = [
    "CROSSFADE_SECONDS",
    "STEM_NAMES",
    "WHOLE_SONG_SUFFIX",
    "Parent",
    "check_action",
    "find_parent",
    "job_of_record",
    "join_whole_song",
    "lineage_columns",
    "lineage_text",
    "parent_audio",
    "parent_job_of",
    "track_names",
    "whole_song_path",
    "write_whole_song_sidecar",
]

STEM_NAMES = ("vocals", "instrumental")
"""The tracks of a stems result, in order, as the service titles them."""

CROSSFADE_SECONDS = 0.005
"""How long the join of a whole song crossfades from the parent to the extension: short enough
to be heard as a cut at the sample, long enough that no click is."""

WHOLE_SONG_SUFFIX = "-whole"
"""What a whole song's file name adds to its extension's (``longer-1-whole.wav``)."""

# How far (in samples) the join looks around continueAt for where the extension's first samples
# match the parent's, in case a decoder leaves a delay at the start of either file.
_ALIGN_WINDOW = 2048
_ALIGN_LENGTH = 2048


@dataclasses.dataclass(frozen=True)
class Parent:
    """The job an action works on, as far as it is known here: the service's (or the ledger's)
    job, and the ledger's record of it when there is one (its saved files, its label)."""

    job: Job
    record: JobRecord | None = None

    @property
    def label(self) -> str:
        """How a card names it: its label, else the first words of its prompt, else its id."""
        record = self.record
        if record is not None and record.label:
            return record.label
        if record is not None and record.action:
            return f"{record.action} job {record.job_id and record.job_id[:8]}"
        if record is not None and record.prompt.strip():
            return _first_words(record.prompt)
        body = self.job.raw.get("input")
        prompt = body.get("prompt") if isinstance(body, Mapping) else None
        if isinstance(prompt, str) and prompt.strip():
            return _first_words(prompt)
        return f"job {self.job.id[:8]}"

    def file(self, request: ActionRequest) -> Path | None:
        """The saved, intact audio file of the track ``request`` acts on, or ``None``."""
        record = self.record
        if record is None or record.status != SAVED:
            return None
        try:
            index = self._index(request)
        except ValueError:
            return None
        saved = next((t for t in record.tracks if t.index == index), None)
        return Path(saved.path) if saved is not None and saved.intact() else None

    def _index(self, request: ActionRequest) -> int:
        track = request.parent_track(self.job)
        return next(n for n, t in enumerate(self.job.tracks) if t is track)


def _first_words(text: str, count: int = 6) -> str:
    words = text.split()
    return " ".join(words[:count]) + (" …" if len(words) > count else "")


def parent_job_of(result: MusicResult) -> Job:
    """The job of ``result`` as a parent: its ``action`` filled in from its request when the job
    itself does not say it (a result the ledger answered), so the action's rules see a stems
    result for what it is."""
    request = result.request
    job = result.job
    if isinstance(request, ActionRequest) and job.action is None:
        return dataclasses.replace(job, action=request.action, parent_job_id=request.parent_job_id)
    return job


def job_of_record(record: JobRecord) -> Job:
    """The parent job as the ledger saved it: finished, its tracks' lengths, ids and titles."""
    tracks = tuple(
        Track(audio_url=t.audio_url or "", title=t.title, duration=t.duration)
        for t in sorted(record.tracks, key=lambda t: t.index)
    )
    return Job(id=record.job_id or "", status="COMPLETED", model=record.model, tracks=tracks,
               action=record.action, parent_job_id=record.parent_job_id,
               raw={"id": record.job_id, "status": "COMPLETED", "input": record.request})


async def find_parent(
    client: AsyncApiframeClient, request: ActionRequest, book: Bookkeeping
) -> Parent:
    """The parent of ``request``: as the ledger saved it (nothing is sent), else the service's
    job (``GET``, free)."""
    record = book.call(lambda ledger: ledger.get(request.parent_job_id))
    if record is not None and record.status == SAVED and record.tracks:
        return Parent(job_of_record(record), record)
    return Parent(await client.get_job(request.parent_job_id), record)


async def check_action(
    client: AsyncApiframeClient, request: ActionRequest, book: Bookkeeping
) -> Parent:
    """The parent of ``request`` (:func:`find_parent`), checked before a credit is spent
    (:meth:`~apiframe_magic.ActionRequest.check_parent`: finished, a Suno track that takes the
    action, the track there, ``continueAt`` before its end)."""
    parent = await find_parent(client, request, book)
    request.check_parent(parent.job)
    return parent


def lineage_columns(request: AnyRequest) -> dict[str, Any]:
    """What the ledger keeps of an action's lineage (the columns of
    :class:`~apiframe_magic.ledger.NewJob`): ``action``, ``parent_job_id``, ``parent_track``,
    ``continue_at``; empty for a generation."""
    if not isinstance(request, ActionRequest):
        return {}
    return {"action": request.action, "parent_job_id": request.parent_job_id,
            "parent_track": request.index, "continue_at": request.continue_at}


def lineage_text(request: AnyRequest | None, parent_label: str | None) -> str | None:
    """What a card says a result came from: ``"extension of calm piano at 1:30"``,
    ``"stems of calm piano (track 2)"``; ``None`` for a generation."""
    if not isinstance(request, ActionRequest):
        return None
    of = parent_label or f"job {request.parent_job_id[:8]}"
    track = f" (track {request.track})" if request.track != 1 else ""
    noun = {"extend": "extension", "cover": "cover", "add_vocals": "vocals added to",
            "stems": "stems"}[request.action]
    if request.action == "add_vocals":
        return f"{noun} {of}{track}"
    at = f" at {clock(request.continue_at)}" if request.continue_at is not None else ""
    return f"{noun} of {of}{track}{at}"


def track_names(request: AnyRequest | None, tracks: Sequence[Track]) -> list[str | None]:
    """What each saved track's file name ends with instead of its number: the stem it is
    (``vocals``, ``instrumental``) for a stems result, else ``None`` (numbered as usual)."""
    if isinstance(request, ActionRequest) and request.action == "stems" and len(tracks) == len(STEM_NAMES):
        titles = [(t.title or "").strip().lower() for t in tracks]
        if sorted(titles) == sorted(STEM_NAMES):
            return list(titles)
        return list(STEM_NAMES)
    return [None] * len(tracks)


def whole_song_path(extension: str | os.PathLike[str]) -> Path:
    """Where the whole song of an extension track is written: beside it, as WAV
    (``longer-1.mp3`` -> ``longer-1-whole.wav``), so the join is never coded again."""
    path = Path(extension)
    return path.with_name(path.stem + WHOLE_SONG_SUFFIX + ".wav")


def join_whole_song(
    parent: str | os.PathLike[str], extension: str | os.PathLike[str], continue_at: float | None,
    out: str | os.PathLike[str] | None = None,
) -> Path:
    """Write the parent track up to ``continue_at`` seconds (``None``: its end) followed by the
    extension, as one WAV file (``out``, by default :func:`whole_song_path` of the extension),
    and return its path.

    The join is at the parent's sample ``round(continue_at * rate)``, where the extension starts
    (it is made on the parent's timeline and begins with the parent's own audio), moved by the
    few samples that best line the extension's start up with the parent's there should either
    decoder leave a delay; a :data:`CROSSFADE_SECONDS` crossfade leaves no click. Same rate and
    channels kept; a mono file joined to a stereo one is spread over both channels."""
    import numpy as np
    import soundfile  # type: ignore[import-untyped, unused-ignore]  # no type hints

    from ..analysis._measure import decode

    head, rate = decode(parent)
    tail, tail_rate = decode(extension)
    if rate != tail_rate:
        raise ValueError(f"cannot join {rate} Hz to {tail_rate} Hz audio")
    channels = max(head.shape[1], tail.shape[1])
    head, tail = _channels(head, channels), _channels(tail, channels)
    start = head.shape[0] if continue_at is None else min(round(continue_at * rate), head.shape[0])
    start += _alignment(head, tail, start)
    fade = max(1, round(CROSSFADE_SECONDS * rate))
    # At the parent's very end, the crossfade takes its last samples instead.
    start = max(0, min(start, head.shape[0] - fade))
    overlap = max(1, min(fade, tail.shape[0], head.shape[0] - start))
    weight = (np.arange(overlap, dtype=np.float64) + 0.5) / overlap
    mixed = head[start:start + overlap] * (1 - weight[:, None]) + tail[:overlap] * weight[:, None]
    whole = np.concatenate([head[:start], mixed, tail[overlap:]])
    target = Path(out) if out is not None else whole_song_path(extension)
    partial = target.with_name(target.name + ".part")
    soundfile.write(os.fspath(partial), np.clip(whole, -1.0, 1.0), rate, subtype="PCM_16", format="WAV")
    os.replace(partial, target)
    return target


def _channels(data: npt.NDArray[np.float64], channels: int) -> npt.NDArray[np.float64]:
    import numpy as np

    if data.shape[1] == channels:
        return data
    return np.repeat(data.mean(axis=1, keepdims=True), channels, axis=1)


def _alignment(head: npt.NDArray[np.float64], tail: npt.NDArray[np.float64], start: int) -> int:
    """How many samples from ``start`` the extension's first samples best match the parent's
    (0 when they match where expected, or the parent has no audio past ``start`` to match)."""
    import numpy as np

    length = min(_ALIGN_LENGTH, tail.shape[0])
    low, high = max(0, start - _ALIGN_WINDOW), min(head.shape[0] - length, start + _ALIGN_WINDOW)
    if length < 64 or high <= low:
        return 0
    probe = tail[:length].mean(axis=1)
    if not np.any(probe):
        return 0
    region = head[low:high + length].mean(axis=1)
    scores = np.correlate(region, probe, mode="valid")
    energy = np.convolve(region ** 2, np.ones(length), mode="valid")
    normalised = scores / np.sqrt(np.maximum(energy, 1e-12))
    best = int(np.argmax(normalised))
    at_start = start - low
    # Keep the expected sample unless another one is clearly better.
    if normalised[best] <= normalised[at_start] * 1.01:
        return 0
    return best - at_start


async def parent_audio(
    client: AsyncApiframeClient, request: ActionRequest, parent: Parent, beside: Path
) -> Path:
    """The parent track's audio file: the one the ledger saved, else downloaded beside the
    extension (``<extension>-parent.mp3``). :class:`~apiframe_magic.DownloadError` when neither
    can be had (the service purged it)."""
    saved = parent.file(request)
    if saved is not None:
        return saved
    track = request.parent_track(parent.job)
    if not track.audio_url:
        raise DownloadError(f"job {parent.job.id}: its track has no audio URL to join the whole song "
                            "with", url="", job_id=parent.job.id)
    target = beside.with_name(beside.stem + "-parent.mp3")
    downloaded = await client.download(track.audio_url, target, job_id=parent.job.id)
    return downloaded.path


def write_whole_song_sidecar(
    whole: Path, parent: Path, extension: Path, request: ActionRequest
) -> Path:
    """The JSON sidecar of a whole song (``<file>.json``): what it was joined from, where, and
    how, so the file says what it is without the ledger."""
    from .._version import __version__
    from ._files import write_json_atomic

    path = whole.with_name(whole.name + ".json")
    write_json_atomic(path, {
        "generator": f"apiframe-magic {__version__}",
        "wholeSong": {
            "parent": {"jobId": request.parent_job_id, "track": request.track, "file": str(parent)},
            "extension": {"file": extension.name, "request": request.to_json()},
            "continueAt": request.continue_at,
            "crossfadeSeconds": CROSSFADE_SECONDS,
        },
    })
    return path
