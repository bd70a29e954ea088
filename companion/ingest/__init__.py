"""Sources -> wiki pages (SYSTEM.md §2, §6, §7): convert a raw file to text, synthesize a
structured result from it (summary, entities, concepts, facts each with the exact span of the
source it came from), then plan the pages it feeds. The bytes of those pages are decided in
`companion.write.wiki`; `Companion.ingest` runs the whole change as one journaled transaction.

- `result`: the data every stage hands to the next (`Converted`, `Fact`, `Subject`, `Synthesis`);
- `convert/`: one module per format, a registry by suffix;
- `synth/`: the `Synthesizer` interface and its two implementations (extractive, LLM);
- `neutral`: text copied from a source can never carry Obsidian syntax onto a page.
"""
