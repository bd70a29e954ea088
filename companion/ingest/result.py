"""The data ingest's stages hand each other: plain frozen dataclasses, no behaviour beyond lookups.

A source is *converted* once (`Converted`: its text plus metadata, with page offsets for a PDF);
every span a synthesizer reports is a `(start, end)` pair of offsets into `Converted.text`, so a
citation can always be checked against the very text it claims to come from. Both synthesizers
return a `Synthesis` of the same shape; the extractive one is deterministic (same input, same
result), the LLM one is checked against the source before anything of it is used.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from companion.convert.converted import Converted, Format

__all__ = [
    "Converted",
    "Fact",
    "FactKind",
    "Format",
    "KnownPage",
    "Subject",
    "SubjectKind",
    "Synthesis",
    "Synthesizer",
]

FactKind = Literal["sentence", "item", "row"]
SubjectKind = Literal["entity", "concept"]


@dataclass(frozen=True, slots=True)
class Fact:
    """One candidate fact: a sentence, list item or table row of the source. `text` is the span's
    text made safe for a page (one line, whitespace collapsed, neutralised: `neutral.neutralise`);
    `start`/`end` the exact span in `Converted.text`. `about`: the names (`Subject.name`) of the
    entities and concepts it is about — the pages it goes on."""

    text: str
    start: int
    end: int
    kind: FactKind
    about: tuple[str, ...] = ()
    page: int | None = None


@dataclass(frozen=True, slots=True)
class Subject:
    """An entity or concept the source talks about. `name` is its page title: the existing page's
    title when `existing` (the vault path of a page the vault already has for it) is set, else the
    name as the source writes it. `aliases`: other spellings seen in the source."""

    name: str
    kind: SubjectKind
    aliases: tuple[str, ...] = ()
    existing: str | None = None


@dataclass(frozen=True, slots=True)
class KnownPage:
    """A page the vault already has, as a synthesizer may see it: so a name the vault knows links
    to its page instead of a near-duplicate."""

    path: str  # vault-relative, with `.md`
    title: str
    aliases: tuple[str, ...] = ()
    type: str | None = None  # the `type` property (entity, concept, ...) when it has one


@dataclass(frozen=True, slots=True)
class Synthesis:
    """What a synthesizer made of one source. `summary`: a few key facts, in source order.
    `facts`: every fact kept, in source order, each naming the subjects it is about. `dropped`:
    facts given up (an LLM quote not found in the source, say), counted for the report."""

    summary: tuple[Fact, ...]
    subjects: tuple[Subject, ...]
    facts: tuple[Fact, ...]
    synthesizer: str  # name and version, e.g. "extractive-1": a change of it is what --force is for
    dropped: int = 0
    notes: tuple[
        str, ...
    ] = ()  # what the report should say (e.g. "2 facts dropped: quote not found")


class Synthesizer(Protocol):
    """Turns one converted source into a `Synthesis`. Must never write anything; raises
    `SynthesisFailed` when it cannot give a result (nothing is then written for the source)."""

    name: str

    def synthesize(self, source: Converted, known: Sequence[KnownPage]) -> Synthesis: ...
