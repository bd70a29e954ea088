"""`companion watch`: the daemon in the foreground."""

from __future__ import annotations

import os

import click

from companion.cli.common import model_option, settings_for, state_option, vault_option
from companion.cli.output import echo


@click.command()
@click.argument("vault", required=False)
@vault_option
@state_option
@model_option
@click.option(
    "--settle",
    type=float,
    default=3.0,
    show_default=True,
    help="Seconds a page must be quiet before it is embedded or its version bumped.",
)
def watch(
    vault: str | None,
    vault_opt: str | None,
    state_dir: str | None,
    model: str | None,
    settle: float,
) -> None:
    """Watch VAULT and keep everything in step with every edit (the daemon; Ctrl-C stops it).

    \b
    Examples:
      companion watch ~/notes
      companion watch --settle 10        (wait longer before embedding or bumping an edit)

    It reconciles what changed while it was down, then follows every save: text search within
    a second, embeddings once a page settles, version bumps for edited wiki pages, index.md and
    log.md kept current. `companion search`, `status`, `index` and `update` talk to it over a
    private socket in the state folder. A second watcher of the same vault is refused (exit 75).
    """
    from companion.daemon.core import Daemon, DaemonOptions

    settings = settings_for(vault or vault_opt, state_dir, model)
    daemon = Daemon(settings, DaemonOptions(settle=settle))

    def started() -> None:
        echo(f"watching {settings.vault} (pid {os.getpid()}); state in {settings.state_dir}")
        echo(f"catalog: {settings.vault / 'index.md'}")
        echo(f"search:  companion search QUERY --vault {settings.vault}")

    daemon.run(on_started=started)
    echo("stopped")
