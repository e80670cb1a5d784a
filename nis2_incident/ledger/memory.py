"""A ledger held in memory, with the interface of `Store` (read, update, create, exists, path).

Exercises replay through the same use cases as the real commands (`Service`) on one of these, so a
tabletop file never touches a ledger on disk. The ledger is kept as the bytes a file would hold,
encoded and parsed by the same codec, and its events are sealed and verified by the same chain code:
what an exercise records would verify as a real ledger.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from pathlib import PurePosixPath
from typing import Callable, TypeVar

from ..errors import LedgerMissing, StateError
from . import codec
from .store import Ledger, parse

T = TypeVar("T")


class MemoryStore:
    """`Store` without a file: no lock file, no temporary file, nothing written to disk."""

    def __init__(self, name: str = "ledger.toml", lock_timeout: float = 0.0):
        # A path only for messages and for the codec's choice of format (`.json` selects JSON).
        self.path = PurePosixPath(":memory:") / name
        self.lock_timeout = lock_timeout
        self._bytes: bytes | None = None
        self._lock = threading.RLock()
        self.notices: list[str] = []  # as `Store.notices`: nothing to tell, there is no file

    @property
    def lock_path(self) -> PurePosixPath:
        return self.path.with_name(self.path.name + ".lock")

    def exists(self) -> bool:
        return self._bytes is not None

    def read_bytes(self) -> bytes:
        if self._bytes is None:
            raise LedgerMissing(f"{self.path}: no ledger in memory yet; `init` creates one")
        return self._bytes

    def read(self) -> Ledger:
        """Parse and verify the chain, exactly as a ledger file is read."""
        return parse(self.read_bytes(), self.path)

    @contextmanager
    def locked(self):
        with self._lock:
            yield

    def create(self, ledger: Ledger) -> None:
        with self.locked():
            if self._bytes is not None:
                raise StateError(f"{self.path}: a ledger already exists; it is never overwritten")
            self._bytes = codec.encode(ledger.to_data(), self.path)

    def update(self, change: Callable[[Ledger], T]) -> tuple[T, Ledger]:
        """Re-read, apply `change` (which appends events or raises), keep the result. Nothing changes
        when `change` raises or appends nothing, as with the file store."""
        with self.locked():
            ledger = self.read()
            before = len(ledger.events)
            result = change(ledger)
            if len(ledger.events) != before:
                self._bytes = codec.encode(ledger.to_data(), self.path)
            return result, ledger
