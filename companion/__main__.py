"""`python -m companion` runs the CLI (through the same entry point as the `companion` command)."""

from companion.quick import main

main()
