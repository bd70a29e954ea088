"""The ingest run: which sources need work, and each one through ledger -> convert -> synthesize ->
plan -> commit. `Companion.ingest` builds an `Ingester` with the index, the settings, a
synthesizer and the two things only the composition root may do (`commit` a plan as one
journaled transaction, `settle` a person's pending edits by bumping their version first).

Per source, in order:

1. *unchanged*: its size and mtime are those it was last ingested at — not even read;
2. *curation*: a suffix outside SYSTEM.md's `ingest.formats` or a file over
   `ingest.max_source_bytes` is reported (`skipped`), never truncated; a symlink leading out of
   the vault, a FIFO or a folder is refused the same way;
3. *ledger*: its bytes' `sha256:` hash is looked up among the summary pages' `source_hash` — the
   same bytes under another name only get that path listed on the existing summary page (a
   rename re-points it), nothing is re-synthesised;
4. otherwise it is converted, dated (`dates.source_date`), synthesized and planned
   (`plan.plan_source`), and the plan is committed; a person's save to a page meanwhile makes the
   journal refuse the whole change, and the source is planned again from the new text (3 tries).

Then every summary page whose raw files are all gone is withdrawn (`plan.plan_withdraw`). The
source files themselves are only ever read.
"""

from __future__ import annotations

import dataclasses
import os
import posixpath
import re
import time
import unicodedata
from collections.abc import Callable, Collection, Sequence
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from companion.config import Settings
from companion.errors import (
    ChangedOnDisk,
    CompanionError,
    FileTooLarge,
    NotRegularFile,
    OutsideVault,
    SourceError,
    SourceTooLarge,
    SynthesisFailed,
)
from companion.ingest.plan import (
    Folders,
    PageWrite,
    Plan,
    plan_source,
    plan_withdraw,
    remembered,
    summary_name,
    withdrawn,
)
from companion.ingest.report import IngestReport, SourceOutcome
from companion.ingest.result import KnownPage, Synthesis, Synthesizer
from companion.ingest.view import VaultOnDisk, describe
from companion.markdown.note import Note
from companion.markdown.parse import parse_note
from companion.store.db import Store
from companion.store.rows import SourceRow
from companion.vault.walk import content_hash
from companion.write.atomic import read_regular
from companion.write.wiki import bumped, edit_page, ids_citing

if TYPE_CHECKING:
    from companion.conflicts.claims import Claim
    from companion.conflicts.detect import Found, Stored

TRIES = 3  # plans of one source refused because a page changed meanwhile, before giving up
# An LLM that failed is tried again after 5, then 10 minutes: 3 tries over ~15 minutes, then the
# source stays pending (state "failed", its problem shown in `status`) until it changes, the
# daemon restarts or `companion ingest` names it.
RETRY_DELAYS = (300.0, 600.0)


def _frontmatter(text: str, rel: str) -> Note:
    """The page's frontmatter alone, parsed as sync parses the page (the body, which can hold
    thousands of facts, is not read: only properties are wanted)."""
    head = text.removeprefix("\ufeff")
    if head.startswith("---"):
        end = head.find("\n---", 3)
        head = head[: head.find("\n", end + 4) + 1 if end != -1 else len(head)]
    else:
        head = ""
    return parse_note(head.encode("utf-8"), rel)


def page_aliases(text: str, rel: str) -> tuple[str, ...]:
    """A page's aliases as the index reads them (the same parser as sync, so the claims ingest
    reads from a page's text agree with the ones the index stored)."""
    return tuple(_frontmatter(text, rel).aliases)


def _source_date(summary_text: str, rel: str) -> date | None:
    """A summary page's `source_date` (SYSTEM.md §3), read by the vault's frontmatter parser."""
    value = _frontmatter(summary_text, rel).properties.get("source_date")
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


Commit = Callable[[Plan, str, list[str]], None]  # (plan, log headline, log bullets)
# Bump pending person edits among these pages (looking at the files again first when asked);
# whether any was bumped.
Settle = Callable[[list[str], bool], bool]


@dataclasses.dataclass
class _Callouts:
    """The callouts one source's findings add to the texts of a plan: each finding once, after
    the replaced (or stored) claim on the page that holds it — a page the plan does not touch
    is read and added (`added`) — and its log.md bullet (`bullets`)."""

    view: VaultOnDisk
    texts: dict[str, str]
    shown: set[frozenset[str]]  # the claim pairs callouts already show
    day: str
    date_of: Callable[[str], date | None]
    outcome: SourceOutcome
    pairs: set[tuple[str, str]] = dataclasses.field(default_factory=set)
    bullets: list[str] = dataclasses.field(default_factory=list)
    added: dict[str, PageWrite] = dataclasses.field(default_factory=dict)
    fresh: set[str] = dataclasses.field(default_factory=set)  # added pages: bumped once, last

    def show(self, f: Found, anchor_page: str, line_page: str) -> None:
        from companion.write.conflicts import callout, has_block, place, quoted_claim

        pair = (f.finding.old.fact, f.finding.new.fact)
        kind = "conflict" if f.finding.verdict == "conflict" else "superseded"
        pair_lines, holder = [f.anchor, f.line], anchor_page
        if kind == "superseded" and f.finding.replaced == "new":
            pair_lines.reverse()  # the replaced fact first, the callout after it
            holder = line_page
        held = None
        if holder not in self.texts:
            held = self.view.read(holder)
            if held is None:
                return
        text = self.texts[holder] if held is None else held[0]
        quoted = frozenset((quoted_claim(f.anchor), quoted_claim(f.line)))
        if pair in self.pairs or quoted in self.shown or has_block(text, f.finding.id):
            return  # shown already (on another page, or by an earlier commit)
        self.pairs.add(pair)
        if held is not None:  # a page the plan does not touch: written with its callout
            self.added[holder] = PageWrite(holder, held[0], held[1], False)
            self.fresh.add(holder)
        when = self.day
        if kind == "superseded":
            # When the change holds from: its source's date, or the later date the change
            # itself names ("from 2024-10-15 the limit will be 500").
            by = f.finding.new if f.finding.replaced == "old" else f.finding.old
            holds = [self.date_of(by.sources[0])] + [v.date for v in by.values if v.date]
            known_days = [d for d in holds if d is not None]
            when = max(known_days).isoformat() if known_days else self.day
        lines = callout(kind, f.finding.id, f.finding.title, when, pair_lines)
        self.texts[holder] = place(text, pair_lines[0], lines)
        shown_as = re.sub(r"[\]\[|#^]", " ", f.finding.title).strip()
        where = f"[[{holder.removesuffix('.md')}#^{f.finding.id}|{shown_as}]]"
        entry = f"{f.finding.id} {holder}: {f.finding.title}"
        if kind == "conflict":
            self.outcome.conflicts.append(entry)
            self.bullets.append(f"conflict opened: {where} ({f.finding.category})")
        else:
            self.outcome.superseded.append(entry)
            self.bullets.append(f"superseded: {where}")


