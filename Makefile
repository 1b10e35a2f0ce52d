# Two commands for a fresh machine with Python 3.11: `make run` and `make test`.
# Both create .venv (from requirements-dev.txt, pinned) and .env (from .env.example) first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test setup lint format bench clean

$(PY):
	@test -n "$(PYTHON)" || { echo "Python 3.11 not found: install it, or make PYTHON=/path/to/python3.11"; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || { \
		echo "$(PYTHON) is not Python 3.11: make PYTHON=/path/to/python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

.env:
	cp .env.example .env

# Database tables, the staff roles and the demo data; each step is safe to repeat.
setup: $(STAMP) .env
	$(PY) manage.py migrate --no-input
	$(PY) manage.py setup_roles
	$(PY) manage.py seed_demo

run: setup
	@echo ""
	@echo "  OMS console: http://$(HOST):$(PORT)/admin/"
	@echo "  Log in as admin / oms-demo (also support, warehouse, inventory, finance; same password)"
	@echo "  API docs:    http://$(HOST):$(PORT)/api/docs/    Health: http://$(HOST):$(PORT)/health/"
	@echo "  Stop with Ctrl-C."
	@echo ""
	$(PY) manage.py runserver $(HOST):$(PORT)

# The whole suite: SQLite by default, PostgreSQL when DATABASE_URL points at one.
# Extra pytest arguments: make test PYTEST_ARGS="-k admin -x"
test: $(STAMP) .env
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) manage.py makemigrations --check --dry-run

format: $(STAMP)
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

# Each bench/bench_*.py prints its results; BENCHMARKS.md records them with the machine.
bench: $(STAMP) .env
	@found=0; for script in bench/bench_*.py; do \
		[ -f "$$script" ] || continue; found=1; \
		echo "== $$script"; PYTHONPATH=. $(PY) $$script || exit 1; \
	done; [ $$found = 1 ] || echo "no benchmarks in bench/ yet"

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
