"""The command line: a shell over `companion.app.Companion` (or the vault's daemon).

- `fast`: the entry point; answers a plain search or status without loading click (stdlib only at
  import time);
- `main`: the click group and the mapping of errors to exit codes;
- `common`, `output`: options and helpers; what gets printed;
- `read` (search, graph, backlinks, status), `write` (init, index, update), `serve` (watch).
"""
