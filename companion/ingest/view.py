"""`plan.VaultView` over the index and the disk: what planning may know of the vault, answered
without a resolver over every path (a link can only resolve among files of its own name).

A dry run plans each source against the pages the sources before it *would* have written
(`overlay`), so it says what a real run does. A page that is a link, or sits in a linked folder,
is refused (`PageRefused`) before it is read: ingest writes wiki pages only in place.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from companion.config import Settings
from companion.errors import PageRefused
from companion.ingest.plan import PageWrite
from companion.markdown.resolve import Resolver, keys_for_file, name_key
from companion.store.db import Store
from companion.vault.walk import content_hash
from companion.write.atomic import landing, read_regular, vault_relative
from companion.write.regions import find_regions
from companion.write.wiki import region_lines


class VaultOnDisk:
    """`plan.VaultView` over the index and the disk. A dry run plans every source against the
    pages the sources before it *would* have written (`overlay`), so it says what a real run
    does — not "would create" the same page once per source."""

    def __init__(self, settings: Settings, store: Store, templates: Callable[[str], str]) -> None:
        self.settings = settings
        self.store = store
        self._templates = templates
        self.overlay: dict[str, str] = {}  # rel -> text a dry run planned
        self.bom: set[str] = set()  # pages that start with a byte order mark: written with it
        self.refresh()

    def refresh(self) -> None:
        self.paths = sorted({*self.store.pages.paths(), *self.overlay})
        self._folded = {p.casefold(): p for p in self.paths}
        self._by_key: dict[str, list[str]] | None = None
        self._summaries: list[tuple[str, dict[str, Any]]] | None = None

    def summary_pages(self) -> list[tuple[str, dict[str, Any]]]:
        """(path, properties) of every summary page, as the index has them: read once until the
        next `refresh` (a source's planning asks several times; a commit is followed by one)."""
        if self._summaries is None:
            self._summaries = self.store.sources.summary_pages()
        return self._summaries

    def _named(self, keys: set[str]) -> list[str]:
        """Every file a link with one of these name keys could resolve to. Resolution only ever
        chooses among files of the link's name, so a resolver over just these answers for such a
        link exactly as one over the whole vault would — without building one over 10,000 paths
        for every page planned."""
        if self._by_key is None:
            self._by_key = {}
            for path in self.paths:
                for key in keys_for_file(path):
                    self._by_key.setdefault(key, []).append(path)
        return sorted({p for key in keys for p in self._by_key.get(key, [])})

    def planned(self, writes: Sequence[PageWrite]) -> None:
        for write in writes:
            self.overlay[write.rel] = write.text
        self.refresh()

    def read(self, rel: str) -> tuple[str, str] | None:
        if rel in self.overlay:
            text = self.overlay[rel]
            return text, content_hash(text.encode("utf-8"))
        real = vault_relative(self.settings.vault, landing(self.settings.vault, rel))
        if real != rel:
            # A page that is a link (or sits in a linked folder) would be written through to
            # another file — perhaps a person's note outside the managed folders: never.
            raise PageRefused(
                f"{rel} is a link to {real}; companion writes wiki pages only in place. "
                "Replace the link with the page itself so ingest can write it"
            )
        data = read_regular(self.settings.vault, rel, self.settings.max_note_bytes)
        if data is None:
            return None
        text = data.decode("utf-8")  # UnicodeDecodeError: reported for the source by `_one`
        if text.startswith("\ufeff"):
            self.bom.add(rel)
        return text.removeprefix("\ufeff"), content_hash(data)

    def find(self, rel: str) -> str | None:
        return self._folded.get(rel.casefold())

    def is_managed(self, rel: str) -> bool:
        return self.settings.schema.is_managed(rel)

    def template(self, type_name: str) -> str:
        return self._templates(type_name)

    def link(self, rel: str, source: str) -> str:
        target = rel.removesuffix(".md")
        if self.settings.schema.is_managed(rel):
            return target
        name = target.rsplit("/", 1)[-1]
        found = Resolver(self._named({name_key(name)})).resolve(name, source)
        return name if found.target == rel and not found.ambiguous else target

    def written(self, rel: str, source: str) -> set[str]:
        return self.store.sources.bullets(rel, source)

    def captures(self, rel: str) -> bool:
        """Would a file at `rel` change any existing link's target? Only a link that resolves
        to another file counts: one that resolved to nothing and now finds the new page is what
        SYSTEM.md §5 asks for ("prefer creating the page")."""
        links = self.store.links.to_resolve([name_key(rel)])
        if not links:
            return False
        resolver = Resolver([*self._named(keys_for_file(rel)), rel])
        for link in links:
            if link.target is None:
                continue
            if resolver.resolve(link.path, link.source).target != link.target:
                return True
        return False


def describe(view: VaultOnDisk, write: PageWrite) -> str:
    """A dry run's line for one page: created, or each region's bullets added and removed."""
    if write.created:
        return f"create {write.rel}"
    current = view.read(write.rel)
    old_text = current[0] if current else ""
    parts = []
    page = write.rel.rsplit("/", 1)[-1].removesuffix(".md")
    for region in find_regions(write.text, write.rel):
        new = {
            line.raw
            for line in region_lines(
                write.text[region.body_start : region.body_end], page, region.name
            )
        }
        old_regions = {r.name: r for r in find_regions(old_text, write.rel)}
        old: set[str] = set()
        if region.name in old_regions:
            r = old_regions[region.name]
            old = {
                line.raw
                for line in region_lines(old_text[r.body_start : r.body_end], page, region.name)
            }
        added, removed = len(new - old), len(old - new)
        if added or removed:
            parts.append(f"{region.name} +{added} -{removed}")
    return f"update {write.rel}: " + (", ".join(parts) or "properties")
