"""What a job's files are named after: the prompt, except for a Suno custom-mode song, whose
prompt is its lyrics: its title, else its description (the ``style``)."""

from __future__ import annotations

from pathlib import Path

from apiframe_magic import MusicRequest
from apiframe_magic.jobs._files import SaveTarget, name_of

LYRICS = "[Verse]\nLights go by, the city sleeps\n[Chorus]\nNight trains"


def test_a_custom_mode_song_is_named_by_its_title_then_its_description(tmp_path: Path) -> None:
    titled = MusicRequest(LYRICS, "suno", params={"custom_mode": True, "title": "Night Trains",
                                                  "style": "a dreamy synth-pop song"})
    untitled = MusicRequest(LYRICS, "suno", params={"custom_mode": True, "style": "a dreamy synth-pop song"})

    assert SaveTarget(tmp_path).audio_path(titled, "job-123456789", "mp3", take=2) == (
        tmp_path / "night-trains-job12345-2.mp3")
    assert name_of(untitled) == "a dreamy synth-pop song"


def test_other_requests_are_named_by_their_prompt(tmp_path: Path) -> None:
    described = MusicRequest("a dreamy synth-pop song", "suno", params={"title": "Night Trains"})
    mureka = MusicRequest("a folk song", "mureka", params={"lyrics": "[Verse]\nla la"})

    assert name_of(described) == "a dreamy synth-pop song" and name_of(mureka) == "a folk song"
    assert SaveTarget(tmp_path).audio_path("a folk song", "abc", "mp3").name == "a-folk-song-abc.mp3"
