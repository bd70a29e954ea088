"""One source's synthesis -> the text of every page it touches (pure: the caller reads and writes).

What goes where (SYSTEM.md §2, §5-§7):

- the **summary page** `wiki/sources/<stem>.md` (`type: source`): the key points in `summary`,
  each fact no entity or concept page takes (a fact about a person's note, or naming no subject)
  as a cited bullet in `facts` — so every fact of the source is on some wiki page, where
  conflicts are looked for —, a link to every page the source feeds in `mentions`, the raw
  file(s) in `sources`, and `source_hash`, `source_date`, `source_date_from`;
- one **entity or concept page** per subject with facts: each fact a cited bullet in `facts`,
  the subjects it shares facts with in `related`. A subject the vault already has a wiki page
  for updates that page; one that is a person's note (outside the managed folders) gets no
  duplicate page — the summary page links to the note instead;
- a page name never captures a link: a new page whose name would change where any existing link
  resolves (Obsidian's shortest-path rule) is named `<Name> (<type>)` instead, or skipped when
  that captures too (`VaultView.captures` answers with the real resolver).

Re-ingesting a changed source replaces its facts (bullets citing it) on every page, withdraws
them from pages it no longer feeds, and never recreates a page a person deleted (one the summary
page's `mentions` named that no longer exists). A person's bullets are never touched
(`write.wiki.merge_bullets`).
"""

from __future__ import annotations

import posixpath
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from companion.ingest.result import Converted, Subject, Synthesis
from companion.write.conflicts import drop_withdrawn
from companion.write.wiki import (
    Line,
    RegionPlan,
    all_ids,
    cite,
    edit_page,
    new_page,
    region_lines,
    safe_title,
)

DELETED_NOTE = "The raw file"  # how the note on a deleted source's summary page starts
# The `mentions` line that remembers a page a person deleted, so no later change of the source
# recreates it (a link would resolve to nothing; this names the page as plain text).
NOT_RECREATED = "Not recreated (a person deleted it): "
MAX_RELATED = 8  # links in a page's `related` region from one source: the strongest co-subjects


class VaultView(Protocol):
    """What planning needs to know about the vault (the caller answers from the index and disk)."""

    def read(self, rel: str) -> tuple[str, str] | None:
        """(text, content hash) of the page at `rel`, or None when there is none."""

    def find(self, rel: str) -> str | None:
        """The indexed path matching `rel` case-insensitively (Obsidian's names are), or None."""

    def is_managed(self, rel: str) -> bool: ...

    def template(self, type_name: str) -> str: ...

    def link(self, rel: str, source: str) -> str:
        """The link text (inside `[[...]]`) a page at `source` uses for `rel`: a wiki page by its
        full path; a person's note by the shortest name that resolves to exactly it (SYSTEM.md §5)."""

    def written(self, rel: str, source: str) -> set[str]:
        """Ids of the fact bullets citing `source` that ingest last wrote on `rel`."""

    def captures(self, rel: str) -> bool:
        """True when a new file at `rel` would change the target of any existing link."""


@dataclass(frozen=True, slots=True)
class Folders:
    sources: str = "wiki/sources"
    entity: str = "wiki/entities"
    concept: str = "wiki/concepts"


@dataclass(frozen=True, slots=True)
class PageWrite:
    rel: str
    text: str
    expected: str  # content hash of what was read; "" for a new page
    created: bool


@dataclass(slots=True)
class Plan:
    summary: str  # the summary page's vault path
    writes: list[PageWrite] = field(default_factory=list)
    facts: int = 0  # fact bullets this source has on entity/concept pages
    skipped: list[str] = field(default_factory=list)  # subjects not written, and why
    # Callouts taken off pages because the fact they quote from this source is gone from it
    # (`write.conflicts.drop_withdrawn`): their conflicts are forgotten, not closed as resolved.
    withdrawn: list[str] = field(default_factory=list)

    def without_stale(self, text: str, source: str, stated_elsewhere: Collection[str] = ()) -> str:
        """`text` without the callouts about facts of `source` no longer stated (on it, or in
        `stated_elsewhere`); their ids go to `withdrawn`."""
        kept, gone = drop_withdrawn(text, source, stated_elsewhere)
        self.withdrawn += [i for i in gone if i not in self.withdrawn]
        return kept

    @property
    def created(self) -> list[str]:
        return [w.rel for w in self.writes if w.created]

    @property
    def updated(self) -> list[str]:
        return [w.rel for w in self.writes if not w.created]


