"""What `.obsidian/` says about the vault: excluded files, link settings, template folders.

`IgnoreRules.load` reads `.obsidian/app.json`. Its `userIgnoreFilters` do not hide files: excluded
files are still listed (they stay link targets) but carry `excluded=True`, so search and index.md
can leave them out. A broken app.json yields default rules plus a reported problem, never an
exception. Template folders (the core Templates plugin's `templates.json`, the Templater plugin's
`templates_folder`, the daily-note template of `daily-notes.json`) are excluded the same way, and
`is_template` names them: a template is a link target, never a note (its `{{date}}` placeholders
are not YAML, its example links are not links).

`/regex/` filters are user input run against every path, so a pattern like `/(a+)+$/` must not hang
`index` (Python's backtracking `re` takes ~1 s on 24 `a`s and doubles with each more). Two guards:

- At load, a pattern that repeats a group which itself repeats by a variable count (`(a+)+`,
  `(a*)*`, `([a-z]+/)*x`) is refused with a problem: the classic exponential shape, caught
  deterministically, so a full walk and a watcher batch agree on what it excludes.
- Every search runs on the `regex` package with a timeout (`REGEX_TIMEOUT`), which catches what the
  shape check cannot (overlapping alternatives such as `/(a|a)+$/`). A filter that times out is
  reported once and from then on matches nothing. `regex` is imported only when app.json has a
  `/regex/` filter (this package is standard library only at import time). Measured over 10k
  paths: `re` 0.7 ms, `regex` 1.8 ms, `regex` with a timeout 8.5-9 ms per filter (about 1 µs a
  path), next to a walk that takes tens of milliseconds.
"""

from __future__ import annotations

import importlib
import json
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NamedTuple

# How long one `/regex/` filter may search one path. A sane filter takes about a microsecond on a
# path (at most 4 KiB); 50 ms is far above that and still one pause per bad filter per walk.
REGEX_TIMEOUT = 0.05
APP_JSON = ".obsidian/app.json"
CORE_TEMPLATES = ".obsidian/templates.json"  # key `folder`
TEMPLATER = ".obsidian/plugins/templater-obsidian/data.json"  # key `templates_folder`
DAILY_NOTES = ".obsidian/daily-notes.json"  # key `template`: one template file


class WalkProblem(NamedTuple):
    path: str  # vault-relative POSIX path ("" for the vault itself)
    reason: str


class RegexFilter:
    """One `/regex/` entry of `userIgnoreFilters`, searched with a timeout.

    Mutable on purpose (inside the frozen `IgnoreRules`): the first timeout disables the filter for
    the life of these rules, so a walk pays for a hostile pattern once and reports it once."""

    __slots__ = ("_compiled", "source", "timed_out_on")

    def __init__(self, source: str, compiled: Any) -> None:
        self.source = source  # as written in app.json, slashes included
        self._compiled = compiled  # a `regex.Pattern`
        self.timed_out_on: str | None = None  # the path it first timed out on

    def search(self, path: str) -> bool:
        if self.timed_out_on is not None:
            return False
        try:
            return self._compiled.search(path, timeout=REGEX_TIMEOUT) is not None
        except TimeoutError:
            self.timed_out_on = path
            return False

    def problem(self) -> WalkProblem | None:
        """The problem to report once this filter has timed out (None while it has not)."""
        if self.timed_out_on is None:
            return None
        shown = self.timed_out_on.encode("utf-8", "replace").decode("utf-8")
        return WalkProblem(
            APP_JSON,
            f"userIgnoreFilters regex {self.source} took over {REGEX_TIMEOUT * 1000:.0f} ms on "
            f"{shown!r}; it now matches nothing (files it would exclude are indexed). Simplify it",
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RegexFilter) and other.source == self.source

    def __hash__(self) -> int:
        return hash(self.source)

    def __repr__(self) -> str:
        return f"RegexFilter({self.source!r})"


@dataclass(frozen=True, slots=True)
class IgnoreRules:
    """`userIgnoreFilters` and the link-writing settings of `.obsidian/app.json` (or defaults)."""

    prefixes: tuple[str, ...] = ()  # plain filters: a path starting with one is excluded
    patterns: tuple[RegexFilter, ...] = ()  # `/regex/` filters, searched anywhere in the path
    attachment_folder: str = "/"  # `attachmentFolderPath`: "/" vault root, "./x" next to the note
    new_link_format: str = "shortest"  # `newLinkFormat`: shortest | relative | absolute
    use_markdown_links: bool = False  # `useMarkdownLinks`
    problems: tuple[WalkProblem, ...] = field(default=())
    # Template folders and files (`templates.json`, Templater's `templates_folder`,
    # `daily-notes.json`): placeholders, not knowledge.
    templates: tuple[str, ...] = ()

    def is_template(self, path: str) -> bool:
        if not self.templates:
            return False
        if not path.isascii():
            path = unicodedata.normalize("NFC", path)  # settings are typed, hence NFC
        return any(path == t or path.startswith(t + "/") for t in self.templates)

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

    def filter_problems(self) -> list[WalkProblem]:
        """One problem per `/regex/` filter that has timed out (and now matches nothing)."""
        return [p for p in (f.problem() for f in self.patterns) if p is not None]

    @classmethod
    def load(cls, vault_root: Path) -> IgnoreRules:
        rules = cls._load_app_json(vault_root)
        templates = _template_paths(vault_root)
        return replace(rules, templates=templates) if templates else rules

    @classmethod
    def _load_app_json(cls, vault_root: Path) -> IgnoreRules:
        app_json = vault_root / APP_JSON
        where = APP_JSON
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
        regexes: list[str] = []
        for entry in setting("userIgnoreFilters", list, []):
            if not isinstance(entry, str) or not entry:
                problems.append(WalkProblem(where, f"userIgnoreFilters entry {entry!r} ignored"))
            elif len(entry) > 2 and entry.startswith("/") and entry.endswith("/"):
                regexes.append(entry)
            else:
                prefixes.append(unicodedata.normalize("NFC", entry))
        patterns = _compile_filters(regexes, where, problems) if regexes else []
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


