"""A CPU yardstick printed with every benchmark: shared machines vary in speed from minute to
minute (a 10M-iteration loop took 0.37-1.77 s within an hour on the development VM), so a
result is read against the speed the machine had while producing it."""

import time


def cpu_loop_seconds(iterations: int = 10_000_000) -> float:
    started = time.perf_counter()
    total = 0
    for i in range(iterations):
        total += i
    return time.perf_counter() - started


def calibration_line() -> str:
    median = sorted(cpu_loop_seconds() for _ in range(3))[1]
    return f"CPU yardstick: a 10M-iteration Python loop took {median:.2f} s (lower is faster)"
