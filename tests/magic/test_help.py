"""``%music help`` and ``%music?`` / ``%%music?`` are one manual, written from the declarations: the
``%%music`` and ``%music`` argument lists, :data:`SUBCOMMANDS` and the ``%config``-able traits.
Each text must name every option, subcommand and setting, in a real InteractiveShell."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from IPython.core.error import UsageError

from apiframe_magic.magic import MusicMagics
from apiframe_magic.magic._options import SUBCOMMANDS, _cell_signature, _line_signature, parse_music_line

from .test_magic import RaisingShell, music_shell, run


@pytest.fixture(scope="module")
def shell() -> Iterator[RaisingShell]:
    with music_shell() as sh:
        yield sh


def declared_options() -> set[str]:
    """Every spelling of every option of ``%%music`` and ``%music``, from their parsers."""
    return {
        option
        for signature in (_cell_signature, _line_signature)
        for action in signature.parser._actions  # type: ignore[attr-defined]
        for option in action.option_strings
    }


SETTINGS = sorted(MusicMagics.class_traits(config=True))


def texts(shell: RaisingShell) -> dict[str, str]:
    """What a user reads: the printed help and the two magics' pinfo."""
    return {
        "%music help": run(shell, "%music help").stdout,
        "%music?": shell.object_inspect_text("%music"),
        "%%music?": shell.object_inspect_text("%%music"),
    }


def test_the_declarations_cover_what_was_missing_from_the_hand_written_help() -> None:
    names = {c.name for c in SUBCOMMANDS}
    assert {"pending", "history", "listen", "status", "models", "resume", "help"} <= names
    assert {"ledger", "budget_credits", "measure"} <= set(SETTINGS)
    assert {"--dry-run", "--each-line", "--reconcile", "--pairs", "--min-play"} <= declared_options()


@pytest.mark.parametrize("what", ["%music help", "%music?", "%%music?"])
def test_each_text_names_every_option_subcommand_and_setting(shell: RaisingShell, what: str) -> None:
    text = texts(shell)[what]
    missing = [o for o in sorted(declared_options()) if o not in text]
    missing += [c.usage for c in SUBCOMMANDS if c.usage not in text or c.summary.split()[0] not in text]
    missing += [s for s in SETTINGS if f"  {s} = " not in text]
    assert not missing, f"{what} does not mention {missing}"


def test_each_setting_is_shown_with_its_help_string(shell: RaisingShell) -> None:
    text = " ".join(run(shell, "%music help").stdout.split())  # unwrapped
    for name, trait in MusicMagics.class_traits(config=True).items():
        assert " ".join(trait.help.split()) in text, name


@pytest.mark.parametrize("line", ["%music --help", "%music -h", "%music"])
def test_every_way_of_asking_prints_the_same_manual(shell: RaisingShell, line: str) -> None:
    assert run(shell, line).stdout == run(shell, "%music help").stdout


def test_the_subcommands_parsed_are_the_subcommands_declared() -> None:
    for command in SUBCOMMANDS:
        argument = "VAR" if command.name == "listen" else ""
        assert parse_music_line(f"{command.name} {argument}").action == command.name
    with pytest.raises(UsageError, match="use " + ", ".join(c.name for c in SUBCOMMANDS)):
        parse_music_line("bogus")
