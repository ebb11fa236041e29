# The two commands of the README: `make run` and `make test`. Each sets up .venv first if needed.
# python3 must be 3.12 or newer: with pyenv, the .python-version file in this folder selects it.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed-stamp

.PHONY: run test benchmark

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else "simcity-kids needs Python >= 3.12 (mesa 3.5); found " + sys.version.split()[0] + ": install it, or use pyenv with the .python-version file")'
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e ".[test]"
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/simcity-kids run

test: $(STAMP)
	$(VENV)/bin/python -m pytest

benchmark: $(STAMP)
	$(VENV)/bin/python benchmarks/run_benchmarks.py
