"""Every byte companion writes into a vault, and the lock that makes it the only writer.

- `atomic`: one file replaced atomically and re-checked against what was read; `landing` (where a
  write may land: never through a symlink out of the vault); `OwnWrites` (what counts as our own
  write, so its watcher echo is ignored).
- `journal`: several files as one transaction, rolled forward or back after a crash.
- `fmedit`: one frontmatter value changed, every other byte kept; `regions`: companion-owned
  `%% companion:begin NAME %%` regions (SYSTEM.md §7), the body text ingest and conflict callouts
  will rewrite (built and tested ahead of them; `update --body` replaces a body on request).
- `pages`: compare-and-swap updates and version bumps of managed pages (what may be edited).
- `generated`: index.md, log.md and other generated notes, from rendered texts.
- `scaffold`: `companion init`; `state`: the state folder; `lock`: one writer per vault.

Nothing here imports the index (`companion.store`): writers are handed texts and hashes.
"""
