# Two commands for a fresh machine: `make demo` and `make test`. Each creates .venv when it is missing and
# installs the project into it; the stamp file makes a second run install nothing.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.synctrack-installed
export NUMBA_CACHE_DIR ?= $(CURDIR)/$(VENV)/numba-cache

.PHONY: demo test bench install

install: $(STAMP)

$(STAMP): pyproject.toml setup.py
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/synctrack demo

test: $(STAMP)
	$(VENV)/bin/python -m pytest -q --durations=15

bench: $(STAMP)
	$(VENV)/bin/python -m pytest benchmarks -p no:randomly --benchmark-only
