# The two commands of the README: `make run` and `make test` (and `make dashboard`). Each sets up .venv first if needed.
# python3 must be 3.12 or newer: with pyenv, the .python-version file in this folder selects it.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed-stamp
CHROMIUM := /usr/bin/chromium

.PHONY: run test benchmark chromium dashboard

# Setup also fills Solara's CDN cache from the npm registry, so that the dashboard works with no CDN.
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else "simcity-kids needs Python >= 3.12 (mesa 3.5); found " + sys.version.split()[0] + ": install it, or use pyenv with the .python-version file")'
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e ".[test]"
	$(VENV)/bin/python -m simcity_kids.dashboard.assets
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/simcity-kids run

dashboard: $(STAMP)
	$(VENV)/bin/simcity-kids dashboard

test: $(STAMP) chromium
	$(VENV)/bin/python -m pytest

# The browser tests drive Debian's Chromium through Playwright (`playwright install` downloads browsers: not here).
chromium:
	@if [ ! -x $(CHROMIUM) ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian's chromium for the browser tests (about 30 s)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "browser tests will be skipped: $(CHROMIUM) is missing (install it with: sudo apt-get install chromium)"; \
	  fi; \
	fi

benchmark: $(STAMP)
	$(VENV)/bin/python benchmarks/run_benchmarks.py
