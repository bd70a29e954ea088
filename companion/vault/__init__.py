"""The vault on disk, read side: where it is (`locate`), what Obsidian's settings exclude
(`obsidian`), which files it holds and how to read them (`walk`).

Standard library only at import time (the CLI's fast path goes through `locate`); nothing here
writes — every byte companion writes into a vault goes through `companion.write`.
"""
