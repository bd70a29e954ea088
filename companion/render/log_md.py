"""log.md: an append-only record of operations, one entry per operation.

Entry format: `## [YYYY-MM-DD HH:MM] op | headline` followed by a short bullet list, newest last,
so the file reads as a diary and `grep '^## \\[' log.md` lists every operation.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from companion.render.index_md import GENERATED_HEADER

LOG_PATH = "log.md"
LOG_HEADER = GENERATED_HEADER + "# Log\n\n%% Appended by companion, one entry per operation. %%\n"


def log_entry(op: str, headline: str, bullets: Sequence[str], when: datetime) -> str:
    lines = [f"\n## [{when:%Y-%m-%d %H:%M}] {op} | {headline}\n"]
    if bullets:
        lines.append("\n")
        lines.extend(f"- {b}\n" for b in bullets)
    return "".join(lines)
