"""The %%music magic in a real IPython InteractiveShell, against a real sandbox over loopback.

The shell re-raises cell errors (as jupysql's tests do) so a test sees the exception a user's
cell ended with. Most tests point the magic at the ``sandbox`` fixture with a canary key, as a
user with a real key would be set up; one runs with no key, against the embedded sandbox.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import CapturedIO, capture_output

from apiframe_magic import MusicJob, MusicRequest, MusicResult
from apiframe_magic.display import player_html
from apiframe_magic.magic import MusicError, MusicMagics
from apiframe_magic.sandbox import SandboxServer

from ..conftest import CANARY_KEY


class RaisingShell(InteractiveShell):
    """An InteractiveShell whose cells raise their error instead of only printing it."""

    def run_cell(self, *args: Any, **kwargs: Any) -> Any:
        result = super().run_cell(*args, **kwargs)
        result.raise_error()
        return result


@contextmanager
def music_shell() -> Iterator[RaisingShell]:
    """A fresh shell with the extension loaded, torn down afterwards."""
    RaisingShell.clear_instance()
    InteractiveShell.clear_instance()
    sh = RaisingShell.instance()
    sh.run_line_magic("load_ext", "apiframe_magic")
    try:
        yield sh
    finally:
        sh.run_line_magic("unload_ext", "apiframe_magic")
        RaisingShell.clear_instance()
        InteractiveShell.clear_instance()


@pytest.fixture
def shell(
    sandbox: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[RaisingShell]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("APIFRAME_API_KEY", CANARY_KEY)
    monkeypatch.setenv("APIFRAME_BASE_URL", sandbox.url)
    with music_shell() as sh:
        yield sh


def run(shell: InteractiveShell, cell: str) -> CapturedIO:
    with capture_output() as captured:
        shell.run_cell(cell)
    return captured


def everything_shown(captured: CapturedIO) -> str:
    """All text a user could see: stdout, stderr and every display bundle, updates included."""
    parts = [captured.stdout, captured.stderr]
    parts += [json.dumps(o.data) for o in captured.outputs]
    return "\n".join(parts)


def magics(shell: InteractiveShell) -> MusicMagics:
    instance = shell.magics_manager.registry["MusicMagics"]
    assert isinstance(instance, MusicMagics)
    return instance


def test_cell_generates_saves_and_stores_the_result(shell: RaisingShell, sandbox: SandboxServer) -> None:
    captured = run(shell, "%%music --length 5s --instrumental --format mp3_standard --out track\n"
                          "an upbeat synthwave track with a driving bassline\n")
    track = shell.user_ns["track"]
    assert isinstance(track, MusicResult)
    assert track.duration == pytest.approx(5.0)
    assert track.path.exists() and track.path.suffix == ".mp3"
    assert track.path.parent.name == "apiframe_outputs"
    assert track.path.name.startswith("an-upbeat-synthwave-track")
    assert track.job_id[:8] in track.path.name
    head = track.path.read_bytes()[:3]
    assert head == b"ID3" or head[0] == 0xFF, "not an MP3 file"
    metadata = json.loads(track.metadata_path.read_text())
    assert metadata["jobId"] == track.job_id
    assert metadata["request"]["elevenlabsParams"] == {
        "music_length_ms": 5000, "force_instrumental": True, "output_format": "mp3_standard"}
    assert metadata["job"]["status"] == "COMPLETED"
    assert track.credits == 10 and sandbox.credits_for(CANARY_KEY) == 990
    assert sandbox.jobs_created == 1
    assert track.job_id in captured.stdout  # the text view names the job while it runs
    assert "apiframe_outputs/" in captured.stdout


def test_widget_view_ends_in_one_static_summary_with_the_audio_embedded_once(shell: RaisingShell) -> None:
    shell.run_line_magic("config", "MusicMagics.progress = 'widget'")
    captured = run(shell, "%%music --length 5s\ncalm solo piano\n")
    bundles = [o.data for o in captured.outputs]
    assert any("application/vnd.jupyter.widget-view+json" in b for b in bundles), "no progress widget"
    final = [o for o in captured.outputs if o.update]
    assert final, "the widget was never replaced"
    html = final[-1].data["text/html"]
    assert "apiframe-music-summary" in html and "<audio" in html
    assert everything_shown(captured).count("data:audio/mpeg;base64,") == 1


def test_large_wav_is_linked_not_embedded(shell: RaisingShell) -> None:
    shell.run_line_magic("config", "MusicMagics.progress = 'widget'")
    shell.run_line_magic("config", "MusicMagics.embed_limit_mb = 0.1")
    captured = run(shell, "%%music --length 5s --format wav_cd_quality --out t\nstrings\n")
    shown = everything_shown(captured)
    assert "data:audio" not in shown
    assert "apiframe_outputs/strings-" in shown and ".wav" in shown
    assert shell.user_ns["t"].duration == pytest.approx(5.0)
    assert shell.user_ns["t"].audio_format == "wav"


def test_result_displays_as_a_player_and_one_line_of_text(shell: RaisingShell) -> None:
    run(shell, "%%music --length 5s --out t\nlo-fi hip hop\n")
    result = shell.user_ns["t"]
    bundle, _ = shell.display_formatter.format(result)
    assert "<audio" in bundle["text/html"]
    assert bundle["text/plain"].startswith("<MusicResult 'apiframe_outputs/lo-fi-hip-hop-")
    assert result.job_id in bundle["text/plain"] and "5.0 s" in bundle["text/plain"]


def test_bad_input_is_one_line_and_costs_nothing(shell: RaisingShell, sandbox: SandboxServer) -> None:
    for cell in ["%%music --length 4s\nx\n", "%%music --format flac\nx\n", "%%music\n\n",
                 "%%music --model nope\nx\n", "%%music --out 1x\nx\n"]:
        with pytest.raises(UsageError) as info:
            shell.run_cell(cell)
        assert "\n" not in str(info.value)
    assert sandbox.recorded_requests() == []


def test_dry_run_shows_the_exact_body_and_cost_and_submits_nothing(
    shell: RaisingShell, sandbox: SandboxServer
) -> None:
    captured = run(shell, "%%music --dry-run --length 1m30s --out req\nepic orchestral trailer\n")
    shown = everything_shown(captured)
    assert '\\"music_length_ms\\": 90000' in shown
    assert "20 credits for a 1m30s track" in shown
    assert isinstance(shell.user_ns["req"], MusicRequest)
    assert sandbox.recorded_requests() == []


def test_failed_job_is_one_line_with_the_job_id_and_refunded(
    shell: RaisingShell, sandbox: SandboxServer
) -> None:
    sandbox.faults.inject("fail_job", message="Provider returned an error: content policy violation")
    with pytest.raises(MusicError) as info:
        run(shell, "%%music --length 5s --out t\na song\n")
    message = str(info.value)
    assert "content policy violation" in message and "refunded" in message and "\n" not in message
    handle = shell.user_ns["t"]
    assert isinstance(handle, MusicJob) and handle.job_id in message
    assert handle.status().status == "FAILED"
    assert sandbox.credits_for(CANARY_KEY) == 1000
    assert info.value._render_traceback_() == [f"\x1b[0;31mMusicError\x1b[0m: {message}"]


def test_show_traceback_raises_the_original_error(shell: RaisingShell, sandbox: SandboxServer) -> None:
    from apiframe_magic import JobFailedError

    shell.run_line_magic("config", "MusicMagics.show_traceback = True")
    sandbox.faults.inject("fail_job")
    with pytest.raises(JobFailedError):
        run(shell, "%%music --length 5s\na song\n")


def test_timeout_keeps_the_job_and_resume_collects_it(shell: RaisingShell, sandbox: SandboxServer) -> None:
    sandbox.faults.inject("slow_job", seconds=2.5)
    with pytest.raises(MusicError) as info:
        run(shell, "%%music --length 5s --timeout 0.5 --out t\nslow ambient pads\n")
    handle = shell.user_ns["t"]
    assert isinstance(handle, MusicJob)
    assert f"%music resume {handle.job_id}" in str(info.value)
    run(shell, f"%music resume {handle.job_id} --out done")
    result = shell.user_ns["done"]
    assert isinstance(result, MusicResult) and result.path.exists()
    assert result.prompt == "slow ambient pads"  # recovered from the job's input
    assert sandbox.jobs_created == 1


def test_no_wait_returns_a_handle_that_can_be_collected(shell: RaisingShell, sandbox: SandboxServer) -> None:
    captured = run(shell, "%%music --length 5s --no-wait --out job\nfolk guitar\n")
    job = shell.user_ns["job"]
    assert isinstance(job, MusicJob)
    assert "job.result()" in captured.stdout
    result = job.result()
    assert result.path.exists() and result.prompt == "folk guitar"
    assert sandbox.jobs_created == 1


def test_status_shows_backend_masked_key_and_credits(shell: RaisingShell, sandbox: SandboxServer) -> None:
    captured = run(shell, "%music status")
    assert sandbox.url in captured.stdout
    assert "credits: 1000" in captured.stdout
    assert "afk_…8b7a" in captured.stdout


def test_without_a_key_the_embedded_sandbox_is_used_and_announced(
    shell: RaisingShell, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("APIFRAME_API_KEY")
    monkeypatch.delenv("APIFRAME_BASE_URL")
    captured = run(shell, "%%apiframe_music --length 5s --out t\njazz trio\n")
    shown = everything_shown(captured)
    assert "Offline sandbox" in shown and "not by the AI model" in shown and "APIFRAME_API_KEY" in shown
    assert shell.user_ns["t"].sandbox
    assert json.loads(shell.user_ns["t"].metadata_path.read_text())["backend"] == "sandbox"


def test_a_rejected_key_says_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with SandboxServer(api_keys={"afk_the_only_valid_key"}) as server:
        monkeypatch.setenv("APIFRAME_API_KEY", CANARY_KEY)
        monkeypatch.setenv("APIFRAME_BASE_URL", server.url)
        expected = r"refused the API key.*APIFRAME_API_KEY"
        with music_shell() as sh, pytest.raises(MusicError, match=expected) as info:
            sh.run_cell("%%music --length 5s\nx\n")
        assert CANARY_KEY not in str(info.value)


def test_help_documents_every_option(shell: RaisingShell) -> None:
    doc = shell.find_cell_magic("music").__doc__
    for option in ["--length", "--instrumental", "--format", "--model", "--out", "--save", "--timeout",
                   "--webhook", "--no-wait", "--dry-run"]:
        assert option in doc, option
    assert "%music status" in run(shell, "%music help").stdout


def test_config_is_traitlets_and_validated(shell: RaisingShell) -> None:
    shell.run_line_magic("config", "MusicMagics.default_length = '10s'")
    shell.run_line_magic("config", "MusicMagics.output_dir = 'music'")
    run(shell, "%%music --out t\ndefaults\n")
    assert shell.user_ns["t"].duration == pytest.approx(10.0)
    assert shell.user_ns["t"].path.parent == Path("music")
    shell.run_line_magic("config", "MusicMagics.default_format = 'ogg'")  # %config logs, keeps the value
    assert magics(shell).default_format == ""
    shell.run_line_magic("config", "MusicMagics.default_format = 'wav_16khz'")
    assert magics(shell).defaults().format == "wav_16khz"


def test_save_to_an_exact_path(shell: RaisingShell, tmp_path: Path) -> None:
    run(shell, f"%%music --length 5s --save {tmp_path}/take1.mp3 --out t\nbells\n")
    assert shell.user_ns["t"].path == tmp_path / "take1.mp3"
    assert (tmp_path / "take1.mp3.json").exists()


def test_the_key_never_leaks(shell: RaisingShell, sandbox: SandboxServer, tmp_path: Path) -> None:
    """Run successes and failures with a canary key; grep everything a user or a file could hold."""
    seen: list[str] = []
    seen.append(everything_shown(run(shell, "%%music --length 5s --out ok\nhouse beat\n")))
    seen.append(everything_shown(run(shell, "%%music --length 5s --no-wait --out pending\nhouse\n")))
    seen.append(everything_shown(run(shell, "%music status")))
    seen.append(everything_shown(run(shell, "%config MusicMagics")))
    sandbox.faults.inject("fail_job")
    with pytest.raises(MusicError) as failed:
        run(shell, "%%music --length 5s --out bad\nfails\n")
    seen += [str(failed.value), repr(failed.value), repr(failed.value.__cause__)]
    sandbox.faults.inject("unavailable", times=10, route="submit")  # a wait outlasts poll outages
    with pytest.raises(MusicError) as unavailable:
        run(shell, "%%music --length 5s\nunavailable\n")
    seen += [str(unavailable.value), repr(unavailable.value.__cause__)]
    sandbox.faults.clear()
    for name in ("ok", "pending", "bad"):
        seen.append(repr(shell.user_ns[name]))
    seen.append(repr(shell.user_ns["pending"].backend))
    seen += [p.read_text(errors="replace") for p in tmp_path.rglob("*.json")]
    assert all(CANARY_KEY not in text for text in seen)
    assert all(CANARY_KEY not in p.read_bytes().decode("latin-1") for p in tmp_path.rglob("*") if p.is_file())
    cdn = [r for r in sandbox.recorded_requests() if r.origin == "cdn"]
    assert cdn and all("x-api-key" not in r.headers for r in cdn)


def test_a_save_name_always_matches_its_bytes(shell: RaisingShell, sandbox: SandboxServer) -> None:
    with pytest.raises(UsageError, match=r"--save custom\.wav: the extension says WAV but .* makes MP3"):
        shell.run_cell("%%music --length 8s --save custom.wav\na prompt\n")
    assert sandbox.recorded_requests() == []
    run(shell, "%%music --length 5s --save custom --out mp3\na prompt\n")
    assert shell.user_ns["mp3"].path == Path("custom.mp3")
    head = Path("custom.mp3").read_bytes()[:3]
    assert head == b"ID3" or head[0] == 0xFF, "not an MP3 file"
    Path("takes").mkdir()
    run(shell, "%%music --length 5s --format wav_16khz --save takes --out wav\na prompt\n")
    assert shell.user_ns["wav"].path.parent == Path("takes") and shell.user_ns["wav"].path.suffix == ".wav"
    assert shell.user_ns["wav"].path.read_bytes()[:4] == b"RIFF"


@pytest.mark.parametrize(
    "separator", ["\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]
)
def test_options_after_a_line_break_character_never_submit(
    shell: RaisingShell, sandbox: SandboxServer, separator: str
) -> None:
    # IPython ends the magic's line at every str.splitlines() boundary, not only at "\n".
    with pytest.raises(UsageError, match="the prompt starts with --dry-run, an option of %%music"):
        shell.run_cell(f"%%music --length 8s{separator}--dry-run\na prompt")
    assert sandbox.recorded_requests() == []


def test_unbalanced_quotes_are_one_usage_error_line(shell: RaisingShell, sandbox: SandboxServer) -> None:
    for cell in ['%%music --instrumental " --dry-run\na prompt\n', "%music resume '0b4c"]:
        with pytest.raises(UsageError) as info:
            shell.run_cell(cell)
        assert "no closing quotation" in str(info.value) and "\n" not in str(info.value)
    assert sandbox.recorded_requests() == []


@pytest.mark.parametrize(
    ("setting", "value", "reason"),
    [
        ("default_length", "'2s'", "must be 5s to 5m in whole seconds"),
        ("default_length", "'5m1s'", "must be 5s to 5m in whole seconds"),
        ("default_length", "'30.5s'", "must be 5s to 5m in whole seconds"),
        ("default_length", "'soon'", "cannot read length 'soon'"),
        ("default_format", "'ogg'", "must be one of mp3_standard"),
        ("default_model", "'suno-v9'", "must be one of elevenlabs-music"),
        ("timeout", "0", "must be a positive number of seconds"),
        ("embed_limit_mb", "-1", "must be 0 (always link, never embed) or a positive number"),
    ],
)
def test_a_bad_setting_is_refused_when_set_and_named(
    shell: RaisingShell, caplog: pytest.LogCaptureFixture, setting: str, value: str, reason: str
) -> None:
    before = getattr(magics(shell), setting)
    shell.run_line_magic("config", f"MusicMagics.{setting} = {value}")  # %config logs the refusal
    assert f"MusicMagics.{setting} = " in caplog.text and reason in caplog.text
    assert getattr(magics(shell), setting) == before
    captured = run(shell, "%%music --dry-run\na prompt\n")  # later cells do not inherit it
    assert "Dry run" in everything_shown(captured)


def test_an_embed_limit_of_zero_links_every_file(shell: RaisingShell, tmp_path: Path) -> None:
    shell.run_line_magic("config", "MusicMagics.embed_limit_mb = 0")
    assert magics(shell).embed_limit_bytes == 0
    shell.run_line_magic("config", "MusicMagics.progress = 'widget'")
    captured = run(shell, "%%music --length 5s --out t\nshort chime\n")
    shown = everything_shown(captured)
    assert "data:audio" not in shown and "<audio" in shown and shell.user_ns["t"].path.name in shown
    empty = tmp_path / "empty.mp3"
    empty.write_bytes(b"")
    assert "data:audio" not in player_html(empty, 0)


@pytest.mark.parametrize("progress", ["text", "widget"])
def test_a_timeout_says_still_running_and_how_to_resume(
    shell: RaisingShell, sandbox: SandboxServer, progress: str
) -> None:
    shell.run_line_magic("config", f"MusicMagics.progress = '{progress}'")
    sandbox.faults.inject("slow_job", seconds=2.5)
    with capture_output() as captured, pytest.raises(MusicError) as info:
        shell.run_cell("%%music --length 5s --timeout 0.5 --out t\nslow ambient pads\n")
    job_id = shell.user_ns["t"].job_id
    shown = everything_shown(captured) + str(info.value)
    assert "still running" in shown and f"%music resume {job_id}" in shown
    assert "failed" not in shown.lower()


def test_the_sandbox_notice_is_shown_once_per_kernel(
    shell: RaisingShell, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("APIFRAME_API_KEY")
    monkeypatch.delenv("APIFRAME_BASE_URL")
    shown = [everything_shown(run(shell, "%%music --length 5s --no-wait\njazz trio\n")) for _ in range(2)]
    shell.run_line_magic("reload_ext", "apiframe_magic")
    shown.append(everything_shown(run(shell, "%%music --length 5s --no-wait --out job\njazz trio\n")))
    shown.append(everything_shown(run(shell, f"%music resume {shell.user_ns['job'].job_id}")))
    assert ["apiframe-sandbox-notice" in text for text in shown] == [True, False, False, False]
    for _ in range(2):
        assert "This is the offline sandbox" in run(shell, "%music status").stdout


def test_status_starts_with_the_version(shell: RaisingShell) -> None:
    from apiframe_magic import __version__

    assert run(shell, "%music status").stdout.splitlines()[0] == f"apiframe-magic {__version__}"


def test_cell_help_shows_the_cell_usage_and_every_option(shell: RaisingShell) -> None:
    shown = run(shell, "%%music?").stdout  # what a user sees: pinfo of the cell magic
    assert "%%music [-l LENGTH] [-i] [-f FORMAT]" in shown
    for option in ["--length", "--instrumental", "--format", "--model", "--out", "--save", "--timeout",
                   "--webhook", "--webhook-events", "--no-wait", "--dry-run"]:
        assert option in shown, option


@pytest.mark.parametrize("line", ["%music --help", "%music -h", "%music help", "%music"])
def test_every_way_of_asking_the_line_magic_for_help_prints_it(shell: RaisingShell, line: str) -> None:
    shown = run(shell, line).stdout
    assert "%music status" in shown and "%music resume JOB_ID" in shown
    assert "--dry-run" in shown and "Show the exact request JSON" in shown  # the cell's option list


def test_status_on_the_sandbox_says_how_to_change_its_credits(
    shell: RaisingShell, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("APIFRAME_API_KEY")
    monkeypatch.delenv("APIFRAME_BASE_URL")
    shown = run(shell, "%music status").stdout
    assert "APIFRAME_SANDBOX_CREDITS" in shown and "/_sandbox/credits" in shown
    assert "offline sandbox" in shown
