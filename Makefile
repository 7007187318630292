# The two commands of the README, plus the checks CI runs.
.PHONY: serve test check lint typecheck bench

DATA_DIR ?= .glimpse
PORT ?= 9292

serve:  ## install, then run the service on its embedded default (SQLite + filesystem)
	./scripts/bootstrap.sh run
	.venv/bin/glimpse serve --data-dir $(DATA_DIR) --port $(PORT)

test:  ## install test dependencies, then run the whole test suite
	./scripts/bootstrap.sh test
	./scripts/services.sh
	.venv/bin/python -m pytest -q

lint:
	.venv/bin/ruff check glimpse tests bench
	.venv/bin/ruff format --check glimpse tests bench

typecheck:
	.venv/bin/mypy glimpse

check: lint typecheck test