def paged(text: str, page: int | None) -> str:
    """A fact from a paged source (a PDF) says which page: `... (p. 3)` before its citation."""
    if page is None:
        return text
    body = text.rstrip()
    if body.endswith(".") and not body.endswith(".."):
        body = body[:-1].rstrip()
    return f"{body} (p. {page})"


def _wiki_folders(folders: Folders) -> tuple[str, ...]:
    return (folders.entity.casefold(), folders.concept.casefold())


def _dead(view: VaultView, line: Line) -> bool:
    """One of ingest's `related` links to a wiki page that is gone (a person deleted it): it is
    taken out. Links ingest keeps are otherwise only ever added (several sources share them)."""
    raw = (line.text or "").strip()
    if not (raw.startswith("[[wiki/") and raw.endswith("]]")):
        return False
    return view.find(raw[2:-2].split("|")[0] + ".md") is None


# Names of notes companion generates at the vault root, and its own: a page named so would be
# confused with them (`[[CONFLICT]]` must keep meaning the review queue).
RESERVED = {"conflict", "index", "log", "companion", "system"}


def link_target(rel: str) -> str:
    """How a wiki page is linked (SYSTEM.md §5): its full vault path without `.md`."""
    return rel.removesuffix(".md")


def summary_name(
    view: VaultView, folders: Folders, raw: str, siblings: Sequence[str] = ()
) -> str | None:
    """The summary page path for raw file `raw` (SYSTEM.md §2): its stem. When another source
    holds that name: the extension appended (`notes-txt`) if it sits in the same folder, else the
    parent folder (`notes-meetings`) — then the other one. `siblings`: the other raw files with
    the same stem. None when every candidate is taken or would capture a link."""
    stem, ext = posixpath.splitext(posixpath.basename(raw))
    folder = posixpath.dirname(raw)
    parent = posixpath.basename(folder)
    by_ext = f"{stem}-{ext.lstrip('.')}" if ext else stem
    by_parent = f"{stem}-{parent}"
    same_folder = any(posixpath.dirname(s) == folder for s in siblings)
    candidates = [stem, *((by_ext, by_parent) if same_folder else (by_parent, by_ext))]
    for name in dict.fromkeys(candidates):
        title = safe_title(name)
        if title is None:
            continue
        rel = f"{folders.sources}/{title}.md"
        if view.find(rel) is None and not view.captures(rel):
            return rel
    return None


def _mentioned(text: str | None, page: str) -> set[str]:
    """Pages a summary page's `mentions` region links to (`wiki/...` targets, without `.md`)."""
    from companion.write.regions import region_text

    if text is None:
        return set()
    content = region_text(text, "mentions", page) or ""
    out = set()
    for line in region_lines(content, page.rsplit("/", 1)[-1].removesuffix(".md"), "mentions"):
        raw = line.raw.strip()
        if raw.startswith("- [[") and "]]" in raw:
            out.add(raw[4 : raw.index("]]")].split("|")[0].casefold())
        elif line.owned and (line.text or "").startswith(NOT_RECREATED):
            out.add((line.text or "")[len(NOT_RECREATED) :].strip("` ").casefold())
    return out


@dataclass(frozen=True, slots=True)
class _Target:
    rel: str
    subject: Subject
    exists: bool
    note: bool  # a person's note: linked from the summary page, never written


def _targets(
    view: VaultView, folders: Folders, synthesis: Synthesis, deleted: set[str], plan: Plan
) -> dict[str, _Target]:
    """subject name -> where its facts go."""
    out: dict[str, _Target] = {}
    for subject in synthesis.subjects:
        if subject.existing is not None:
            managed = view.is_managed(subject.existing)
            out[subject.name] = _Target(subject.existing, subject, True, not managed)
            continue
        title = safe_title(subject.name)
        if title is None:
            plan.skipped.append(f"{subject.name!r}: no usable page name")
            continue
        if title.casefold() in RESERVED:
            plan.skipped.append(f"{subject.name!r}: a name companion keeps for its own notes")
            continue
        folder = folders.entity if subject.kind == "entity" else folders.concept
        chosen = None
        for name in (title, f"{title} ({subject.kind})"):
            rel = f"{folder}/{name}.md"
            found = view.find(rel)
            if found is not None:
                chosen = _Target(found, subject, True, False)
                break
            if link_target(rel).casefold() in deleted:
                plan.skipped.append(f"{rel}: deleted by a person; not recreated")
                break
            if not view.captures(rel):
                chosen = _Target(rel, subject, False, False)
                break
        else:
            plan.skipped.append(f"{subject.name!r}: every name for it would capture existing links")
        if chosen is not None:
            out[subject.name] = chosen
    return out


