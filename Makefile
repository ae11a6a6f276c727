# One target per habit. Every target does its own set-up on a fresh machine (venv, pip, npm ci,
# Debian packages the tests need), so `make demo` and `make test` work from a fresh clone.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
# The browser tests use Debian's chromium; nothing may fetch Playwright's own browser builds.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
WORKER := .tools/worker

.PHONY: setup demo run check test test-unit bench lint typecheck format clean

setup: $(VENV)/.installed $(WORKER)/.installed node_modules/.installed .system-deps

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

# The Python worker's indexing code (requirements-worker.txt) for the conformance tests, in its own
# folder: it is built for Python 3.13, so pip installs the wheels for 3.13 without their
# dependencies; --ignore-requires-python because pip 23 checks Requires-Python against the
# interpreter running pip even with --python-version.
$(WORKER)/.installed: requirements-worker.txt $(VENV)/.installed
	rm -rf $(WORKER)
	$(PIP) install --quiet --disable-pip-version-check --target $(WORKER) --no-deps \
		--python-version 3.13 --only-binary=:all: --ignore-requires-python -r requirements-worker.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# pdftotext/pdftoppm let the tests read the PDFs we render; chromium opens the HTML ones.
.system-deps: scripts/install-system-deps.sh
	bash scripts/install-system-deps.sh
	touch $@

# make demo TENANT=big: the big sample tenant (or TENANT=path/to/tenant.json).
demo: setup
	$(PY) -m devhost.demo $(if $(TENANT),--tenant $(TENANT))

# The app on devhost (Azurite + Azure stand-in + Functions host on :7071) until Ctrl+C.
run: setup
	$(PY) -m devhost

# What CI runs (.ci/run): lint and types first (seconds), then every test tier.
test: check
	$(PY) -m pytest -q

check: lint typecheck

test-unit: setup
	$(PY) -m pytest -q tests/unit

bench: setup
	$(PY) -m bench

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# mypy: strict on shared/, defaults plus untyped bodies elsewhere (config in pyproject.toml).
typecheck: setup
	$(VENV)/bin/mypy

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf out .devhost .pytest_cache .ruff_cache .mypy_cache .hypothesis .system-deps