MAX_NAMING = 50  # summary pages read for the facts naming one person's note
_NAME_WORD = re.compile(r"[^\W_]+(?:[-'’][^\W_]+)*")


def _name_like(title: str) -> bool:
    """A note title that names a thing: two words or more, or one with a digit, a hyphen, an
    inner capital or all capitals (`ADR-012`, `PostgreSQL`, `SRE`)."""
    return " " in title or bool(re.search(r"\d|-|[a-z][A-Z]|^[A-Z]{2,}$", title))


def _named_notes(line: str, names: dict[str, KnownPage]) -> list[KnownPage]:
    """The notes a fact names (`_note_names`), in the order the fact first names them, each
    once: its words (citation left out) matched exactly, up to five at a time, a longer name
    before the shorter ones inside it (`Payments API`, not `Payments`)."""
    from companion.write.wiki import CITATION

    words = _NAME_WORD.findall(unicodedata.normalize("NFC", CITATION.sub(" ", line)))
    at: dict[str, tuple[int, KnownPage]] = {}  # path -> (first word naming it, the note)
    taken: set[int] = set()  # words a longer name already holds
    for size in range(5, 0, -1):
        for i in range(len(words) - size + 1):
            page = names.get(" ".join(words[i : i + size]))
            span = set(range(i, i + size))
            if page is None or span & taken:
                continue
            taken |= span
            if page.path not in at or i < at[page.path][0]:
                at[page.path] = (i, page)
    return [page for _, page in sorted(at.values(), key=lambda x: x[0])]


