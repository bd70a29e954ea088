# Two commands do everything on a fresh machine (see README):
#   make run    copy the example vault to build/vault (once), index it, ingest its sources/, show a
#               search, then watch it (the daemon). Open build/vault in Obsidian to see the pages.
#   make test   run the whole test suite
# Both create .venv if missing, install the CPU torch wheel first (a plain `torch` requirement
# would pull several GB of CUDA packages), then the package in editable mode.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TORCH := torch==2.13.0
# `make run` works on a copy: ingest writes wiki pages, and the tracked example vault stays exactly
# as committed. The copy is made once and kept, so what you change in it survives the next run.
VAULT ?= build/vault

.PHONY: run test test-fast lint typecheck imports check bench clean-state help

help:
	@echo "make run     copy the example vault to build/vault, index and ingest it, search it, then run the daemon on it"
	@echo "make test    run the test suite"
	@echo "make test-fast  the fast loop: no real model, no slow tests (under a minute)"
	@echo "make check   lint + typecheck + import rules + tests"

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	@test -d $(VAULT) || { mkdir -p $(dir $(VAULT)) && cp -R vault $(VAULT) && echo "copied the example vault to $(VAULT) (open that folder in Obsidian)"; }
	$(BIN)/companion index $(VAULT)
	@echo
	@echo '$$ companion ingest --vault $(VAULT)'
	@$(BIN)/companion ingest --vault $(VAULT)
	@echo
	@echo '$$ companion conflicts --vault $(VAULT)      (each is a [!conflict] callout; CONFLICT.md lists them)'
	@$(BIN)/companion conflicts --vault $(VAULT)
	@echo
	@echo '$$ companion conflicts --superseded --vault $(VAULT)'
	@$(BIN)/companion conflicts --superseded --vault $(VAULT)
	@echo
	@echo '$$ companion search "how are failed card payments retried" --vault $(VAULT) --explain'
	@$(BIN)/companion search "how are failed card payments retried" --vault $(VAULT) --limit 3 --explain
	@echo
	@echo "Starting the daemon: edit notes under $(VAULT)/ (in Obsidian or any editor) and they are"
	@echo "searchable within a second. In another terminal: $(BIN)/companion search QUERY --vault $(VAULT)"
	@echo "Ctrl-C stops it."
	$(BIN)/companion watch $(VAULT)

test: $(STAMP)
	$(BIN)/python -m pytest -q

# The fast loop (under a minute on 2 cores): everything but the real-model and slow tests.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 -m "not quality and not slow"

lint: $(STAMP)
	$(BIN)/ruff check companion tests bench
	$(BIN)/ruff format --check companion tests bench

typecheck: $(STAMP)
	$(BIN)/mypy companion tests bench

# The import rules in pyproject.toml [tool.importlinter]: layers, and who may import the store.
imports: $(STAMP)
	$(BIN)/lint-imports

check: lint typecheck imports test

# Benchmarks (bench/run.py; results go to docs/benchmarks.md). Not tests: nothing here asserts a time.
.PHONY: bench-full bench-parse bench-reliability bench-ingest bench-conflicts-scale bench-lint
bench: $(STAMP)
	$(BIN)/python -m bench.run --quick
	$(BIN)/python -m bench.parse
	$(BIN)/python -m bench.conflicts_scale
	$(BIN)/python -m bench.lint
	$(BIN)/python -m bench.weak --doc
	@if [ -d ../shared/data/conflicts-dev ]; then \
		$(BIN)/python -m bench.conflicts --data ../shared/data/conflicts-dev --doc; \
	else echo "bench.conflicts skipped: ../shared/data/conflicts-dev is absent"; fi

bench-full: $(STAMP)
	$(BIN)/python -m bench.run --full

# Parsing stays linear on hostile inputs (thresholds checked; exit 1 when one fails).
bench-parse: $(STAMP)
	$(BIN)/python -m bench.parse

# Nothing lost: kill -9 cycles of the daemon, concurrent compare-and-swap writers and a person.
bench-reliability: $(STAMP)
	$(BIN)/python -m bench.reliability

# Ingest on the product's path: what it writes, checked (citations against the sources, phantom
# links, orphans, a second run writing nothing), and how fast: two corpora, a 100-page PDF under
# the daemon with searches running, a 10k-note vault. Rewrites its section of docs/benchmarks.md.
bench-ingest: $(STAMP)
	$(BIN)/python -m bench.ingest --full --doc

# Conflict detection against 100k stored facts (2k entity pages, 50 attributes): a 50-fact
# source checked through the claim index and without it. Rewrites its section of
# docs/benchmarks.md.
bench-conflicts-scale: $(STAMP)
	$(BIN)/python -m bench.conflicts_scale --doc

# lint on each vault of ../shared/data/vaults and a 10k synthetic vault (median of 5), with a
# sample of findings per real vault to hand-check. Rewrites its section of docs/benchmarks.md.
bench-lint: $(STAMP)
	$(BIN)/python -m bench.lint --doc
