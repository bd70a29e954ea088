"""Settings, resolved once per command: flags > COMPANION_* environment > SYSTEM.md frontmatter > defaults.

`Settings` is plain data; `load_settings` is the only place that reads the environment or SYSTEM.md.
The schema (page types, managed folders) comes from the vault's own `SYSTEM.md` when it has one and
from the project's default `SYSTEM.md` (shipped inside the package) otherwise.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from companion.errors import ConfigError

DEFAULT_MODEL = "all-MiniLM-L6-v2"
DEFAULT_MAX_NOTE_BYTES = 10 * 1024 * 1024
# A person's editing session costs one version bump (SYSTEM.md §8): Obsidian saves every ~2 s, so
# the bump waits for this much quiet (every further save restarts the wait) — or happens at once
# when a writer needs the page.
DEFAULT_BUMP_SETTLE = 300.0
# The vault's lease (write/lease.py): a writer that stops renewing it is taken over after this long.
DEFAULT_LEASE_TTL = 60.0
# How vectors are computed (the registry is `companion.embed.BACKENDS`). "int8": ONNX Runtime on a
# locally exported, int8-quantized copy of the model, ~1.9x the fp32 throughput on 2 cores for a
# SciFact dev nDCG@10 change within 0.005 (docs/benchmarks.md). "torch": sentence-transformers in fp32.
DEFAULT_EMBED_BACKEND = "int8"
# Ingest curation (SYSTEM.md frontmatter `ingest:`): which sources are ingested, how big one may be,
# and how long a dropped file must be quiet (size and mtime unchanged) before it is read.
DEFAULT_INGEST_FORMATS = (".md", ".markdown", ".txt", ".html", ".htm", ".pdf")
DEFAULT_MAX_SOURCE_BYTES = 50 * 1024 * 1024
DEFAULT_SOURCE_SETTLE = 5.0

_FRONTMATTER = re.compile(r"\A(?:\ufeff)?---\r?\n(.*?)\r?\n---\r?\n?", re.S)


@dataclass(frozen=True, slots=True)
class PageType:
    name: str
    folder: str
    required: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class IngestRules:
    """SYSTEM.md's `ingest:` block: curation and the synthesizer. `llm_url`/`llm_model` here come
    from SYSTEM.md only (a file that syncs and may be shared); the environment's are in Settings."""

    formats: tuple[str, ...] = DEFAULT_INGEST_FORMATS  # allowed suffixes, lowercase, with the dot
    max_source_bytes: int = DEFAULT_MAX_SOURCE_BYTES
    source_settle: float = DEFAULT_SOURCE_SETTLE
    synthesizer: str = "extractive"  # or "llm"
    llm_url: str | None = None
    llm_model: str | None = None


@dataclass(frozen=True, slots=True)
class Schema:
    schema_version: int
    managed_folders: tuple[str, ...]
    sources_folder: str
    page_types: tuple[PageType, ...]
    origin: str  # path of the SYSTEM.md it came from
    ingest: IngestRules = IngestRules()
    git: bool = False  # `git: true`: commit what companion writes (write/git.py)
    # `index: {orphans: false, unresolved: false}`: index.md leaves out those lists
    index_orphans: bool = True
    index_unresolved: bool = True

    def is_managed(self, path: str) -> bool:
        """True for pages the companion may write (under a managed folder)."""
        return any(path == f or path.startswith(f + "/") for f in self.managed_folders)

    def folder_of(self, type_name: str) -> str | None:
        """The folder pages of `type_name` live in (`answer` -> `wiki/answers`), if any."""
        return next((t.folder for t in self.page_types if t.name == type_name), None)

    def type_of(self, folder: str) -> str | None:
        """The page type a folder holds (`wiki/concepts` -> `concept`), if any."""
        return next((t.name for t in self.page_types if t.folder == folder), None)


@dataclass(frozen=True, slots=True)
class Settings:
    vault: Path
    state_dir: Path
    schema: Schema
    model: str = DEFAULT_MODEL
    max_note_bytes: int = DEFAULT_MAX_NOTE_BYTES
    batch_size: int = 32
    embed_backend: str = DEFAULT_EMBED_BACKEND
    bump_settle: float = DEFAULT_BUMP_SETTLE  # seconds of quiet before a person's edit is bumped
    lease_ttl: float = DEFAULT_LEASE_TTL  # seconds before a silent writer's vault lease expires
    source_settle: float = DEFAULT_SOURCE_SETTLE  # seconds a dropped source must be quiet
    llm_url: str | None = None  # COMPANION_LLM_URL: the user's own endpoint (always trusted)
    llm_model: str | None = None  # COMPANION_LLM_MODEL
    llm_api_key: str | None = None  # COMPANION_LLM_API_KEY: keys come from the environment only
    git: bool = False  # COMPANION_GIT=1 or SYSTEM.md `git: true`: commit each write (write/git.py)

    @property
    def db_path(self) -> Path:
        return self.state_dir / "index.sqlite"


