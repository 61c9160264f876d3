# Asystent — the two commands first: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 5000
PYTEST_ARGS ?=

.PHONY: run test lint format bench setup setup-dev translations messages clean

run: setup translations
	$(BIN)/asystent db upgrade
	$(BIN)/asystent demo load --if-empty
	$(BIN)/asystent run --port $(PORT)

test: setup-dev translations
	@$(BIN)/pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing on purpose"; exit 1; fi; \
	exit $$rc

lint: setup-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: setup-dev translations
	$(BIN)/python -m bench.run

setup: $(VENV)/.installed
setup-dev: $(VENV)/.installed-dev

$(VENV)/bin/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Asystent needs Python 3.11 or newer (found $$($(PYTHON) --version))."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install --quiet -e . --config-settings editable_mode=compat
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install --quiet -e '.[dev,prod]' --config-settings editable_mode=compat
	@touch $(VENV)/.installed $@

# Each catalogue is compiled when its .po is newer than its .mo (two `make test` at once, as
# CI runs them, then never rewrite a file the other is reading).
MO_FILES := $(patsubst %.po,%.mo,$(wildcard translations/*/LC_MESSAGES/messages.po))
translations: $(MO_FILES)

translations/%/LC_MESSAGES/messages.mo: translations/%/LC_MESSAGES/messages.po | setup
	@$(BIN)/pybabel compile -d translations -l $* >/dev/null

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache

# After changing user-visible strings: refresh the catalogues, then translate the new Polish
# entries (translations/README.md).
messages: setup
	$(BIN)/pybabel extract -F babel.cfg -k _l -k _ln:1,2 -k lazy_gettext -k lazy_pgettext:1c,2 -k _ \
		--project=Asystent --copyright-holder=Asystent --sort-by-file \
		-o translations/messages.pot .
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching
