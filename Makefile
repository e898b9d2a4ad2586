.PHONY: run test lint bench-ingest bench-read

run:  ## set up, seed a demo and serve on http://127.0.0.1:8000
	scripts/run.sh

test:  ## set up and run the whole suite on SQLite and on a throwaway PostgreSQL
	scripts/test.sh

lint:
	scripts/bootstrap.sh && .venv/bin/ruff check . && .venv/bin/ruff format --check .

bench-ingest:  ## push benchmark against PostgreSQL + gunicorn (see bench/ingest.py)
	scripts/bootstrap.sh && .venv/bin/python bench/ingest.py