def default_system_md() -> str:
    """The project's default SYSTEM.md text (packaged with companion)."""
    return (resources.files("companion") / "defaults" / "SYSTEM.md").read_text(encoding="utf-8")


def _index(data: dict[str, Any]) -> dict[str, Any]:
    """SYSTEM.md's `index:` block (what index.md lists), {} when absent."""
    block = data.get("index") or {}
    if not isinstance(block, dict):
        raise ValueError(f"`index` must be a mapping (orphans, unresolved), not {block!r}")
    return block


def _flag(value: object, origin: str, key: str) -> bool:
    if isinstance(value, bool):
        return value
    raise ValueError(f"`{key}` must be true or false, not {value!r}")


def parse_schema(text: str, origin: str) -> Schema:
    import yaml  # here, not at the top: the CLI's daemon fast path never parses SYSTEM.md

    match = _FRONTMATTER.match(text)
    if not match:
        raise ConfigError(
            f"{origin}: no YAML frontmatter; the schema settings live between '---' lines"
        )
    try:
        data = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{origin}: malformed YAML in frontmatter: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{origin}: frontmatter must be a mapping of settings")
    try:
        types = tuple(
            PageType(
                str(name), str(spec["folder"]).strip("/"), tuple(map(str, spec.get("required", [])))
            )
            for name, spec in (data.get("page_types") or {}).items()
        )
        folders = data.get("managed_folders", ["wiki"])
        if isinstance(folders, str):
            folders = [folders]  # `managed_folders: wiki` means the one folder
        managed = tuple(str(f).strip("/") for f in folders if str(f).strip("/"))
        sources = str(data.get("sources_folder", "sources")).strip("/")
        _check_folders(origin, managed, sources, types)
        return Schema(
            schema_version=int(data.get("schema_version", 1)),
            managed_folders=managed,
            sources_folder=sources,
            page_types=types,
            origin=origin,
            ingest=_ingest_rules(data.get("ingest"), origin),
            git=_flag(data.get("git", False), origin, "git"),
            index_orphans=_flag(_index(data).get("orphans", True), origin, "index.orphans"),
            index_unresolved=_flag(
                _index(data).get("unresolved", True), origin, "index.unresolved"
            ),
        )
    except (TypeError, KeyError, ValueError, AttributeError) as exc:
        raise ConfigError(
            f"{origin}: invalid schema settings ({exc!r}); see the default SYSTEM.md"
        ) from exc


def _check_folders(
    origin: str, managed: tuple[str, ...], sources: str, types: tuple[PageType, ...]
) -> None:
    """The folders must make sense together: companion writes only in managed folders, never in
    the sources folder, and every page type's folder is a managed one."""

    def inside(path: str, folder: str) -> bool:
        return path == folder or path.startswith(folder + "/")

    for folder in (sources, *managed, *(t.folder for t in types)):
        if not folder or folder.startswith(".") or ".." in folder.split("/") or "\\" in folder:
            raise ConfigError(
                f"{origin}: folder {folder!r} must be a plain path inside the vault "
                "(not empty, not hidden, no `..`)"
            )
    for folder in managed:
        if inside(sources, folder) or inside(folder, sources):
            raise ConfigError(
                f"{origin}: the sources folder {sources!r} and the managed folder {folder!r} "
                "overlap; sources are never written, managed folders are"
            )
    for page_type in types:
        if not any(inside(page_type.folder, folder) for folder in managed):
            raise ConfigError(
                f"{origin}: page type {page_type.name!r} lives in {page_type.folder!r}, outside "
                f"the managed folders ({', '.join(managed)}): companion writes only there"
            )


