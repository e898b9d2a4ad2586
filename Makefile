.PHONY: run test lint lock bench-ingest bench-read bench-citus bench-rebalance bench-client bench-crawl bench-renormalize citus-backup-rehearsal reliability soak

run:  ## set up (serving packages only), seed a demo and serve on http://127.0.0.1:8000
	scripts/run.sh

test:  ## set up (with the dev tools), run the whole suite on SQLite, PostgreSQL and Citus
	scripts/test.sh

lint:
	scripts/bootstrap.sh dev && .venv/bin/ruff check . && .venv/bin/ruff format --check .

lock:  ## pin pyproject.toml's dependencies in requirements/{serve,dev}.txt (ARGS=--upgrade)
	scripts/lock.sh $(ARGS)

bench-ingest:  ## push benchmark: PostgreSQL + gunicorn, 1M preloaded rows (bench/ingest.py)
	scripts/bench.sh ingest

bench-read:  ## read benchmark: dashboard and sitemap over 5M rows (bench/read.py)
	scripts/bench.sh read

bench-citus:  ## Citus cluster vs plain PostgreSQL: 100 brands x 10,000 rows (bench/citus.py)
	scripts/bench.sh citus

bench-rebalance:  ## Citus: add a worker and move shards onto it under pushes (bench/rebalance.py)
	scripts/bench.sh rebalance

bench-client:  ## push client: a 1M-row Adobe CSV through referrals-push (bench/push_client.py)
	scripts/bench.sh push_client

bench-crawl:  ## crawl benchmark: crawl_site over 5,000 pages served on 127.0.0.1 (bench/crawl.py)
	scripts/bench.sh crawl

bench-renormalize:  ## pushes during renormalize_referrers over 5M rows vs before (bench/renormalize.py)
	scripts/bench.sh renormalize

citus-backup-rehearsal:  ## back up a throwaway Citus cluster, restore it, check (docs/operations.md)
	scripts/citus_backup_rehearsal.sh

reliability:  ## faults, concurrency, rate limit, hostile input, 3-min soak (docs/reliability.md)
	scripts/bootstrap.sh dev && SECRET_KEY="$${SECRET_KEY:-$$(scripts/secret_key.sh)}" \
	  .venv/bin/python -m reliability

soak:  ## SOAK_MINUTES (default 30) of mixed pushes and reads against gunicorn + PostgreSQL
	scripts/bootstrap.sh dev && SECRET_KEY="$${SECRET_KEY:-$$(scripts/secret_key.sh)}" \
	  .venv/bin/python -m reliability.soak --minutes $${SOAK_MINUTES:-30}