def remembered(text: str, page: str) -> set[str]:
    """Every page (link target, casefolded) a summary page's `mentions` names: linked, or
    remembered as deleted by a person. Those that no longer exist are the deleted ones."""
    return _mentioned(text, page)


def plan_source(
    view: VaultView,
    folders: Folders,
    *,
    deleted: set[str] = frozenset(),  # type: ignore[assignment]
    summary: str,
    raw_paths: Sequence[str],
    digest: str,
    converted: Converted,
    date: tuple[str, str],
    synthesis: Synthesis,
    now: datetime,
) -> Plan:
    """Every page write for one source (see the module docstring). `summary`: its summary page
    path (existing or new); `raw_paths`: every raw file holding these bytes."""
    plan = Plan(summary)
    cited = link_target(summary)
    current_summary = view.read(summary)
    before = _mentioned(current_summary[0] if current_summary else None, summary)
    deleted = {t for t in before if view.find(t + ".md") is None} | set(deleted)
    targets = _targets(view, folders, synthesis, deleted, plan)

    facts_for: dict[str, list[str]] = {}
    related: dict[str, Counter[str]] = {}
    loose: list[str] = []  # facts no entity or concept page takes: kept on the summary page
    for fact in synthesis.facts:
        where = [targets[name] for name in fact.about if name in targets]
        writable = [t for t in where if not t.note]
        bullet = cite(paged(fact.text, fact.page), [cited])
        if not writable:
            loose.append(bullet)
        for target in writable:
            facts_for.setdefault(target.rel, []).append(bullet)
            counter = related.setdefault(target.rel, Counter())
            for other in where:
                if other.rel != target.rel:
                    counter[other.rel] += 1
    fed = {rel for rel, bullets in facts_for.items() if bullets}
    notes = sorted({t.rel for t in targets.values() if t.note})

    def mine(line: Line) -> bool:
        return line.cites() == [cited]

    by_rel = {t.rel: t for t in targets.values()}
    for rel in sorted(fed):
        target = by_rel[rel]
        bullets = list(dict.fromkeys(facts_for[rel]))
        plan.facts += len(bullets)
        links = [
            f"[[{view.link(other, rel)}]]"
            for other, _ in sorted(
                related.get(rel, Counter()).items(), key=lambda kv: (-kv[1], kv[0])
            )
            if other in fed or by_rel[other].note or by_rel[other].exists
        ][:MAX_RELATED]
        current = view.read(rel)
        if current is None:
            type_name = target.subject.kind
            aliases = [
                a for a in target.subject.aliases if a.casefold() != target.subject.name.casefold()
            ]
            text = new_page(
                rel,
                view.template(type_name),
                {"facts": bullets, "related": links},
                properties={"type": type_name},
                lists={"aliases": aliases, "tags": [], "sources": [f"[[{cited}]]"], "related": []},
                now=now,
            )
            plan.writes.append(PageWrite(rel, text, "", True))
            continue
        edited = edit_page(
            rel,
            current[0],
            {
                # Bullets ingest wrote before that are nowhere on the page now: a person deleted
                # them, and that stands.
                "facts": RegionPlan(
                    tuple(bullets),
                    mine,
                    frozenset(view.written(rel, cited) - all_ids(current[0])),
                ),
                "related": RegionPlan(tuple(links), lambda line: _dead(view, line)),
            },
            now=now,
        )
        if edited is not None:
            edited = plan.without_stale(edited, cited)  # callouts about facts it no longer states
            plan.writes.append(PageWrite(rel, edited, current[1], False))

    # Pages this source fed before and feeds no longer: its facts there are withdrawn.
    _withdraw(view, plan, before - {link_target(r).casefold() for r in fed}, now)

    gone = sorted(
        t for t in deleted if t.startswith(tuple(f + "/" for f in _wiki_folders(folders)))
    )
    _plan_summary(
        view,
        plan,
        summary,
        raw_paths,
        digest,
        converted,
        date,
        synthesis,
        fed,
        notes,
        now,
        gone,
        list(dict.fromkeys(loose)),
    )
    return plan


