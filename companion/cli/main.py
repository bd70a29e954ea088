"""The `companion` command group: the commands, and the one place errors become exit codes.

Exit codes (design.md): 0 success, 1 user error (message on stderr), 2 usage error, 3 conflict,
75 busy (another process is the vault's writer: try again), 70 internal failure. Library errors
are `CompanionError`s; only this module turns them into exit codes. Nothing here imports torch:
the model loads only when a command needs vectors.
"""

from __future__ import annotations

import sys

import click

from companion import __version__
from companion.cli.read import ask, backlinks, conflicts, graph, links, read, search, status
from companion.cli.serve import mcp, watch
from companion.cli.write import index, ingest, init, lint, update
from companion.errors import EXIT_INTERNAL, CompanionError


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="companion")
def cli() -> None:
    """Keep an Obsidian vault indexed, linked and searchable, and turn the files you drop into
    its sources/ folder into cited wiki pages. The markdown is the truth.

    Exit codes: 0 success, 1 user error (the message says what to do), 2 usage error,
    3 conflict (the page's version moved on), 75 busy (another process is writing the vault;
    try again), 70 internal error.

    \b
    Quick start:
      companion init ~/notes            scaffold a vault (folders, SYSTEM.md, templates)
      companion index ~/notes           index it: text search at once, then embeddings
      companion ingest --vault ~/notes  files in sources/ -> summary, entity and concept pages
      companion search "retry policy"   hybrid (BM25 + vector) search
      companion status                  what is indexed, embedded, and any problems
    """


for command in (
    init,
    index,
    ingest,
    search,
    read,
    ask,
    graph,
    backlinks,
    links,
    status,
    conflicts,
    lint,
    watch,
    update,
    mcp,
):
    cli.add_command(command)


def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except CompanionError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # an internal failure: say so plainly, keep the traceback available
        if type(exc).__module__ == "apsw" and type(exc).__name__ in ("CorruptError", "NotADBError"):
            click.echo(
                f"error: the index database is damaged ({exc}); nothing in the vault is affected. "
                "Run `companion index --rebuild VAULT` to rebuild it from the markdown.",
                err=True,
            )
            sys.exit(1)
        import traceback

        traceback.print_exc()
        click.echo(f"internal error: {exc!r}; please report it", err=True)
        sys.exit(EXIT_INTERNAL)
