# hpsmart: on a fresh machine, `make run` serves the app with demo data and
# `make test` runs the whole suite. See README.md.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PORT ?= 5000
PYTHON ?= python3
CHROMIUM ?= /usr/bin/chromium
VENV := .venv
PY := $(VENV)/bin/python
FLASK := $(PY) -m flask
PYTEST_ARGS ?=

export FLASK_APP := wsgi.py
export PIP_DISABLE_PIP_VERSION_CHECK := 1
export HPSMART_CHROMIUM := $(CHROMIUM)

# Stamps: pip runs again only when the package's metadata changes.
INSTALLED := $(VENV)/.installed
TEST_INSTALLED := $(VENV)/.installed-test
PO_FILES := $(wildcard hpsmart/translations/*/LC_MESSAGES/*.po)

.PHONY: help run test install install-test compile-translations translations chromium clean clean-instance

help:
	@echo "make run     serve hpsmart with demo data on http://127.0.0.1:$(PORT) (PORT=5050 to change)"
	@echo "make test    run the whole suite: SQLite, browser tests, and PostgreSQL when TEST_DATABASE_URL is set"
	@echo "            (PYTEST_ARGS=\"-k login -x\" passes options to pytest)"
	@echo "make translations      extract strings and update the catalogues"
	@echo "make clean             remove the virtual environment, caches and compiled catalogues"
	@echo "make clean-instance    remove the local SQLite database, uploads and demo password (instance/)"

$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || \
	  { echo "hpsmart needs Python 3.11 or newer as $(PYTHON) (make PYTHON=python3.11 ...)" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(INSTALLED): setup.cfg pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --editable .
	@touch $@

$(TEST_INSTALLED): setup.cfg pyproject.toml $(INSTALLED)
	$(PY) -m pip install --quiet --editable '.[test]'
	@touch $@

install: $(INSTALLED) compile-translations

install-test: $(TEST_INSTALLED) compile-translations

# The catalogues compile as part of install (.mo files are not kept in git).
compile-translations: $(INSTALLED)
ifneq ($(PO_FILES),)
	@$(FLASK) translate compile
endif

translations: $(INSTALLED)
	$(FLASK) translate update

run: install
	$(FLASK) db upgrade
	$(FLASK) load-reference
	$(FLASK) load-demo --if-empty
	@echo "hpsmart: serving on http://127.0.0.1:$(PORT) (Ctrl+C stops it)"
	exec $(FLASK) run --host 127.0.0.1 --port $(PORT)

# Browser tests drive Debian's chromium; the PDF tests turn pages into images with
# poppler's pdftoppm. Install them when we can (root with apt-get).
chromium:
	@missing=""; \
	[ -x "$(CHROMIUM)" ] || missing="$$missing chromium"; \
	command -v pdftoppm >/dev/null 2>&1 || missing="$$missing poppler-utils"; \
	if [ -z "$$missing" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	     { [ "$(CHROMIUM)" = /usr/bin/chromium ] || [ -x "$(CHROMIUM)" ]; }; then \
	  echo "Installing Debian's$$missing for the browser and PDF tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	else \
	  echo "The tests need Debian's$$missing: run 'sudo apt-get install$$missing'" >&2; \
	  echo "(or name another chromium build with 'make test CHROMIUM=/path/to/chromium')." >&2; \
	  exit 1; \
	fi

# SQLite always (browser tests included); then PostgreSQL when TEST_DATABASE_URL is
# set (browser tests use their own file database, so they are not run twice).
# Fails when either run fails, including a run that collected no tests (exit 5).
test: install-test chromium
	@status=0; \
	echo "== hpsmart test suite on SQLite (with browser tests) =="; \
	env -u TEST_DATABASE_URL $(PY) -m pytest $(PYTEST_ARGS) || status=$$?; \
	if [ -n "$${TEST_DATABASE_URL:-}" ]; then \
	  echo "== hpsmart test suite on PostgreSQL =="; \
	  $(PY) -m pytest -m "not browser" $(PYTEST_ARGS) || status=$$?; \
	fi; \
	if [ $$status -ne 0 ]; then echo "make test: FAILED (pytest exit status $$status)" >&2; fi; \
	exit $$status

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
	find hpsmart tests migrations -name __pycache__ -type d -prune -exec rm -rf {} +
	find hpsmart/translations -name '*.mo' -delete

clean-instance:
	rm -rf instance
