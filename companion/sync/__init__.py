"""Vault -> index: `reconcile` (whole-vault and per-path syncs, one transaction each), `page` (one
file -> its row), `embedding` (one batch of chunks -> vectors). Reads the vault, never writes it.
"""
