# RepayBot developer tasks. Every target creates or reuses ./.venv and reinstalls the
# project (editable, with the dev extra) only when pyproject.toml is newer than the stamp.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.DEFAULT_GOAL := test
.PHONY: venv test check bench demo sandbox run clean distclean

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q -e '.[dev]'
	@touch $@

test: $(STAMP)
	$(PY) -m pytest

check: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

# The bot in the terminal against the built-in Bot API emulator: no token, no network.
sandbox: $(STAMP)
	$(VENV)/bin/repaybot sandbox

# The bot against Telegram (needs BOT_TOKEN in the environment or .env).
run: $(STAMP)
	$(VENV)/bin/repaybot run

# Loads the sample data into the configured database (./data/repaybot.db by default)
# and shows what the schedule calculator prints.
demo: $(STAMP)
	$(VENV)/bin/repaybot import examples/demo.json
	$(VENV)/bin/repaybot schedule --principal 2999 --periods 12 --method fee_per_period \
		--rate 0.006 --first-due 2026-12-05

# Runs every bench/*.py script (files starting with "_" are helpers and are skipped).
bench: $(STAMP)
	@set -e; found=0; \
	for script in bench/*.py; do \
		[ -f "$$script" ] || continue; \
		case "$$(basename "$$script")" in _*) continue ;; esac; \
		found=1; echo "=== $$script"; $(PY) "$$script"; \
	done; \
	[ $$found = 1 ] || echo "no benchmarks in bench/"

clean:
	rm -rf .pytest_cache .mypy_cache .ruff_cache .hypothesis build dist *.egg-info
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -prune -exec rm -rf {} +

# clean, and also delete the virtualenv.
distclean: clean
	rm -rf $(VENV)
