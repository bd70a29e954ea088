"""The daemon: `core` (the writer thread, the socket handlers), `schedule` (its timers, pure),
`watcher` (file events in debounced batches), `server` and `client` (one JSON line each way over a
private Unix socket).

This face imports nothing: `client` is on the CLI's fast path and must load without NumPy.
"""
