"""Conflicts: finding facts on a page that cannot both be true (SYSTEM.md §9).

The detector is built in three layers, each pure and deterministic, the lower knowing nothing of
the upper:

1. **Values** (`values`): the typed, normalised values a fact's text states — quantities in base
   units, counts of a named thing, percentages, money in minor units, dates, times of day,
   versions of a named product, booleans — with the bound each is stated with ("at most",
   "about"), and whether the sentence asserts or denies (`polarity`). `same_value` and
   `compatible` compare two values; a value that is not understood is skipped, never guessed.
2. **Claims** (`claims`): a fact split into clauses, each a `Claim` about the page it sits on,
   with its attribute words, scope, values, named values (`categories`), polarity, sources and
   whether it states a change; `names`, `entities`, `lead` and `row` tell two things on one page
   apart. Which claims meet is `judge.related`'s to say; candidates come from `detect`'s index.
3. **Judging and detection** (`judge`, `detect`): two claims on one page from different
   sources are a `conflict` (their values cannot both be true), a `supersedes` (the newer states
   a change from the older's value) or nothing; `detect` finds a page's new lines' candidates
   through an index by attribute word, name, value kind and label class (`serial` keeps the
   stored claims in the store's claim index, computed at sync). `callouts` reads the callouts
   back from a page: the vault is the record of every conflict (the bytes are written by
   `companion.write.conflicts`).

The package sits below `companion.ingest` and above `companion.write`; it imports only
`companion.errors`, `companion.markdown`, `companion.write.wiki` and `companion.write.conflicts`
(the citation and callout forms) and the standard library.
"""
