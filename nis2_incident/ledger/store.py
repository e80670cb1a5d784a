"""The ledger file on disk: read without a lock (writes are atomic renames), write under an flock.

Write protocol: lock `<ledger>.lock` (never deleted, so two writers can never hold two different
locks), re-read and verify the ledger under the lock, let the caller append events, write a
temporary file in the same folder, fsync it, `os.replace` it over the ledger, fsync the folder.
A reader sees the old file or the new one, never a half-written one.
"""

from __future__ import annotations

import errno
import fcntl
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, TypeVar

from ..errors import LedgerError, LedgerMissing, LockTimeout, StateError, WriteError
from . import chain, codec

T = TypeVar("T")


@dataclass
class Ledger:
    """The file's content: schema_version, profile (current view) and events."""

    profile: dict
    events: list[dict] = field(default_factory=list)
    schema_version: int = codec.SCHEMA_VERSION
    extra: dict = field(default_factory=dict)  # top-level keys of other tools: kept as they are

    def to_data(self) -> dict:
        return {**self.extra, "schema_version": self.schema_version, "profile": self.profile, "events": self.events}

    @property
    def head(self) -> str:
        if not self.events:
            return f"0:{chain.GENESIS}"
        last = self.events[-1]
        return f"{last['seq']}:{last['hash']}"

    def append(self, event: dict) -> dict:
        """Seal and append one event (a dict with type, recorded_at, data, optional incident)."""
        clean = {k: v for k, v in event.items() if v is not None}
        clean["data"] = {k: v for k, v in clean.get("data", {}).items() if v is not None}
        sealed = chain.seal(clean, self.events[-1] if self.events else None)
        self.events.append(sealed)
        return sealed


def parse(raw: bytes, path: Path) -> Ledger:
    data = codec.decode(raw, path)
    events = data["events"]
    try:
        chain.verify(events)
    except LedgerError as exc:
        raise type(exc)(f"{path}: {exc.message}", getattr(exc, "seq", None)) from None
    extra = {k: v for k, v in data.items() if k not in ("schema_version", "profile", "events")}
    return Ledger(profile=data["profile"], events=events, schema_version=data["schema_version"], extra=extra)


class Store:
    def __init__(self, path: Path | str, lock_timeout: float = 10.0):
        self.path = Path(path)
        self.lock_timeout = lock_timeout

    @property
    def lock_path(self) -> Path:
        return self.path.with_name(self.path.name + ".lock")

    def exists(self) -> bool:
        return self.path.exists()

    def read_bytes(self) -> bytes:
        try:
            return self.path.read_bytes()
        except FileNotFoundError:
            raise LedgerMissing(
                f"{self.path}: no ledger here; create one with `nis2-incident init --name NAME --category essential|important`"
            ) from None
        except IsADirectoryError:
            raise LedgerError(f"{self.path}: is a folder, not a ledger file") from None
        except OSError as exc:
            raise LedgerError(f"{self.path}: cannot read: {exc.strerror}") from None

    def read(self) -> Ledger:
        return parse(self.read_bytes(), self.path)

    @contextmanager
    def locked(self):
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise WriteError(f"{self.lock_path}: cannot open the lock file: {exc.strerror}") from None
        try:
            deadline = time.monotonic() + self.lock_timeout
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as exc:
                    if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                        raise WriteError(f"{self.lock_path}: cannot lock: {exc.strerror}") from None
                    if time.monotonic() >= deadline:
                        holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "unknown"
                        raise LockTimeout(
                            f"{self.path}: another nis2-incident process (pid {holder}) holds the write lock; "
                            f"gave up after {self.lock_timeout:g} s. Retry, or raise --lock-timeout"
                        ) from None
                    time.sleep(0.02)
            # Name the holder for whoever waits; the lock file itself is never deleted.
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            yield
        finally:
            os.close(fd)  # closing releases the flock

    def create(self, ledger: Ledger) -> None:
        with self.locked():
            if self.path.exists():
                size = self.path.stat().st_size
                raise StateError(f"{self.path}: a ledger already exists ({size} bytes); it is never overwritten. "
                            "Use --ledger to choose another file")
            self._replace(codec.encode(ledger.to_data(), self.path))

    def update(self, change: Callable[[Ledger], T]) -> tuple[T, Ledger]:
        """Re-read under the lock, apply `change` (which appends events or raises), write atomically.
        Nothing is written when `change` raises or appends nothing."""
        with self.locked():
            ledger = self.read()
            before = len(ledger.events)
            result = change(ledger)
            if len(ledger.events) != before:
                self._replace(codec.encode(ledger.to_data(), self.path))
            return result, ledger

    def _replace(self, payload: bytes) -> None:
        folder = self.path.parent
        tmp = folder / f".{self.path.name}.tmp-{os.getpid()}"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                view = memoryview(payload)
                while view:
                    written = os.write(fd, view)
                    view = view[written:]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, self.path)
        except OSError as exc:
            try:
                tmp.unlink()
            except OSError:
                pass
            raise WriteError(f"{self.path}: could not write the ledger ({exc.strerror or exc}); "
                             "nothing was recorded and the previous file is intact") from None
        try:
            dfd = os.open(folder, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
        except OSError as exc:
            raise WriteError(f"{self.path}: the ledger was replaced but the folder could not be synced "
                             f"({exc.strerror or exc}); the change may be lost on a crash. Run `verify`") from None

