"""`python -m companion` runs the CLI (through the same entry point as the `companion` command)."""

from companion.cli.fast import main

main()