def _plan_summary(
    view: VaultView,
    plan: Plan,
    summary: str,
    raw_paths: Sequence[str],
    digest: str,
    converted: Converted,
    date: tuple[str, str],
    synthesis: Synthesis,
    fed: set[str],
    notes: list[str],
    now: datetime,
    gone: Sequence[str] = (),
    loose: Sequence[str] = (),
) -> None:
    points = [paged(f.text, f.page) for f in synthesis.summary]
    plan.facts += len(loose)
    mentions = [f"[[{view.link(r, summary)}]]" for r in sorted(fed) + notes]
    mentions += [f"{NOT_RECREATED}`{target}`" for target in gone]
    properties = {
        "type": "source",
        "source_hash": digest,
        "source_date": date[0],
        "source_date_from": date[1],
    }
    raw_links = [f"[[{p}]]" for p in raw_paths]
    current = view.read(summary)
    if current is None:
        text = new_page(
            summary,
            view.template("source"),
            {"summary": points, "facts": list(loose), "mentions": mentions},
            properties=properties,
            lists={"sources": raw_links},
            now=now,
            replace={"[[sources/{{title}}.md]]": raw_links[0]},
        )
        plan.writes.append(PageWrite(summary, text, "", True))
        return
    everything = RegionPlan
    edited = edit_page(
        summary,
        current[0],
        {
            "summary": everything(tuple(points), lambda _line: True),
            # Its own bullets only: a conflict callout placed among them stays.
            "facts": RegionPlan(
                tuple(loose),
                lambda line: line.cites() == [link_target(summary)],
                frozenset(view.written(summary, link_target(summary)) - all_ids(current[0])),
            ),
            "mentions": everything(tuple(mentions), lambda _line: True),
        },
        properties=properties,
        lists={"sources": raw_links},
        sync_sources=False,
        now=now,
    )
    if edited is not None:
        edited = plan.without_stale(edited, link_target(summary))
        plan.writes.append(PageWrite(summary, edited, current[1], False))


def _withdraw(view: VaultView, plan: Plan, targets: set[str], now: datetime) -> None:
    """Remove the facts citing `plan.summary` (ingest's own bullets only) from `targets`, the
    link targets (`wiki/...`, casefolded) of pages it fed."""
    cited = link_target(plan.summary)

    def mine(line: Line) -> bool:
        return line.cites() == [cited]

    for target in sorted(targets):
        found = view.find(target + ".md")
        if found is None or not view.is_managed(found) or found == plan.summary:
            continue
        page = view.read(found)
        if page is None:
            continue
        edited = edit_page(found, page[0], {"facts": RegionPlan((), mine)}, now=now)
        if edited is not None:
            plan.writes.append(PageWrite(found, plan.without_stale(edited, cited), page[1], False))


def withdrawn(text: str, page: str) -> bool:
    """Whether a summary page says its raw file was deleted (ingest's note in `summary`)."""
    from companion.write.regions import region_text

    content = region_text(text, "summary", page) or ""
    stem = page.rsplit("/", 1)[-1].removesuffix(".md")
    return any(
        line.owned and (line.text or "").startswith(DELETED_NOTE)
        for line in region_lines(content, stem, "summary")
    )


def plan_withdraw(view: VaultView, summary: str, raw_paths: Sequence[str], now: datetime) -> Plan:
    """A source whose every raw file is gone: its facts withdrawn from every page it fed, and its
    summary page saying so (a note heading its `summary` region, `DELETED_NOTE`). The note is
    ingest's own bullet: when the same bytes come back, the source is planned again and the
    summary region rewritten without it."""
    plan = Plan(summary)
    current = view.read(summary)
    if current is None:
        return plan
    _withdraw(view, plan, _mentioned(current[0], summary), now)
    day = now.strftime("%Y-%m-%d")
    shown = ", ".join(f"`{p}`" for p in raw_paths) or "the raw file"
    notice = (
        f"The raw file {shown} was deleted; its facts were withdrawn from the pages it fed ({day})."
    )
    edited = edit_page(
        summary,
        current[0],
        {
            "summary": RegionPlan(
                (notice,), lambda line: (line.text or "").startswith("The raw file ")
            ),
            # The facts it kept here are withdrawn like those on other pages.
            "facts": RegionPlan((), lambda line: line.cites() == [link_target(summary)]),
        },
        sync_sources=False,
        now=now,
    )
    if edited is not None:
        edited = plan.without_stale(edited, link_target(summary))
        plan.writes.append(PageWrite(summary, edited, current[1], False))
    return plan
