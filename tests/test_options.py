"""The %%music / %music option parser, as plain data: no shell, no server."""

from __future__ import annotations

import pytest
from IPython.core.error import UsageError

from apiframe_magic._options import (
    MusicCommand,
    MusicDefaults,
    MusicLineCommand,
    parse_music_cell,
    parse_music_line,
)


def test_the_issue_example_parses_to_a_request() -> None:
    command = parse_music_cell(
        "--length 30s --instrumental --format mp3_high_quality --out track",
        "an upbeat synthwave track with a driving bassline\n",
    )
    assert isinstance(command, MusicCommand)
    assert command.out == "track"
    assert command.request.to_json() == {
        "prompt": "an upbeat synthwave track with a driving bassline",
        "model": "elevenlabs-music",
        "elevenlabsParams": {
            "music_length_ms": 30000,
            "force_instrumental": True,
            "output_format": "mp3_high_quality",
        },
    }
    assert not command.dry_run and not command.no_wait


@pytest.mark.parametrize(
    ("length", "ms"),
    [("30s", 30_000), ("1m30s", 90_000), ("90000ms", 90_000), ("45", 45_000), ("5m", 300_000),
     ("5s", 5_000), ("2m", 120_000)],
)
def test_length_forms(length: str, ms: int) -> None:
    assert parse_music_cell(f"--length {length}", "x").request.music_length_ms == ms


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ("--length 4s", "--length 4s: must be 5s to 5m"),
        ("--length 5m1s", "--length 5m1s: must be 5s to 5m"),
        ("--length 30.5s", "--length 30.5s: must be 5s to 5m in whole seconds"),
        ("--length soon", "--length: cannot read length 'soon'"),
        ("--format flac", "--format flac: must be one of mp3_standard"),
        ("--model suno-v9", "--model suno-v9: must be one of elevenlabs-music"),
        ("--out 2track", "--out 2track: not a valid Python variable name"),
        ("--timeout 0", "--timeout 0: must be a positive number"),
        ("--webhook not-a-url", "--webhook not-a-url: must be an absolute http(s) URL"),
        ("--webhook-events completed", "--webhook-events needs --webhook"),
        ("--webhook https://example.com/h --webhook-events done", "--webhook-events"),
        ("--bogus", "unrecognized arguments: --bogus"),
    ],
)
def test_mistakes_are_one_line_usage_errors(line: str, fragment: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_music_cell(line, "a prompt")
    message = str(info.value)
    assert fragment in message
    assert "\n" not in message


def test_prompt_is_required_and_bounded() -> None:
    with pytest.raises(UsageError, match="needs a prompt"):
        parse_music_cell("", "   \n  ")
    with pytest.raises(UsageError, match="must be 1 to 5000 characters"):
        parse_music_cell("", "x" * 5001)
    assert len(parse_music_cell("", "x" * 5000).request.prompt) == 5000


def test_prompt_is_taken_literally() -> None:
    # No second interpolation: IPython already expands the line; the body is the user's text.
    body = "a {mood} song costing $price with {{braces}}"
    assert parse_music_cell("", body).request.prompt == body


def test_defaults_fill_unset_options_and_are_named_in_errors() -> None:
    defaults = MusicDefaults(length="1m", format="wav_16khz", timeout=30.0)
    command = parse_music_cell("", "x", defaults)
    assert command.request.music_length_ms == 60_000
    assert command.request.output_format == "wav_16khz"
    assert command.timeout == 30.0
    assert parse_music_cell("--length 10s --format mp3_standard", "x", defaults).request.to_json()[
        "elevenlabsParams"] == {"music_length_ms": 10_000, "output_format": "mp3_standard"}
    with pytest.raises(UsageError, match=r"MusicMagics\.default_length"):
        parse_music_cell("", "x", MusicDefaults(length="later"))


def test_unset_options_are_omitted() -> None:
    assert parse_music_cell("", "calm piano").request.to_json() == {
        "prompt": "calm piano", "model": "elevenlabs-music"}


def test_flags() -> None:
    command = parse_music_cell(
        "--no-wait --dry-run --save out/x.mp3 -t 12 --webhook https://example.com/hook "
        "--webhook-events completed,failed", "x")
    assert (command.no_wait, command.dry_run, command.save) == (True, True, "out/x.mp3")
    assert command.timeout == 12.0
    assert command.request.to_json()["webhookUrl"] == "https://example.com/hook"
    assert command.request.to_json()["webhookEvents"] == ["completed", "failed"]


def test_line_commands() -> None:
    assert parse_music_line("status") == MusicLineCommand("status")
    assert parse_music_line("") == MusicLineCommand("help")
    assert parse_music_line("resume 0b4c --out t -t 5") == MusicLineCommand(
        "resume", job_id="0b4c", out="t", timeout=5.0)
    for line, fragment in [("resume", "needs a job id"), ("dance", "unknown action"),
                           ("status 123", "takes no job id")]:
        with pytest.raises(UsageError, match=fragment):
            parse_music_line(line)
