# `make run` serves the demo on http://127.0.0.1:5000 ; `make test` runs the whole test suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# Development-only defaults; production sets its own (see docs/operations.md).
export TRACE_KEY_PASSPHRASE ?= development-only-passphrase
export TRACE_LOG_FORMAT ?= text

.PHONY: run test env lint typecheck bench clean translations

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

env: $(STAMP)

run: $(STAMP)
	$(PY) -m trace init-db
	$(PY) -m trace load-demo
	$(PY) -m trace serve --host 127.0.0.1 --port 5000

test: $(STAMP)
	$(PY) -m pytest

# Recompile the Chinese catalogs of the pages after editing a .po file (the .mo files are committed).
translations: $(STAMP)
	for po in scanner_web/translations/zh/LC_MESSAGES/*.po; do \
		$(VENV)/bin/pybabel compile --statistics -d scanner_web/translations -l zh -D $$(basename $$po .po); done

lint: $(STAMP)
	$(PY) -m ruff check ledger trace api scanner_web tests bench

typecheck: $(STAMP)
	$(PY) -m mypy

# The benchmark suite (docs/benchmarks.md): 10,000, 100,000 and 1,000,000 entries on SQLite and PostgreSQL, about
# an hour on 2 cores; for example `make bench BENCH_ARGS="--sizes 10000,100000 --sqlite-only"`.
BENCH_ARGS ?=
bench: $(STAMP)
	$(PY) -m bench.suite $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache
