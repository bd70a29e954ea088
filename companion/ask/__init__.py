"""`companion ask`: answers made of the vault's cited sentences (answer.py)."""
