"""Every reliability check on one throwaway PostgreSQL; exit status 1 when any invariant broke.

python -m reliability                  # `make reliability`: full sizes, ~10-15 minutes
python -m reliability --fast           # CI sizes (tests/test_reliability_fast.py), ~2 minutes
python -m reliability --soak-minutes 30
"""

import argparse
import sys

from . import concurrent_pushes, faults, harness, hostile, rate_limit, slow_clients, soak

FULL = {
    "concurrent": {"clients": 8, "pushes": 25, "rows": 10_000, "workers": 4, "pool_size": 15_000},
    "faults": {
        "kill": 50,
        "terminate": 10,
        "stop": 3,
        "inflight": 20,
        "rows": 10_000,
        "workers": 4,
    },
    "rate_limit": {"limit": 20, "burst_size": 60, "honest": 45, "workers": 4},
    "hostile": {"workers": 2, "rounds": 3},
    "slow_clients": {"slow": 500, "seconds": 20, "workers": 2},
    "soak": {"seconds": 180, "push_every": 2.0, "reads_per_second": 4.0, "rows": 2_000},
}
FAST = {
    "concurrent": {"clients": 4, "pushes": 5, "rows": 2_000, "workers": 4, "pool_size": 3_000},
    "faults": {"kill": 5, "terminate": 2, "stop": 1, "inflight": 20, "rows": 2_000, "workers": 4},
    "rate_limit": {"limit": 10, "burst_size": 30, "honest": 15, "workers": 4},
    "hostile": {"workers": 2, "rounds": 1},
    "slow_clients": {"slow": 50, "seconds": 10, "workers": 2},
    "soak": {"seconds": 60, "push_every": 1.0, "reads_per_second": 4.0, "rows": 1_000},
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fast", action="store_true", help="reduced sizes for CI")
    parser.add_argument("--soak-minutes", type=float, default=None)
    parser.add_argument("--reads", default="connections,sitemap,dashboard")
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated: concurrent,faults,rate_limit,hostile,slow_clients,soak",
    )
    args = parser.parse_args(argv)
    sizes = FAST if args.fast else FULL
    if args.soak_minutes is not None:
        sizes["soak"]["seconds"] = args.soak_minutes * 60
    chosen = [name for name in sizes if not args.only or name in args.only.split(",")]
    runners = {
        "concurrent": concurrent_pushes.run,
        "faults": faults.run,
        "rate_limit": rate_limit.run,
        "hostile": hostile.run,
        "slow_clients": slow_clients.run,
        "soak": lambda pg, **kw: soak.run(pg, reads=args.reads.split(","), workers=4, **kw),
    }
    verdicts = []
    with harness.database() as pg:
        for name in chosen:
            verdicts.append(runners[name](pg, **sizes[name]).close())
    print("\n== summary")
    codes = [verdict.finish() for verdict in verdicts]
    return max(codes, default=0)


if __name__ == "__main__":
    sys.exit(main())
