# Careline — the two commands a newcomer needs: `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV := .venv
PY := $(VENV)/bin/python
CARELINE := $(VENV)/bin/careline
PORT ?= 8000
export PORT
VENDOR := careline/web/static/vendor/.built
MO := careline/locale/vi/LC_MESSAGES/django.mo

.PHONY: help run test test-services test-sqlite test-postgres test-browser lint setup venv static messages openapi clean bench-search

help:
	@echo "make run    — set up everything and serve Careline with demo data on http://127.0.0.1:$(PORT)"
	@echo "make test   — set up and run lint + the test suite (SQLite; also PostgreSQL when CARELINE_TEST_POSTGRES is set)"
	@echo "make test-browser — Playwright tests in Debian's chromium"
	@echo "make lint | openapi | static | clean"

$(VENV)/.installed: pyproject.toml
	@PYTHON=$$(scripts/find_python.sh) && { test -x $(PY) || $$PYTHON -m venv $(VENV); }
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

venv: $(VENV)/.installed

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

$(VENDOR): node_modules/.package-lock.json scripts/build_static.py | $(VENV)/.installed
	$(PY) scripts/build_static.py
	@touch $@

static: $(VENDOR)

$(MO): careline/locale/vi/LC_MESSAGES/django.po | $(VENV)/.installed
	cd careline && ../$(PY) -m django compilemessages --settings=careline.config.settings -v 0
	@touch $@

messages: $(MO)

setup: venv static messages

run: setup
	$(CARELINE) setup
	$(CARELINE) run --port $(PORT)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy careline/core careline/vn careline/api careline/accounts/services.py careline/accounts/selectors.py careline/customers/services.py careline/customers/selectors.py careline/customers/api.py careline/customers/bulk.py careline/imports/services.py careline/imports/columnar.py careline/imports/staging.py careline/imports/api.py careline/imports/progress.py careline/imports/tasks.py careline/kpis careline/sales/allocation.py careline/sales/services.py careline/sales/selectors.py careline/activities/services.py careline/activities/selectors.py
	$(PY) manage.py check --fail-level WARNING
	$(PY) manage.py makemigrations --check --dry-run
	@mkdir -p var && $(PY) manage.py export_openapi_schema --api careline.api.api.api --indent 2 --sorted --output var/openapi.check.json
	@diff -q docs/openapi.json var/openapi.check.json >/dev/null || { echo "docs/openapi.json is out of date: run 'make openapi'"; diff docs/openapi.json var/openapi.check.json | head -20; exit 1; }
	@echo "lint ok"

openapi: setup
	$(PY) manage.py export_openapi_schema --api careline.api.api.api --indent 2 --sorted --output docs/openapi.json

# The mailbox tests talk to a real IMAP server (dovecot, started by the tests as an unprivileged process).
test-services:
	@if [ ! -x /usr/sbin/dovecot ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "== installing dovecot-imapd (apt-get)"; \
	    DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-imapd >/dev/null; \
	  else echo "dovecot is missing: sudo apt-get install dovecot-imapd"; exit 1; fi; \
	fi

test-sqlite: setup test-services
	CARELINE_TEST_DATABASE_URL= $(VENV)/bin/pytest -q

test-postgres: setup test-services
	@test -n "$$CARELINE_TEST_POSTGRES" || { echo "set CARELINE_TEST_POSTGRES=postgresql://…"; exit 1; }
	CARELINE_TEST_DATABASE_URL="$$CARELINE_TEST_POSTGRES" $(VENV)/bin/pytest -q

test: lint test-sqlite
	@if [ -n "$$CARELINE_TEST_POSTGRES" ]; then $(MAKE) --no-print-directory test-postgres; else echo "(PostgreSQL suite skipped: set CARELINE_TEST_POSTGRES to run it)"; fi

test-browser: setup
	$(VENV)/bin/pytest -q -m browser

bench-search: setup
	$(PY) bench/search.py

clean:
	rm -rf $(VENV) node_modules careline/web/static/vendor var/*.sqlite3* var/static
