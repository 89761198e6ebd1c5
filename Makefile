# Inkwell: `make run` serves the site on the embedded SQLite database; `make test` runs the whole suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := wsgi.py
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test install install-test system-packages translations messages check-messages lint bench clean
PYBABEL_EXTRACT := $(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --add-comments=Translators: \
	--sort-by-file --no-wrap --no-location --project Inkwell --copyright-holder "Inkwell contributors"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed translations

install-test: $(VENV)/.installed-test translations

# Compiled catalogues are built here, not committed.
translations: $(VENV)/.installed
	@if ls translations/*/LC_MESSAGES/messages.po >/dev/null 2>&1; then \
		$(BIN)/pybabel compile -d translations || exit 1; fi

# Extract the strings into translations/messages.pot and merge them into every catalogue (then translate them).
messages: $(VENV)/.installed
	$(PYBABEL_EXTRACT) -o translations/messages.pot .
	$(BIN)/pybabel update --no-wrap --no-fuzzy-matching -i translations/messages.pot -d translations

run: install
	mkdir -p instance
	$(BIN)/flask db upgrade
	$(BIN)/flask seed demo --if-empty
	HOST=$(HOST) PORT=$(PORT) bin/run-dev

test: install-test system-packages node_modules/.installed lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# What the suite needs from the system, by Debian package: Debian's chromium (browser tests; never a downloaded
# browser), the Noto fonts (PDFs and screenshots in every script the campaign's writers use), Pango and HarfBuzz
# (WeasyPrint), and npm (below). Installed when missing, as `make bench` installs wrk: as root, or with sudo;
# otherwise one line says what to install. Elsewhere than Debian or Ubuntu, install them yourself and run
# `make test SYSTEM_PACKAGES=checked`.
TEST_PACKAGES := chromium fonts-noto-core fonts-noto-cjk fonts-noto-color-emoji libpango-1.0-0 libpangoft2-1.0-0 \
	libharfbuzz-subset0

system-packages:
ifneq ($(SYSTEM_PACKAGES),checked)
	@missing() { \
		for pkg in $(TEST_PACKAGES); do \
			dpkg-query -W -f='$${Status}' "$$pkg" 2>/dev/null | grep -q "install ok installed" || echo "$$pkg"; \
		done; \
		command -v npm >/dev/null 2>&1 || echo npm; \
	}; \
	need=$$(missing | tr '\n' ' '); need=$${need% }; [ -z "$$need" ] && exit 0; \
	if ! command -v apt-get >/dev/null 2>&1; then \
		echo "make test needs these system packages (Debian names): $$need; install them, then run make test SYSTEM_PACKAGES=checked" >&2; \
		exit 1; fi; \
	if [ "$$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null 2>&1 && sudo true; then SUDO=sudo; \
	else echo "make test needs system packages: apt-get install -y --no-install-recommends $$need (as root)" >&2; exit 1; fi; \
	echo "make test: installing $$need" >&2; \
	for attempt in 1 2 3 4 5 6 7 8 9 10; do \
		$$SUDO apt-get update -qq && \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$need && break; \
		echo "apt-get failed (another process may hold the dpkg lock); retrying in 15 s" >&2; sleep 15; \
	done; \
	need=$$(missing | tr '\n' ' '); need=$${need% }; [ -z "$$need" ] || { echo "make test could not install: $$need" >&2; exit 1; }
endif

# axe-core (the accessibility checks the browser tests inject into pages), pinned by package-lock.json.
node_modules/.installed: package-lock.json | system-packages
	npm ci --no-audit --no-fund --silent
	touch $@

# The web benchmark drives gunicorn with Debian's wrk: installed here when missing (as root, or with sudo).
bench: install-test
	@command -v wrk >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null 2>&1; then SUDO=sudo; \
		else echo "make bench needs wrk: apt-get install -y wrk (as root)" >&2; exit 1; fi; \
		for attempt in 1 2 3 4 5 6 7 8 9 10; do \
			$$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk && break; \
			echo "apt-get failed (another process may hold the dpkg lock); retrying in 15 s" >&2; sleep 15; \
		done; \
		command -v wrk >/dev/null 2>&1 || { echo "could not install wrk" >&2; exit 1; }; }
	$(BIN)/python -m bench.run

# ruff (lint and format) and the import-linter contracts of pyproject.toml: imports point downward only.
lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	PYTHONPATH=. $(BIN)/lint-imports --no-cache

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
