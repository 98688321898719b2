"""Suno actions through the one job path (:func:`generate`, :func:`resume`, a batch) against the
sandbox: checked before a credit is spent, recorded with their lineage, answered again from the
ledger at no cost; an extension's whole song joined here with no step at the join; stems named."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from apiframe_magic._exceptions import DownloadError, RequestValidationError
from apiframe_magic.analysis._measure import decode
from apiframe_magic.client import (
    AddVocalsRequest,
    AsyncApiframeClient,
    CoverRequest,
    ExtendRequest,
    MusicRequest,
    StemsRequest,
)
from apiframe_magic.jobs import Batch, BatchItem, MusicResult, generate, resume, submit
from apiframe_magic.jobs._actions import join_whole_song
from apiframe_magic.ledger import Ledger, lineage_tree
from apiframe_magic.sandbox import SandboxServer
from tests.conftest import CANARY_KEY

FAST: dict[str, Any] = {"poll_interval": 0.05, "max_poll_interval": 0.2}
SONG = MusicRequest("a calm piano song with a sung melody, 20 seconds", model="suno")


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    with SandboxServer(job_seconds=0.3) as running:
        yield running


def client_of(server: SandboxServer) -> AsyncApiframeClient:
    return AsyncApiframeClient(CANARY_KEY, server.url, **FAST)


def run(server: SandboxServer, request: Any, folder: Path, **kw: Any) -> MusicResult:
    with Ledger.open(folder / "ledger.sqlite") as ledger:
        return asyncio.run(generate(client_of(server), request, backend="sandbox", output_dir=folder,
                                    ledger=ledger, **kw))


def action_posts(server: SandboxServer) -> int:
    return sum(1 for r in server.recorded_requests()
               if r.method == "POST" and r.path == "/v2/music/suno/action")


def test_an_extension_gives_the_whole_song_joined_with_no_step(server: SandboxServer, tmp_path: Path) -> None:
    parent = run(server, SONG, tmp_path)
    longer = run(server, ExtendRequest(parent.job_id, continue_at=10.0), tmp_path)
    assert longer.action == "extend" and longer.parent_job_id == parent.job_id
    assert longer.lineage == "extension of a calm piano song with a … at 0:10"
    whole = longer.whole_song()
    assert whole.parent == longer.path.parent and whole.suffix == ".wav"
    sidecar = json.loads(whole.with_name(whole.name + ".json").read_text())["wholeSong"]
    assert sidecar["continueAt"] == 10.0 and sidecar["parent"]["jobId"] == parent.job_id
    samples, rate = decode(whole)
    head, _ = decode(parent.path)
    tail, _ = decode(longer.path)
    join = round(10.0 * rate)
    assert samples.shape[0] == join + tail.shape[0]
    # Before the join, the parent's own samples (to 16-bit rounding); after it, the extension's.
    assert np.abs(samples[: join - 1000] - head[: join - 1000]).max() < 1e-3
    assert np.abs(samples[join + 1000:] - tail[1000:]).max() < 1e-3
    # No step at the join larger than the music's own steps around it.
    steps = np.abs(np.diff(samples, axis=0)).max(axis=1)
    around = np.concatenate([steps[join - rate: join - 50], steps[join + 300: join + rate]])
    assert steps[join - 50: join + 300].max() <= around.max()


def test_the_whole_song_keeps_the_parents_tempo_and_key(server: SandboxServer, tmp_path: Path) -> None:
    from apiframe_magic.analysis import extra_installed, measure

    if not extra_installed():
        pytest.skip("tempo and key need the analysis extra")
    # A key the prompt names, so that "the parent's key" is the piece's, not an estimate's guess;
    # an instrumental, so that the pitch content compared is the band's alone.
    parent = run(server, MusicRequest("a calm piano piece in G major, 20 seconds", model="suno",
                                      params={"instrumental": True}), tmp_path)
    longer = run(server, ExtendRequest(parent.job_id, continue_at=12.0), tmp_path)
    before, whole = measure(parent.path), measure(longer.whole_song())
    # The key is held by its pitch content: a key estimate names one of the few keys close to
    # it, and which one can change with a few more bars; the pitch classes' profile does not.
    from apiframe_magic.analysis._measure import _stft_magnitude, chroma, decode

    def profile(path: Path) -> np.ndarray:
        data, rate = decode(path)
        return chroma(_stft_magnitude(data.mean(axis=1)), rate)

    assert before.key is not None and whole.key is not None
    # Same key: of the parent's pitch profile in all twelve transpositions, the untransposed one
    # fits the whole song's well, and within 0.1 of the best. (A continuation whose new bars
    # dwell on the fifth or the fourth can fit a transposition by a fifth about as well: a
    # chroma profile cannot tell those keys apart; one a semitone or a tritone away it can.)
    mine, whole_profile = profile(parent.path), profile(longer.whole_song())
    fits = [float(np.corrcoef(np.roll(mine, shift), whole_profile)[0, 1]) for shift in range(12)]
    assert fits[0] > 0.5 and fits[0] >= max(fits) - 0.1, fits
    assert before.tempo_bpm is not None and whole.tempo_bpm == pytest.approx(before.tempo_bpm, rel=0.03)
    assert whole.duration_s == pytest.approx(12.0 + (longer.duration or 0), abs=0.05)


def test_the_join_finds_the_extension_when_a_decoder_delays_it(tmp_path: Path) -> None:
    import soundfile  # type: ignore[import-untyped, unused-ignore]

    rate = 8000
    t = np.arange(rate * 4) / rate
    music = 0.5 * np.sin(2 * np.pi * 220 * t) * (1 + 0.3 * np.sin(2 * np.pi * 0.7 * t))
    soundfile.write(tmp_path / "parent.wav", music[: rate * 3], rate)
    delayed = np.concatenate([np.zeros(300), music[rate * 2:]])  # 300 samples of decoder delay
    soundfile.write(tmp_path / "ext.wav", delayed, rate)
    whole, _ = decode(join_whole_song(tmp_path / "parent.wav", tmp_path / "ext.wav", 2.0))
    steps = np.abs(np.diff(whole[:, 0]))
    assert steps.max() <= np.abs(np.diff(music)).max() * 1.05


def test_running_an_action_again_is_answered_from_the_ledger(server: SandboxServer, tmp_path: Path) -> None:
    parent = run(server, SONG, tmp_path)
    first = run(server, ExtendRequest(parent.job_id, continue_at=8.0), tmp_path)
    again = run(server, ExtendRequest(parent.job_id, continue_at=8.0), tmp_path)
    elsewhere = run(server, ExtendRequest(parent.job_id, continue_at=9.0), tmp_path)
    assert again.from_ledger and again.credits == 0 and again.job_id == first.job_id
    assert again.whole_song() == first.whole_song() and again.lineage == first.lineage
    assert elsewhere.job_id != first.job_id  # another continueAt is another job
    assert action_posts(server) == 2
    fresh = run(server, ExtendRequest(parent.job_id, continue_at=8.0), tmp_path, fresh=True)
    assert fresh.job_id not in (first.job_id, elsewhere.job_id) and action_posts(server) == 3
    with Ledger.open(tmp_path / "ledger.sqlite") as ledger:
        record = ledger.get(first.job_id)
        tree = lineage_tree(ledger.history_rows(limit=None))
    assert record is not None
    assert (record.action, record.parent_job_id, record.parent_track, record.continue_at) == \
        ("extend", parent.job_id, 1, 8.0)
    assert tree.count("extend track 1 at 0:08") == 2 and tree.startswith("a calm piano song")


def test_stems_come_back_named_and_take_no_further_action(server: SandboxServer, tmp_path: Path) -> None:
    parent = run(server, SONG, tmp_path)
    parts = run(server, StemsRequest(parent.job_id, index=2), tmp_path)
    assert parts.vocals.name.endswith("-vocals.mp3") and parts.instrumental.name.endswith("-instrumental.mp3")
    assert parts.lineage == "stems of a calm piano song with a … (track 2)"
    posts = action_posts(server)
    with pytest.raises(RequestValidationError, match="a stems result takes no further action"):
        run(server, CoverRequest(parts.job_id), tmp_path)
    assert action_posts(server) == posts  # refused here: nothing sent, nothing charged


def test_an_extension_past_the_end_or_of_another_model_is_refused_before_sending(
    server: SandboxServer, tmp_path: Path
) -> None:
    parent = run(server, SONG, tmp_path)
    with pytest.raises(RequestValidationError, match=r"less than the track's length \(20 s\)"):
        run(server, ExtendRequest(parent.job_id, continue_at=20.0), tmp_path)
    other = run(server, MusicRequest("a short tune", music_length_ms=5000), tmp_path)
    with pytest.raises(RequestValidationError, match=r"this is a elevenlabs-music job"):
        run(server, AddVocalsRequest(other.job_id, "la la la"), tmp_path)
    assert action_posts(server) == 0


def test_an_interrupted_action_is_resumed_with_its_lineage(server: SandboxServer, tmp_path: Path) -> None:
    parent = run(server, SONG, tmp_path)
    with Ledger.open(tmp_path / "ledger.sqlite") as ledger:
        job_id = asyncio.run(submit(client_of(server), CoverRequest(parent.job_id, style="bossa nova"),
                                    backend="sandbox", output_dir=tmp_path, ledger=ledger))
        assert isinstance(job_id, str) and [r.job_id for r in ledger.pending()] == [job_id]
        cover = asyncio.run(resume(client_of(server), job_id, backend="sandbox", ledger=ledger))
        assert ledger.pending() == []
    assert cover.action == "cover" and cover.lineage == "cover of a calm piano song with a …"
    assert isinstance(cover.request, CoverRequest)


def test_a_batch_of_actions_extends_every_take(server: SandboxServer, tmp_path: Path) -> None:
    parents = [run(server, SONG, tmp_path, take=n) for n in (1, 2)]
    items = [BatchItem(f"take {n}", ExtendRequest(p.job_id, continue_at=5.0))
             for n, p in enumerate(parents, 1)]
    with Ledger.open(tmp_path / "ledger.sqlite") as ledger:
        batch = Batch(items)
        asyncio.run(batch.run(client_of(server), backend="sandbox", output_dir=tmp_path, ledger=ledger))
    assert [r.parent_job_id for r in batch] == [p.job_id for p in parents]
    assert all(r.whole_song().is_file() for r in batch)


class PurgingTransport(httpx.AsyncBaseTransport):
    """Real HTTP to the sandbox, except that the jobs named in ``purged`` read ``expired: true``,
    as the service reports a job whose files it has purged (the sandbox never purges)."""

    def __init__(self, purged: set[str]) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.purged = purged

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        job_id = request.url.path.rsplit("/", 1)[-1]
        if request.method == "GET" and request.url.path.startswith("/v2/jobs/") and job_id in self.purged:
            body = json.loads(await response.aread())
            body["expired"] = True
            return httpx.Response(response.status_code, json=body)
        return response


def test_a_purged_job_says_so_in_one_line_and_names_the_local_copy(
    server: SandboxServer, tmp_path: Path
) -> None:
    song = run(server, SONG, tmp_path)

    async def resume_purged(ledger: Ledger, **where: Any) -> MusicResult:
        purging = AsyncApiframeClient(CANARY_KEY, server.url, transport=PurgingTransport({song.job_id}),
                                      **FAST)
        return await resume(purging, song.job_id, backend="sandbox", ledger=ledger, **where)

    with Ledger.open(tmp_path / "ledger.sqlite") as ledger:
        with pytest.raises(DownloadError) as kept:
            asyncio.run(resume_purged(ledger, output_dir=tmp_path / "again"))
        assert kept.value.purged and "\n" not in str(kept.value)
        assert "purged" in str(kept.value) and str(song.path.resolve()) in str(kept.value)
        song.path.unlink()  # one copy gone: the other is still named
        with pytest.raises(DownloadError, match=f"the local copy: {song.tracks[1].path.resolve()}$"):
            asyncio.run(resume_purged(ledger))
        song.tracks[1].path.unlink()
        with pytest.raises(DownloadError, match="the ledger has no local copy"):
            asyncio.run(resume_purged(ledger))


def test_the_blocking_client_and_run_batch_run_actions_like_any_request(
    server: SandboxServer, tmp_path: Path
) -> None:
    from apiframe_magic.client import ApiframeClient
    from apiframe_magic.jobs import run_batch

    with ApiframeClient(CANARY_KEY, server.url, **FAST) as client, \
            Ledger.open(tmp_path / "ledger.sqlite") as ledger:
        song = generate(client, SONG, backend="sandbox", output_dir=tmp_path, ledger=ledger)
        sung = generate(client, AddVocalsRequest(song.job_id, "[Verse]\nover the hills"),
                        backend="sandbox", output_dir=tmp_path, ledger=ledger)
        batch = run_batch(client, [BatchItem("cover", CoverRequest(song.job_id, style="bossa nova")),
                                   BatchItem("stems", StemsRequest(sung.job_id, index=2))],
                          backend="sandbox", output_dir=tmp_path, ledger=ledger)
    assert sung.action == "add_vocals" and sung.lineage == "vocals added to a calm piano song with a …"
    assert isinstance(batch, Batch)
    cover, parts = batch.results
    assert cover.action == "cover" and parts.vocals.is_file() and parts.parent_job_id == sung.job_id
