"""Conflict detection at scale: a 50-fact source checked against 100,000 stored facts.

    python -m bench.conflicts_scale          # print the figures
    python -m bench.conflicts_scale --doc    # and write them into docs/benchmarks.md

A real index (`companion.store.db.Store.open` on a file under bench/.cache/conflicts-scale/) is
filled with 100,000 synthetic cited facts on 2,000 entity pages over 50 attributes (durations,
counts, money, versions, dates, owners, booleans; sentence templates with sub-components, so one
page holds many facts of one attribute), ten pages holding 1,500 facts each. Each page goes
through the real sync path of one file — `parse_note` -> `companion.sync.page.page_row` (which
computes the claims of every cited line: `cited_lines`, `claims`, `serial.dumps`, `claim_keys`)
-> `Pages.put` in one transaction — so the index is built by exactly the code `companion index`
runs (in one process here; sync spreads big batches over worker processes). Its rate is
reported as facts per second.

Then a new source of 50 facts (some restating stored ones with other values, some new), landing
on 5 pages (two of the 1,500-fact pages), is checked: for each page, the real
`companion.conflicts.detect.detect`, given the store-backed lookup the ingest pipeline builds
(`Ingester._stored_claims`: the index's hash check, then `Conflicts.candidates` by key), with
the claims caches cleared before each run (a new process: the new facts' normalisation,
`claims()`, is inside the time). Median of 5. For contrast the same check without the index
(`stored=None`: every stored fact of those pages parsed from the text, as before the index), and
the two must find the same findings.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from bench.common import CACHE, machine, write_section

WORK = CACHE / "conflicts-scale"
BEGIN = (
    "<!-- bench:conflicts-scale:begin (written by `python -m bench.conflicts_scale --doc`; "
    "edits inside are lost) -->"
)
END = "<!-- bench:conflicts-scale:end -->"

FACTS = 100_000
ENTITIES = 2_000
BIG = 10  # entities holding BIG_FACTS facts each
BIG_FACTS = 1_500
NEW_FACTS = 50
NEW_PAGES = 5
RUNS = 5
SOURCES = 400  # distinct stored source pages the facts cite


def _list(words: str, sep: str = " ") -> list[str]:
    return words.split(sep)


_PREFIX = _list(
    "Arden Bexley Corvin Dunmore Elstow Farrow Glenrith Halden Istow Jarrow Kelso Lanark"
)
_SUFFIX = _list("Gateway Ledger Registry Portal Exchange Switch Vault Relay Hub Console")
_PARTS = _list(
    "ingest worker|billing API|search cluster|audit store|export job|payment queue|"
    "notification service|reporting database|session cache|identity broker|file transfer node|"
    "scheduler|archive tier|metrics pipeline|admin console|batch loader|message bus|"
    "settlement engine|document store|event stream",
    "|",
)
_TEAMS = _list(
    "Platform|Ledger|Payments|Identity|Data|Networks|Storage|Integration|Security|SRE", "|"
)
_PRODUCTS = _list("PostgreSQL|Kafka|Redis|Nginx|Kubernetes|Elasticsearch|RabbitMQ|OpenSSL", "|")
_MONTHS = _list("January February March April May June July August September October November")


def _duration(r: random.Random) -> str:
    n = r.randint(2, 90)
    return f"{n} {r.choice(['minutes', 'hours', 'days', 'seconds'])}"


def _count(r: random.Random) -> str:
    return str(r.randint(2, 64))


def _money(r: random.Random) -> str:
    return r.choice(["£", "$", "€"]) + f"{r.randint(2, 950)},{r.randint(0, 9)}00"


def _day(r: random.Random) -> str:
    return f"{r.randint(1, 28)} {r.choice(_MONTHS)} {r.randint(2019, 2026)}"


def _version(r: random.Random) -> str:
    return f"{r.randint(2, 17)}.{r.randint(0, 9)}"


def _percent(r: random.Random) -> str:
    return f"{r.randint(50, 99)}.{r.randint(0, 9)}%"


# 50 attributes: (sentence template, value filler). `{e}` the subject (the page or one of its
# parts), `{v}` the value; owners, products and booleans fill their own words.
_ATTRIBUTES: list[tuple[str, Callable[[random.Random], str]]] = [
    ("The recovery time objective of {e} is {v}.", _duration),
    ("The recovery point objective of {e} is {v}.", _duration),
    ("{e} keeps audit logs for {v}.", _duration),
    ("The backup window of {e} is {v}.", _duration),
    ("Failover of {e} takes {v}.", _duration),
    ("The session timeout of {e} is {v}.", _duration),
    ("The nightly batch of {e} takes {v}.", _duration),
    ("Deployments of {e} are frozen for {v} before quarter end.", _duration),
    ("The p95 latency of {e} is {v}.", lambda r: f"{r.randint(20, 900)} ms"),
    ("The maintenance window of {e} lasts {v}.", _duration),
    ("{e} runs {v} replicas.", _count),
    ("{e} has {v} worker nodes.", _count),
    ("{e} is split into {v} shards.", _count),
    ("{e} consumes from {v} partitions.", _count),
    ("{e} is deployed in {v} regions.", _count),
    ("{e} serves {v} hospitals.", _count),
    ("{e} has {v} named users.", _count),
    ("{e} retries a failed call {v} times.", _count),
    ("{e} keeps {v} nightly snapshots.", _count),
    ("{e} processes {v} requests per second at peak.", lambda r: f"{r.randint(2, 90)},000"),
    ("The annual licence fee of {e} is {v}.", _money),
    ("The support contract of {e} costs {v} a year.", _money),
    ("Hosting {e} costs {v} per month.", _money),
    ("The migration budget of {e} is {v}.", _money),
    ("Each transaction through {e} costs {v}.", lambda r: f"{r.randint(2, 90)}p"),
    ("{e} runs PostgreSQL {v}.", _version),
    ("{e} runs Kafka {v}.", _version),
    ("{e} uses Redis {v}.", _version),
    ("{e} is built on Kubernetes {v}.", _version),
    ("{e} links against OpenSSL {v}.", _version),
    ("{e} went live on {v}.", _day),
    ("The contract of {e} expires on {v}.", _day),
    ("The last disaster recovery test of {e} was on {v}.", _day),
    ("{e} is due to be decommissioned on {v}.", _day),
    ("The certificate of {e} expires on {v}.", _day),
    ("{e} is owned by the {v} team.", lambda r: r.choice(_TEAMS)),
    ("Out-of-hours on-call for {e} is provided by the {v} team.", lambda r: r.choice(_TEAMS)),
    ("The {v} team approves changes to {e}.", lambda r: r.choice(_TEAMS)),
    ("{e} is hosted by {v}.", lambda r: r.choice(["Azure", "AWS", "GCP", "Hetzner", "OVH"])),
    ("The database vendor of {e} is {v}.", lambda r: r.choice(_PRODUCTS)),
    ("{e} is {v} at rest.", lambda r: r.choice(["encrypted", "not encrypted"])),
    ("{e} {v} replicated across sites.", lambda r: r.choice(["is", "is not"])),
    ("{e} {v} single sign-on.", lambda r: r.choice(["supports", "does not support"])),
    ("{e} {v} work offline.", lambda r: r.choice(["can", "cannot"])),
    ("Multi-factor authentication is {v} for {e}.", lambda r: r.choice(["enabled", "disabled"])),
    ("The availability target of {e} is {v}.", _percent),
    ("{e} stores {v} of data.", lambda r: f"{r.randint(2, 900)} GB"),
    ("The error budget of {e} is {v} a month.", _percent),
    ("{e} opens at {v} on weekdays.", lambda r: f"{r.randint(6, 10):02d}:{r.choice(['00', '30'])}"),
    ("The message size limit of {e} is {v}.", lambda r: f"{r.randint(1, 64)} MB"),
]
assert len(_ATTRIBUTES) == 50


def _names() -> list[str]:
    names = [f"{a} {b}" for a in _PREFIX for b in _SUFFIX]
    out = [f"{n} {i // len(names) + 1}" if i >= len(names) else n for i, n in enumerate(names)]
    while len(out) < ENTITIES:
        i = len(out)
        out.append(f"{names[i % len(names)]} {i // len(names) + 1}")
    return out[:ENTITIES]


def _fact(r: random.Random, title: str, attribute: int, source: str) -> str:
    template, value = _ATTRIBUTES[attribute]
    subject = title if r.random() < 0.4 else f"the {r.choice(_PARTS)} of {title}"
    text = template.format(e=subject, v=value(r))
    return f"- {text[:1].upper()}{text[1:]} ([[wiki/sources/{source}]])"


def _page(title: str, facts: list[str]) -> str:
    return (
        f"---\ntype: entity\ntitle: {title}\nversion: 1\n---\n# {title}\n\n## Facts\n\n"
        "%% companion:begin facts %%\n" + "\n".join(facts) + "\n%% companion:end facts %%\n"
    )


def _vault() -> tuple[Path, dict[str, tuple[str, list[str]]]]:
    """The pages (path -> (title, fact lines)) of the synthetic vault; the vault made empty."""
    from companion.app import Companion

    shutil.rmtree(WORK, ignore_errors=True)
    vault = WORK / "vault"
    Companion.init(vault)
    r = random.Random(11)
    titles = _names()
    counts = [BIG_FACTS] * BIG
    rest = FACTS - BIG * BIG_FACTS
    small = ENTITIES - BIG
    counts += [rest // small + (1 if i < rest % small else 0) for i in range(small)]
    pages: dict[str, tuple[str, list[str]]] = {}
    for title, n in zip(titles, counts, strict=True):
        seen: set[str] = set()
        lines: list[str] = []
        while len(lines) < n:
            line = _fact(r, title, r.randrange(50), f"src-{r.randrange(SOURCES):04d}")
            if line not in seen:
                seen.add(line)
                lines.append(line)
        pages[f"wiki/entities/{title}.md"] = (title, lines)
    return vault, pages


def _new_source(r: random.Random, pages: dict[str, tuple[str, list[str]]]) -> dict[str, list[str]]:
    """50 new facts citing `new-source`, 10 on each of 5 pages (two of them 1,500-fact pages):
    half restate a stored fact's template with another value, half are fresh draws."""
    targets = list(pages)[:2] + list(pages)[BIG : BIG + NEW_PAGES - 2]
    out: dict[str, list[str]] = {}
    for path in targets:
        title, held = pages[path]
        lines: list[str] = []
        while len(lines) < NEW_FACTS // NEW_PAGES:
            line = _fact(r, title, r.randrange(50), "new-source")
            if line not in held and line not in lines:
                lines.append(line)
        out[path] = lines
    return out


