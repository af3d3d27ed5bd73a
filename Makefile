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

.PHONY: run test test-now lint deps dev-deps lock wheel static chromium bench clean

# Exactly the locked versions, each file checked against its hash (`make lock` writes them).
PIP_INSTALL := $(BIN)/pip install --quiet --disable-pip-version-check --require-hashes

$(VENV)/.runtime: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL) -r requirements.txt
	touch $@

# A lock of its own (the runtime versions and the dev tools), so one command installs it.
$(VENV)/.dev: requirements-dev.txt $(VENV)/.runtime
	$(PIP_INSTALL) -r requirements-dev.txt
	touch $@

# pyproject.toml's ranges → the locks, with hashes; the dev lock keeps the runtime's versions.
# Pins already in a lock are kept; `make lock PIP_COMPILE_ARGS=--upgrade` moves them on.
PIP_COMPILE := CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile --quiet --generate-hashes \
	--allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links $(PIP_COMPILE_ARGS)
lock: $(VENV)/.dev
	$(PIP_COMPILE) --output-file requirements.txt pyproject.toml
	$(PIP_COMPILE) --extra dev --constraint requirements.txt --output-file requirements-dev.txt pyproject.toml

# The package as a wheel (the code: prepbase/ and config.py) in dist/.
wheel: $(VENV)/.dev
	$(BIN)/python -m pip wheel --quiet --no-deps --no-build-isolation --wheel-dir dist .

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
	PREPBASE_ENV=development $(BIN)/gunicorn --config gunicorn.conf.py --bind $(HOST):$(PORT) --workers 2 wsgi:app

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/lint-imports  # the import graph's floors, contracts in pyproject.toml
	$(BIN)/mypy  # strict types for prepbase/, [tool.mypy] in pyproject.toml

# Twice, each pass with the machine's UTC clock pinned at an hour where its date and a
# business's own date differ (tests/clock.py): SQLite at 00:30, then PostgreSQL at 23:30
# when TEST_DATABASE_URL names a server (CI always does); without one, SQLite again at 23:30.
test: dev-deps chromium lint
	PREPBASE_TEST_CLOCK=00:30 PREPBASE_TEST_DB=sqlite $(PYTEST) $(PYTEST_ARGS)
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
	  echo "--- again on PostgreSQL, the clock at 23:30 UTC"; \
	  PREPBASE_TEST_CLOCK=23:30 PREPBASE_TEST_DB=postgres $(PYTEST) $(PYTEST_ARGS); \
	elif [ -n "$$CI" ]; then echo "CI needs TEST_DATABASE_URL (PostgreSQL)" >&2; exit 1; \
	else echo "--- again on SQLite, the clock at 23:30 UTC (TEST_DATABASE_URL not set: no PostgreSQL here)"; \
	  PREPBASE_TEST_CLOCK=23:30 PREPBASE_TEST_DB=sqlite $(PYTEST) $(PYTEST_ARGS); fi

# The suite under the machine's own clock, on SQLite (e.g. to reproduce a failure at the
# hour it happened: PREPBASE_TEST_CLOCK=HH:MM make test-now).
test-now: dev-deps chromium
	PREPBASE_TEST_DB=sqlite $(PYTEST) $(PYTEST_ARGS)

bench: deps
	$(BIN)/python bench/hours.py --size small
	$(BIN)/python bench/run.py
	$(BIN)/python bench/api.py

clean:
	rm -rf $(VENV) node_modules static/vendor build dist .pytest_cache .ruff_cache .import_linter_cache .mypy_cache