def _compile_filters(
    entries: Iterable[str], where: str, problems: list[WalkProblem]
) -> list[RegexFilter]:
    """The `/regex/` filters that may run: compiled by `regex` (closer to JavaScript's syntax than
    `re`), minus those that do not compile or nest a variable repeat in a repeat (reported)."""
    import regex  # type: ignore[import-untyped]  # here: only vaults with regex filters pay for it

    compiled: list[RegexFilter] = []
    for entry in entries:
        try:
            pattern = regex.compile(entry[1:-1])
        except regex.error as exc:
            problems.append(WalkProblem(where, f"userIgnoreFilters regex {entry} ({exc})"))
            continue
        if _nested_repeat(entry[1:-1]):
            problems.append(
                WalkProblem(
                    where,
                    f"userIgnoreFilters regex {entry} repeats a group that itself repeats (like "
                    "(a+)+), which can take exponential time on a long path; ignored. Rewrite it "
                    "without the nested repeat",
                )
            )
            continue
        compiled.append(RegexFilter(entry, pattern))
    return compiled


def _nested_repeat(pattern: str) -> bool:
    """Whether a repeat (`+`, `*`, `{2,}`) holds a repeat of variable count: `(a+)+`, `(a?)*`.

    Read from the parse tree of Python's own regex parser (`re._parser`, private but the only
    parser there is); a pattern it cannot parse (JS-only syntax `regex` accepts) is not judged here
    and is left to the search timeout."""
    try:
        parser: Any = importlib.import_module("re._parser")
        tree = parser.parse(pattern)
    except Exception:  # any failure just means "not judged"
        return False
    return _repeats_inside(tree, inside=False)


def _repeats_inside(items: Any, inside: bool) -> bool:
    """Whether `items` (a parsed pattern, `inside` a repeat or not) holds a nested variable repeat."""
    for op, av in items:
        name = str(op)
        children: list[tuple[Any, bool]] = []
        if name in ("MAX_REPEAT", "MIN_REPEAT"):
            low, high, body = av
            if inside and low != high:
                return True
            children = [(body, inside or high > 1)]
        elif name == "POSSESSIVE_REPEAT":
            children = [(av[-1], False)]  # no backtracking into it: it cannot blow up through it
        elif name == "ATOMIC_GROUP":
            children = [(av, False)]
        elif name == "SUBPATTERN":
            children = [(av[-1], inside)]
        elif name in ("ASSERT", "ASSERT_NOT"):
            children = [(av[1], inside)]
        elif name == "BRANCH":
            children = [(alt, inside) for alt in av[1]]
        elif name == "GROUPREF_EXISTS":
            children = [(alt, inside) for alt in av[1:] if alt is not None]
        if any(_repeats_inside(body, within) for body, within in children):
            return True
    return False


# -- template folders ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FolderSetting:
    """A folder named by one settings file of `.obsidian/`, as the file has it now."""

    where: str  # the settings file, vault-relative
    exists: bool  # the settings file exists
    folder: str | None  # the folder it names, vault-relative (NFC, no slashes at the ends)
    problem: str | None = None  # why the file could not be used (unreadable, malformed, unsafe)


def folder_setting(vault_root: Path, where: str, key: str) -> FolderSetting:
    """What the settings file `where` says under `key`. Never raises: trouble is `problem`."""
    try:
        raw = (vault_root / where).read_bytes()
    except FileNotFoundError:
        return FolderSetting(where, False, None)
    except OSError as exc:
        return FolderSetting(where, True, None, f"cannot read it: {exc.strerror or exc}")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        return FolderSetting(where, True, None, f"malformed JSON: {exc}")
    value = data.get(key) if isinstance(data, dict) else None
    if value is None:
        return FolderSetting(where, True, None)
    if not isinstance(value, str):
        return FolderSetting(where, True, None, f"{key} is not a text")
    parts = [
        p for p in unicodedata.normalize("NFC", value).strip("/ ").split("/") if p not in ("", ".")
    ]
    if ".." in parts:
        return FolderSetting(where, True, None, f"{key} {value!r} leads outside the vault")
    return FolderSetting(where, True, "/".join(parts) or None)


def templates_folder_settings(vault_root: Path) -> tuple[FolderSetting, FolderSetting]:
    """The template folder of the core Templates plugin and of the Templater plugin, in that
    order (the one `init` fills is the first that names a folder)."""
    return (
        folder_setting(vault_root, CORE_TEMPLATES, "folder"),
        folder_setting(vault_root, TEMPLATER, "templates_folder"),
    )


def _template_paths(vault_root: Path) -> tuple[str, ...]:
    """Template folders (core Templates, Templater) and the daily-note template, vault-relative.
    A setting that cannot be read is simply no template setting here."""
    found = [s.folder for s in templates_folder_settings(vault_root) if s.folder]
    daily = folder_setting(vault_root, DAILY_NOTES, "template").folder
    if daily:
        found.append(daily if daily.lower().endswith(".md") else daily + ".md")
    return tuple(dict.fromkeys(found))