class Ingester:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        synthesizer: Synthesizer,
        *,
        templates: Callable[[str], str],
        commit: Commit,
        settle: Settle,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings = settings
        self.store = store
        self.synthesizer = synthesizer
        self.commit = commit
        self.settle = settle
        self.now = now
        self.view = VaultOnDisk(settings, store, templates)
        self._known_pages: dict[str, KnownPage] | None = None
        self._written: set[str] = set()  # pages committed since `_known` last read them
        self._recheck = False
        self._relink: set[str] = set()  # a dry run's sources to plan again (see `_compound`)
        self._deleted: set[str] | None = None  # wiki pages people deleted (see `_deleted_pages`)
        schema = settings.schema
        folder = {t.name: t.folder for t in schema.page_types}
        self.folders = Folders(
            folder.get("source", "wiki/sources"),
            folder.get("entity", "wiki/entities"),
            folder.get("concept", "wiki/concepts"),
        )

    # -- which sources --------------------------------------------------------------------------

    def sources(self) -> list[str]:
        """Every file under the sources folder the index knows, sorted."""
        prefix = self.settings.schema.sources_folder.rstrip("/") + "/"
        return [p for p in self.view.paths if p.startswith(prefix)]

    def run(
        self, paths: Sequence[str] | None = None, *, force: bool = False, dry_run: bool = False
    ) -> IngestReport:
        report = IngestReport(dry_run=dry_run)
        ledger = {row.path: row for row in self.store.sources.all()}
        todo = self.sources() if paths is None else list(paths)
        for rel in todo:
            report.outcomes.append(
                self._one(rel, ledger.get(rel), force, dry_run, paths is not None)
            )
            self.view.refresh()
        self._compound(report, dry_run)
        report.outcomes.extend(self._withdrawn(dry_run, report))
        if not dry_run:
            present = set(self.view.paths)
            self.store.sources.delete([p for p in ledger if p not in present])
        return report

    def _compound(self, report: IngestReport, dry_run: bool) -> None:
        """Pages created get the facts of every source that names them — those ingested before
        them too, in this run or an earlier one — so the wiki does not depend on the order
        sources arrived in. Each commit that creates pages marks the sources whose indexed text
        holds a new page's name (a full-text phrase query) `relink` in the ledger
        (`_mark_relink`); here they are planned again, each one that gains facts one more
        transaction. The mark is in the store, so a run killed before this pass finishes leaves
        it to the next run. Only for a synthesizer that is cheap and deterministic (extractive):
        the LLM path is not re-run for this."""
        for _ in range(3):  # a re-plan can create a page in turn; three rounds settle it
            if dry_run:
                todo, self._relink = sorted(self._relink), set()
            else:
                todo = [r.path for r in self.store.sources.all() if r.state == "relink"]
            if not todo:
                return
            rows = {row.path: row for row in self.store.sources.all()}
            outcomes = {o.path: o for o in report.outcomes}
            for rel in todo:
                earlier = outcomes.get(rel)
                hint = earlier.summary if earlier is not None else None
                again = self._one(rel, rows.get(rel), True, dry_run, False, summary=hint)
                self.view.refresh()
                if not (again.created or again.updated or again.problem):
                    continue
                if earlier is None:
                    if again.status in ("ingested", "reingested"):
                        again.status = "updated"
                    report.outcomes.append(again)
                    continue
                earlier.created = sorted({*earlier.created, *again.created})
                earlier.updated = sorted({*earlier.updated, *again.updated} - set(earlier.created))
                earlier.changes.extend(again.changes)
                earlier.facts = again.facts  # the source's facts as planned last
                earlier.seconds += again.seconds
                if earlier.status == "unchanged":
                    earlier.status = "updated"

    def _mark_relink(self, created: Sequence[str], source: str, dry_run: bool) -> None:
        """Mark for `_compound` the other sources that name a page just created."""
        if not self.synthesizer.name.startswith("extractive"):
            return
        folders = (self.folders.entity + "/", self.folders.concept + "/")
        names = sorted({_page_name(rel) for rel in created if rel.startswith(folders)})
        if not names:
            return
        prefix = self.settings.schema.sources_folder.rstrip("/") + "/"
        holders: set[str] = set()
        for name in names:
            phrase = '"' + name.replace('"', '""') + '"'
            try:
                found = self.store.ranking.bm25(phrase, 1000)
            except Exception:  # a name FTS cannot parse: nothing to look up for it
                continue
            holders.update(path for _, path, _, _ in found if path.startswith(prefix))
        holders.discard(source)
        if dry_run:
            self._relink.update(holders)
            return
        marked = []
        for rel in sorted(holders):
            row = self.store.sources.get(rel)
            if row is not None and row.state == "done":
                marked.append(dataclasses.replace(row, state="relink", changed_at=time.time()))
        self.store.sources.put(marked)

    # -- one source -----------------------------------------------------------------------------

    def _one(
        self,
        rel: str,
        row: SourceRow | None,
        force: bool,
        dry_run: bool,
        asked: bool,
        *,
        summary: str | None = None,
    ) -> SourceOutcome:
        started = time.perf_counter()
        outcome = SourceOutcome(rel, "unchanged", row.summary if row else None)
        try:
            st = os.stat(self.settings.vault / rel, follow_symlinks=False)
        except OSError as exc:
            return self._problem(
                outcome, row, "skipped", f"{rel}: cannot be read ({exc.strerror})", dry_run
            )
        if row is not None and row.state == "relink":
            force = True  # a page created since names it: plan it again (see `_compound`)
        if row is not None and not force and _nothing_new(outcome, row, st, asked):
            return outcome
        try:
            from companion.convert import check_suffix

            check_suffix(rel, self.settings.schema.ingest.formats)
            odd = sorted(set(posixpath.basename(rel)) & set("#|^[]"))
            if odd:
                raise SourceError(
                    f"{rel}: its name holds {' '.join(odd)}, which an Obsidian link cannot name "
                    "(its summary page could not link to it); rename the file to ingest it"
                )
            data = self._read(rel, st)
        except CompanionError as exc:
            return self._problem(outcome, row, "skipped", str(exc), dry_run, st)
        digest = "sha256:" + content_hash(data)
        for attempt in range(TRIES):
            try:
                self._recheck = attempt > 0  # refused once: the pages changed on disk
                self._ingest_bytes(outcome, rel, data, digest, st, force, dry_run, row, summary)
                break
            except ChangedOnDisk:
                if attempt == TRIES - 1:
                    return self._problem(
                        outcome,
                        row,
                        "retrying",
                        f"{rel}: its pages kept changing while being written; will try again",
                        dry_run,
                        st,
                    )
                self.view.refresh()
            except SourceError as exc:
                return self._problem(outcome, row, "skipped", str(exc), dry_run, st, digest)
            except SynthesisFailed as exc:
                return self._failed_synthesis(outcome, row, exc, dry_run, st, digest)
            except (CompanionError, OSError, UnicodeDecodeError) as exc:
                # A page this source would write cannot be written as it is (malformed YAML, a key
                # given twice, unmatched region markers, a FIFO or a link where a page goes): this
                # source waits, with the reason in `status`, and every other source goes on. It is
                # tried again on every run until the page is fixed.
                return self._problem(outcome, row, "pending", _why(rel, exc), dry_run, st, digest)
        outcome.seconds = time.perf_counter() - started
        return outcome

    def _read(self, rel: str, st: os.stat_result) -> bytes:
        limit = self.settings.schema.ingest.max_source_bytes
        if st.st_size > limit:
            raise SourceTooLarge(_too_large(rel, st.st_size, limit))
        try:
            data = read_regular(self.settings.vault, rel, limit)
        except FileTooLarge:
            raise SourceTooLarge(_too_large(rel, limit + 1, limit)) from None
        except OutsideVault:
            raise SourceError(f"{rel} is a link leading out of the vault: not ingested") from None
        except NotRegularFile:
            raise SourceError(
                f"{rel} is not a regular file (a FIFO, socket or folder): not ingested"
            ) from None
        except OSError as exc:
            raise SourceError(f"{rel}: cannot be read ({exc.strerror or exc})") from None
        if data is None:
            raise SourceError(f"{rel}: vanished while being read")
        return data

    def _ingest_bytes(
        self,
        outcome: SourceOutcome,
        rel: str,
        data: bytes,
        digest: str,
        st: os.stat_result,
        force: bool,
        dry_run: bool,
        row: SourceRow | None,
        hint: str | None = None,
    ) -> None:
        now = self.now()
        summaries = self.store.sources.summaries()
        same = [s for s in summaries.get(digest, []) if self.view.find(s)]
        previous = (
            row.summary if row is not None and row.summary and self.view.find(row.summary) else None
        )
        previous = hint or previous or self._summary_listing(rel)
        restored = False
        if same and not force:
            page = self.view.read(same[0])
            restored = page is not None and withdrawn(page[0], same[0])
        if same and not force and not restored:
            summary = same[0]
            outcome.summary = summary
            outcome.status = "unchanged" if summary == previous else "duplicate"
            plan = self._relist(summary, digest, now, rel)
            if plan is not None and plan.writes:
                self._finish(
                    outcome,
                    plan,
                    f"{posixpath.basename(rel)} (same content as `{summary}`)",
                    dry_run,
                )
            if not dry_run:
                self._record(rel, "done", digest, st, summary)
            return
        from companion.convert import convert
        from companion.ingest.dates import source_date

        converted = convert(rel, data)
        outcome.words = len(converted.text.split())
        date = source_date(converted, posixpath.basename(rel), st.st_mtime)
        stem = posixpath.splitext(posixpath.basename(rel))[0].casefold()
        siblings = [
            p
            for p in self.sources()
            if p != rel and posixpath.splitext(posixpath.basename(p))[0].casefold() == stem
        ]
        if restored:
            previous = same[0]  # the same bytes are back: their page gets its facts again
        split_from = self._shared(previous, rel, digest) if previous and not restored else None
        if split_from is not None:
            previous = None  # one of several identical copies changed: it gets its own page
        named = previous or summary_name(self.view, self.folders, rel, siblings)
        if named is None:
            raise SourceError(
                f"{rel}: no free name for its summary page under {self.folders.sources}/"
            )
        summary = named
        outcome.summary = summary
        synthesis = self._conservative(self.synthesizer.synthesize(converted, self._known()))
        outcome.dropped = synthesis.dropped
        raw_paths = self._raw_paths(digest, rel, summary)
        plan = plan_source(
            self.view,
            self.folders,
            deleted=self._deleted_pages(),
            summary=summary,
            raw_paths=raw_paths,
            digest=digest,
            converted=converted,
            date=date,
            synthesis=synthesis,
            now=now,
        )
        existing = [w.rel for w in plan.writes if not w.created]
        if not dry_run and existing and self.settle(existing, self._recheck):
            self.view.refresh()
            raise ChangedOnDisk("a person's edit was versioned first; planning again")
        outcome.status = "reingested" if previous else "ingested"
        outcome.facts = plan.facts
        if split_from is not None:
            self._unlist(split_from, rel, now, dry_run)
        title = converted.title or posixpath.basename(rel)
        self._finish(outcome, plan, title, dry_run, skipped=plan.skipped)
        if not dry_run:
            self._record(rel, "done", digest, st, summary)

    def _finish(
        self,
        outcome: SourceOutcome,
        plan: Plan,
        title: str,
        dry_run: bool,
        skipped: Sequence[str] = (),
    ) -> None:
        outcome.created = plan.created
        outcome.updated = plan.updated
        if not plan.writes:
            return  # nothing changed (a --force run over the same content): nothing to log
        self._stale_elsewhere(plan)
        found = self._conflicts(plan, outcome)
        if dry_run:
            outcome.changes = [describe(self.view, w) for w in plan.writes]
            self.view.planned(plan.writes)
            self._mark_relink(plan.created, outcome.path, dry_run)
            return
        bullets = []
        if plan.created:
            bullets.append(
                "created: " + ", ".join(f"[[{p.removesuffix('.md')}]]" for p in plan.created)
            )
        if plan.updated:
            bullets.append(
                "updated: " + ", ".join(f"[[{p.removesuffix('.md')}]]" for p in plan.updated)
            )
        bullets.extend(f"not written: {s}" for s in skipped)
        bullets.extend(found)
        if self.view.bom & {w.rel for w in plan.writes}:
            plan.writes = [
                dataclasses.replace(w, text="\ufeff" + w.text) if w.rel in self.view.bom else w
                for w in plan.writes
            ]
        # Marked before the commit: a crash right after it must not lose which other sources
        # owe facts to the pages it creates (once they exist, nothing would mark them again).
        # A commit refused, or killed before its commit point, leaves marks that only cost a
        # re-plan that finds nothing to change.
        self._mark_relink(plan.created, outcome.path, dry_run)
        self.commit(plan, title, bullets)
        self.view.refresh()  # the index now holds what was written
        self._written.update(w.rel for w in plan.writes)
        cited = plan.summary.removesuffix(".md")
        folders = (self.folders.entity + "/", self.folders.concept + "/")
        for write in plan.writes:
            text = write.text.removeprefix("\ufeff")
            if write.rel.startswith(folders):
                page = write.rel.rsplit("/", 1)[-1].removesuffix(".md")
                ids = ids_citing(text, page, "facts", cited)
                self.store.sources.set_bullets(write.rel, cited, ids)
            if self._deleted is not None and write.rel == plan.summary:
                self._deleted.update(remembered(text, write.rel))

    # -- conflicts ------------------------------------------------------------------------------

    def _conflicts(self, plan: Plan, outcome: SourceOutcome) -> list[str]:
        """Find the conflicts and supersedes this plan's new facts make with the facts its pages
        already hold (companion/conflicts/detect.py), put their callouts into the plan's page
        texts (companion/write/conflicts.py) and return their log.md bullets. One conflict is
        written once, on the first page (by path) that shows it."""
        from companion.conflicts.detect import detect
        from companion.write.conflicts import has_block

        summary = plan.summary.removesuffix(".md")
        texts = {w.rel: w.text for w in plan.writes}
        # A callout the plan took off with the fact it quoted may be found again on the fact's
        # new wording: its id is not one to skip.
        known = (self.store.conflicts.ids() | self.store.conflicts.closed()) - set(plan.withdrawn)
        folders = (self.folders.entity + "/", self.folders.concept + "/")
        days: dict[str, date | None] = {}

        def date_of(source: str) -> date | None:
            if source not in days:
                # The new source's summary page is in the plan, not yet on disk.
                planned = texts.get(source + ".md")
                days[source] = (
                    _source_date(planned, source + ".md")
                    if planned is not None
                    else self._date_of(source)
                )
            return days[source]

        shows = _Callouts(
            self.view,
            texts,
            {frozenset(c.claims) for c in self.store.conflicts.callouts()},
            self.now().date().isoformat(),
            date_of,
            outcome,
        )
        for write in sorted(plan.writes, key=lambda w: w.rel):
            if not write.rel.startswith(folders):
                continue
            # A page this source creates holds only its facts: nothing to contradict, but a
            # change it states of its own earlier fact is still marked (`detect`'s `_within`).
            held = None if write.created else self.view.read(write.rel)
            if held is None and not write.created:
                continue
            title = write.rel.rsplit("/", 1)[-1].removesuffix(".md")
            aliases = page_aliases(write.text, write.rel)
            before, digest = held if held is not None else ("", "")
            stored = (
                None if held is None else self._stored_claims(write.rel, digest, aliases, before)
            )
            for f in detect(
                write.rel,
                title,
                aliases,
                before,
                write.text,
                {summary},
                date_of,
                known,
                stored,
            ):
                shows.show(f, write.rel, write.rel)
        for f, anchor_page in self._across_sources(plan, date_of, known):
            shows.show(f, anchor_page, plan.summary)
        if shows.pairs:
            now = self.now()
            plan.writes = [
                dataclasses.replace(
                    w,
                    text=bumped(w.rel, texts[w.rel], now) if w.rel in shows.fresh else texts[w.rel],
                )
                for w in [*plan.writes, *shows.added.values()]
            ]
        plan.withdrawn = [
            i for i in plan.withdrawn if not any(has_block(t, i) for t in texts.values())
        ]
        return shows.bullets + [
            f"conflict withdrawn: `{i}` (the fact it disputed is no longer in its source)"
            for i in plan.withdrawn
            if i.startswith("conflict-")
        ]

    def _stale_elsewhere(self, plan: Plan) -> None:
        """Take off the callouts on pages this plan does not touch that quote a fact of its
        source the source no longer states — one `_across_sources` put on another source's
        summary page — adding those pages to the plan (`write.conflicts.drop_withdrawn`)."""
        from companion.conflicts.detect import cited_lines
        from companion.write.conflicts import quoted_claim

        source = plan.summary.removesuffix(".md")
        cite = f"[[{source}]]"
        touched = {w.rel for w in plan.writes}
        own = next((w.text for w in plan.writes if w.rel == plan.summary), None)
        if own is None:
            held = self.view.read(plan.summary)
            own = held[0] if held is not None else ""
        stated = {quoted_claim(line) for line in cited_lines(own) if cite in line}
        pages = sorted(
            {
                c.page
                for c in self.store.conflicts.callouts()
                if c.page not in touched
                and c.status != "resolved"
                and any(cite in claim and claim not in stated for claim in c.claims)
            }
        )
        for rel in pages:
            page = self.view.read(rel)
            if page is None or not self.view.is_managed(rel):
                continue
            text = plan.without_stale(page[0], source, stated)
            if text != page[0]:
                plan.writes.append(PageWrite(rel, bumped(rel, text, self.now()), page[1], False))

    def _across_sources(
        self, plan: Plan, date_of: Callable[[str], date | None], known: Collection[str]
    ) -> list[tuple[Found, str]]:
        """The findings of the facts this source keeps on its own summary page (those no entity
        or concept page takes) against the facts other sources' summary pages keep about the
        same person's note, each with the page holding the stored claim.

        A fact's subject here is the note it names, by title or alias, exactly as written
        (`Payouts`, an alias of `Payout Scheduler`): such facts have no page of their own to be
        compared on. Candidates come from the text index (the summary pages whose text names
        the note, `MAX_NAMING` at most), and are the cited lines there naming the same note."""
        from companion.conflicts.detect import cited_lines, detect

        write = next((w for w in plan.writes if w.rel == plan.summary), None)
        if write is None:
            return []
        summary = plan.summary.removesuffix(".md")
        held = self.view.read(plan.summary)
        before = set(cited_lines(held[0])) if held is not None else set()
        new = [
            line
            for line in cited_lines(write.text)
            if line not in before and f"[[{summary}]]" in line
        ]
        if not new:
            return []
        names = self._note_names()
        about: dict[str, list[str]] = {}
        for line in new:
            for page in _named_notes(line, names):
                about.setdefault(page.path, []).append(line)
        pages = {page.path: page for page in names.values()}
        found: list[tuple[Found, str]] = []
        for path, lines in about.items():  # the note a fact names first, first
            page = pages[path]
            holder: dict[str, str] = {}  # a stored claim's line -> the summary page holding it
            for other in self._summaries_naming(page):
                if other == plan.summary:
                    continue
                text = self.view.read(other)
                for line in cited_lines(text[0]) if text is not None else []:
                    if line not in holder and page in _named_notes(line, names):
                        holder[line] = other
            if not holder:
                continue
            old = "\n".join(holder)
            for f in detect(
                path,
                page.title,
                page.aliases,
                old,
                old + "\n" + "\n".join(lines),
                {summary},
                date_of,
                known,
            ):
                if f.anchor in holder:  # not a change within this source (`detect`'s own)
                    found.append((f, holder[f.anchor]))
        return found

    def _note_names(self) -> dict[str, KnownPage]:
        """Every person's note by each of its names (title and aliases, exactly as written;
        two letters or more): the subjects a summary page's facts can name."""
        names: dict[str, KnownPage] = {}
        for page in self._known():
            if self.view.is_managed(page.path):
                continue
            for n, name in enumerate((page.title, *page.aliases)):
                # NFC: a title from a decomposed file name (macOS) is written composed in text
                name = " ".join(_NAME_WORD.findall(unicodedata.normalize("NFC", name)))
                # A one-word title must look like a name (`Overview`, `Glossary` do not); an
                # alias is a name its author chose (`Payouts` for `Payout Scheduler`).
                if len(name) >= 2 and not name.isdigit() and (n or _name_like(name)):
                    names.setdefault(name, page)
        return names

    def _summaries_naming(self, page: KnownPage) -> list[str]:
        """The summary pages whose text names `page` (title or an alias), best first."""
        names = [unicodedata.normalize("NFC", n) for n in (page.title, *page.aliases)]
        phrases = [
            '"' + " ".join(_NAME_WORD.findall(n)).replace('"', '""') + '"'
            for n in names
            if _NAME_WORD.search(n)
        ]
        if not phrases:
            return []
        prefix = self.folders.sources + "/"
        hits = self.store.ranking.bm25(" OR ".join(phrases), MAX_NAMING * 4)
        return [path for _, path, _, _ in hits if path.startswith(prefix)][:MAX_NAMING]

    def _stored_claims(
        self, rel: str, digest: str, aliases: tuple[str, ...], before: str
    ) -> Stored | None:
        """The index's claims of the page `rel` as a `detect` lookup, when they were computed
        from exactly the bytes read (`digest`), with the aliases detection gives (`aliases`) and
        by the code running now; None otherwise (the index is behind the page, a dry run's
        overlay, an index from before claims were stored): `detect` parses `before` instead."""
        from companion.conflicts.detect import cited_lines
        from companion.conflicts.serial import loads, parser

        state = self.store.conflicts.claim_state(rel)
        if state is None or state.hash != digest or state.aliases != aliases:
            return None
        if state.parsers != ({parser()} if cited_lines(before) else set()):
            return None  # computed by other code, or never (indexed before claims were kept)
        loaded: dict[str, tuple[Claim, ...]] = {}  # each stored line read once per page

        def stored(keys: Collection[str]) -> list[tuple[Claim, str]]:
            out: list[tuple[Claim, str]] = []
            for line, data in self.store.conflicts.candidates(rel, keys):
                found = loaded.get(data)
                if found is None:
                    found = loaded[data] = loads(data)
                out.extend((c, line) for c in found)
            return out

        return stored

    def _date_of(self, summary: str) -> date | None:
        """A source's date, from its summary page's `source_date` (SYSTEM.md §3)."""
        held = self.view.read(summary + ".md")
        return None if held is None else _source_date(held[0], summary + ".md")

    # -- the ledger -----------------------------------------------------------------------------

    def _record(
        self,
        rel: str,
        state: str,
        digest: str | None,
        st: os.stat_result | None,
        summary: str | None,
        problem: str | None = None,
        tries: int = 0,
        next_try: float | None = None,
    ) -> None:
        size, mtime = (st.st_size, st.st_mtime_ns) if st else (0, 0)
        known = self.store.sources.get(rel)
        same = (
            rel,
            state,
            digest,
            size,
            mtime,
            summary,
            self.synthesizer.name,
            tries,
            next_try,
            problem,
        )
        if (
            known is not None
            and (
                known.path,
                known.state,
                known.hash,
                known.size,
                known.mtime_ns,
                known.summary,
                known.synthesizer,
                known.tries,
                known.next_try,
                known.problem,
            )
            == same
        ):
            return  # nothing new to record: the row (and its changed_at) stays
        self.store.sources.put(
            [
                SourceRow(
                    rel,
                    state,
                    digest,
                    st.st_size if st else 0,
                    st.st_mtime_ns if st else 0,
                    summary,
                    self.synthesizer.name,
                    tries,
                    next_try,
                    problem,
                    time.time(),
                )
            ]
        )

    def _summary_pages(self) -> list[tuple[str, dict[str, Any]]]:
        return self.view.summary_pages()

    def _raws(self, props: dict[str, Any]) -> list[str]:
        items = props.get("sources")
        items = items if isinstance(items, list) else [items] if isinstance(items, str) else []
        prefix = self.settings.schema.sources_folder.rstrip("/") + "/"
        out = []
        for item in items:
            if isinstance(item, str) and item.startswith("[[") and item.endswith("]]"):
                target = item[2:-2].split("|")[0]
                if target.startswith(prefix):
                    out.append(target)
        return out

    def _summary_listing(self, rel: str) -> str | None:
        """The summary page that lists raw file `rel` (a changed source's page), if any."""
        for path, props in self._summary_pages():
            if rel in self._raws(props):
                return path
        return None

    def _raw_paths(self, digest: str, rel: str, summary: str) -> list[str]:
        """The raw files a summary page lists: those with these bytes still present, `rel` first."""
        present = set(self.view.paths)
        listed = []
        for path, props in self._summary_pages():
            if path == summary:
                listed = [p for p in self._raws(props) if p in present and p != rel]
        same = [r.path for r in self.store.sources.all() if r.hash == digest and r.path in present]
        return list(dict.fromkeys([rel, *[p for p in listed if p in same]]))

    def _shared(self, summary: str, rel: str, digest: str) -> str | None:
        """`summary` when `rel` now holds other bytes than the page was made from while other raw
        files it lists still hold those (the page stays theirs: a changed `rel` must not take it
        over), else None."""
        props = dict(self._summary_pages()).get(summary, {})
        made_from = str(props.get("source_hash", "")).strip().lower()
        if made_from == digest:
            return None  # the same bytes planned again (--force, relinking): the page is theirs
        present = set(self.view.paths)
        rows = {r.path: r for r in self.store.sources.all()}
        others = [
            p
            for p in self._raws(props)
            if p != rel and p in present and p in rows and rows[p].hash == made_from
        ]
        return summary if others else None

    def _unlist(self, summary: str, rel: str, now: datetime, dry_run: bool) -> None:
        """Take raw file `rel` off the `sources` of `summary` (its copies keep the page)."""
        current = self.view.read(summary)
        if current is None:
            return
        listed = self._raws(dict(self._summary_pages()).get(summary, {}))
        want = [p for p in listed if p != rel]
        plan = _relist_plan(summary, current, listed, want, now)
        if plan.writes:
            note = SourceOutcome(rel, "updated", summary)
            self._finish(
                note, plan, f"{posixpath.basename(rel)} changed: its own page now", dry_run
            )
            self.view.refresh()

    def _relist(self, summary: str, digest: str, now: datetime, rel: str) -> Plan | None:
        """The same bytes under another name: list every present raw path with them on the
        summary page, and drop the listed ones that are gone (a rename re-points the link)."""
        present = set(self.view.paths)
        props = dict(self._summary_pages()).get(summary, {})
        listed = self._raws(props)
        rows = {r.path: r for r in self.store.sources.all()}
        holders = [
            p for p in self.sources() if p in present and (rows.get(p) and rows[p].hash == digest)
        ]
        want = list(dict.fromkeys([*[p for p in listed if p in present], *holders, rel]))
        current = self.view.read(summary)
        if current is None:
            return None
        # The raw file being looked at now holds these bytes even before its row is recorded.
        return _relist_plan(summary, current, listed, want, now)

    def _withdrawn(self, dry_run: bool, report: IngestReport) -> list[SourceOutcome]:
        present = set(self.view.paths)
        out: list[SourceOutcome] = []
        gone: list[tuple[str, list[str]]] = []
        for path, props in self._summary_pages():
            if not self.settings.schema.is_managed(path):
                continue
            raws = self._raws(props)
            if not raws or any(r in present for r in raws):
                continue
            try:
                page = self.view.read(path)
            except (CompanionError, OSError, UnicodeDecodeError) as exc:
                report.notes.append(f"{path}: its raw files are gone, but {_why(path, exc)}")
                continue
            if page is not None and not withdrawn(page[0], path):
                gone.append((path, raws))
        folder = self.settings.schema.sources_folder
        missing = not (self.settings.vault / folder).is_dir()
        if gone and not self.sources() and (missing or len(gone) > 1):
            # Every source gone at once is a folder not synced, unmounted or moved — not a person
            # deleting each one: withdrawing would empty the wiki. Say so and keep everything.
            report.notes.append(
                f"{folder}/ holds no sources at all: the facts of {len(gone)} sources were kept "
                f"(nothing withdrawn). If you deleted them all, delete their pages in "
                f"{self.folders.sources}/ too"
            )
            return out
        for path, raws in gone:
            plan = plan_withdraw(self.view, path, raws, self.now())
            outcome = SourceOutcome(raws[0], "withdrawn", path)
            if plan.writes:
                self._finish(outcome, plan, f"{posixpath.basename(raws[0])} deleted", dry_run)
                self.view.refresh()
            out.append(outcome)
        return out

    def _deleted_pages(self) -> set[str]:
        """Every wiki page a person deleted that some summary page remembers (its `mentions`: a
        link to a page gone, or a "Not recreated" line),
        so no source — not only the one that made it — brings it back. Read once per run, then
        kept up to date from the summary pages this run writes."""
        if self._deleted is None:
            self._deleted = set()
            for path, _ in self._summary_pages():
                try:
                    page = self.view.read(path)
                except (CompanionError, OSError, UnicodeDecodeError):
                    continue
                if page is not None:
                    self._deleted.update(remembered(page[0], path))
        wiki = (self.folders.entity.casefold() + "/", self.folders.concept.casefold() + "/")
        return {
            t for t in self._deleted if t.startswith(wiki) and self.view.find(t + ".md") is None
        }

    def _conservative(self, synthesis: Synthesis) -> Synthesis:
        """A new concept page only for a phrase at least two sources use (the index's full-text
        search over the sources folder): a phrase one document repeats is that document's
        vocabulary, and a page nobody needs is noise. Entities and pages the vault already has
        are kept as the synthesizer found them."""
        prefix = self.settings.schema.sources_folder.rstrip("/") + "/"
        kept = []
        for subject in synthesis.subjects:
            if subject.kind == "concept" and subject.existing is None:
                phrase = '"' + subject.name.replace('"', '""') + '"'
                try:
                    found = self.store.ranking.bm25(phrase, 1000)
                except Exception:  # a name FTS cannot parse: keep the synthesizer's word
                    found = []
                if len({p for _, p, _, _ in found if p.startswith(prefix)}) < 2:
                    continue
            kept.append(subject)
        if len(kept) == len(synthesis.subjects):
            return synthesis
        return dataclasses.replace(synthesis, subjects=tuple(kept))

    def _known(self) -> list[KnownPage]:
        """The pages a synthesizer may match names against: every note but sources and summary
        pages. Read once per run, then only the pages this run wrote are read again."""
        skip = (self.settings.schema.sources_folder.rstrip("/") + "/", self.folders.sources + "/")
        if self._known_pages is None:
            rows = self.store.pages.known()
            self._known_pages = {}
        else:
            rows = self.store.pages.known(sorted(self._written))
            for path in self._written:
                self._known_pages.pop(path, None)
        self._written.clear()
        for path, title, typ, aliases in rows:
            if not path.startswith(skip):
                self._known_pages[path] = KnownPage(path, title, tuple(aliases), typ)
        return [self._known_pages[p] for p in sorted(self._known_pages)]

    # -- problems -------------------------------------------------------------------------------

    def _problem(
        self,
        outcome: SourceOutcome,
        row: SourceRow | None,
        state: str,
        problem: str,
        dry_run: bool,
        st: os.stat_result | None = None,
        digest: str | None = None,
    ) -> SourceOutcome:
        outcome.status, outcome.problem = state, problem
        if not dry_run:
            self._record(outcome.path, state, digest, st, row.summary if row else None, problem)
        return outcome

    def _failed_synthesis(
        self,
        outcome: SourceOutcome,
        row: SourceRow | None,
        exc: SynthesisFailed,
        dry_run: bool,
        st: os.stat_result,
        digest: str,
    ) -> SourceOutcome:
        tries = (row.tries if row is not None and row.state == "retrying" else 0) + 1
        if exc.retryable and tries < len(RETRY_DELAYS) + 1:
            outcome.status = "retrying"
            outcome.problem = (
                f"{exc} (try {tries} of {len(RETRY_DELAYS) + 1}; "
                f"next in {RETRY_DELAYS[tries - 1] / 60:.0f} min)"
            )
            if not dry_run:
                self._record(
                    outcome.path,
                    "retrying",
                    digest,
                    st,
                    row.summary if row else None,
                    outcome.problem,
                    tries,
                    time.time() + RETRY_DELAYS[tries - 1],
                )
            return outcome
        outcome.status, outcome.problem = "failed", str(exc)
        if not dry_run:
            self._record(
                outcome.path, "failed", digest, st, row.summary if row else None, str(exc), tries
            )
        return outcome


