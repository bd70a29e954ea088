"""What `.obsidian/` says about the vault: excluded files, link settings, template folders.

`IgnoreRules.load` reads `.obsidian/app.json`. Its `userIgnoreFilters` do not hide files: excluded
files are still listed (they stay link targets) but carry `excluded=True`, so search and index.md
can leave them out. A broken app.json yields default rules plus a reported problem, never an
exception. Template folders (`templates.json`, `daily-notes.json`) are excluded the same way.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NamedTuple


class WalkProblem(NamedTuple):
    path: str  # vault-relative POSIX path ("" for the vault itself)
    reason: str


@dataclass(frozen=True, slots=True)
class IgnoreRules:
    """`userIgnoreFilters` and the link-writing settings of `.obsidian/app.json` (or defaults)."""

    prefixes: tuple[str, ...] = ()  # plain filters: a path starting with one is excluded
    patterns: tuple[re.Pattern[str], ...] = ()  # `/regex/` filters, searched anywhere in the path
    attachment_folder: str = "/"  # `attachmentFolderPath`: "/" vault root, "./x" next to the note
    new_link_format: str = "shortest"  # `newLinkFormat`: shortest | relative | absolute
    use_markdown_links: bool = False  # `useMarkdownLinks`
    problems: tuple[WalkProblem, ...] = field(default=())
    # Template folder/files (`templates.json`, `daily-notes.json`): placeholders, not knowledge.
    templates: tuple[str, ...] = ()

    def is_template(self, path: str) -> bool:
        return bool(self.templates) and any(
            path == t or path.startswith(t + "/") for t in self.templates
        )

    def is_excluded(self, path: str) -> bool:
        """Whether Obsidian's "Excluded files" setting (or a template folder) covers this path.
        The vault's SYSTEM.md is the schema, not knowledge: excluded too (still a link target)."""
        if path == "SYSTEM.md" or (self.templates and self.is_template(path)):
            return True
        if not (self.prefixes or self.patterns):
            return False
        if not path.isascii():
            path = unicodedata.normalize("NFC", path)  # filters are typed, hence NFC
        if path.startswith(self.prefixes):
            return True
        return bool(self.patterns) and any(p.search(path) for p in self.patterns)

    @classmethod
    def load(cls, vault_root: Path) -> IgnoreRules:
        rules = cls._load_app_json(vault_root)
        templates = _template_paths(vault_root / ".obsidian")
        return replace(rules, templates=templates) if templates else rules

    @classmethod
    def _load_app_json(cls, vault_root: Path) -> IgnoreRules:
        app_json = vault_root / ".obsidian" / "app.json"
        where = ".obsidian/app.json"
        try:
            raw = app_json.read_bytes()
        except FileNotFoundError:
            return cls()
        except OSError as exc:
            return cls(problems=(WalkProblem(where, f"cannot read: {exc.strerror or exc}"),))
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            return cls(problems=(WalkProblem(where, f"malformed JSON, ignored: {exc}"),))
        if not isinstance(data, dict):
            return cls(problems=(WalkProblem(where, "not a JSON object, ignored"),))
        return cls._from_settings(data, where)

    @classmethod
    def _from_settings(cls, data: Mapping[str, Any], where: str) -> IgnoreRules:
        problems: list[WalkProblem] = []

        def setting(key: str, kind: type, default: Any) -> Any:
            value = data.get(key, default)
            if not isinstance(value, kind):
                problems.append(WalkProblem(where, f"{key} should be a {kind.__name__}, ignored"))
                return default
            return value

        prefixes: list[str] = []
        patterns: list[re.Pattern[str]] = []
        for entry in setting("userIgnoreFilters", list, []):
            if not isinstance(entry, str) or not entry:
                problems.append(WalkProblem(where, f"userIgnoreFilters entry {entry!r} ignored"))
            elif len(entry) > 2 and entry.startswith("/") and entry.endswith("/"):
                # A JS regex. Python's `re` accepts the common subset; what it rejects is reported.
                try:
                    patterns.append(re.compile(entry[1:-1]))
                except re.error as exc:
                    problems.append(WalkProblem(where, f"userIgnoreFilters regex {entry} ({exc})"))
            else:
                prefixes.append(unicodedata.normalize("NFC", entry))
        link_format = setting("newLinkFormat", str, "shortest")
        if link_format not in ("shortest", "relative", "absolute"):
            problems.append(WalkProblem(where, f"newLinkFormat {link_format!r} unknown, ignored"))
            link_format = "shortest"
        return cls(
            prefixes=tuple(prefixes),
            patterns=tuple(patterns),
            attachment_folder=setting("attachmentFolderPath", str, "/") or "/",
            new_link_format=link_format,
            use_markdown_links=setting("useMarkdownLinks", bool, False),
            problems=tuple(problems),
        )


def _template_paths(config: Path) -> tuple[str, ...]:
    """Template folder of the core Templates plugin and the daily-note template, vault-relative."""
    found = []
    for name, key in (("templates.json", "folder"), ("daily-notes.json", "template")):
        try:
            data = json.loads((config / name).read_bytes())
        except (OSError, ValueError):
            continue  # absent or unreadable: there is simply no template setting
        value = data.get(key) if isinstance(data, dict) else None
        if isinstance(value, str) and value.strip("/ "):
            path = unicodedata.normalize("NFC", value.strip("/ "))
            if key == "template" and not path.lower().endswith(".md"):
                path += ".md"
            found.append(path)
    return tuple(found)
