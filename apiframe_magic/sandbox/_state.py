"""The sandbox's bookkeeping: accounts and credits, jobs and their timeline, idempotency, webhooks.

A job's status is computed from the clock whenever it is read (no background ticker): it is
``QUEUED`` for the first tenth of its run time, then ``PROCESSING`` with a rising integer
progress, and ends once both its run time has passed and its audio has been rendered (in a
worker thread started when the job is created). A job that ends ``FAILED`` gets its credits back
at that moment.

Each account runs at most ``max_concurrent_jobs`` jobs at once (the contract's
``team.maxConcurrentJobs``); a job holds its slot from submit until it is ``COMPLETED`` or
``FAILED``. Over the limit, ``over_limit="queue"`` keeps a new job ``QUEUED`` (progress 0) until
a slot frees, and its run time starts then; ``over_limit="reject"`` answers the submit ``429``
with a ``Retry-After`` and charges nothing. Freed slots go to waiting jobs in the order the slots
freed, worked out from the clock when anyone looks (:meth:`SandboxState._advance`), so a job's
timeline does not depend on how often it is polled.

Credits, jobs and idempotency records live in a :class:`~._persist.SandboxStore`: in memory, or
with ``state_path`` in a file that outlives the process. Each job's timeline is kept on this
process's clock and stored as wall-clock time, so a server on the same file, later or at the
same time, takes in the jobs of the others (:meth:`SandboxState._sync`) and works out where they
are. Of a job another process submitted, this one has no rendering under way: its audio counts
as ready when its run time is over, and is rendered again from its request and seed the first
time it is downloaded here (:meth:`SandboxState.audio_file`), the same bytes as the first
process made. Its webhooks are the submitting process's alone.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import heapq
import html
import json
import math
import os
import re
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Literal, Protocol, get_args

from .._webhooks import sign_webhook
from ..catalog import MAX_LENGTH_MS, MIN_LENGTH_MS, MODELS, WEBHOOK_EVENTS, ModelSpec
from ._faults import DEFAULT_FAIL_MESSAGE, DEFAULT_SLOW_SECONDS, Faults
from ._persist import SandboxStore, StoredJob, StoreUnavailable, account_of

__all__ = [
    "IDEMPOTENCY_TTL_SECONDS",
    "JOB_SCOPES",
    "JOB_STATUSES",
    "MAX_CONCURRENT_JOBS",
    "OVER_LIMIT_MODES",
    "OverLimit",
    "Renderer",
    "Reply",
    "SandboxState",
    "check_limits",
    "length_from_prompt",
]

IDEMPOTENCY_TTL_SECONDS = 24 * 3600
JOB_STATUSES = ("QUEUED", "PROCESSING", "COMPLETED", "FAILED", "CANCELLED")
JOB_SCOPES = ("user", "team")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)
# The contract's example plan ("pro") reports 10; queueing keeps a burst of submits working.
MAX_CONCURRENT_JOBS = 10
OverLimit = Literal["queue", "reject"]
OVER_LIMIT_MODES: tuple[str, ...] = get_args(OverLimit)
DEFAULT_LENGTH_MS = 30_000
QUEUED_FRACTION = 0.1
WEBHOOK_TIMEOUT_SECONDS = 5.0
PROGRESS_WEBHOOK_FRACTIONS = (0.25, 0.5, 0.75)


class Renderer(Protocol):
    """What turns a prompt into audio bytes; :func:`apiframe_magic.sandbox._audio.render_audio`.

    ``variation`` numbers the takes of one job (0, 1, ...): each must sound like another take.
    """

    def __call__(
        self, prompt: str, *, length_ms: int, output_format: str, force_instrumental: bool = False,
        variation: int = 0,
    ) -> bytes: ...


def default_renderer(
    prompt: str, *, length_ms: int, output_format: str, force_instrumental: bool = False,
    variation: int = 0,
) -> bytes:
    """The procedural renderer, imported on first use so this module loads on its own."""
    from ._audio import render_audio

    return render_audio(
        prompt, length_ms=length_ms, output_format=output_format,
        force_instrumental=force_instrumental, variation=variation,
    )


@dataclass(frozen=True)
class Reply:
    """An API answer: HTTP status, JSON body and extra headers."""

    status: int
    body: Any
    headers: Mapping[str, str] = field(default_factory=dict)


def check_limits(max_concurrent_jobs: object, over_limit: object) -> None:
    """Raise :class:`ValueError` unless ``max_concurrent_jobs`` is a whole number, 1 or more,
    and ``over_limit`` one of :data:`OVER_LIMIT_MODES`."""
    if (isinstance(max_concurrent_jobs, bool) or not isinstance(max_concurrent_jobs, int)
            or max_concurrent_jobs < 1):
        raise ValueError(
            f"max_concurrent_jobs must be a whole number, 1 or more, got {max_concurrent_jobs!r}")
    if over_limit not in OVER_LIMIT_MODES:
        raise ValueError(
            f"over_limit must be one of {', '.join(OVER_LIMIT_MODES)}, got {over_limit!r}")


def error(status: int, message: str, **extra: Any) -> Reply:
    return Reply(status, {"error": message, **extra})


def validation_error(details: Mapping[str, list[str]]) -> Reply:
    return Reply(400, {"error": "Validation failed", "details": dict(details)})


_NUMBER_UNIT = re.compile(
    r"(\d+(?:\.\d+)?)\s*-?\s*(minutes?|mins?|seconds?|secs?)\b", re.IGNORECASE
)


def length_from_prompt(prompt: str) -> int:
    """The length the sandbox picks when ``music_length_ms`` is absent, in milliseconds.

    Honours phrases like "45 seconds", "a 2-minute track" or "1 minute 30 seconds" when the
    result is within 5 s to 5 min (rounded to whole seconds); otherwise 30 s. Bare "s" is not
    read as seconds, so "80s synthwave" stays a decade.
    """
    matches = list(_NUMBER_UNIT.finditer(prompt))
    if not matches:
        return DEFAULT_LENGTH_MS
    first = matches[0]
    seconds = float(first.group(1)) * (60 if first.group(2).lower().startswith("min") else 1)
    if (
        first.group(2).lower().startswith("min")
        and len(matches) > 1
        and matches[1].group(2).lower().startswith("sec")
        and matches[1].start() - first.end() <= 8
    ):
        seconds += float(matches[1].group(1))
    ms = round(seconds) * 1000
    return ms if MIN_LENGTH_MS <= ms <= MAX_LENGTH_MS else DEFAULT_LENGTH_MS


def music_text(spec: ModelSpec, prompt: str, params: Mapping[str, Any]) -> str:
    """What the composer hears: the prompt, led by the style where the model takes one (in
    Suno's custom mode the prompt is lyrics and the style says what the music is)."""
    style = params.get("style")
    return f"{style}. {prompt}" if isinstance(style, str) and style.strip() else prompt


def track_length_ms(spec: ModelSpec, prompt: str, params: Mapping[str, Any]) -> int:
    """How long the sandbox makes each track: the requested length, a clip model's fixed
    length, else the length the prompt asks for (30 s when it names none)."""
    if spec.length_param is not None and isinstance(params.get(spec.length_param), int):
        return int(params[spec.length_param])
    if spec.clip_seconds is not None:
        return int(spec.clip_seconds * 1000)
    return length_from_prompt(prompt)


def is_instrumental(spec: ModelSpec, params: Mapping[str, Any]) -> bool:
    """Whether the params ask this model for no vocals (its own flag, see ``ModelSpec.instrumental``)."""
    if spec.instrumental is None:
        return False
    name, value = spec.instrumental
    return bool(params.get(name) == value)


def first_variation(spec: ModelSpec, params: Mapping[str, Any], job_id: str) -> int:
    """The first take's variation. A model's seed picks the takes, so one seed repeats them;
    without one every job is a new take (as on the real service), seeded from its job id so the
    same job always has the same audio."""
    seed = params.get(spec.seed_param) if spec.seed_param else None
    source = f"seed:{seed}" if seed is not None else f"job:{job_id}"
    digest = hashlib.sha256(source.encode()).digest()
    return 1 + int.from_bytes(digest[:4], "big")


def track_title(prompt: str, take: int, count: int) -> str:
    """A title made from the prompt's first words, numbered when a job has several takes."""
    words = re.findall(r"[^\W_]+(?:'[^\W_]+)?", prompt)[:5]
    title = " ".join(w.capitalize() for w in words) or "Untitled"
    return f"{title} ({take + 1})" if count > 1 else title


def iso(dt: datetime) -> str:
    """``2026-03-15T10:00:00.000Z``."""
    dt = dt.astimezone(timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def fingerprint(body: Any) -> str:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass
class _Job:
    id: str
    seq: int
    # The key signs the job's webhooks, so only the submitting process knows it ("" elsewhere).
    api_key: str
    account: str
    body: dict[str, Any]
    model: str
    prompt: str
    length_ms: int
    output_format: str
    force_instrumental: bool
    music_text: str
    tags: str
    first_variation: int
    cost: int
    created_wall: datetime
    created_mono: float
    run_seconds: float
    file_names: tuple[str, ...]
    track_ids: tuple[str, ...]
    webhook_url: str | None
    webhook_events: tuple[str, ...]
    forced_failure: str | None = None
    # When the job took a slot and its run time began; None while it waits for one.
    started_mono: float | None = None
    render_done_mono: float | None = None
    render_error: str | None = None
    final_status: str | None = None
    finished_mono: float | None = None
    webhook_status: str | None = None
    # True while this process renders its audio; a job it does not render is ready at deadline.
    rendering: bool = False
    # An action's job: what its tracks are made from (see _actions), and their titles.
    lineage: dict[str, Any] | None = None
    titles: tuple[str, ...] = ()

    @property
    def is_stems(self) -> bool:
        return self.lineage is not None and self.lineage["steps"][-1]["action"] == "stems"

    def title_of(self, take: int) -> str:
        if self.titles:
            return self.titles[take]
        params = self.body.get(MODELS[self.model].params_key) or {}
        return str(params.get("title") or track_title(self.prompt, take, len(self.file_names)))

    def lineage_of(self, take: int) -> dict[str, Any]:
        """How track ``take`` is made: its generation and the actions since, each with its take."""
        if self.lineage is None:
            base = {"text": self.music_text, "length_ms": self.length_ms,
                    "force_instrumental": self.force_instrumental,
                    "variation": self.first_variation + take}
            return {"base": base, "steps": []}
        steps = [dict(step) for step in self.lineage["steps"]]
        steps[-1]["take"] = take
        return {"base": self.lineage["base"], "steps": steps}

    @property
    def deadline(self) -> float | None:
        """When its run time is over, once it has a slot."""
        return None if self.started_mono is None else self.started_mono + self.run_seconds

    def finish_time(self) -> float | None:
        """When it ends: its run time is over and its audio is ready. ``None`` while either is
        still unknown (waiting for a slot, or still rendering here)."""
        if self.deadline is None:
            return None
        if self.render_done_mono is None:
            return None if self.rendering else self.deadline
        return max(self.deadline, self.render_done_mono)

    def finished_wall(self) -> datetime | None:
        if self.finished_mono is None:
            return None
        return self.created_wall + timedelta(seconds=self.finished_mono - self.created_mono)


# What a job's row keeps as it was at submit; with its times, enough to show it and render it again.
_FACTS = ("body", "model", "prompt", "length_ms", "output_format", "force_instrumental",
          "music_text", "tags", "first_variation", "cost", "run_seconds", "file_names",
          "track_ids", "webhook_url", "webhook_events", "forced_failure", "lineage", "titles")
_TUPLE_FACTS = ("file_names", "track_ids", "webhook_events", "titles")
# Facts newer than some stored rows, with the value an older row means.
_LATER_FACTS: dict[str, Any] = {"lineage": None, "titles": ()}


class SandboxState:
    """Accounts, jobs and idempotency records of one sandbox server; every method is thread-safe.

    Each API key is its own account with ``credits`` to start with; jobs are visible only to
    the key that created them. Each account runs at most ``max_concurrent_jobs`` jobs at once;
    ``over_limit`` says what a submit over that limit gets (see the module docstring).
    ``state_path`` keeps credits, jobs and idempotency records in that file for later
    processes (``None``: in memory); :attr:`notice` is one line to show when the file could
    not be used as it was (moved aside, or kept in memory), else ``None``.
    """

    def __init__(
        self,
        *,
        job_seconds: float,
        credits: int,
        api_keys: Iterable[str] | None,
        files_dir: Path,
        renderer: Renderer | None,
        faults: Faults,
        audio_url: Callable[[str], str],
        image_url: Callable[[str], str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        max_concurrent_jobs: int = MAX_CONCURRENT_JOBS,
        over_limit: OverLimit = "queue",
        state_path: str | os.PathLike[str] | None = None,
    ) -> None:
        check_limits(max_concurrent_jobs, over_limit)
        self.job_seconds = float(job_seconds)
        self.max_concurrent_jobs = max_concurrent_jobs
        self.over_limit: OverLimit = over_limit
        self.initial_credits = int(credits)
        self.api_keys = frozenset(api_keys) if api_keys is not None else None
        self.files_dir = files_dir
        self.renderer: Renderer = renderer or default_renderer
        self.faults = faults
        self.audio_url = audio_url
        self.image_url = image_url or (lambda name: audio_url(name).replace("/audio/", "/images/"))
        self.clock = clock
        self._lock = threading.Condition()
        self._jobs: dict[str, _Job] = {}
        self._jobs_created = 0
        # This clock's reading at one wall-clock instant: how stored times become clock times.
        self._anchor = (clock(), time.time())
        self._store = SandboxStore(state_path)
        self.notice: str | None = self._store.notice
        self._synced_rev = 0
        self._on_demand = threading.Lock()
        self._closed = threading.Event()
        # Two workers: enough to overlap jobs without starving the request threads of CPU.
        self._render_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="sandbox-render")
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    # -- accounts -----------------------------------------------------------------------------

    def key_is_valid(self, api_key: str) -> bool:
        if self.api_keys is not None:
            return api_key in self.api_keys
        return api_key.startswith("afk_") and len(api_key) > len("afk_")

    def credits_for(self, api_key: str) -> int:
        with self._lock:
            self._advance(self.clock())
            return self._balance(account_of(api_key))

    def set_credits(self, credits: int, api_key: str | None = None) -> None:
        """Set one account's balance, or (``api_key=None``) every account's and the starting
        balance of accounts not seen yet. Refunds of jobs still running add to the new balance."""
        with self._lock, self._store.transaction():
            self._advance(self.clock())
            if api_key is not None:
                self._store.set_credits(account_of(api_key), credits)
                return
            self.initial_credits = credits
            self._store.set_every_balance(credits)

    def _balance(self, account: str) -> int:
        stored = self._store.credits(account)
        return self.initial_credits if stored is None else stored

    @property
    def jobs_created(self) -> int:
        with self._lock:
            return self._jobs_created

    def limits(self) -> dict[str, Any]:
        """``{"maxConcurrentJobs": N, "overLimit": "queue" | "reject"}``."""
        with self._lock:
            return {"maxConcurrentJobs": self.max_concurrent_jobs, "overLimit": self.over_limit}

    def set_limits(self, max_concurrent_jobs: int | None = None,
                   over_limit: OverLimit | None = None) -> None:
        """Change the limit or what a submit over it gets (``None`` keeps the current one).

        Jobs already running keep running under a lower limit (new ones wait or are refused
        until enough end); under a higher one, waiting jobs start at once.
        """
        with self._lock:
            limit = self.max_concurrent_jobs if max_concurrent_jobs is None else max_concurrent_jobs
            mode = self.over_limit if over_limit is None else over_limit
            check_limits(limit, mode)
            now = self.clock()
            # Slots that freed before now went by the old limit.
            self._advance(now)
            self.max_concurrent_jobs, self.over_limit = limit, mode
            self._advance(now)

    def me(self, api_key: str) -> dict[str, Any]:
        account = account_of(api_key)
        with self._lock:
            now = self.clock()
            self._advance(now)
            credits = self._balance(account)
            running, waiting = self._load(account)
            limit = self.max_concurrent_jobs
        # Stable UUIDs per key (the SDK's types say the ids are UUIDs); a hash, so no key leaks.
        def stable_id(kind: str) -> str:
            return str(uuid.uuid5(uuid.NAMESPACE_URL, f"apiframe-sandbox:{kind}:{api_key}"))

        return {
            # OWNER: a one-user team's only member, so `scope=team` is allowed.
            "user": {"id": stable_id("user"), "email": "sandbox@example.invalid",
                     "role": "OWNER", "name": "Sandbox user"},
            "team": {"id": stable_id("team"), "name": "Sandbox", "credits": credits,
                     "plan": "sandbox", "customerId": None,
                     "maxConcurrentJobs": limit, "runningJobs": len(running),
                     "queuedJobs": len(waiting)},
            "apiKey": {"id": stable_id("key"), "name": "Sandbox key",
                       "prefix": _key_prefix(api_key)},
        }

    # -- submit -------------------------------------------------------------------------------

    def submit(self, api_key: str, body: dict[str, Any], idempotency_key: str | None) -> Reply:
        """Create a job for a validated body, or replay the one made under ``idempotency_key``."""
        model = str(body["model"])
        spec = MODELS[model]
        params: dict[str, Any] = dict(body.get(spec.params_key) or {})
        prompt = str(body["prompt"])
        length_ms = track_length_ms(spec, prompt, params)
        audio_format = spec.audio_format(params)
        text = music_text(spec, prompt, params)
        facts: dict[str, Any] = {
            "model": model, "prompt": prompt, "length_ms": length_ms,
            "output_format": audio_format.name,
            "force_instrumental": is_instrumental(spec, params), "music_text": text,
            "tags": str(params.get("style") or _style_tags(text)),
            "cost": spec.charge(params, length_ms),
        }
        with self._lock, self._store.transaction():
            now = self.clock()
            # Under the file's write lock: every process's jobs, balances and keys are in.
            self._advance(now)
            account = account_of(api_key)
            replay = self._replay(account, idempotency_key, fingerprint(body), now)
            if replay is not None:
                return replay
            return self._open_job(api_key, body, idempotency_key, now, facts,
                                  takes=spec.track_count(params),
                                  extension=audio_format.extension,
                                  variation=lambda job_id: first_variation(spec, params, job_id))

    def submit_action(self, api_key: str, body: dict[str, Any],
                      idempotency_key: str | None) -> Reply:
        """``POST /v2/music/suno/action`` for a body the catalog's
        :func:`~apiframe_magic.catalog.validate_action_body` passed: ``404`` for an unknown
        parent (or another key's), ``409`` when the action is not available for it (a stems
        result, not ``COMPLETED``, another model), ``400`` for a ``trackId`` it does not have or a
        ``continueAt`` not inside the track, ``402`` short of the action's credits
        (:attr:`~apiframe_magic.catalog.ActionSpec.credits`); else a job whose tracks are made
        from the parent's track (see :mod:`._actions`)."""
        from ..catalog import get_action

        action = str(body["action"])
        credits = get_action(action).credits
        with self._lock, self._store.transaction():
            now = self.clock()
            self._advance(now)
            account = account_of(api_key)
            # The route is part of the print: a key used for a generate first is a 409 here.
            replay = self._replay(account, idempotency_key,
                                  fingerprint({"suno/action": body}), now)
            if replay is not None:
                return replay
            parent = self._jobs.get(str(body["parentJobId"]).lower())
            if parent is None or parent.account != account:
                return error(404, "Parent job not found")
            status = self._status(parent, now)[0]
            if parent.model != "suno":
                return error(409, f"Action {action} is not available: the parent job is a "
                                  f"{parent.model} job, not a suno job")
            if parent.is_stems:
                return error(409, f"Action {action} is not available: the parent job is a "
                                  "stems result")
            if status != "COMPLETED":
                return error(409, f"Action {action} is not available: the parent job is "
                                  f"{status}, not COMPLETED")
            if "trackId" in body:
                if body["trackId"] not in parent.track_ids:
                    return validation_error({"trackId": ["is not a track of the parent job"]})
                take = parent.track_ids.index(body["trackId"])
            else:
                take = int(body.get("index", 1)) - 1
                if take >= len(parent.track_ids):
                    return validation_error({"index": ["the parent job has no such track"]})
            duration = parent.length_ms / 1000
            at = body.get("continueAt")
            if at is not None and not at < duration:
                return validation_error({"continueAt": [
                    f"must be less than the track's duration ({duration:g} s)"]})
            step = {k: body[k] for k in ("action", "continueAt", "prompt", "style",
                                         "audio_weight") if k in body}
            lineage = parent.lineage_of(take)
            lineage["steps"].append(step)
            if action == "stems":
                titles: tuple[str, ...] = ("vocals", "instrumental")
            else:
                titles = (str(body.get("title") or parent.title_of(take)),) * 2
            facts: dict[str, Any] = {
                "model": "suno", "prompt": parent.prompt, "length_ms": parent.length_ms,
                "output_format": parent.output_format,
                "force_instrumental": parent.force_instrumental,
                "music_text": parent.music_text,
                "tags": str(body.get("style") or parent.tags), "cost": credits,
                "lineage": lineage, "titles": titles,
            }
            return self._open_job(api_key, body, idempotency_key, now, facts, takes=2,
                                  extension=parent.file_names[0].rpartition(".")[2],
                                  variation=lambda job_id: parent.first_variation,
                                  print_=fingerprint({"suno/action": body}))

    def _replay(self, account: str, idempotency_key: str | None, print_: str,
                now: float) -> Reply | None:
        """The answer for an ``Idempotency-Key`` already used (the same job, or ``409`` for
        another body), else ``None``. Call under the lock and the store's transaction."""
        if idempotency_key is None:
            return None
        self._store.forget_before(self._wall(now) - IDEMPOTENCY_TTL_SECONDS)
        record = self._store.recall(account, idempotency_key)
        known = None if record is None else self._jobs.get(record[1])
        if record is None or known is None:
            return None
        if record[0] != print_:
            return error(409, "Idempotency-Key was already used with a different request body")
        return Reply(202, {"jobId": known.id, "status": self._status(known, now)[0]})

    def _open_job(self, api_key: str, body: dict[str, Any], idempotency_key: str | None,
                  now: float, facts: dict[str, Any], *, takes: int, extension: str,
                  variation: Callable[[str], int], print_: str | None = None) -> Reply:
        """Charge ``facts["cost"]`` and create the job (``402`` when short, ``429`` over the
        limit with ``over_limit="reject"``). Call under the lock and the store's transaction."""
        account = account_of(api_key)
        cost = int(facts["cost"])
        available = self._balance(account)
        if available < cost:
            return error(402, "Insufficient credits", creditsRequired=cost,
                         creditsAvailable=available)
        running, waiting = self._load(account)
        has_slot = not waiting and len(running) < self.max_concurrent_jobs
        if not has_slot and self.over_limit == "reject":
            return self._too_many(running, waiting, now)
        self._store.set_credits(account, available - cost)
        fail = self.faults.take(("fail_job",), None)
        slow = self.faults.take(("slow_job",), None)
        run_seconds = self.job_seconds
        if slow is not None:
            run_seconds = slow.seconds if slow.seconds is not None else DEFAULT_SLOW_SECONDS
        job_id = str(uuid.uuid4())
        events = body.get("webhookEvents")
        job = _Job(
            id=job_id,
            seq=0,
            api_key=api_key,
            account=account,
            body=json.loads(json.dumps(body)),
            first_variation=variation(job_id),
            created_wall=datetime.fromtimestamp(self._wall(now), timezone.utc),
            created_mono=now,
            run_seconds=run_seconds,
            file_names=tuple(f"{job_id}-{n}.{extension}" for n in range(takes)),
            track_ids=tuple("track_" + uuid.uuid4().hex[:12] for _ in range(takes)),
            webhook_url=body.get("webhookUrl"),
            webhook_events=tuple(events) if events else WEBHOOK_EVENTS,
            forced_failure=None if fail is None else (fail.message or DEFAULT_FAIL_MESSAGE),
            webhook_status="pending" if body.get("webhookUrl") else None,
            started_mono=now if has_slot else None,
            **facts,
        )
        if job.forced_failure is not None:
            job.render_done_mono = now
            job.render_error = job.forced_failure
        else:
            job.rendering = True
        job.seq = self._store.add_job(self._stored(job))
        if idempotency_key is not None:
            self._store.remember(account, idempotency_key,
                                 print_ if print_ is not None else fingerprint(body), job_id,
                                 self._wall(now))
        self._jobs[job_id] = job
        self._jobs_created += 1
        if job.rendering:
            self._render_pool.submit(self._render, job)
        if job.webhook_url:
            threading.Thread(target=self._webhook_thread, args=(job,),
                             name=f"sandbox-webhook-{job_id[:8]}", daemon=True).start()
        return Reply(202, {"jobId": job_id, "status": "QUEUED"})

    def _too_many(self, running: list[_Job], waiting: list[_Job], now: float) -> Reply:
        """The 429 for a submit over the limit: retry once the earliest running job should end."""
        # A job still rendering is expected at its deadline; one rendered, at its known end.
        ends = [end if (end := j.finish_time()) is not None else j.deadline for j in running]
        soonest = min((end for end in ends if end is not None), default=now)
        wait = max(1, math.ceil(soonest - now))
        return Reply(
            429,
            {"error": "Too many concurrent jobs", "maxConcurrentJobs": self.max_concurrent_jobs,
             "runningJobs": len(running) + len(waiting)},
            {"Retry-After": str(wait)},
        )

    # -- the store ----------------------------------------------------------------------------

    def _wall(self, mono: float) -> float:
        """A time of this server's clock as wall-clock seconds (what the store keeps)."""
        return self._anchor[1] + (mono - self._anchor[0])

    def _mono(self, wall: float) -> float:
        return self._anchor[0] + (wall - self._anchor[1])

    def _stored(self, job: _Job) -> StoredJob:
        """The job as its row holds it (``seq`` comes from the store)."""
        def wall(mono: float | None) -> float | None:
            return None if mono is None else self._wall(mono)

        return StoredJob(
            seq=job.seq, id=job.id, account=job.account, created=job.created_wall.timestamp(),
            facts={name: getattr(job, name) for name in _FACTS},
            started=wall(job.started_mono), render_done=wall(job.render_done_mono),
            render_error=job.render_error, final_status=job.final_status,
            finished=wall(job.finished_mono), webhook_status=job.webhook_status)

    def _sync(self) -> None:
        """Take in the jobs written since the last look: other processes' new jobs, and what
        they recorded of any job (its slot, its end, its webhooks). Rows this process wrote
        itself change nothing. A row that cannot be read is left out."""
        rows = self._store.jobs_since(self._synced_rev)
        for row in rows:
            self._synced_rev = max(self._synced_rev, row.rev)
            job = self._jobs.get(row.id)
            if job is None:
                try:
                    job = self._job_from(row)
                except (KeyError, TypeError, ValueError):
                    continue
                self._jobs[row.id] = job
            self._take_in(job, row)
        if rows:
            self._lock.notify_all()

    def _job_from(self, row: StoredJob) -> _Job:
        facts = {name: row.facts[name] if name not in _LATER_FACTS
                 else row.facts.get(name, _LATER_FACTS[name]) for name in _FACTS}
        for name in _TUPLE_FACTS:
            facts[name] = tuple(facts[name])
        return _Job(id=row.id, seq=row.seq, api_key="", account=row.account,
                    created_wall=datetime.fromtimestamp(row.created, timezone.utc),
                    created_mono=self._mono(row.created), **facts)

    def _take_in(self, job: _Job, row: StoredJob) -> None:
        """What the row knows and this process did not (or knew otherwise: the first process to
        record a job's end decides it)."""
        if job.started_mono is None and row.started is not None:
            job.started_mono = self._mono(row.started)
        if not job.rendering and job.render_done_mono is None and row.render_done is not None:
            job.render_done_mono = self._mono(row.render_done)
            job.render_error = row.render_error
        if row.final_status is not None and row.finished is not None and (
                job.final_status != row.final_status):
            job.final_status = row.final_status
            job.finished_mono = self._mono(row.finished)
        job.webhook_status = row.webhook_status

    # -- rendering ----------------------------------------------------------------------------

    def _render(self, job: _Job) -> None:
        if self._closed.is_set():
            return
        problem: str | None = None
        try:
            for take in range(len(job.file_names)):
                if self._closed.is_set():
                    return
                self._write_take(job, take)
        except Exception as exc:  # a renderer bug must fail the job, not hang it
            problem = f"Provider returned an error: audio rendering failed ({type(exc).__name__})"
        with self._lock:
            if self._closed.is_set():
                # Stopped mid-render (its folder may be gone): the job did not fail, this
                # process merely left; a later one renders it again.
                return
            job.render_done_mono = self.clock()
            job.render_error = problem
            job.rendering = False
            self._store.rendered(job.id, self._wall(job.render_done_mono), problem)
            self._lock.notify_all()

    def _write_take(self, job: _Job, take: int) -> Path:
        """Render one take into :attr:`files_dir`: from the job's stored facts alone, so any
        process makes the same bytes. Written under a name of its own, then moved into place."""
        if job.lineage is not None:
            from ._actions import render_lineage

            audio = render_lineage(job.lineage, take, job.output_format)
        else:
            audio = self.renderer(job.music_text, length_ms=job.length_ms,
                                  output_format=job.output_format,
                                  force_instrumental=job.force_instrumental,
                                  variation=job.first_variation + take)
        target = self.files_dir / job.file_names[take]
        partial = target.with_name(f"{target.name}.{uuid.uuid4().hex[:8]}.part")
        partial.write_bytes(audio)
        partial.replace(target)
        return target

    # -- reading jobs -------------------------------------------------------------------------

    def _load(self, account: str) -> tuple[list[_Job], list[_Job]]:
        """The account's unfinished jobs: those holding a slot, and those waiting for one."""
        mine = sorted((j for j in self._jobs.values()
                       if j.account == account and j.final_status is None), key=lambda j: j.seq)
        return ([j for j in mine if j.started_mono is not None],
                [j for j in mine if j.started_mono is None])

    def _finish(self, job: _Job, when: float) -> None:
        """Make a job terminal at ``when``; a failed one gets its credits back. When another
        process recorded its end first, that end stands (and that process refunded it)."""
        status = "FAILED" if job.render_error is not None else "COMPLETED"
        with self._store.transaction():
            if self._store.finish_job(job.id, status, self._wall(when)):
                job.final_status, job.finished_mono = status, when
                if status == "FAILED":
                    self._store.add_credits(job.account, job.cost, starting=self.initial_credits)
            elif (row := self._store.job(job.id)) is not None:
                self._take_in(job, row)
        self._lock.notify_all()

    def _advance(self, now: float) -> None:
        """Bring every job up to ``now``: end those whose time has come and hand each freed slot
        to the account's oldest waiting job, starting it the instant the slot freed.

        Ends are replayed in time order, per account, so a job started from the queue that has
        itself ended by ``now`` frees its slot in turn. Call it (under the lock) before reading
        a job's status.
        """
        self._sync()
        accounts: dict[str, list[_Job]] = {}
        # Creation order, so each queue is oldest first.
        for job in sorted((j for j in self._jobs.values() if j.final_status is None),
                          key=lambda j: j.seq):
            accounts.setdefault(job.account, []).append(job)
        for jobs in accounts.values():
            running = [j for j in jobs if j.started_mono is not None]
            waiting = deque(j for j in jobs if j.started_mono is None)
            ends: list[tuple[float, int, _Job]] = []
            for job in running:
                self._schedule_end(job, ends, now)
            # Free slots with jobs waiting: only right after the limit was raised.
            self._fill_slots(running, waiting, ends, now, now)
            while ends:
                end, _, job = heapq.heappop(ends)
                self._finish(job, end)
                running.remove(job)
                self._fill_slots(running, waiting, ends, end, now)

    def _fill_slots(self, running: list[_Job], waiting: deque[_Job],
                    ends: list[tuple[float, int, _Job]], at: float, now: float) -> None:
        """Start waiting jobs at ``at`` while the account has free slots."""
        while waiting and len(running) < self.max_concurrent_jobs:
            job = waiting.popleft()
            job.started_mono = at
            if not self._store.start_job(job.id, self._wall(at)):
                row = self._store.job(job.id)
                if row is not None and row.started is not None:
                    job.started_mono = self._mono(row.started)
            running.append(job)
            self._schedule_end(job, ends, now)
            self._lock.notify_all()

    @staticmethod
    def _schedule_end(job: _Job, ends: list[tuple[float, int, _Job]], now: float) -> None:
        end = job.finish_time()
        if end is not None and end <= now:
            heapq.heappush(ends, (end, job.seq, job))

    def _status(self, job: _Job, now: float) -> tuple[str, int | None]:
        """Status and progress at ``now``; :meth:`_advance` must have run up to ``now``."""
        if job.final_status == "COMPLETED":
            return "COMPLETED", 100
        if job.final_status is not None:
            return job.final_status, None
        if job.started_mono is None:
            return "QUEUED", 0
        elapsed = now - job.started_mono
        queued = job.run_seconds * QUEUED_FRACTION
        if elapsed < queued:
            return "QUEUED", 0
        span = job.run_seconds - queued
        progress = int(100 * (elapsed - queued) / span) if span > 0 else 99
        return "PROCESSING", max(0, min(99, progress))

    def _job_json(self, job: _Job, now: float) -> dict[str, Any]:
        status, progress = self._status(job, now)
        finished = job.finished_wall()
        result: dict[str, Any] | None = None
        if status == "COMPLETED":
            result = {"tracks": [self._track_json(job, n) for n in range(len(job.file_names))]}
        return {
            "id": job.id,
            "status": status,
            "model": job.model,
            "progress": progress,
            "result": result,
            "error": job.render_error if status == "FAILED" else None,
            "creditCost": 0 if status == "FAILED" else job.cost,
            "webhookStatus": job.webhook_status,
            "createdAt": iso(job.created_wall),
            "completedAt": iso(finished) if finished is not None else None,
            # Required in a list by the SDK's types, optional on one job; files never expire here.
            "expired": False,
            "input": job.body,
        }

    def _track_json(self, job: _Job, take: int) -> dict[str, Any]:
        """One entry of ``result.tracks``. Suno and Udio fill title, tags and a cover image, as the
        contract documents; the other models leave them null."""
        decorated = job.model in ("suno", "udio") and not job.is_stems
        return {
            "id": job.track_ids[take],
            "audioUrl": self.audio_url(job.file_names[take]),
            "imageUrl": self.image_url(f"{job.id}-{take}.svg") if decorated else None,
            # Stems are plain tracks, named by title: "vocals", "instrumental".
            "title": job.title_of(take) if decorated or job.is_stems else None,
            "tags": job.tags if decorated else None,
            "duration": job.length_ms / 1000,
        }

    def get_job(self, api_key: str, job_id: str) -> dict[str, Any] | None:
        """The job as ``GET /v2/jobs/{id}`` shows it, or ``None`` if unknown or not this key's."""
        with self._lock:
            now = self.clock()
            self._advance(now)
            job = self._jobs.get(job_id)
            if job is None or job.account != account_of(api_key):
                return None
            return self._job_json(job, now)

    def list_jobs(self, api_key: str, query: Mapping[str, list[str]]) -> Reply:
        """``GET /v2/jobs``: newest first, this key's jobs only, filtered and paginated.

        Query parameters as in the official SDK's OpenAPI types: ``status``, ``model``,
        ``limit`` (1 to 100, default 20), ``cursor``; ``scope`` (``user``, the default, or
        ``team``: the same jobs here, where every team has one member); ``search`` (a job id,
        a UUID: that job only); ``include_models``: ``true`` or ``false`` as the SDK's types
        have it (``true`` adds ``models``, the ids of every model this scope's jobs used,
        whatever the filters), or a comma-separated list of model ids, which lists only jobs of
        those models. Anything else out of range is a 400.
        """
        details: dict[str, list[str]] = {}
        status = _single(query, "status")
        model = _single(query, "model")
        raw_limit = _single(query, "limit")
        raw_cursor = _single(query, "cursor")
        scope = _single(query, "scope")
        search = _single(query, "search")
        include_models = _single(query, "include_models")
        if status is not None and status.upper() not in JOB_STATUSES:
            details["status"] = ["must be one of " + ", ".join(JOB_STATUSES)]
        if scope is not None and scope not in JOB_SCOPES:
            details["scope"] = ["must be one of " + ", ".join(JOB_SCOPES)]
        if search is not None and not _UUID.fullmatch(search):
            details["search"] = ["must be a job id (a UUID)"]
        only_models: frozenset[str] | None = None
        if include_models is not None and include_models not in ("true", "false"):
            only_models = frozenset(m.strip() for m in include_models.split(",") if m.strip())
            if not only_models or not only_models <= set(MODELS):
                details["include_models"] = [
                    "must be true, false, or a comma-separated list of " + ", ".join(MODELS)
                ]
        limit = 20
        if raw_limit is not None:
            try:
                limit = int(raw_limit)
            except ValueError:
                limit = 0
            if not 1 <= limit <= 100:
                details["limit"] = ["must be an integer between 1 and 100"]
        before: int | None = None
        if raw_cursor:
            before = _decode_cursor(raw_cursor)
            if before is None:
                details["cursor"] = ["is not a valid cursor"]
        if details:
            return validation_error(details)
        with self._lock:
            now = self.clock()
            self._advance(now)
            account = account_of(api_key)
            mine = sorted((j for j in self._jobs.values() if j.account == account),
                          key=lambda j: j.seq, reverse=True)
            page: list[dict[str, Any]] = []
            has_more = False
            last_seq = 0
            for job in mine:
                if before is not None and job.seq >= before:
                    continue
                if model is not None and job.model != model:
                    continue
                if only_models is not None and job.model not in only_models:
                    continue
                if search is not None and job.id != search.lower():
                    continue
                shown = self._job_json(job, now)
                if status is not None and shown["status"] != status.upper():
                    continue
                if len(page) == limit:
                    has_more = True
                    break
                page.append(shown)
                last_seq = job.seq
            used = sorted({job.model for job in mine})
        next_cursor = _encode_cursor(last_seq) if has_more else None
        answer: dict[str, Any] = {"jobs": page, "nextCursor": next_cursor, "hasMore": has_more}
        if include_models == "true":
            answer["models"] = used
        return Reply(200, answer)

    def audio_file(self, name: str) -> Path | None:
        """The rendered file called ``name``, if it is a take of a job this server knows.

        A completed job's take not rendered here (the job came from another process, or its
        file was removed) is rendered now, once, from the job's request and seed."""
        with self._lock:
            self._advance(self.clock())
            job = self._jobs.get(name.rpartition("-")[0])
            if job is None or name not in job.file_names:
                return None
            completed = job.final_status == "COMPLETED"
        path = self.files_dir / name
        if path.is_file() or not completed:
            return path if path.is_file() else None
        with self._on_demand:
            return path if path.is_file() else self._write_take(job, job.file_names.index(name))

    def cover_image(self, name: str) -> bytes | None:
        """A cover picture (SVG) for a Suno or Udio track called ``<job>-<n>.svg``, if one exists."""
        job_id, _, rest = name.rpartition("-")
        with self._lock:
            self._advance(self.clock())
            job = self._jobs.get(job_id)
            if (job is None or job.model not in ("suno", "udio") or job.is_stems
                    or job.final_status != "COMPLETED"):
                return None
            take = rest.removesuffix(".svg")
            if not take.isdigit() or int(take) >= len(job.file_names):
                return None
            title = job.title_of(int(take))
        return _cover_svg(f"{job.id}-{take}", str(title), job.tags)

    # -- webhooks -----------------------------------------------------------------------------

    def _wait_for_slot(self, job: _Job) -> float | None:
        """When ``job`` got its slot (waiting for that as long as it takes), or ``None`` once
        the server closes first."""
        with self._lock:
            while True:
                self._advance(self.clock())
                if job.started_mono is not None:
                    return job.started_mono
                if self._closed.is_set():
                    return None
                # Slots free when a deadline passes, which nothing announces: look again soon.
                self._lock.wait(timeout=0.1)

    def _webhook_thread(self, job: _Job) -> None:
        # A state file failing mid-way ends the deliveries; requests report it as a 503.
        with contextlib.suppress(StoreUnavailable):
            self._deliver_webhooks(job)

    def _deliver_webhooks(self, job: _Job) -> None:
        attempts: list[bool] = []
        started = self._wait_for_slot(job)
        if started is None:
            return
        if "progress" in job.webhook_events:
            for fraction in PROGRESS_WEBHOOK_FRACTIONS:
                at = started + job.run_seconds * fraction
                if self._closed.wait(max(0.0, at - self.clock())):
                    return
                with self._lock:
                    now = self.clock()
                    self._advance(now)
                    status, progress = self._status(job, now)
                if status != "PROCESSING":
                    break
                attempts.append(self._post_webhook(job, "progress", {
                    "event": "progress", "jobId": job.id, "status": status,
                    "progress": progress, "model": job.model,
                }))
        with self._lock:
            while True:
                now = self.clock()
                self._advance(now)
                if job.final_status is not None or self._closed.is_set():
                    break
                left = 0.25 if job.deadline is None else job.deadline - now
                self._lock.wait(timeout=max(0.01, min(0.25, left)))
            if job.final_status is None:
                return
            shown = self._job_json(job, self.clock())
        event = "completed" if shown["status"] == "COMPLETED" else "failed"
        if event in job.webhook_events:
            payload: dict[str, Any]
            if event == "completed":
                payload = {"event": "completed", "jobId": job.id, "status": "COMPLETED",
                           "progress": 100, "result": shown["result"], "model": job.model,
                           "creditCost": shown["creditCost"], "completedAt": shown["completedAt"]}
            else:
                payload = {"event": "failed", "jobId": job.id, "status": "FAILED",
                           "error": shown["error"], "model": job.model}
            attempts.append(self._post_webhook(job, event, payload))
        with self._lock:
            if not attempts:
                job.webhook_status = None
            else:
                job.webhook_status = "delivered" if all(attempts) else "failed"
            self._store.set_webhook_status(job.id, job.webhook_status)

    def _post_webhook(self, job: _Job, event: str, payload: dict[str, Any]) -> bool:
        assert job.webhook_url is not None
        body = json.dumps(payload).encode()
        request = urllib.request.Request(job.webhook_url, data=body, method="POST", headers={
            "Content-Type": "application/json",
            "User-Agent": "apiframe-sandbox-webhooks/1",
            "X-Webhook-Event": event,
            "X-Webhook-Signature": "sha256=" + sign_webhook(job.api_key, body),
        })
        try:
            with self._opener.open(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as response:
                return 200 <= int(response.status) < 300
        except (urllib.error.URLError, OSError, ValueError):
            return False

    def close(self) -> None:
        self._closed.set()
        # The store stays open: a stopped server's balances and jobs can still be read, and a
        # render finishing after the stop is still recorded for the next process.
        with self._lock:
            self._lock.notify_all()
        self._render_pool.shutdown(wait=False, cancel_futures=True)


def _style_tags(text: str) -> str:
    """The style the composer hears in ``text``, as a track's tags (``"lo-fi hip hop"``)."""
    from ._compose import plan_music

    return plan_music(text, length_ms=MIN_LENGTH_MS).style_label


def _cover_svg(seed: str, title: str, tags: str) -> bytes:
    """A small cover picture: a two-colour gradient picked by ``seed``, with the title and tags."""
    digest = hashlib.sha256(seed.encode()).digest()
    hue_a, hue_b = digest[0] * 360 // 256, digest[1] * 360 // 256
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="256" height="256" viewBox="0 0 256 256">'
        '<defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1">'
        f'<stop offset="0" stop-color="hsl({hue_a},70%,45%)"/>'
        f'<stop offset="1" stop-color="hsl({hue_b},70%,25%)"/></linearGradient></defs>'
        '<rect width="256" height="256" fill="url(#g)"/>'
        '<text x="16" y="200" font-family="sans-serif" font-size="18" fill="#fff">'
        f"{html.escape(title[:28])}</text>"
        '<text x="16" y="226" font-family="sans-serif" font-size="12" fill="#ddd">'
        f"{html.escape(tags[:40])}</text></svg>"
    )
    return svg.encode()


def _key_prefix(api_key: str) -> str:
    """Enough of the key to recognise it, never all of it."""
    return api_key[:8] if len(api_key) >= 16 else api_key[:4]


def _single(query: Mapping[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[-1] if values else None


def _encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"seq:{seq}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int | None:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    if not text.startswith("seq:") or not text[4:].isdigit():
        return None
    return int(text[4:])

