# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint format setup superuser bench bench-quick backup restore clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

setup: $(STAMP)

## Set up, migrate the default SQLite database and start the development server.
run: $(STAMP)
	$(BIN)/python manage.py migrate --noinput
	@echo
	@echo "  Server: http://127.0.0.1:8000/   admin: http://127.0.0.1:8000/admin/   API docs: http://127.0.0.1:8000/api/v1/docs"
	@echo "  First admin:  $(BIN)/python manage.py createsuperuser   (or: make superuser)"
	@echo
	$(BIN)/python manage.py runserver 127.0.0.1:8000

superuser: $(STAMP)
	$(BIN)/python manage.py createsuperuser

## Set up, start a throwaway PostgreSQL, run ruff and the whole test suite, stop PostgreSQL.
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	PATH="$(CURDIR)/$(BIN):$$PATH" scripts/with-postgres.sh $(BIN)/pytest $(PYTEST_ARGS)

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
	$(BIN)/python manage.py backup $(FILE)

restore: $(STAMP)
	$(BIN)/python manage.py restore $(FILE)

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache
