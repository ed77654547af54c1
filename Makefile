# Parley — `make run` serves the demo site, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: install run run-prod-local test test-postgres test-crm test-fast browser redis wrk bench bench-smoke lint format demo clean

install: $(VENV)/.installed static/vendor/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Parley needs Python 3.11 or newer (set PYTHON=python3.x)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

static/vendor/.installed: package.json package-lock.json scripts/vendor.mjs
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

run: install
	$(FLASK) db upgrade
	$(FLASK) demo-data --if-empty
	$(FLASK) run --host $(HOST) --port $(PORT)

# Browser tests drive Debian's Chromium (never a downloaded browser).
browser:
	@test -x /usr/bin/chromium || { \
		echo "Installing Debian's chromium for the browser tests"; \
		SUDO=$$(test "$$(id -u)" = 0 || echo sudo); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

# The scale-out tests start Debian's redis-server (installed here when missing).
redis:
	@test -x /usr/bin/redis-server || { \
		echo "Installing Debian's redis-server for the scale-out tests"; \
		SUDO=$$(test "$$(id -u)" = 0 || echo sudo); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq redis-server >/dev/null; }

# The load bench drives the app with Debian's wrk (installed here when missing).
wrk:
	@test -x /usr/bin/wrk || { \
		echo "Installing Debian's wrk for the load bench"; \
		SUDO=$$(test "$$(id -u)" = 0 || echo sudo); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq wrk >/dev/null; }

# `make test` runs the bench's smoke mode too (tests/test_load_bench_smoke.py).
test: install browser redis wrk
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/pytest -n auto

# The same suite on PostgreSQL: a throw-away server from Debian's binaries
# (installed when missing), started and stopped by scripts/test-postgres.sh.
test-postgres: install browser redis wrk
	scripts/test-postgres.sh

# 10,000 members, 100,000 posts, 5,000 ideas, 200,000 votes on gunicorn, driven by
# wrk, beside the bare-Flask ceiling: bench/results/latest.{md,json}. BENCH_ARGS
# passes options (e.g. --database URL for PostgreSQL, --duration 5).
bench: install wrk
	$(BIN)/python bench/load_bench.py $(BENCH_ARGS)

bench-smoke: install wrk
	$(BIN)/python bench/load_bench.py --smoke

# The production layout on this machine: PostgreSQL, Redis, two gunicorn app
# servers and nginx as the sticky proxy in front; Ctrl-C stops everything.
run-prod-local: install redis
	scripts/run-prod-local.sh

test-fast: install
	$(BIN)/pytest -m "not browser and not crm" -x -q

# The CRM connectors against real servers: installs BottleCRM (django-crm) into its own
# Python 3.12 virtualenv, starts it on 127.0.0.1 with PostgreSQL, runs the tests marked
# `crm`, and stops it (scripts/bottlecrm/). `make test` leaves these out.
test-crm: install
	$(BIN)/pytest -m crm

lint:
	$(BIN)/ruff check .
	$(BIN)/lint-imports

format:
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

demo: install
	$(FLASK) db upgrade
	$(FLASK) demo-data

clean:
	rm -rf $(VENV) node_modules static/vendor .pytest_cache .ruff_cache
