"""User-agent classification benchmark: the user agents of a 10,000-row agent-traffic push.

Run with `python bench/agents.py` (no database: the matcher is pure). Prints the median time
to classify a batch (AgentMatcher.classify, what the push calls once per batch) with the seed
agents and with 100 and 1,000 more listed, for a batch of 10,000 distinct user agents (the
worst case: every value is scanned) and for a day-like batch (10,000 rows over ~600 distinct
user agents), with the CPU yardstick. The target: under 20 ms however many agents are listed.
"""

import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.calibration import calibration_line  # noqa: E402 (after the sys.path line)
from referrals.allow_list.agent_seed import SEED_AGENTS  # noqa: E402
from referrals.allow_list.agents import AgentMatcher  # noqa: E402

ROWS = 10_000
RUNS = 9
BROWSERS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/{v}.0.{n}.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_{v} like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
    "like Gecko) Version/17.{v} Mobile/15E148 Safari/604.1 ({n})",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html) {v}.{n}",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm) {v}.{n}",
]
AGENT = (
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; {token}/1.{n}; "
    "+https://example.com/bot"
)
SPOOF = "Mozilla/5.0 (compatible; Not{token}/1.{n})"


def user_agents(distinct: int, rng: random.Random) -> list[str]:
    """ROWS values over `distinct` distinct user agents: 60% browsers and search engines,
    30% AI agents, 10% look-alikes."""
    tokens = [name for name, *_ in SEED_AGENTS]
    pool = []
    for n in range(distinct):
        draw = rng.random()
        if draw < 0.6:
            pool.append(rng.choice(BROWSERS).format(v=rng.randrange(100, 130), n=n))
        elif draw < 0.9:
            pool.append(AGENT.format(token=rng.choice(tokens), n=n))
        else:
            pool.append(SPOOF.format(token=rng.choice(tokens), n=n))
    return pool if distinct == ROWS else [rng.choice(pool) for _ in range(ROWS)]


def median_ms(matcher: AgentMatcher, values: list[str]) -> float:
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        matcher.classify(values)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    rng = random.Random(13)
    batches = {"10,000 distinct": user_agents(ROWS, rng), "~600 distinct": user_agents(600, rng)}
    print(calibration_line())
    for extra in (0, 100, 1000):
        entries = [(name, name) for name, *_ in SEED_AGENTS]
        entries += [(f"Extra{i}", f"ExtraAgent{i}Bot") for i in range(extra)]
        matcher = AgentMatcher(entries)
        for label, values in batches.items():
            print(
                f"{len(matcher):5d} agents, {ROWS:,} rows ({label}): "
                f"{median_ms(matcher, values):6.1f} ms to classify (median of {RUNS})"
            )


if __name__ == "__main__":
    main()
