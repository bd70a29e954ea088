"""What `companion status` reports, shared by the fast entry point and the click command.
Standard library only at import time (the index loads when it is called)."""

from __future__ import annotations

from typing import Any


def status_info(
    vault: str | None, state_dir: str | None, model: str | None = None
) -> dict[str, Any]:
    """What `companion status --json` prints: the index's status, with a running daemon's part."""
    from companion.app import Companion
    from companion.cli.output import merge_daemon_status
    from companion.daemon import client

    with Companion.open(vault, state_dir=state_dir, model=model) as app:
        daemon = client.request(app.settings.state_dir, "status")
        if daemon is None:
            app.require_index()  # a vault never indexed: say so (exit 1), not a page of zeros
        return merge_daemon_status(app.status().as_json(), daemon)
