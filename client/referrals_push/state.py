"""The resume file: how many rows of the run's row stream the server has stored.

Rows are read in the same order on every run, and batches are sent in that order, so one
number says where to go on: every row before it was answered 200, none after it was. It is
written (atomically) after each stored batch, so an interrupted run loses nothing and a
resumed one sends no stored batch again. The fingerprint ties the file to one run's inputs
and endpoint: another run refuses it rather than skipping the wrong rows.
"""

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

VERSION = 1
OTHER_RUN = (
    "{path} is the state of another run (other input files, options or endpoint); "
    "delete it to start this run from the beginning"
)
UNREADABLE = "{path} is not a referrals-push state file: {reason}"
UNWRITABLE = "{path}: cannot keep the state file: {reason}"


@dataclass
class _Saved:
    version: int
    fingerprint: str
    rows_done: int = 0
    accepted: int = 0
    rejected: int = 0
    batches: int = 0
    complete: bool = False


class StateError(ValueError):
    pass


class PushState:
    def __init__(self, path: Path, saved: _Saved):
        self.path = path
        self.saved = saved

    @classmethod
    def open(cls, path: str | os.PathLike, *, fingerprint: str) -> "PushState":
        """The state at `path` for this run, or a new one when the file does not exist."""
        path = Path(path)
        if not path.exists():
            state = cls(path, _Saved(version=VERSION, fingerprint=fingerprint))
            state._write()
            return state
        try:
            data = json.loads(path.read_text())
            saved = _Saved(**data)
        except OSError as exc:  # a directory, no permission
            raise StateError(UNWRITABLE.format(path=path, reason=exc.strerror)) from None
        except (ValueError, TypeError) as exc:
            raise StateError(UNREADABLE.format(path=path, reason=exc)) from None
        if saved.version != VERSION or saved.fingerprint != fingerprint:
            raise StateError(OTHER_RUN.format(path=path))
        return cls(path, saved)

    @property
    def rows_done(self) -> int:
        return self.saved.rows_done

    @property
    def accepted(self) -> int:
        return self.saved.accepted

    @property
    def rejected(self) -> int:
        return self.saved.rejected

    @property
    def complete(self) -> bool:
        return self.saved.complete

    def advance(self, rows: int, accepted: int, rejected: int) -> None:
        self.saved.rows_done += rows
        self.saved.accepted += accepted
        self.saved.rejected += rejected
        self.saved.batches += 1
        self._write()

    def finish(self) -> None:
        self.saved.complete = True
        self._write()

    def _write(self) -> None:
        """Atomically; StateError when it cannot (no such directory, no space left)."""
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            with open(temporary, "w") as stream:
                json.dump(asdict(self.saved), stream, indent=1)
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temporary, self.path)
        except OSError as exc:
            raise StateError(UNWRITABLE.format(path=self.path, reason=exc.strerror)) from None
