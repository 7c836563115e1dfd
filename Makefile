# The seat portal. `make run` and `make test` set everything up on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8000
JOBS   ?= auto

.DEFAULT_GOAL := help
.PHONY: help install run test test-services test-browser lint format typecheck bench bench-deadline bench-scoring test-faults bench-reminders clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP) ## create .venv and install the project with its test tools

run: $(STAMP) ## migrate, load demo data and serve on http://$(HOST):$(PORT) (embedded mode)
	PORTAL_HOST=$(HOST) PORTAL_PORT=$(PORT) $(BIN)/portal run

test: $(STAMP) ## run the whole suite on SQLite (parallel; fault tests need redis-server)
	$(BIN)/python -m pytest -n $(JOBS) -q

test-services: $(STAMP) ## the suite against PostgreSQL and Redis (PORTAL_TEST_DATABASE_URL, PORTAL_TEST_REDIS_URL)
	$(BIN)/python -m pytest -n $(JOBS) -q -m "not browser"

test-browser: $(STAMP) ## browser tests in Chromium with axe-core checks
	$(BIN)/python -m pytest -q -m browser tests/browser

test-faults: $(STAMP) ## only the fault tests: kill and stop Redis, workers, schedulers, web and SMTP (needs redis-server)
	$(BIN)/python -m pytest -n $(JOBS) -q -m faults tests/faults

lint: $(STAMP) ## ruff lint and format check
	$(BIN)/ruff check portal workers tests bench
	$(BIN)/ruff format --check portal workers tests bench

format: $(STAMP) ## format the code
	$(BIN)/ruff format portal workers tests
	$(BIN)/ruff check --fix portal workers tests

typecheck: $(STAMP) ## mypy on portal/ and workers/
	$(BIN)/mypy portal workers

bench: $(STAMP) ## page benchmark, portal vs a bare-Litestar ceiling (needs wrk; see bench/README.md)
	$(BIN)/python bench/pages.py $(BENCH_ARGS)

bench-deadline: $(STAMP) ## deadline-spike benchmark: 64 applicants submit as a round closes (see bench/README.md)
	$(BIN)/python bench/deadline_spike.py $(BENCH_ARGS)

bench-scoring: $(STAMP) ## moderation view and shortlist proposal on 1,000 applications x 7 members x 6 criteria (see bench/README.md)
	$(BIN)/python bench/scoring.py $(BENCH_ARGS)

bench-reminders: $(STAMP) ## reminder fan-out: 10,000 drafts reminded through Redis, 2 workers and an SMTP sink (see bench/README.md)
	$(BIN)/python bench/reminder_fanout.py $(BENCH_ARGS)

clean: ## remove the virtualenv and local data
	rm -rf $(VENV) var .pytest_cache
