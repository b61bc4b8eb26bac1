# Two entry points: `make run` (install, migrate, demo data, serve) and `make test`.
# Both install the versions the tests last passed on (requirements.lock); `make lock`
# resolves the newest versions pyproject.toml allows and writes them there.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Browser libraries of the console come from the npm registry at install, never committed.
ASSETS := src/regulars/console/static/vendor

.PHONY: run test install lock

$(STAMP): pyproject.toml requirements.lock package-lock.json
	npm ci --silent --no-audit --no-fund
	mkdir -p $(ASSETS) && cp node_modules/htmx.org/dist/htmx.min.js $(ASSETS)/
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c requirements.lock -e '.[test]'
	touch $(STAMP)

lock:
	rm -rf .venv-lock
	$(PYTHON) -m venv .venv-lock
	.venv-lock/bin/pip install --quiet --upgrade pip
	.venv-lock/bin/pip install --quiet -e '.[test]'
	.venv-lock/bin/pip freeze --exclude-editable > requirements.lock
	rm -rf .venv-lock

install: $(STAMP)

run: $(STAMP)
	$(BIN)/regulars db upgrade
	$(BIN)/regulars demo generate --members 2000 --months 6 --seed 7 --if-empty
	$(BIN)/regulars warehouse sync
	$(BIN)/regulars analyze score --out var/analytics/run
	$(BIN)/regulars serve --host 127.0.0.1 --port 8000

# The console's browser tests drive the system's Chromium (Debian's package).
test: $(STAMP)
	@command -v chromium > /dev/null || (apt-get update -qq && apt-get install -y -qq chromium > /dev/null)
	$(BIN)/ruff check src tests
	$(BIN)/mypy
	$(BIN)/pytest -q

