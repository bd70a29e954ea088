"""Conflicts: finding facts on a page that cannot both be true (SYSTEM.md §9).

The detector is built in three layers, each pure and deterministic, the lower knowing nothing of
the upper:

1. **Values** (`values`): the typed, normalised values a fact's text states — quantities in base
   units, counts of a named thing, percentages, money in minor units, dates, times of day,
   versions of a named product, booleans — with the bound each is stated with ("at most",
   "about"), and whether the sentence asserts or denies (`polarity`). `same_value` and
   `compatible` compare two values; a value that is not understood is skipped, never guessed.
2. **Claims** (`claims`): a fact reduced to what it says about which subject, attribute and
   scope, with its values, polarity, sources and whether it states a change over time;
   `comparable` says whether two claims are about the same thing, `index_key` the keys a claim
   is stored under so candidates are found without comparing every pair.
3. **Detection and lifecycle** (to come): a new fact's claims against a page's, a `conflict`
   callout with both claims and both citations, its stable block id, and its closing when a
   person resolves it; every byte of that is written by `companion.write`.

The package sits below `companion.ingest` and above `companion.write`; it imports only
`companion.errors`, `companion.markdown`, `companion.write.wiki` (the citation form) and the
standard library.
"""
