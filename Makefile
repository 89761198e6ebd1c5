# Inkwell: `make run` serves the site on the embedded SQLite database; `make test` runs the whole suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := wsgi.py
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test install install-test translations messages check-messages lint bench clean
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

test: install-test
	$(BIN)/ruff check .
	$(BIN)/python -m pytest $(PYTEST_ARGS)

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

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
