"""What the commands share: the common options, opening the vault, asking its daemon, progress bars."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from companion.daemon import client

if TYPE_CHECKING:
    from companion.app import Companion
    from companion.config import Settings

vault_option = click.option(
    "--vault",
    "vault_opt",
    metavar="PATH",
    envvar="COMPANION_VAULT",
    show_envvar=True,
    help="Vault folder (default: nearest folder with .obsidian/ or SYSTEM.md, else ./vault).",
)
state_option = click.option(
    "--state-dir",
    metavar="PATH",
    envvar="COMPANION_STATE_DIR",
    show_envvar=True,
    help="Where the index lives (default: a per-vault folder under ~/.local/state/companion).",
)
model_option = click.option(
    "--model",
    metavar="NAME|PATH",
    envvar="COMPANION_MODEL",
    show_envvar=True,
    help="sentence-transformers model folder (default: the bundled all-MiniLM-L6-v2). "
    "It runs in int8 on ONNX Runtime; COMPANION_EMBED_BACKEND=torch runs it in fp32.",
)
json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print the result as JSON (for scripts and agents)."
)


def open_app(vault: str | None, state_dir: str | None, model: str | None = None) -> Companion:
    from companion.app import Companion  # SQLite and the search code: only when needed

    return Companion.open(vault, state_dir=state_dir, model=model)


def settings_for(vault: str | None, state_dir: str | None, model: str | None = None) -> Settings:
    """Where the vault and its state are, without importing the index or the model."""
    from companion.config import load_settings
    from companion.vault.locate import find_vault

    return load_settings(find_vault(vault, Path.cwd()), state_dir=state_dir, model=model)


def ask_daemon(settings: Settings, op: str, **params: Any) -> Any | None:
    """Ask the vault's daemon, if one runs; None means "work in process". A daemon's error
    (`DaemonError`) propagates to `main`, which prints it and exits with its code."""
    return client.request(settings.state_dir, op, **params)


def daemon_running(settings: Settings) -> bool:
    return client.request(settings.state_dir, "ping", timeout=5) is not None


@contextmanager
def progress_bar(
    desc: str, unit: str, enabled: bool = True
) -> Iterator[Callable[[int, int], None]]:
    """A tqdm progress bar on stderr (rate and ETA) fed by (done, total) callbacks."""
    from tqdm import tqdm

    bar: Any = None

    def update(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(
                total=total,
                desc=desc,
                unit=unit,
                file=sys.stderr,
                disable=not enabled or None,
                dynamic_ncols=True,
                smoothing=0.1,
            )
        bar.update(done - bar.n)

    try:
        yield update
    finally:
        if bar is not None:
            bar.close()
