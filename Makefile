# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Every command that needs the database runs under crm/db/embedded.py: the embedded PostgreSQL
# (data in .pgdata/), or the server DATABASE_URL names when it is set.
DEV_DB := $(BIN)/python -m crm.db.embedded run --
TEST_DB := $(BIN)/python -m crm.db.embedded throwaway --

.PHONY: run test lint format setup superuser shell db-status db-reset bench bench-quick backup restore clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

setup: $(STAMP)

## Set up, start the embedded PostgreSQL, migrate and serve http://127.0.0.1:8000/.
run: $(STAMP)
	$(DEV_DB) $(BIN)/python manage.py devserver 127.0.0.1:8000

## The first admin (asks for email, name, password); works while `make run` runs, or alone.
superuser: $(STAMP)
	$(DEV_DB) $(BIN)/python manage.py createsuperuser

shell: $(STAMP)
	$(DEV_DB) $(BIN)/python manage.py shell

db-status: $(STAMP)
	$(BIN)/python -m crm.db.embedded status

## Delete the development database (stop `make run` first); the next `make run` starts empty.
db-reset:
	@if [ -f .pgdata/data/postmaster.pid ]; then echo "Stop make run first."; exit 1; fi
	rm -rf .pgdata

## Set up, start a throwaway PostgreSQL, run ruff and the whole test suite, remove PostgreSQL.
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	PATH="$(CURDIR)/$(BIN):$$PATH" $(TEST_DB) $(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## Benchmarks (bench/README.md): a throwaway PostgreSQL, gunicorn, one results table.
BENCH_STAMP := $(VENV)/.bench-installed
$(BENCH_STAMP): $(STAMP) bench/requirements.txt
	$(BIN)/pip install --quiet --disable-pip-version-check -r bench/requirements.txt
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

bench-quick: $(BENCH_STAMP)
	$(BIN)/python -m bench --quick $(BENCH_ARGS)

## Back up / restore PostgreSQL (DATABASE_URL): make backup [FILE=...], make restore FILE=...
backup: $(STAMP)
	$(DEV_DB) $(BIN)/python manage.py backup $(FILE)

restore: $(STAMP)
	$(DEV_DB) $(BIN)/python manage.py restore $(FILE)

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache
