"""Pure text rendering of the notes the companion generates (index.md, log.md entries)."""