def _ingest_rules(raw: object, origin: str) -> IngestRules:
    """SYSTEM.md's `ingest:` block; every key optional, every bad value a clear ConfigError."""
    if raw is None:
        return IngestRules()
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{origin}: `ingest` must be a mapping of settings (formats, max_source_bytes, ...)"
        )
    known = {"formats", "max_source_bytes", "source_settle", "synthesizer", "llm"}
    unknown = sorted(str(k) for k in raw if k not in known)
    if unknown:
        raise ConfigError(
            f"{origin}: unknown `ingest` setting(s) {', '.join(unknown)}; known are {', '.join(sorted(known))}"
        )
    rules = IngestRules()
    formats = raw.get("formats", list(rules.formats))
    if isinstance(formats, str):
        formats = [formats]
    if not isinstance(formats, list) or not all(isinstance(f, str) and f.strip() for f in formats):
        raise ConfigError(
            f"{origin}: `ingest.formats` must be a list of suffixes like [md, txt, pdf]"
        )
    suffixes = tuple(sorted({"." + f.strip().lower().lstrip(".") for f in formats}))
    size = raw.get("max_source_bytes", rules.max_source_bytes)
    if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
        raise ConfigError(
            f"{origin}: `ingest.max_source_bytes` must be a positive number of bytes, not {size!r}"
        )
    settle = raw.get("source_settle", rules.source_settle)
    if not isinstance(settle, int | float) or isinstance(settle, bool) or not 0 <= settle <= 3600:
        raise ConfigError(
            f"{origin}: `ingest.source_settle` must be 0 to 3600 seconds, not {settle!r}"
        )
    synthesizer = raw.get("synthesizer", rules.synthesizer)
    if synthesizer not in ("extractive", "llm"):
        raise ConfigError(
            f"{origin}: `ingest.synthesizer` is extractive or llm, not {synthesizer!r}"
        )
    llm = raw.get("llm") or {}
    if not isinstance(llm, dict) or not all(
        isinstance(llm.get(k, ""), str) for k in ("url", "model")
    ):
        raise ConfigError(
            f"{origin}: `ingest.llm` must be a mapping with `url` and `model` strings"
        )
    return IngestRules(
        formats=suffixes,
        max_source_bytes=size,
        source_settle=float(settle),
        synthesizer=synthesizer,
        llm_url=llm.get("url") or None,
        llm_model=llm.get("model") or None,
    )


def load_schema(vault: Path) -> Schema:
    own = vault / "SYSTEM.md"
    if own.is_file():
        try:
            text = own.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{own}: cannot read ({exc})") from exc
        if _FRONTMATTER.match(text):
            return parse_schema(text, str(own))
        # A note of the user's that happens to be called SYSTEM.md: no settings in it.
    return parse_schema(default_system_md(), "default SYSTEM.md")


def user_state_root() -> Path:
    base = os.environ.get("XDG_STATE_HOME")
    return Path(base) if base else Path.home() / ".local" / "state"


def default_state_dir(vault: Path) -> Path:
    """A per-vault folder outside the vault, so sync tools never copy a live database."""
    resolved = vault.resolve()
    digest = hashlib.sha256(str(resolved).encode()).hexdigest()[:10]
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", resolved.name) or "vault"
    return user_state_root() / "companion" / f"{safe}-{digest}"


def resolve_state_dir(vault: Path, state_dir: str | Path | None = None) -> Path:
    """The state folder for `vault`: flag, then COMPANION_STATE_DIR, then the per-vault default."""
    state = state_dir or os.environ.get("COMPANION_STATE_DIR") or default_state_dir(vault)
    return Path(state).expanduser().resolve()


def load_settings(
    vault: Path,
    state_dir: str | Path | None = None,
    model: str | None = None,
    embed_backend: str | None = None,
) -> Settings:
    """Resolve settings for `vault` (already located) from flags, environment and SYSTEM.md."""
    schema = load_schema(vault)
    max_bytes = os.environ.get("COMPANION_MAX_NOTE_BYTES")
    try:
        limit = int(max_bytes) if max_bytes else DEFAULT_MAX_NOTE_BYTES
    except ValueError as exc:
        raise ConfigError(
            f"COMPANION_MAX_NOTE_BYTES must be a number of bytes, not {max_bytes!r}"
        ) from exc
    bump_settle = _seconds("COMPANION_BUMP_SETTLE", DEFAULT_BUMP_SETTLE)
    lease_ttl = _seconds("COMPANION_LEASE_TTL", DEFAULT_LEASE_TTL)
    source_settle = _seconds("COMPANION_SOURCE_SETTLE", schema.ingest.source_settle)
    if not 0.5 <= lease_ttl <= 86400:
        raise ConfigError(
            f"COMPANION_LEASE_TTL must be a number of seconds from 0.5 to 86400, not {lease_ttl:g}"
        )
    # The backend name is checked by the embedding registry (`companion.embed.BACKENDS`) when a
    # model is described: one list of backends, one message.
    backend = embed_backend or os.environ.get("COMPANION_EMBED_BACKEND") or DEFAULT_EMBED_BACKEND
    return Settings(
        vault=vault.resolve(),
        state_dir=resolve_state_dir(vault, state_dir),
        schema=schema,
        model=model or os.environ.get("COMPANION_MODEL") or DEFAULT_MODEL,
        max_note_bytes=limit,
        embed_backend=backend,
        bump_settle=bump_settle,
        lease_ttl=lease_ttl,
        source_settle=source_settle,
        llm_url=os.environ.get("COMPANION_LLM_URL") or None,
        llm_model=os.environ.get("COMPANION_LLM_MODEL") or None,
        llm_api_key=os.environ.get("COMPANION_LLM_API_KEY") or None,
        git=schema.git
        or os.environ.get("COMPANION_GIT", "").strip().lower() in ("1", "true", "yes"),
    )


def _seconds(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0 or value == float("inf"):
        raise ConfigError(f"{name} must be a number of seconds (0 or more), not {raw!r}")
    return value
