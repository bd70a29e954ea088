"""All SQL lives in this package: the index database and its gateways.

- `db`: `Store`, the core (connect with sqlite-vec, migrate on open, recover, transactions), which
  composes the gateways: `pages`, `links`, `vectors`, `ranking` and `base.Meta`;
- `rows`: the row types (plain data: the renderer and the graph import only this);
- `migrations`: ordered, named schema changes, frozen once released.

This face imports nothing, so `from companion.store.rows import …` never loads SQLite.
"""
