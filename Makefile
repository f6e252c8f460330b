# Every target uses the virtual environment that `make setup` creates in .venv.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The interop suite's Node clients (tests/interop/js), pinned by its package-lock.json.
JS       := tests/interop/js
JS_STAMP := $(JS)/node_modules/.package-lock.json

.PHONY: setup test run bench contracts twins mutants lint clean

setup: $(STAMP) $(JS_STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade "pip>=24"
	$(BIN)/pip install --quiet -c constraints.txt -e ".[test,dev]"
	touch $(STAMP)

# npm ci installs exactly the lock file; without node/npm the interop tests skip with the reason
# (under CI=true they fail instead).
$(JS_STAMP): $(JS)/package.json $(JS)/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		cd $(JS) && npm ci --no-audit --no-fund --loglevel=error && touch node_modules/.package-lock.json; \
	else \
		echo "npm not found: the interop tests (tests/interop) will be skipped outside CI"; \
	fi

test: lint
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

contracts: setup
	$(BIN)/python -m milestoned.contracts.build

# every contract attack with a ledger twin, submitted to the devnet (make test submits issues 11.3's and 15's lists)
twins: setup
	MILESTONED_TWINS=all $(BIN)/python -m pytest tests/devnet/test_devnet_contract_attacks.py -q

# Mutation testing of the Python core and the OpShin scripts (long: an hour or more on two cores).
# Results: bench/mutants.json and the core.mutants_* / contracts.mutants_* figures of bench/results.json.
mutants: setup
	MILESTONED_EVALUATOR=native nice -n 10 $(BIN)/python -m mutation run core contracts

bench: setup
	$(BIN)/python -m bench

run: setup
	$(BIN)/milestoned demo

clean:
	rm -rf $(VENV) build .pytest_cache .mypy_cache .ruff_cache $(JS)/node_modules
