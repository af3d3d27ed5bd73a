# The two commands: `make run` and `make test`. Everything they need is installed here.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
PYTEST_ARGS ?=
# Parallel test workers (pytest-xdist); each has its own database. TEST_WORKERS=0 runs in one process.
TEST_WORKERS ?= 2
PYTEST := $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadscope

.PHONY: run test test-clock lint deps dev-deps static chromium bench clean

$(VENV)/.runtime: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev: requirements-dev.txt $(VENV)/.runtime
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

# Pinned front-end files from the npm registry (package-lock.json holds their hashes).
static/vendor/.installed: package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	mkdir -p static/vendor
	cp node_modules/htmx.org/dist/htmx.min.js static/vendor/htmx.min.js
	cp node_modules/@picocss/pico/css/pico.min.css static/vendor/pico.min.css
	touch $@

deps: $(VENV)/.runtime static/vendor/.installed
dev-deps: $(VENV)/.dev static/vendor/.installed

# Browser tests drive Debian's Chromium; install it when missing (needs root).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else echo "Browser tests need Debian's Chromium: sudo apt-get install chromium" >&2; exit 1; fi; }

run: deps
	PREPBASE_ENV=development $(BIN)/flask --app wsgi db upgrade
	PREPBASE_ENV=development $(BIN)/flask --app wsgi prepbase seed-demo --if-missing
	@echo "PrepBase: http://$(HOST):$(PORT)/demo/login (demo logins in README.md)"
	PREPBASE_ENV=development $(BIN)/gunicorn --bind $(HOST):$(PORT) --workers 2 --access-logfile - wsgi:app

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/lint-imports  # the import graph's floors, contracts in pyproject.toml
	$(BIN)/mypy  # strict types for prepbase/, [tool.mypy] in pyproject.toml

# SQLite first; then PostgreSQL when TEST_DATABASE_URL names a server (CI always does).
test: dev-deps chromium lint
	PREPBASE_TEST_DB=sqlite $(PYTEST) $(PYTEST_ARGS)
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
	  echo "--- again on PostgreSQL"; \
	  PREPBASE_TEST_DB=postgres $(PYTEST) $(PYTEST_ARGS); \
	elif [ -n "$$CI" ]; then echo "CI needs TEST_DATABASE_URL (PostgreSQL)" >&2; exit 1; \
	else echo "(TEST_DATABASE_URL not set: PostgreSQL run skipped on this machine)"; fi
	$(MAKE) --no-print-directory test-clock

# The suite again with the machine's UTC clock pinned at 00:30 and at 23:30 today, the
# hours at which its date and a business's own date differ (see tests/clock.py).
test-clock: dev-deps
	@for at in 00:30 23:30; do \
	  echo "--- again with the clock at $$at UTC"; \
	  PREPBASE_TEST_CLOCK=$$at PREPBASE_TEST_DB=sqlite $(PYTEST) -q $(PYTEST_ARGS) || exit 1; \
	done

bench: deps
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) node_modules static/vendor .pytest_cache .ruff_cache .import_linter_cache .mypy_cache
