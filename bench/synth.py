"""Deterministic synthetic Obsidian vaults, shaped like real ones, for benchmarks.

    python -m bench.synth --notes 10000 --out DIR --seed 1

Same (notes, seed) -> byte-identical files. What a vault holds:

- folders: projects/<p>/ (each with an `Overview.md`), areas/, resources/<topic>/, wiki/{entities,
  concepts,sources}/, people/, meetings/<year>/, daily/<year>/, archive/<year>/, inbox/, attachments/;
- text: sentences from a seeded part-of-speech grammar over 16 topic vocabularies (Zipf-weighted
  within a topic; each note mixes a primary and a secondary topic), so BM25 and the embedding model
  have real words and topical structure to work with;
- note length: log-normal words, median ~400, from a dozen words to 10,000;
- links: in-degree follows a power law (targets drawn by Zipf rank over a shuffled note order: a
  few hubs, many leaves), written as `[[Title]]`, `[[Title|shown]]`, `[[Title#Heading]]`,
  `[[folder/Title]]`, `![[Title]]`, `[shown](folder/Title.md)` and frontmatter links; about 3% point
  at notes that do not exist (unresolved) and basenames shared by several notes (every project's
  `Overview`, plus deliberate duplicates in other folders) make `[[Overview]]`-style links ambiguous;
- frontmatter (types, aliases, tags, dates, versions), inline `#tags`, headings, bullet and task
  lists, fenced code blocks (with `[[`/`#` inside that must not count), callouts, tables, embeds of
  attachments (some missing) and block ids.

`queries(vault, n, seed)` derives search queries from generated notes (a heading or a phrase).
Generation is vectorised per note with numpy; each note has its own RNG stream keyed by (seed, i).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

TOPICS: dict[str, str] = {
    "payments": "payment card ledger settlement refund chargeback merchant acquirer issuer "
    "authorization capture invoice payout balance currency fee reconciliation transaction wallet "
    "billing subscription dispute fraud token network processor retry idempotency checkout "
    "receipt account transfer clearing scheme interchange gateway limit",
    "infrastructure": "cluster node container deployment rollout replica scheduler ingress "
    "balancer certificate terraform kubernetes volume region zone failover backup snapshot "
    "network firewall proxy queue broker topic partition latency throughput autoscaler "
    "manifest image registry secret config host kernel",
    "data": "pipeline warehouse schema table column partition query index migration "
    "transformation lineage catalog batch stream event record parquet dataset join aggregate "
    "metric dashboard report freshness quality contract ingestion export snapshot view "
    "cardinality dimension",
    "ml": "model training embedding vector gradient optimizer loss epoch checkpoint "
    "inference feature label classifier transformer attention tokenizer benchmark evaluation "
    "precision recall dataset sample augmentation regularization layer weight bias prompt "
    "retrieval ranking",
    "security": "threat vulnerability patch audit access role permission credential "
    "password key encryption signature certificate incident breach phishing policy compliance "
    "scanner exploit sandbox identity session token rotation secret firewall alert forensics",
    "product": "roadmap feature customer feedback interview persona requirement "
    "milestone launch release experiment metric funnel onboarding retention churn pricing "
    "backlog priority stakeholder design prototype usability survey segment market competitor",
    "meetings": "agenda decision action owner deadline standup retrospective review "
    "planning sync update blocker risk discussion followup summary note attendee minutes "
    "proposal vote outcome timeline escalation dependency handover",
    "research": "hypothesis experiment result paper citation method analysis "
    "observation sample variable control study evidence theory conclusion literature survey "
    "replication measurement error uncertainty model finding abstract appendix review",
    "cooking": "recipe flour butter sugar oven dough bread sauce garlic onion pepper "
    "salt olive tomato pasta rice stock simmer roast bake knife pan skillet yeast spice herb "
    "lemon vinegar broth",
    "gardening": "soil seed compost mulch tomato seedling bed raised watering "
    "pruning harvest frost season sunlight shade perennial annual bulb root leaf blossom pest "
    "aphid greenhouse trellis fertilizer potting",
    "travel": "flight train hotel itinerary passport visa luggage airport station "
    "museum beach mountain hike trail map ferry booking reservation city village coast border "
    "currency guide route",
    "music": "chord melody rhythm tempo scale harmony guitar piano drum bass "
    "recording mixing track album song lyric verse chorus bridge tuning practice metronome "
    "amplifier microphone studio",
    "history": "empire dynasty treaty war revolution kingdom republic archive "
    "manuscript chronicle century reform trade colony monarch parliament battle siege "
    "migration census artifact inscription",
    "finance": "budget expense income savings investment portfolio stock bond "
    "dividend tax mortgage loan interest rate inflation pension fund allocation risk return "
    "spreadsheet forecast",
    "health": "sleep exercise diet protein vitamin running strength stretch "
    "heart rate recovery injury appointment doctor medication symptom habit routine "
    "meditation hydration posture",
    "writing": "draft outline chapter paragraph sentence character plot scene "
    "dialogue narrator essay editor revision manuscript publisher deadline voice theme "
    "metaphor structure argument",
}
TOPIC_NAMES = tuple(TOPICS)

ADJECTIVES = [
    "new",
    "old",
    "main",
    "primary",
    "secondary",
    "stable",
    "flaky",
    "slow",
    "fast",
    "quiet",
    "noisy",
    "manual",
    "automatic",
    "daily",
    "weekly",
    "shared",
    "private",
    "public",
    "internal",
    "external",
    "critical",
    "minor",
    "major",
    "simple",
    "complex",
    "careful",
    "rough",
    "final",
    "initial",
    "current",
    "previous",
    "open",
    "closed",
    "pending",
    "broken",
    "healthy",
]
VERBS = [
    "updates",
    "reads",
    "writes",
    "checks",
    "blocks",
    "retries",
    "sends",
    "receives",
    "merges",
    "splits",
    "tracks",
    "explains",
    "replaces",
    "improves",
    "breaks",
    "fixes",
    "measures",
    "ranks",
    "links",
    "stores",
    "drops",
    "keeps",
    "moves",
    "shows",
    "hides",
    "follows",
    "needs",
    "supports",
    "prevents",
    "triggers",
    "reviews",
    "summarises",
]
PREPS = [
    "of",
    "for",
    "with",
    "from",
    "into",
    "about",
    "under",
    "over",
    "after",
    "before",
    "within",
    "across",
    "near",
]
DETS = [
    "the",
    "a",
    "this",
    "that",
    "each",
    "every",
    "our",
    "their",
    "one",
    "another",
    "some",
    "the",
    "the",
    "the",
]
CONJS = ["and", "but", "while", "because", "although", "so", "whereas"]

# Sentence shapes: d=capitalised determiner, D det, A adj, N noun, V verb, P prep, C conj,
# E noun ending the sentence.
TEMPLATES = (
    "dANVDE",
    "dNPDANVDE",
    "dNVANCDNVPDE",
    "dNVDNPE",
    "dANPNVDANPE",
    "dNVE",
    "dNPDNVANCNVDE",
)
GENERIC_TITLES = ("Overview", "Ideas", "Open Questions", "Reading List", "Retro Notes")
SUFFIXES = ("Policy", "Plan", "Notes", "Review", "Design", "Guide", "Log", "Checklist", "FAQ")
CODE_LANGS = ("python", "bash", "sql", "yaml", "")
CALLOUTS = ("note", "tip", "warning", "info", "todo", "quote", "danger", "example")
TINY_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)
WORD = re.compile(r"[A-Za-z]+")


@dataclass(slots=True)
class Plan:
    """Vault-wide decisions made before any note is written (one RNG, so they are seeded)."""

    n: int
    seed: int
    folders: list[str]
    titles: list[str]
    topics: np.ndarray  # (n, 2): primary and secondary topic of each note
    words: np.ndarray  # target word count per note
    aliases: list[tuple[str, ...]]
    target_cdf: np.ndarray  # cumulative link-target weights over notes (power law)
    attachments: list[str]
    ghosts: list[str]  # names that no note has: unresolved link targets
    daily: np.ndarray  # bool per note
    ambiguous: set[str] = field(default_factory=set)  # basenames shared by several notes


@dataclass(slots=True)
class Stats:
    notes: int = 0
    attachments: int = 0
    words: int = 0
    links: int = 0
    unresolved_links: int = 0
    ambiguous_links: int = 0
    bytes: int = 0
    seconds: float = 0.0
    in_degree: list[int] = field(default_factory=list)


class _Vocab:
    def __init__(self) -> None:
        nouns = [TOPICS[t].split() for t in TOPIC_NAMES]
        self.k = min(len(w) for w in nouns)
        self.nouns = [w[: self.k] for w in nouns]
        flat = [w for ws in self.nouns for w in ws]
        # One object array holding every token spelling; slot types index into ranges of it.
        parts = {
            "N": flat,
            "E": [w + "." for w in flat],
            "A": ADJECTIVES,
            "V": VERBS,
            "P": PREPS,
            "D": DETS,
            "d": [d.capitalize() for d in DETS],
            "C": CONJS,
        }
        self.offset: dict[str, int] = {}
        self.size: dict[str, int] = {}
        tokens: list[str] = []
        for key, words in parts.items():
            self.offset[key] = len(tokens)
            self.size[key] = len(words)
            tokens.extend(words)
        self.tokens = np.array(tokens, dtype=object)
        zipf = 1.0 / np.arange(1, self.k + 1) ** 0.8
        self.noun_cdf = np.cumsum(zipf) / zipf.sum()
        self.templates = [np.array([ord(c) for c in t]) for t in TEMPLATES]
        self.template_len = np.array([len(t) for t in TEMPLATES])


VOCAB = _Vocab()


def _title_case(words: list[str]) -> str:
    return " ".join(w.capitalize() for w in words)


def make_plan(n: int, seed: int) -> Plan:  # noqa: C901 - one branch per kind of synthetic note, read top to bottom
    rng = np.random.default_rng([seed, 0xC0FFEE])
    k = VOCAB.k
    topics = np.stack(
        [rng.integers(0, len(TOPIC_NAMES), n), rng.integers(0, len(TOPIC_NAMES), n)], axis=1
    )
    words = np.clip(np.rint(rng.lognormal(np.log(400), 0.9, n)), 12, 10_000).astype(int)
    n_projects = max(3, n // 120)
    projects = [
        f"{_title_case([VOCAB.nouns[i % 16][(i * 7) % k], VOCAB.nouns[(i + 5) % 16][(i * 3) % k]])}"
        f" {i + 1}"
        for i in range(n_projects)
    ]
    daily = rng.random(n) < 0.08
    kind = rng.choice(
        [
            "project",
            "area",
            "resource",
            "entity",
            "concept",
            "source",
            "people",
            "meeting",
            "archive",
            "inbox",
        ],
        size=n,
        p=[0.22, 0.08, 0.16, 0.1, 0.1, 0.06, 0.05, 0.1, 0.1, 0.03],
    )
    folders: list[str] = []
    titles: list[str] = []
    seen: set[str] = set()
    day0 = np.datetime64("2015-01-01")
    day_offsets = np.sort(rng.choice(max(n, 4000) * 3, size=int(daily.sum()), replace=False))
    di = 0
    project_has_overview = [False] * n_projects
    for i in range(n):
        t0, t1 = int(topics[i, 0]), int(topics[i, 1])
        if daily[i]:
            day = str(day0 + int(day_offsets[di]))
            di += 1
            folders.append(f"daily/{day[:4]}")
            titles.append(day)
            seen.add(day.casefold())
            continue
        kd = kind[i]
        p = int(rng.integers(0, n_projects))
        year = 2015 + int(rng.integers(0, 11))
        folder = {
            "project": f"projects/{projects[p]}",
            "area": f"areas/{TOPIC_NAMES[t0].capitalize()}",
            "resource": f"resources/{TOPIC_NAMES[t0]}",
            "entity": "wiki/entities",
            "concept": "wiki/concepts",
            "source": "wiki/sources",
            "people": "people",
            "meeting": f"meetings/{year}",
            "archive": f"archive/{year}",
            "inbox": "inbox",
        }[str(kd)]
        if kd == "project" and not project_has_overview[p]:
            project_has_overview[p] = True
            title = "Overview"
        elif kd == "people":
            title = (
                _title_case(
                    [
                        VOCAB.nouns[t0][int(rng.integers(0, k))],
                        VOCAB.nouns[t1][int(rng.integers(0, k))],
                    ]
                )
                + f" {chr(65 + int(rng.integers(0, 26)))}"
            )
        elif kd == "meeting":
            title = f"{year}-{int(rng.integers(1, 13)):02d}-{int(rng.integers(1, 29)):02d} " + (
                _title_case([VOCAB.nouns[t0][int(rng.integers(0, k))]]) + " Sync"
            )
        else:
            nw = int(rng.integers(1, 4))
            ws = [VOCAB.nouns[t0 if j % 2 == 0 else t1][int(rng.integers(0, k))] for j in range(nw)]
            title = _title_case(ws)
            if rng.random() < 0.5:
                title += " " + SUFFIXES[int(rng.integers(0, len(SUFFIXES)))]
        if rng.random() < 0.01 and kd not in ("project",):
            # A deliberate duplicate basename in a same-length folder: links to it tie on every
            # rule of Obsidian's resolution (ambiguous links).
            title = GENERIC_TITLES[int(rng.integers(1, len(GENERIC_TITLES)))]
            folder = f"archive/{year}"
        elif title != "Overview":
            base, m = title, 2
            while title.casefold() in seen:
                title = f"{base} {m}"
                m += 1
            seen.add(title.casefold())
        folders.append(folder)
        titles.append(title)
    # Basenames held by more than one note.
    counts: dict[str, int] = {}
    for t in titles:
        counts[t.casefold()] = counts.get(t.casefold(), 0) + 1
    ambiguous = {t for t, c in counts.items() if c > 1}
    # Unique paths: two notes with the same title in the same folder get a numbered name.
    used: set[str] = set()
    for i in range(n):
        path = f"{folders[i]}/{titles[i]}".casefold()
        m = 2
        base = titles[i]
        while path in used:
            titles[i] = f"{base} {m}"
            path = f"{folders[i]}/{titles[i]}".casefold()
            m += 1
        used.add(path)
    aliases: list[tuple[str, ...]] = []
    alias_draw = rng.random(n)
    for i in range(n):
        if alias_draw[i] < 0.2 and not daily[i]:
            t0 = int(topics[i, 0])
            a = [VOCAB.nouns[t0][int(rng.integers(0, k))] + "-" + titles[i].split()[0].lower()]
            if alias_draw[i] < 0.05:
                a.append(titles[i].lower())
            aliases.append(tuple(a))
        else:
            aliases.append(())
    # Power-law in-degree: Zipf weight by rank over a shuffled order (a few hubs, many leaves).
    order = rng.permutation(n)
    weights = np.empty(n)
    weights[order] = 1.0 / np.arange(1, n + 1) ** 0.9
    target_cdf = np.cumsum(weights) / weights.sum()
    n_att = max(5, n // 40)
    attachments = [
        f"attachments/{TOPIC_NAMES[i % 16]}-{i:05d}.{('png', 'png', 'jpg', 'pdf')[i % 4]}"
        for i in range(n_att)
    ]
    ghosts = [
        _title_case([VOCAB.nouns[i % 16][(i * 11) % k], "draft", str(i)])
        for i in range(max(10, n // 30))
    ]
    return Plan(
        n,
        seed,
        folders,
        titles,
        topics,
        words,
        aliases,
        target_cdf,
        attachments,
        ghosts,
        daily,
        ambiguous,
    )


def note_path(plan: Plan, i: int) -> str:
    return f"{plan.folders[i]}/{plan.titles[i]}.md"


def _tokens(
    rng: np.random.Generator, n_words: int, t0: int, t1: int
) -> tuple[list[str], list[int]]:
    """About n_words words of prose: (tokens, index one past each sentence's last token)."""
    lens = VOCAB.template_len
    n_sent = max(1, int(n_words / lens.mean()))
    which = rng.integers(0, len(TEMPLATES), n_sent)
    slots = np.concatenate([VOCAB.templates[w] for w in which])
    n_tok = slots.size
    idx = np.empty(n_tok, dtype=np.int64)
    u = rng.random(n_tok)
    # Nouns (N and E): primary topic 70%, secondary 22%, any topic 8%; Zipf within the topic,
    # over a per-note rotation of the topic's words so each note has its own favourite terms.
    is_noun = (slots == ord("N")) | (slots == ord("E"))
    nn = int(is_noun.sum())
    pick = rng.random(nn)
    topic = np.where(pick < 0.7, t0, np.where(pick < 0.92, t1, rng.integers(0, 16, nn)))
    word = np.minimum(np.searchsorted(VOCAB.noun_cdf, rng.random(nn)), VOCAB.k - 1)
    shift = rng.integers(0, VOCAB.k, 16)
    noun_ix = topic * VOCAB.k + (word + shift[topic]) % VOCAB.k
    base = np.where(slots[is_noun] == ord("E"), VOCAB.offset["E"], VOCAB.offset["N"])
    idx[is_noun] = base + noun_ix
    for key in "AVPDdC":
        mask = slots == ord(key)
        if mask.any():
            idx[mask] = VOCAB.offset[key] + (u[mask] * VOCAB.size[key]).astype(np.int64)
    return VOCAB.tokens[idx].tolist(), np.cumsum(lens[which]).tolist()


def _link(plan: Plan, rng: np.random.Generator, i: int, stats: Stats, in_deg: np.ndarray) -> str:
    r = rng.random()
    if r < 0.03:
        stats.unresolved_links += 1
        return f"[[{plan.ghosts[int(rng.integers(0, len(plan.ghosts)))]}]]"
    if r < 0.045:
        att = plan.attachments[int(rng.integers(0, len(plan.attachments)))]
        if rng.random() < 0.15:  # a missing attachment
            stats.unresolved_links += 1
            att = att.replace(".", "-missing.", 1)
        return f"![[{att.rsplit('/', 1)[-1]}]]"
    j = int(np.searchsorted(plan.target_cdf, rng.random()))
    j = min(j, plan.n - 1)
    if j == i:
        j = (j + 1) % plan.n
    in_deg[j] += 1
    title = plan.titles[j]
    if title.casefold() in plan.ambiguous:
        stats.ambiguous_links += 1
    f = rng.random()
    if f < 0.58:
        return f"[[{title}]]"
    if f < 0.70:
        shown = plan.aliases[j][0] if plan.aliases[j] else title.lower()
        return f"[[{title}|{shown}]]"
    if f < 0.78:
        return f"[[{title}#{_title_case([VOCAB.nouns[int(plan.topics[j, 0])][0]])}]]"
    if f < 0.86:
        return f"[[{plan.folders[j]}/{title}]]"
    if f < 0.92:
        return f"![[{title}]]"
    target = f"{plan.folders[j]}/{title}.md".replace(" ", "%20")
    return f"[{title.lower()}]({target})"


def render_note(plan: Plan, i: int, stats: Stats, in_deg: np.ndarray) -> str:  # noqa: C901 - one branch per markdown construct the generator writes
    rng = np.random.default_rng([plan.seed, i])
    t0, t1 = int(plan.topics[i, 0]), int(plan.topics[i, 1])
    n_words = int(plan.words[i])
    tokens, ends = _tokens(rng, n_words, t0, t1)
    stats.words += len(tokens)
    out: list[str] = []
    # Frontmatter (most notes).
    if plan.daily[i] or rng.random() < 0.82:
        fm = ["---"]
        folder = plan.folders[i]
        if folder.startswith("wiki/"):
            fm.append(f"type: {folder.split('/')[1].rstrip('s')}")
            fm.append(f"version: {int(rng.integers(1, 9))}")
        if plan.aliases[i]:
            fm.append("aliases: [" + ", ".join(plan.aliases[i]) + "]")
        tags = [TOPIC_NAMES[t0]]
        if rng.random() < 0.5:
            tags.append(("status/active", "status/done", "status/draft", "review")[i % 4])
        fm.append("tags: [" + ", ".join(tags) + "]")
        fm.append(f"created: 20{15 + i % 11}-{1 + i % 12:02d}-{1 + i % 28:02d}")
        if rng.random() < 0.06:
            fm.append(f'related: "{_link(plan, rng, i, stats, in_deg)}"')
            stats.links += 1
        fm.append("---")
        out.append("\n".join(fm))
    if rng.random() < 0.3:
        out.append(f"# {plan.titles[i]}")
    # Links (about one per 70 words) go before a word; inline tags after a sentence.
    n_tok = len(tokens)
    n_links = int(rng.poisson(n_words / 70.0)) if rng.random() < 0.93 else 0
    for pos in rng.integers(0, n_tok, n_links).tolist():
        tokens[pos] = _link(plan, rng, i, stats, in_deg) + " " + tokens[pos]
    stats.links += n_links
    n_sent = len(ends)
    for pos in rng.integers(0, n_sent, int(rng.poisson(0.6))).tolist():
        tokens[ends[pos] - 1] += f" #{TOPIC_NAMES[(t0 + pos) % 16]}"
    # Blocks: paragraphs of 2-7 sentences; a heading every few paragraphs; extras sprinkled in.
    s = 0
    para = 0
    heading_every = int(rng.integers(2, 5))
    feats = rng.random(4)
    code_at = int(rng.integers(1, 6)) if feats[0] < 0.12 else -1
    callout_at = int(rng.integers(1, 6)) if feats[1] < 0.18 else -1
    table_at = int(rng.integers(1, 6)) if feats[2] < 0.08 else -1
    list_at = int(rng.integers(0, 5)) if feats[3] < 0.35 else -1
    takes = rng.integers(2, 8, n_sent).tolist()
    draws = rng.random(n_sent).tolist()
    a = 0
    while s < n_sent:
        if para and para % heading_every == 0:
            level = "##" if draws[para] < 0.75 else "###"
            hw = [
                VOCAB.nouns[t0 if j % 2 == 0 else t1][(para * 7 + j * 5 + i) % 12]
                for j in range(1 + (para + i) % 3)
            ]
            out.append(f"{level} {_title_case(hw)}")
        e = min(n_sent, s + takes[para])
        b = ends[e - 1]
        if para == list_at:
            items = []
            for k in range(s, e):
                lo = ends[k - 1] if k else 0
                items.append(("- [ ] " if k % 3 == 0 else "- ") + " ".join(tokens[lo : ends[k]]))
            out.append("\n".join(items))
        else:
            text = " ".join(tokens[a:b])
            if draws[para] > 0.97:
                text += f" ^b{i:x}{para}"
            out.append(text)
        a = b
        s = e
        if para == code_at:
            lang = CODE_LANGS[i % len(CODE_LANGS)]
            body = [
                f"def {VOCAB.nouns[t0][para % VOCAB.k]}_{j}(x):  # [[not a link]] #not-a-tag"
                for j in range(2 + i % 5)
            ]
            out.append(f"```{lang}\n" + "\n".join(body) + "\n    return x\n```")
        if para == callout_at:
            kind = CALLOUTS[i % len(CALLOUTS)]
            line = " ".join(tokens[0 : ends[0]])
            out.append(f"> [!{kind}] {_title_case([VOCAB.nouns[t1][para % VOCAB.k]])}\n> {line}")
        if para == table_at:
            rows = ["| item | owner | status |", "| --- | --- | --- |"]
            for r in range(3 + i % 6):
                rows.append(
                    f"| {VOCAB.nouns[t0][r % VOCAB.k]} | {VOCAB.nouns[t1][(r * 3) % VOCAB.k]} "
                    f"| {('open', 'done', 'blocked')[r % 3]} |"
                )
            out.append("\n".join(rows))
        para += 1
    return "\n\n".join(out) + "\n"


_PLAN: Plan | None = None
_OUT: Path | None = None


def _write_share(args: tuple[int, int]) -> tuple[Stats, np.ndarray]:
    """Render and write notes worker, worker + jobs, ... (a forked worker, or inline)."""
    worker, jobs = args
    plan, out = _PLAN, _OUT
    assert plan is not None and out is not None
    stats = Stats()
    in_deg = np.zeros(plan.n, dtype=np.int64)
    for i in range(worker, plan.n, jobs):
        data = render_note(plan, i, stats, in_deg).encode("utf-8")
        stats.bytes += len(data)
        with open(out / note_path(plan, i), "wb") as fh:
            fh.write(data)
    return stats, in_deg


def generate(n: int, out: Path, seed: int = 1, clean: bool = True, jobs: int = 0) -> Stats:
    """Write an n-note vault to `out` (emptied first when `clean`); returns its statistics.
    `jobs` worker processes (0: one per CPU); the files do not depend on it."""
    global _PLAN, _OUT
    started = time.perf_counter()
    if clean and out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / ".obsidian").mkdir(exist_ok=True)
    (out / ".obsidian" / "app.json").write_text("{}\n", encoding="utf-8")
    plan = make_plan(n, seed)
    for folder in [*sorted(set(plan.folders)), "attachments"]:
        (out / folder).mkdir(parents=True, exist_ok=True)
    for att in plan.attachments:
        (out / att).write_bytes(TINY_PNG)
    _PLAN, _OUT = plan, out
    if jobs <= 0:
        jobs = 1 if n < 2000 else min(os.cpu_count() or 1, 8)
    try:
        if jobs == 1:
            parts = [_write_share((0, 1))]
        else:
            ctx = multiprocessing.get_context("fork")
            with ctx.Pool(jobs) as pool:
                parts = pool.map(_write_share, [(w, jobs) for w in range(jobs)])
    finally:
        _PLAN, _OUT = None, None
    stats = Stats(notes=n, attachments=len(plan.attachments))
    in_deg = np.zeros(n, dtype=np.int64)
    for part, deg in parts:
        stats.words += part.words
        stats.links += part.links
        stats.unresolved_links += part.unresolved_links
        stats.ambiguous_links += part.ambiguous_links
        stats.bytes += part.bytes
        in_deg += deg
    stats.in_degree = in_deg.tolist()
    stats.seconds = time.perf_counter() - started
    return stats


