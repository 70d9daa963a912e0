# Gatepass: `make run` serves on http://127.0.0.1:8000 with SQLite; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint fmt bench docs clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall only when the dependency list changes, so a second `make run` starts in seconds.
$(STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/gatepass serve

test: $(STAMP)
	@bash scripts/ensure-chromium.sh
	$(BIN)/lint-imports
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	@if [ ! -d node_modules ] && command -v npm >/dev/null 2>&1; then npm ci --silent --no-audit --no-fund || echo "npm ci failed; the newman test will be skipped (and fail under CI=true)."; fi
	$(BIN)/python -m pytest

# pytest imports a test folder's conftest.py and helpers by bare name, with that folder on sys.path;
# mypy checks each folder the same way, since the folders' conftest.py files share one name. A folder
# nested in one of them with helpers of its own (tests/flows/account_mail) is checked on its own, with
# both folders on the path.
TEST_DIRS := $(filter-out tests/support/ tests/fixtures/,$(wildcard tests/*/))

lint: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy src
	MYPYPATH=src:tests $(BIN)/mypy tests/support tests/conftest.py
	@for dir in $(TEST_DIRS); do \
		nested=$$(find $$dir -mindepth 2 -name '*.py' ! -name 'test_*' -printf '%h\n' | sort -u); \
		exclude=$$(for sub in $$nested; do printf '%s|' "^$$sub/"; done | sed 's/|$$//'); \
		echo "mypy $$dir"; MYPYPATH=src:tests:$$dir $(BIN)/mypy $$dir $${exclude:+--exclude "$$exclude"} || exit 1; \
		for sub in $$nested; do echo "mypy $$sub"; MYPYPATH=src:tests:$$dir:$$sub $(BIN)/mypy $$sub || exit 1; done; \
	done
	$(BIN)/lint-imports

fmt: $(STAMP)
	$(BIN)/ruff check --fix src tests
	$(BIN)/ruff format src tests

# Benchmark of the hot paths on SQLite (the default), PostgreSQL without Redis and PostgreSQL with Redis,
# each on a fresh database: writes bench/RESULTS.md and bench/RESULTS-*.md (about 15 minutes).
# BENCH_ARGS passes options, e.g. BENCH_ARGS="--only sqlite -- --duration 5"; see `bench/suite.py --help`.
bench: $(STAMP)
	$(BIN)/python bench/suite.py $(BENCH_ARGS)

docs: $(STAMP)
	$(BIN)/gatepass config-docs > docs/configuration.md

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
