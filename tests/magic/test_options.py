"""The %%music / %music option parser, as plain data: no shell, no server."""

from __future__ import annotations

import random

import pytest
from IPython.core.error import UsageError

from apiframe_magic.magic._options import (
    MusicCommand,
    MusicDefaults,
    MusicLineCommand,
    check_length,
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
    assert parse_music_line("resume") == MusicLineCommand("resume")  # every pending job
    assert parse_music_line("pending") == MusicLineCommand("pending")
    assert parse_music_line("history piano --limit 5 -m suno --reconcile") == MusicLineCommand(
        "history", text="piano", limit=5, model="suno", reconcile=True)
    for line, fragment in [("resume --out t", "need a JOB_ID"), ("dance", "unknown action"),
                           ("status 123", "takes no job id"), ("status --limit 3", "go with %music history"),
                           ("history --out t", "go with %music resume"), ("history --limit 0", "positive")]:
        with pytest.raises(UsageError, match=fragment):
            parse_music_line(line)


def test_takes() -> None:
    assert parse_music_cell("", "x").take == 1
    command = parse_music_cell("--take 3 --fresh", "x")
    assert (command.take, command.fresh) == (3, True)
    with pytest.raises(UsageError, match="numbered from 1"):
        parse_music_cell("--take 0", "x")


@pytest.mark.parametrize(
    ("line", "defaults", "message"),
    [
        ("--length 8s --save custom.wav", MusicDefaults(),
         "--save custom.wav: the extension says WAV but --format mp3_high_quality (the default) makes "
         "MP3; use custom.mp3, a folder, or --format wav_cd_quality."),
        ("--format wav_16khz --save takes/t.MP3", MusicDefaults(),
         "--save takes/t.MP3: the extension says MP3 but --format wav_16khz makes WAV; use takes/t.wav, "
         "a folder, or --format mp3_high_quality."),
        ("--save t.mp3", MusicDefaults(format="wav_cd_quality"),
         "--save t.mp3: the extension says MP3 but MusicMagics.default_format wav_cd_quality makes WAV"),
        ("--save loop.ogg", MusicDefaults(),
         "--save loop.ogg: .ogg is not a format Apiframe makes, and --format mp3_high_quality (the "
         "default) makes MP3; use loop.mp3 or a folder."),
    ],
)
def test_a_save_extension_that_disagrees_with_the_format_is_refused(
    line: str, defaults: MusicDefaults, message: str
) -> None:
    with pytest.raises(UsageError) as info:
        parse_music_cell(line, "a prompt", defaults)
    assert message in str(info.value)


@pytest.mark.parametrize(
    "line",
    ["--save custom.mp3", "--save CUSTOM.MP3", "--save custom", "--save takes/",
     "--save t.wav --format wav_16khz", "--save t.WAV --format wav_cd_quality"],
)
def test_a_save_path_that_agrees_with_the_format_or_has_no_extension_is_kept(line: str) -> None:
    assert parse_music_cell(line, "a prompt").save == line.split()[1]


@pytest.mark.parametrize(
    "body",
    ["--dry-run\na prompt", "-l 8s\na prompt", "--length=8s a prompt", "--dry\na prompt",
     "-il8s\na prompt", "\n  \n--no-wait\na prompt", "--format wav_16khz --dry-run"],
)
def test_a_prompt_that_starts_with_options_is_refused(body: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_music_cell("--length 8s", body)
    message = str(info.value)
    assert "an option of %%music" in message and "line break character" in message
    assert "Nothing was sent" in message and "\n" not in message


@pytest.mark.parametrize(
    "body", ["- a list of moods", "-- ambient --", "--- intro ---", "a prompt that says --dry-run",
             "-5 dB of bass"],
)
def test_a_prompt_that_only_looks_dashed_is_a_prompt(body: str) -> None:
    assert parse_music_cell("", body).request.prompt == body


@pytest.mark.parametrize(
    "line", ['--instrumental " --dry-run', "--save 'my take.mp3", 'resume "0b4c', "status 'x"],
)
def test_unbalanced_quotes_are_one_usage_error(line: str) -> None:
    for parse in (lambda: parse_music_cell(line, "a prompt"), lambda: parse_music_line(line)):
        with pytest.raises(UsageError) as info:
            parse()
        message = str(info.value)
        assert "cannot split the options (no closing quotation)" in message and "\n" not in message


# Pieces of option lines: options with good and bad values, quotes, escapes, unicode, junk.
_OPTIONS = ("--length", "-l", "--format", "-f", "--save", "-s", "--out", "-o", "--timeout", "-t",
            "--webhook", "--webhook-events", "--model", "-m", "--length=", "-l")
_VALUES = ("30s", "5m1s", "2s", "-1", "wav_16khz", "flac", "x.wav", "x.mp3", "X.MP3", "x.ogg", "x", "out/",
           "~nobody-here/x.mp3", "1x", "t", "nan", "inf", "0", "1e999", "http://[", "https://e.com/h",
           "http://", "done,", "completed,failed", "nope", "elevenlabs-music", "é", "🎵", "\x00", "''")
_JUNK = ("--dry-run", "--no-wait", "-i", "-io", "-il8s", "--dry", "--", "-", '"', "'", "\\", "\\ ", "=",
         "\u200b", "resume", "status", "help", "--help", "-h", "%", "{x}", "$x", "--bogus", "0b4c")


def _fuzzed_line(rng: random.Random) -> str:
    parts = []
    for _ in range(rng.randint(0, 5)):
        kind = rng.random()
        if kind < 0.6:
            parts.append(rng.choice(_OPTIONS) + rng.choice((" ", "")) + rng.choice(_VALUES))
        elif kind < 0.8:
            parts.append(rng.choice(_VALUES))
        else:
            parts.append(rng.choice(_JUNK))
    return rng.choice((" ", "  ", "")).join(parts)


def test_fuzzed_lines_raise_only_one_line_usage_errors() -> None:
    rng = random.Random(20240607)
    for _ in range(3000):
        line = _fuzzed_line(rng)
        body = rng.choice(("a prompt", "", line, "--dry-run\nx", " \n-l 5s"))
        for parse, args in ((parse_music_cell, (line, body)), (parse_music_line, (line,))):
            try:
                parse(*args)  # type: ignore[operator]
            except UsageError as e:
                assert "\n" not in str(e), (line, str(e))
            except Exception as e:  # anything else is a traceback in the user's notebook
                pytest.fail(f"{line!r} / {body!r} raised {e!r}")


@pytest.mark.parametrize("line", ["help", "--help", "-h", "", "resume 0b4c --help", "status -h"])
def test_every_way_of_asking_for_help_is_help(line: str) -> None:
    assert parse_music_line(line) == MusicLineCommand("help")


def test_an_unknown_cell_option_points_to_the_option_list() -> None:
    with pytest.raises(UsageError, match=r"unrecognized arguments: --help \(%%music\? lists the options\)"):
        parse_music_cell("--help", "a prompt")


def test_lengths_are_checked_over_the_whole_range() -> None:
    assert check_length("5m") == 300_000 and check_length("5s") == 5_000
    for text in ("2s", "5m1s", "30.5s", "4999ms"):
        with pytest.raises(ValueError, match="must be 5s to 5m in whole seconds"):
            check_length(text)
    with pytest.raises(ValueError, match="cannot read length 'soon'"):
        check_length("soon")


# -- every model: --param, --seed, --instrumental per model, lyrics ---------------------------


@pytest.mark.parametrize(
    ("line", "cell", "body"),
    [
        ("--model suno --instrumental --param model_version=V5 --param style_weight=0.5",
         "lofi beat",
         {"prompt": "lofi beat", "model": "suno",
          "sunoParams": {"instrumental": True, "model_version": "V5", "style_weight": 0.5}}),
        ("--model udio --seed 42 --instrumental", "city pop",
         {"prompt": "city pop", "model": "udio", "udioParams": {"seed": 42, "lyrics_type": "instrumental"}}),
        ("--model producer --seed abc -p weirdness=1", "grunge",
         {"prompt": "grunge", "model": "producer", "producerParams": {"seed": "abc", "weirdness": 1.0}}),
        ("--model mureka --param n=3", "folk",
         {"prompt": "folk", "model": "mureka", "murekaParams": {"n": 3}}),
        ("--model lyria-3-clip --param reference_images=https://e.com/a.png,https://e.com/b.png", "sea",
         {"prompt": "sea", "model": "lyria-3-clip",
          "lyriaParams": {"reference_images": ["https://e.com/a.png", "https://e.com/b.png"]}}),
        ("--model suno --param \"style=dark jazz\" --param custom_mode=yes", "[Verse] hi",
         {"prompt": "[Verse] hi", "model": "suno",
          "sunoParams": {"style": "dark jazz", "custom_mode": True}}),
    ],
)
def test_every_model_from_a_cell_gives_the_contracts_body(line: str, cell: str, body: object) -> None:
    assert parse_music_cell(line, cell).request.to_json() == body


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("--model suno --length 30s", "--length: suno does not take it; models that do: elevenlabs-music"),
        ("--model udio --format wav_cd_quality", "--format: udio does not take it"),
        ("--model lyria-3-pro --instrumental", "--instrumental: lyria-3-pro does not take it"),
        ("--model suno --seed 1", "--seed: suno does not take it; models that do: udio, producer"),
        ("--model udio --seed x", "--seed x: must be an integer"),
        ("--model suno --param colour=blue", "suno has no param colour; it takes custom_mode, instrumental"),
        ("--model mureka --param n=4", "--param n=4: n must be between 1 and 3"),
        ("--model mureka --param n=two", "--param n=two: n must be an integer"),
        ("--model suno --param model_version=V9", "must be one of V4, V4_5"),
        ("--model suno --param custom_mode=perhaps", "custom_mode must be true or false"),
        ("--model suno --param style", "write KEY=VALUE"),
        ("--model suno --instrumental --param instrumental=false",
         "instrumental is already set by --instrumental"),
        ("--model sunno", "--model sunno: must be one of elevenlabs-music, suno"),
    ],
)
def test_options_a_model_does_not_take_are_one_line_each(line: str, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_music_cell(line, "a prompt")
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_config_defaults_apply_only_to_models_that_take_them() -> None:
    defaults = MusicDefaults(length="30s", format="wav_cd_quality")
    suno = parse_music_cell("--model suno", "x", defaults).request.to_json()
    assert suno == {"prompt": "x", "model": "suno"}
    body = parse_music_cell("", "x", defaults).request.to_json()
    assert body["elevenlabsParams"] == {"music_length_ms": 30_000, "output_format": "wav_cd_quality"}


def test_prompt_limits_follow_the_model() -> None:
    with pytest.raises(UsageError, match="must be 1 to 500 characters for suno"):
        parse_music_cell("--model suno", "x" * 501)
    parse_music_cell("--model suno --param custom_mode=true", "x" * 501)
    with pytest.raises(UsageError, match="1024"):
        parse_music_cell("--model mureka", "x" * 1025)


LYRICS = "[Verse]\nNight trains hum\n[Chorus]\nGo, go"


def test_lyrics_below_a_dash_line_go_where_the_model_takes_them() -> None:
    cell = f"a dreamy synth-pop song\n---\n{LYRICS}\n"
    suno = parse_music_cell("--model suno --param title=Night", cell).request.to_json()
    assert suno == {"prompt": LYRICS, "model": "suno",
                    "sunoParams": {"title": "Night", "custom_mode": True, "style": "a dreamy synth-pop song"}}
    mureka = parse_music_cell("--model mureka", cell).request.to_json()
    assert mureka == {"prompt": "a dreamy synth-pop song", "model": "mureka",
                      "murekaParams": {"lyrics": LYRICS}}
    producer = parse_music_cell("--model producer", cell.replace("---", "-----")).request.to_json()
    assert producer["producerParams"] == {"lyrics": LYRICS}


@pytest.mark.parametrize(
    ("line", "cell", "message"),
    [
        ("--model udio", f"x\n---\n{LYRICS}",
         "udio takes none; models that take lyrics: suno, producer, mureka"),
        ("", f"x\n---\n{LYRICS}", "elevenlabs-music takes none"),
        ("--model mureka --instrumental", f"x\n---\n{LYRICS}",
         "lyrics cannot be given with instrumental=true"),
        ("--model mureka", "x\n---\n  \n", "the lyrics part (below the --- line) is empty"),
        ("--model mureka", "x\n---\n" + "la " * 1001, "the lyrics (below ---): lyrics must be at most 3000"),
    ],
)
def test_bad_lyrics_are_one_line(line: str, cell: str, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_music_cell(line, cell)
    assert message in str(caught.value)


def test_models_is_a_line_action() -> None:
    assert parse_music_line("models") == MusicLineCommand("models")


def test_quotes_group_words_and_are_removed() -> None:
    command = parse_music_cell('--model udio --param style="dark jazz" --save "my take.mp3"', "x")
    assert command.request.params == {"style": "dark jazz"}
    assert command.save == "my take.mp3"


def test_the_readme_options_table_names_every_cell_option() -> None:
    """The option declarations are the manual; the README's table must not fall behind them."""
    from pathlib import Path

    from apiframe_magic.magic._options import _CELL_ARGUMENTS

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("| option | meaning |"):]
    table = table[: table.index("\n\n")]
    for decorate in _CELL_ARGUMENTS:
        long_name = next(o for o in decorate.args if o.startswith("--"))
        assert f"`{long_name}" in table or f", {long_name}" in table, long_name


def test_listen_matches_loudness_unless_told_not_to() -> None:
    assert parse_music_line("listen b").listen.match_loudness
    assert not parse_music_line("listen b --no-match-loudness").listen.match_loudness
    with pytest.raises(UsageError, match="go with %music listen"):
        parse_music_line("status --no-match-loudness")