_MARKUP = re.compile(r"!?\[\[[^\]]*\]\]|\[[^\]]*\]\([^)]*\)|#\S+|\^\w+")


def queries(vault: Path, n: int, seed: int = 1) -> list[tuple[str, str]]:
    """(query, source note path) pairs drawn from the vault's own text: about 40% headings, 60%
    phrases of 3-7 words from a paragraph. Deterministic for a given vault and seed."""
    paths = sorted(
        p.relative_to(vault).as_posix()
        for p in vault.rglob("*.md")
        if not p.relative_to(vault).as_posix().startswith(("index", "log.md", "daily/"))
    )
    rnd = random.Random(seed)
    out: list[tuple[str, str]] = []
    while len(out) < n and paths:
        path = paths[rnd.randrange(len(paths))]
        text = (vault / path).read_text(encoding="utf-8")
        body = text.split("\n---\n", 1)[-1] if text.startswith("---") else text
        lines = [ln for ln in body.splitlines() if ln.strip()]
        heads = [ln.lstrip("#").strip() for ln in lines if ln.startswith("## ")]
        paras = [ln for ln in lines if ln[:1].isalpha() and len(ln) > 40]
        if heads and (rnd.random() < 0.4 or not paras):
            out.append((heads[rnd.randrange(len(heads))].lower(), path))
            continue
        if not paras:
            continue
        words = WORD.findall(_MARKUP.sub(" ", paras[rnd.randrange(len(paras))]))
        if len(words) < 3:
            continue
        size = rnd.randint(3, 7)
        start = rnd.randrange(max(1, len(words) - size))
        out.append((" ".join(words[start : start + size]).lower(), path))
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--notes", type=int, default=1000)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=0, help="worker processes (0: one per CPU)")
    args = ap.parse_args(argv)
    stats = generate(args.notes, args.out, args.seed, jobs=args.jobs)
    deg = np.array(stats.in_degree)
    print(
        f"{stats.notes:,} notes + {stats.attachments:,} attachments, {stats.words:,} words, "
        f"{stats.bytes / 1e6:.1f} MB, {stats.links:,} links ({stats.unresolved_links:,} unresolved, "
        f"{stats.ambiguous_links:,} to ambiguous names); in-degree median {int(np.median(deg))}, "
        f"max {int(deg.max())}; {stats.seconds:.1f}s -> {args.out}"
    )


if __name__ == "__main__":
    main()