def run() -> dict[str, Any]:
    from companion.config import load_settings
    from companion.conflicts import detect as detect_module
    from companion.conflicts.claims import claims
    from companion.ingest.pipeline import Ingester, page_aliases
    from companion.ingest.synth import choose
    from companion.markdown.parse import parse_note
    from companion.markdown.resolve import Resolver
    from companion.store.db import Store
    from companion.sync.page import page_row
    from companion.vault.walk import VaultFile, content_hash

    started = time.perf_counter()
    vault, pages = _vault()
    generate_s = time.perf_counter() - started
    texts = {path: _page(title, lines) for path, (title, lines) in pages.items()}
    store = Store.open(WORK / "index.db")
    resolver = Resolver(list(texts))
    digests: dict[str, str] = {}
    build_started = time.perf_counter()
    rows = []
    for path, text in texts.items():
        data = text.encode("utf-8")
        digests[path] = content_hash(data)
        note = parse_note(data, path)
        rows.append(
            page_row(note, VaultFile(path, len(data), 0, False), digests[path], 2000, resolver)
        )
    with store.transaction():
        store.pages.put(rows, new=list(texts))
    build_s = time.perf_counter() - build_started
    claim_rows = int(store._scalar("SELECT count(*) FROM claims"))
    key_rows = int(store._scalar("SELECT count(*) FROM claim_keys"))
    stored_claims = sum(len(json.loads(r.data)) for p in rows for r in p.claims)
    del rows

    settings = load_settings(vault, state_dir=WORK / "state")

    def refuse(*_: object) -> None:
        raise AssertionError("the benchmark commits nothing")

    ingester = Ingester(
        settings,
        store,
        choose(settings),
        templates=lambda _: "",
        commit=refuse,
        settle=lambda paths, recheck: False,
    )
    new = _new_source(random.Random(12), pages)
    days = {"wiki/sources/new-source": date(2026, 6, 1)}

    def date_of(summary: str) -> date | None:
        return days.get(summary, date(2025, 1, 1))

    def check(indexed: bool) -> list[Any]:
        detect_module.claims_of.cache_clear()  # a new process: nothing parsed yet
        found: list[Any] = []
        for path, lines in new.items():
            before = texts[path]
            after = before.replace(
                "\n%% companion:end", "\n" + "\n".join(lines) + "\n%% companion:end"
            )
            title = path.rsplit("/", 1)[-1].removesuffix(".md")
            aliases = page_aliases(after, path)
            stored = (
                ingester._stored_claims(path, digests[path], aliases, before) if indexed else None
            )
            if indexed and stored is None:
                raise AssertionError(f"{path}: the index was not used")
            found.extend(
                detect_module.detect(
                    path, title, aliases, before, after, {"wiki/sources/new-source"}, date_of,
                    stored=stored,
                )
            )  # fmt: skip
        return found

    timings: dict[bool, list[float]] = {True: [], False: []}
    results: dict[bool, list[Any]] = {}
    for _ in range(RUNS):
        for indexed in (True, False):
            t0 = time.perf_counter()
            results[indexed] = check(indexed)
            timings[indexed].append(time.perf_counter() - t0)
    if results[True] != results[False]:
        raise AssertionError("detection through the index found other findings than from text")
    detect_module.claims_of.cache_clear()
    t0 = time.perf_counter()
    new_claims = sum(len(claims(x, p, "t")) for p, lines in new.items() for x in lines)
    normalise_s = time.perf_counter() - t0
    size = (WORK / "index.db").stat().st_size
    store.close()
    held = [len(pages[p][1]) for p in new]
    return {
        "facts": FACTS,
        "entities": ENTITIES,
        "attributes": len(_ATTRIBUTES),
        "largest": BIG_FACTS,
        "generate_s": round(generate_s, 2),
        "build_s": round(build_s, 2),
        "build_rate": round(FACTS / build_s),
        "claim_rows": claim_rows,
        "claims": stored_claims,
        "key_rows": key_rows,
        "db_mb": round(size / 1e6, 1),
        "new_facts": sum(len(v) for v in new.values()),
        "new_claims": new_claims,
        "new_pages": len(new),
        "held_on_new_pages": held,
        "normalise_ms": round(normalise_s * 1000, 1),
        "indexed_ms": [round(t * 1000, 1) for t in timings[True]],
        "text_ms": [round(t * 1000, 1) for t in timings[False]],
        "indexed_median_ms": round(statistics.median(timings[True]) * 1000, 1),
        "text_median_ms": round(statistics.median(timings[False]) * 1000, 1),
        "findings": len(results[True]),
    }


