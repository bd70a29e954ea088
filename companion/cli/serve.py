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
    help="Seconds a page must be quiet before its new text is embedded.",
)
@click.option(
    "--bump-settle",
    type=click.FloatRange(min=0),
    default=None,
    help="Seconds a wiki page you edit must be quiet before its version is bumped "
    "[default: 300, or COMPANION_BUMP_SETTLE].",
)
def watch(
    vault: str | None,
    vault_opt: str | None,
    state_dir: str | None,
    model: str | None,
    settle: float,
    bump_settle: float | None,
) -> None:
    """Watch VAULT and keep everything in step with every edit (the daemon; Ctrl-C stops it).

    \b
    Examples:
      companion watch ~/notes
      companion watch --settle 10        (wait longer before embedding an edit)
      companion watch --bump-settle 60   (bump an edited wiki page's version after 1 minute)

    It reconciles what changed while it was down, then follows every save: text search within
    a second, embeddings once a page settles, one version bump per editing session of a wiki
    page (after 5 minutes of quiet, or at once when a writer needs the page), index.md and
    log.md kept current. `companion search`, `status`, `index` and `update` talk to it over a
    private socket in the state folder. A second watcher on the same state folder is refused
    (exit 75); one on another state folder (or another machine syncing the vault) runs
    read-only — it serves search and takes over when the owner's lease expires.
    """
    from companion.daemon.core import Daemon, DaemonOptions

    settings = settings_for(vault or vault_opt, state_dir, model)
    daemon = Daemon(settings, DaemonOptions(settle=settle, bump_settle=bump_settle))

    def started() -> None:
        echo(f"watching {settings.vault} (pid {os.getpid()}); state in {settings.state_dir}")
        echo(f"catalog: {settings.vault / 'index.md'}")
        echo(f"search:  companion search QUERY --vault {settings.vault}")

    daemon.run(on_started=started)
    echo("stopped")


@click.command()
@vault_option
@state_option
@click.option(
    "--allow-import",
    "allow_import",
    multiple=True,
    metavar="DIR",
    type=click.Path(exists=True, file_okay=False, path_type=str),
    help="A folder add_source may import files from by path (repeatable; default: none).",
)
def mcp(vault_opt: str | None, state_dir: str | None, allow_import: tuple[str, ...]) -> None:
    """Serve the vault to AI agents over MCP (stdio): search, read, update, add_source,
    conflicts, lint, ask, status; index.md, SYSTEM.md and CONFLICT.md as resources.

    \b
    Examples:
      companion mcp --vault ~/notes
      companion mcp --vault ~/notes --allow-import ~/Downloads

    Started by an MCP client (see the README for Claude Desktop, Claude Code, Cursor and other
    clients' settings), never by hand: it speaks JSON-RPC on stdin/stdout. Writes go through a
    running daemon when there is one (the vault's single writer), else each takes the writer
    lock for itself; `update` is compare-and-swap on the page's `version`.
    """
    from pathlib import Path

    from companion.mcp.server import serve

    settings = settings_for(vault_opt, state_dir)
    serve(settings, [Path(p) for p in allow_import])
