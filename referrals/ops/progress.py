"""Progress of a long command: rows done, rate and time left.

On a terminal one line is rewritten in place (at most 5 times a second); otherwise (cron, a
log file, a pipe) a plain line every `every` seconds, so logs stay readable.
"""

import time
from typing import TextIO


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m{seconds:02d}s" if hours else f"{minutes}m{seconds:02d}s"


class Progress:
    def __init__(self, *, label: str, total: int, stream: TextIO, every: float = 10.0):
        self.label, self.total, self.stream = label, total, stream
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.every = 0.2 if self.tty else every
        self.started = self.last = time.monotonic()
        self.done = 0

    def line(self) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        rate = self.done / elapsed
        share = f" ({100 * self.done / self.total:.1f}%)" if self.total else ""
        left = (self.total - self.done) / rate if rate and self.total >= self.done else 0
        return (
            f"{self.label}: {self.done:,}/{self.total:,} rows{share}, {rate:,.0f} rows/s, "
            f"{_duration(left)} left"
        )

    def advance(self, rows: int) -> None:
        self.done += rows
        now = time.monotonic()
        if now - self.last >= self.every:
            self.last = now
            self._write()

    def finish(self) -> None:
        self._write()
        if self.tty:
            self.stream.write("\n")
        self.stream.flush()

    def _write(self) -> None:
        if self.tty:
            self.stream.write("\r\x1b[K" + self.line())
        else:
            self.stream.write(self.line() + "\n")
        self.stream.flush()
