"""A deterministic many-page PDF for `bench.ingest`: ~300 words of varied sentences a page about a
handful of recurring, capitalised systems and teams (so the extractive synthesizer finds the same
subjects on page after page, as in a real operations handbook).

The project has no PDF writer among its dependencies (pypdf reads; it does not lay out text), so
the file is written by hand: PDF 1.4, one standard Type 1 font (Helvetica, WinAnsi, no embedding),
one uncompressed content stream a page with the text as `Tj`/`T*` lines, an info dictionary
(Title, Author, CreationDate) and a classic cross-reference table whose offsets are the byte
positions of the objects as written. pypdf reads such a file without any recovery (checked by
`bench.ingest` converting it before it is dropped).

    python -m bench.ingest_pdf OUT.pdf [--pages 100] [--seed 1]
"""

from __future__ import annotations

import argparse
import random
import textwrap
from pathlib import Path

SYSTEMS = (
    "Harbour Gateway",
    "Beacon Relay",
    "Northwind Cache",
    "Atlas Scheduler",
    "Quarry Ledger",
    "Meridian Search",
)
TEAMS = ("Platform Team", "Storage Team", "Edge Team", "Data Services")
REGIONS = ("Dublin", "Frankfurt", "Stockholm", "Madrid")
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
TOPICS = (
    "CAPACITY",
    "FAILOVER",
    "BACKUPS",
    "UPGRADES",
    "ON-CALL",
    "LATENCY",
    "DEPENDENCIES",
    "RETENTION",
)
TEMPLATES = (
    "{S} handles {n} requests per second at peak during the {month} load test.",
    "The {T} owns {S} and reviews its capacity every {k} weeks.",
    "{S} keeps {d} days of audit history in the {region} region.",
    "{S} depends on {S2} for session tokens since release {v}.",
    "During the {month} incident, {S} failed over to its standby node in {m} minutes.",
    "Each {S} cluster runs {k} nodes with {g} GB of memory per node.",
    "The on-call engineer restarts {S} when the queue depth passes {n} messages.",
    "{S} was upgraded to version {v} on {day} {month} {year}.",
    "Latency for {S} stays under {m} milliseconds at the 95th percentile.",
    "Backups of {S} are copied to {S2} storage every {h} hours.",
    "A change to {S} needs approval from the {T} and one reviewer from the {T2}.",
    "{S} sends its metrics to {S2} through a batch job that runs every {m} minutes.",
    "When {S2} is unavailable, {S} serves cached answers for up to {m} minutes.",
    "The {T} tested a restore of {S} in {month} and it finished in {h} hours.",
    "Alerts for {S} page the {T} after {k} failed health checks in a row.",
    "The runbook for {S} was last reviewed by the {T} in {month} {year}.",
    "Disk usage on {S} grows by about {g} GB a week since the {month} release.",
    "Traffic to {S} from the {region} office is routed through {S2}.",
)


def page_text(page: int, rnd: random.Random, words: int = 300) -> list[str]:
    """One page: an ALL-CAPS heading line, then sentences wrapped at 92 characters."""
    topic = TOPICS[page % len(TOPICS)]
    lines = [f"PART {page}. {topic}"]
    sentences: list[str] = []
    count = 0
    while count < words:
        s, s2 = rnd.sample(SYSTEMS, 2)
        t, t2 = rnd.sample(TEAMS, 2)
        sentence = rnd.choice(TEMPLATES).format(
            S=s,
            S2=s2,
            T=t,
            T2=t2,
            n=rnd.randrange(200, 9000),
            k=rnd.randrange(2, 12),
            d=rnd.choice((7, 14, 30, 90, 180, 365)),
            m=rnd.randrange(2, 60),
            g=rnd.choice((8, 16, 32, 64, 128)),
            h=rnd.randrange(1, 24),
            v=f"{rnd.randrange(1, 9)}.{rnd.randrange(0, 20)}",
            day=rnd.randrange(1, 29),
            month=rnd.choice(MONTHS),
            year=rnd.choice((2023, 2024, 2025)),
            region=rnd.choice(REGIONS),
        )
        sentences.append(sentence)
        count += len(sentence.split())
    lines.extend(textwrap.wrap(" ".join(sentences), width=92))
    return lines


def _escape(text: str) -> bytes:
    data = text.encode("cp1252", errors="replace")
    return data.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def build_pdf(pages: int = 100, seed: int = 1, words: int = 300) -> tuple[bytes, int]:
    """(the PDF's bytes, the number of words written)."""
    rnd = random.Random(seed)
    objects: list[bytes] = []  # object n is objects[n - 1]
    kids = " ".join(f"{5 + 2 * i} 0 R" for i in range(pages))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode())
    objects.append(
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
    )
    objects.append(
        b"<< /Title (Meridian Operations Handbook) /Author (bench.ingest) "
        b"/CreationDate (D:20250301090000Z) >>"
    )
    total = 0
    for i in range(pages):
        lines = page_text(i + 1, rnd, words)
        total += sum(len(line.split()) for line in lines)
        ops = [b"BT", b"/F1 10 Tf", b"13 TL", b"56 750 Td"]
        for n, line in enumerate(lines):
            ops.append((b"" if n == 0 else b"T* ") + b"(" + _escape(line) + b") Tj")
        ops.append(b"ET")
        stream = b"\n".join(ops) + b"\n"
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {6 + 2 * i} 0 R >>".encode()
        )
        objects.append(f"<< /Length {len(stream)} >>\nstream\n".encode() + stream + b"endstream")
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n".encode()
    out += b"0000000000 65535 f \n"
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info 4 0 R >>\n"
        f"startxref\n{xref}\n%%EOF\n"
    ).encode()
    return bytes(out), total


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="write the benchmark's many-page PDF")
    ap.add_argument("out", type=Path)
    ap.add_argument("--pages", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    data, words = build_pdf(args.pages, args.seed)
    args.out.write_bytes(data)
    print(f"{args.out}: {args.pages} pages, {words} words, {len(data)} bytes")


if __name__ == "__main__":
    main()