def section(r: dict[str, Any]) -> str:
    m = machine()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return "\n".join(
        [
            "## Conflict detection at scale (`python -m bench.conflicts_scale`)\n",
            f"Measured {m['date']} on {m['cpu']} ({m['cores']} cores, {m['ram_gb']} GB), load "
            f"average {load}, git {m['git']}. {r['facts']:,} synthetic cited facts on "
            f"{r['entities']:,} entity pages over {r['attributes']} attributes (ten pages of "
            f"{r['largest']:,} facts), indexed through the real sync path of each page "
            "(`parse_note` → `page_row`, which computes every cited line's claims → "
            "`Pages.put`), in one process. A 50-fact source lands on 5 pages "
            f"(holding {', '.join(f'{n:,}' for n in r['held_on_new_pages'])} facts) and is "
            "checked with the real `detect`, claims caches cleared before each run, so the new "
            "facts' normalisation is inside the time. Median of 5; both ways found the same "
            f"{r['findings']} findings.\n",
            "| measure | value |",
            "|---|---|",
            f"| check, through the claim index (median) | **{r['indexed_median_ms']} ms** "
            f"(runs: {', '.join(map(str, r['indexed_ms']))}) |",
            f"| check, parsing the pages' text instead (median) | {r['text_median_ms']} ms "
            f"(runs: {', '.join(map(str, r['text_ms']))}) |",
            f"| of which normalising the {r['new_facts']} new facts ({r['new_claims']} claims) "
            f"| {r['normalise_ms']} ms |",
            f"| building the index (page_row + put) | {r['build_s']} s, "
            f"**{r['build_rate']:,} facts/s** |",
            f"| stored | {r['claim_rows']:,} lines, {r['claims']:,} claims, "
            f"{r['key_rows']:,} keys, {r['db_mb']} MB database |",
            "",
        ]
    )


def write_doc(text: str) -> None:
    write_section(BEGIN, END, text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m bench.conflicts_scale", description=__doc__.split("\n")[0]
    )
    ap.add_argument("--doc", action="store_true", help="write the results into docs/benchmarks.md")
    args = ap.parse_args(argv)
    os.environ.setdefault("COMPANION_EMBED_BACKEND", "fake")
    r = run()
    print(
        f"index: {r['facts']:,} facts in {r['build_s']} s ({r['build_rate']:,} facts/s); "
        f"{r['claim_rows']:,} lines, {r['claims']:,} claims, {r['key_rows']:,} keys, "
        f"{r['db_mb']} MB"
    )
    print(
        f"check {r['new_facts']} facts on {r['new_pages']} pages: indexed median "
        f"{r['indexed_median_ms']} ms {r['indexed_ms']}, text median {r['text_median_ms']} ms "
        f"{r['text_ms']}; normalising {r['normalise_ms']} ms; {r['findings']} findings"
    )
    if args.doc:
        write_doc(section(r))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
