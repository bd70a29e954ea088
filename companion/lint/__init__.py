"""`companion lint`: the vault's health, as findings (checks.py) that the app gathers and fixes."""
