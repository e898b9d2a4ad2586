"""Progress on stderr: a tqdm bar on a terminal, one plain line per batch in a scheduler's log."""

import sys
from typing import TextIO

MAX_BAD_SHOWN = 100


class Progress:
    """Silent: the Python API's default. The others write to `stream`."""

    def __init__(self, stream: TextIO | None = None, total: int | None = None):
        self.stream = stream
        self.total = total

    def start(self, result) -> None:
        pass

    def advance(self, rows: int, result) -> None:
        pass

    def note(self, message: str) -> None:
        pass

    def bad(self, bad_row, count: int) -> None:
        pass

    def finish(self, result) -> None:
        pass


class PlainProgress(Progress):
    """Lines a log file keeps: one per stored batch, one per retry, one per bad input row."""

    def write(self, line: str) -> None:
        print(line, file=self.stream, flush=True)

    def advance(self, rows: int, result) -> None:
        of = f" of ~{self.total:,}" if self.total else ""
        self.write(
            f"batch {result.batches}: {rows:,} rows; {result.rows_read:,}{of} read, "
            f"{result.accepted:,} accepted, {result.rejected:,} rejected"
        )

    def note(self, message: str) -> None:
        self.write(message)

    def bad(self, bad_row, count: int) -> None:
        if count <= MAX_BAD_SHOWN:
            self.write(f"invalid row {bad_row.origin}: {bad_row.message}")
        elif count == MAX_BAD_SHOWN + 1:
            self.write(f"more invalid rows: only the first {MAX_BAD_SHOWN} are listed")


class TerminalProgress(PlainProgress):
    """A tqdm bar of rows stored; notes and bad rows print above it."""

    def start(self, result) -> None:
        from tqdm import tqdm

        self.bar = tqdm(
            total=self.total, unit=" rows", unit_scale=True, file=self.stream, dynamic_ncols=True
        )

    def write(self, line: str) -> None:
        self.bar.write(line, file=self.stream)

    def advance(self, rows: int, result) -> None:
        if result.rows_resumed and self.bar.n == 0:
            self.bar.update(result.rows_resumed)
        self.bar.update(rows)
        self.bar.set_postfix(accepted=result.accepted, rejected=result.rejected, refresh=False)

    def finish(self, result) -> None:
        self.bar.close()


def progress_for(
    stream: TextIO | None, *, total: int | None = None, terminal: bool | None = None
) -> Progress:
    """The progress for `stream`: a bar when it is a terminal, lines otherwise, None: silent."""
    if stream is None:
        return Progress()
    if terminal is None:
        terminal = hasattr(stream, "isatty") and stream.isatty()
    return (TerminalProgress if terminal else PlainProgress)(stream, total)


def stderr_progress(total: int | None = None, quiet: bool = False) -> Progress:
    return Progress() if quiet else progress_for(sys.stderr, total=total)
