.PHONY: run test lint bench-ingest bench-read

run:  ## set up, seed a demo and serve on http://127.0.0.1:8000
	scripts/run.sh

test:  ## set up and run the whole suite on SQLite and on a throwaway PostgreSQL
	scripts/test.sh

lint:
	scripts/bootstrap.sh && .venv/bin/ruff check . && .venv/bin/ruff format --check .

bench-ingest:  ## push benchmark: PostgreSQL + gunicorn, 1M preloaded rows (bench/ingest.py)
	scripts/bench.sh ingest

bench-read:  ## read benchmark: dashboard and sitemap over 5M rows (bench/read.py)
	scripts/bench.sh read