def _relist_plan(
    summary: str,
    current: tuple[str, str],
    listed: list[str],
    want: list[str],
    now: datetime,
) -> Plan:
    plan = Plan(summary)
    if want == listed or not want:
        return plan
    text = edit_page(
        summary,
        current[0],
        {},
        lists={"sources": [f"[[{p}]]" for p in want]},
        sync_sources=False,
        now=now,
    )
    if text is not None:
        plan.writes.append(PageWrite(summary, text, current[1], False))
    return plan


def _nothing_new(outcome: SourceOutcome, row: SourceRow, st: os.stat_result, asked: bool) -> bool:
    """Whether the ledger already says all there is about this source (filling `outcome`): done
    and unchanged; skipped or failed before and untouched since (reported when first seen,
    listed by `status` since: a run over the whole folder does not fail again for it); or a
    retry not yet due. `asked`: named on the command line, so it is tried whatever the ledger
    says."""
    same_stat = (row.size, row.mtime_ns) == (st.st_size, st.st_mtime_ns)
    if same_stat and row.state == "done":
        return True
    if same_stat and row.state in ("skipped", "failed") and not asked:
        outcome.problem = row.problem
        return True
    due = row.next_try is None or row.next_try <= time.time()
    if row.state == "retrying" and not asked and not due:
        outcome.status, outcome.problem = "retrying", row.problem
        return True
    return False


def _why(rel: str, exc: BaseException) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return f"{rel}: a page it feeds is not valid UTF-8 (byte {exc.start}); fix that page to ingest it"
    if isinstance(exc, OSError):
        where = f" ({exc.filename})" if exc.filename else ""
        return (
            f"{rel}: a page it feeds cannot be written: {exc.strerror or exc}{where}; not ingested"
        )
    return f"{rel}: not ingested: {exc}"


def _page_name(rel: str) -> str:
    """The name a page is mentioned by: its title without a disambiguating ` (entity)`."""
    title = rel.rsplit("/", 1)[-1].removesuffix(".md")
    for suffix in (" (entity)", " (concept)"):
        title = title.removesuffix(suffix)
    return title


def _too_large(rel: str, size: int, limit: int) -> str:
    return (
        f"{rel} is {size / 1e6:,.1f} MB, over the {limit / 1e6:,.1f} MB limit "
        "(`ingest.max_source_bytes` in SYSTEM.md): not ingested; raise the limit to ingest it"
    )
