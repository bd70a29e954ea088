"""Ranking pages for a query: `rank` (BM25, vector and hybrid search), `query` (user text as an
FTS5 query), `fusion` (the convex combination of the channels' scores, and the link nudge), `memory` (an in-memory copy of
the vectors for long-lived processes). Reads only: nothing here writes.
"""
