"""Every command teaches itself: `--help` exits 0 with a one-line summary, every option explained,
and at least one example. Parametrized over the registered commands, so a new command cannot ship
without its help."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from companion.cli.main import cli

COMMANDS = sorted(cli.commands.values(), key=lambda c: c.name or "")


def test_every_documented_command_is_registered() -> None:
    assert {c.name for c in COMMANDS} >= {
        "init",
        "index",
        "search",
        "graph",
        "backlinks",
        "status",
        "watch",
        "update",
    }


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.name)
def test_a_commands_help_has_a_summary_every_option_and_an_example(command: click.Command) -> None:
    result = CliRunner().invoke(cli, [command.name or "", "--help"])
    assert result.exit_code == 0, result.output
    summary = command.get_short_help_str(limit=200)
    assert summary and not summary.endswith("..."), "a one-line summary that fits"
    for param in command.params:
        if isinstance(param, click.Option) and not param.hidden:
            assert param.help, f"{command.name} {param.opts[0]} has no help text"
            assert param.opts[0] in result.output
    assert "Examples:" in result.output
    assert f"companion {command.name} " in result.output.split("Examples:", 1)[1]


def test_the_group_help_names_every_command_and_the_exit_codes() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for command in COMMANDS:
        assert command.name is not None and command.name in result.output
    text = " ".join(result.output.split())
    for code in ("0 success", "1 user error", "2 usage error", "3 conflict", "75 busy", "70"):
        assert code in text
