"""Sources -> wiki pages (SYSTEM.md §2, §6, §7): a raw file converted to text (`companion.convert`),
a structured result synthesized from it (summary, entities, concepts, facts each with the exact
span of the source it came from), then the pages it feeds planned. The bytes of those pages are
decided in `companion.write.wiki`; `Companion.ingest` commits each source's change as one
journaled transaction.

- `result`: the data the stages hand each other (`Fact`, `Subject`, `Synthesis`, `KnownPage`);
- `units`: a source's sentences, list items and table rows, with their spans;
- `neutral`: text copied from a source never carries Obsidian syntax onto a page;
- `dates`: the source's date, and where it came from;
- `synth/`: the `Synthesizer` interface and its two implementations (extractive, LLM);
- `plan`: one synthesis -> the new text of every page it touches (pure);
- `view`: what planning knows of the vault (the index and the disk);
- `pipeline`: the run — which sources need work, the ledger, retries, relinking;
- `report`: what a run reports.
"""
