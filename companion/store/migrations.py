"""Schema migrations: ordered, named functions, each the whole story of one change.

Applied on open (`migrate`), each in its own transaction with its record in `migrations`. A
released migration is never edited and never imports live code: what it needs is frozen here (as
`_m0002_name_key`, a copy of link resolution's name key as it was when the migration shipped).
"""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Callable

import apsw


def _m0001_initial(db: apsw.Connection) -> None:
    db.execute(
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE pages (
            id INTEGER PRIMARY KEY,
            path TEXT NOT NULL UNIQUE,
            kind TEXT NOT NULL,
            title TEXT NOT NULL,
            type TEXT,
            version INTEGER,
            size INTEGER NOT NULL,
            mtime_ns INTEGER NOT NULL,
            hash TEXT NOT NULL,
            properties TEXT NOT NULL DEFAULT '{}',
            aliases TEXT NOT NULL DEFAULT '[]',
            summary TEXT NOT NULL DEFAULT '',
            excluded INTEGER NOT NULL DEFAULT 0,
            generated INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE chunks (
            id INTEGER PRIMARY KEY,
            page_id INTEGER NOT NULL REFERENCES pages(id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            heading TEXT NOT NULL,
            text TEXT NOT NULL,
            hash TEXT NOT NULL,
            line INTEGER NOT NULL
        );
        CREATE INDEX chunks_page ON chunks(page_id);
        CREATE INDEX chunks_hash ON chunks(hash);
        CREATE VIRTUAL TABLE chunks_fts USING fts5(
            title, aliases, heading, body, tokenize = 'unicode61 remove_diacritics 2'
        );
        CREATE TABLE links (
            id INTEGER PRIMARY KEY,
            page_id INTEGER NOT NULL REFERENCES pages(id) ON DELETE CASCADE,
            raw TEXT NOT NULL,
            path TEXT NOT NULL,
            subpath TEXT,
            display TEXT,
            kind TEXT NOT NULL,
            line INTEGER NOT NULL,
            target TEXT,
            ambiguous INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX links_page ON links(page_id);
        CREATE INDEX links_target ON links(target);
        CREATE TABLE tags (
            page_id INTEGER NOT NULL REFERENCES pages(id) ON DELETE CASCADE,
            tag TEXT NOT NULL,
            norm TEXT NOT NULL
        );
        CREATE INDEX tags_page ON tags(page_id);
        CREATE INDEX tags_norm ON tags(norm);
        CREATE TABLE embeddings (
            id INTEGER PRIMARY KEY,
            chunk_hash TEXT NOT NULL,
            model TEXT NOT NULL,
            UNIQUE (chunk_hash, model)
        );
        CREATE TABLE problems (
            path TEXT NOT NULL,
            code TEXT NOT NULL,
            message TEXT NOT NULL,
            line INTEGER
        );
        CREATE INDEX problems_path ON problems(path);
        """
    )


def _m0002_name_key(path: str) -> str:
    """Frozen copy of `markdown.resolve.name_key` as migration 0002 shipped it: the normalised
    (NFC, case-folded) last name of a link path, one `.md` dropped."""
    name = path.strip().rstrip("/").rpartition("/")[2]
    name = name.lower() if name.isascii() else unicodedata.normalize("NFC", name).casefold()
    return name[:-3] if name.endswith(".md") else name


def _m0002_link_names(db: apsw.Connection) -> None:
    """Links carry the key of the name they point at, so a new or deleted file re-resolves only
    the links that could change (not every link in the vault)."""
    db.execute("ALTER TABLE links ADD COLUMN name TEXT NOT NULL DEFAULT ''")
    rows = [(_m0002_name_key(path), lid) for lid, path in db.execute("SELECT id, path FROM links")]
    db.cursor().executemany("UPDATE links SET name = ? WHERE id = ?", rows)
    db.execute("CREATE INDEX links_name ON links(name)")


def _m0003_embed_failures(db: apsw.Connection) -> None:
    """Chunks the model failed on, and why: skipped until the model changes or a restart retries."""
    db.execute(
        """
        CREATE TABLE embed_failures (
            chunk_hash TEXT NOT NULL,
            model TEXT NOT NULL,
            reason TEXT NOT NULL,
            at REAL NOT NULL,
            PRIMARY KEY (chunk_hash, model)
        )
        """
    )


def _m0004_porter_stemming(db: apsw.Connection) -> None:
    """BM25 matches word forms (retried ~ retry): the porter stemmer over unicode61. On the
    SciFact dev queries BM25 nDCG@10 went from 0.654 to 0.683 (docs/benchmarks.md)."""
    db.execute(
        """
        DROP TABLE chunks_fts;
        CREATE VIRTUAL TABLE chunks_fts USING fts5(
            title, aliases, heading, body, tokenize = 'porter unicode61 remove_diacritics 2'
        );
        INSERT INTO chunks_fts (rowid, title, aliases, heading, body)
            SELECT c.id, p.title,
                   (SELECT coalesce(group_concat(j.value, ' '), '') FROM json_each(p.aliases) j),
                   c.heading, c.text
            FROM chunks c JOIN pages p ON p.id = c.page_id;
        """
    )


def _m0005_page_fts(db: apsw.Connection) -> None:
    """BM25 scores whole pages, not chunks: one FTS row per page. On the SciFact dev queries BM25
    nDCG@10 rose from 0.687 to 0.701 with hybrid unchanged, and at 10k notes the index has 10k
    rows instead of ~77k, so each query walks far shorter posting lists (docs/benchmarks.md)."""
    db.execute(
        """
        DROP TABLE chunks_fts;
        CREATE VIRTUAL TABLE pages_fts USING fts5(
            title, aliases, headings, body, tokenize = 'porter unicode61 remove_diacritics 2'
        );
        INSERT INTO pages_fts (rowid, title, aliases, headings, body)
            SELECT p.id, p.title,
                   (SELECT coalesce(group_concat(j.value, ' '), '') FROM json_each(p.aliases) j),
                   (SELECT coalesce(group_concat(h, ' '), '')
                      FROM (SELECT DISTINCT heading AS h FROM chunks
                            WHERE page_id = p.id AND heading != '')),
                   (SELECT coalesce(group_concat(t, char(10) || char(10)), '')
                      FROM (SELECT text AS t FROM chunks WHERE page_id = p.id ORDER BY seq))
            FROM pages p
            WHERE p.excluded = 0 AND EXISTS (SELECT 1 FROM chunks c WHERE c.page_id = p.id);
        """
    )


def _m0006_unversioned(db: apsw.Connection) -> None:
    """A managed page a person edited stays flagged until companion bumps its `version`
    (SYSTEM.md §8). The flag lives in the index, not in a process's memory, so a bump that waits
    for `bump_settle` of quiet survives a daemon restart and a one-shot `index` that is too early
    to bump it."""
    db.execute("ALTER TABLE pages ADD COLUMN unversioned INTEGER NOT NULL DEFAULT 0")
    # The highest version the page has had: a bump goes above it, so a version wound back (a
    # stale editor buffer, a sync conflict) is never handed out twice.
    db.execute("ALTER TABLE pages ADD COLUMN seen_version INTEGER")
    db.execute("CREATE INDEX pages_unversioned ON pages(path) WHERE unversioned = 1")


def _m0007_sources(db: apsw.Connection) -> None:
    """The source ledger's working state: one row per raw file under the sources folder. What a
    source *became* is in the vault (its summary page's `source_hash`, `sources` and `mentions`),
    so a rebuilt index re-ingests nothing; this table adds what only a process needs — the stat
    it was ingested at (a cheap "unchanged" test), tries, the next retry and the problem shown in
    `status`."""
    db.execute(
        """
        CREATE TABLE sources (
            path TEXT PRIMARY KEY,
            hash TEXT,
            size INTEGER NOT NULL DEFAULT 0,
            mtime_ns INTEGER NOT NULL DEFAULT 0,
            state TEXT NOT NULL,
            summary TEXT,
            synthesizer TEXT,
            tries INTEGER NOT NULL DEFAULT 0,
            next_try REAL,
            problem TEXT,
            changed_at REAL NOT NULL
        )
        """
    )


def _m0008_wiki_bullets(db: apsw.Connection) -> None:
    """Which fact bullets ingest wrote on which page for which source, so one a person deleted is
    not written again on the next change of that source. A cache of intent, not of content: lost
    with the index (a rebuilt index forgets deletions made before it, nothing else)."""
    db.execute(
        """
        CREATE TABLE wiki_bullets (
            page TEXT NOT NULL,
            summary TEXT NOT NULL,
            id TEXT NOT NULL,
            PRIMARY KEY (page, summary, id)
        ) WITHOUT ROWID
        """
    )


def _m0009_conflicts(db: apsw.Connection) -> None:
    """Conflict callouts as the pages hold them (derived, rewritten with their page), and the
    record of every conflict seen, so one whose callout disappears is known to be closed."""
    db.execute(
        """
        CREATE TABLE callouts (
            page_id INTEGER NOT NULL REFERENCES pages(id) ON DELETE CASCADE,
            id TEXT NOT NULL,
            status TEXT NOT NULL,
            title TEXT NOT NULL,
            opened TEXT NOT NULL,
            resolved TEXT NOT NULL,
            claims TEXT NOT NULL,
            sources TEXT NOT NULL,
            line INTEGER NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX callouts_page ON callouts(page_id)")
    db.execute("CREATE INDEX callouts_id ON callouts(id)")
    db.execute(
        """
        CREATE TABLE conflict_record (
            id TEXT PRIMARY KEY,
            title TEXT NOT NULL,
            page TEXT NOT NULL,
            a TEXT NOT NULL,
            b TEXT NOT NULL,
            a_source TEXT NOT NULL,
            b_source TEXT NOT NULL,
            opened TEXT NOT NULL,
            closed TEXT NOT NULL DEFAULT ''
        ) WITHOUT ROWID
        """
    )


def _m0010_claims(db: apsw.Connection) -> None:
    """The claims of every cited fact on a wiki page (computed at sync, rewritten with their
    page), and the keys they are filed under, so detection looks candidates up by key instead of
    parsing the page's facts again. `parser` is the fingerprint of the code that computed them: a
    row of another is not used. Pages indexed before this migration have none until synced
    again (detection parses their text meanwhile)."""
    db.execute(
        """
        CREATE TABLE claims (
            id INTEGER PRIMARY KEY,
            page_id INTEGER NOT NULL REFERENCES pages(id) ON DELETE CASCADE,
            line TEXT NOT NULL,
            data TEXT NOT NULL,
            parser TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX claims_page ON claims(page_id)")
    db.execute(
        """
        CREATE TABLE claim_keys (
            page_id INTEGER NOT NULL,
            key TEXT NOT NULL,
            claim INTEGER NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX claim_keys_page_key ON claim_keys(page_id, key)")


# Ordered, named, append-only: never edit a released migration, add a new one.
MIGRATIONS: tuple[tuple[str, Callable[[apsw.Connection], None]], ...] = (
    ("0001_initial", _m0001_initial),
    ("0002_link_names", _m0002_link_names),
    ("0003_embed_failures", _m0003_embed_failures),
    ("0004_porter_stemming", _m0004_porter_stemming),
    ("0005_page_fts", _m0005_page_fts),
    ("0006_unversioned", _m0006_unversioned),
    ("0007_sources", _m0007_sources),
    ("0008_wiki_bullets", _m0008_wiki_bullets),
    ("0009_conflicts", _m0009_conflicts),
    ("0010_claims", _m0010_claims),
)


def applied(db: apsw.Connection) -> list[str]:
    db.execute("CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at REAL)")
    return [r[0] for r in db.execute("SELECT name FROM migrations ORDER BY rowid")]


def migrate(db: apsw.Connection) -> list[str]:
    """Apply every migration not yet applied, in order, each in its own transaction."""
    done = set(applied(db))
    ran = []
    for name, step in MIGRATIONS:
        if name in done:
            continue
        with db:
            step(db)
            db.execute("INSERT INTO migrations VALUES (?, ?)", (name, time.time()))
        ran.append(name)
    return ran
