"""The ledger on disk: a JSON Lines log (`*.jsonl`, the default) or a TOML/JSON document.

`Store(path)` gives the store for the path's format: `LogStore` (`log.py`: appends whole lines at the
end) or `DocumentStore` (read whole, written whole). Both offer the same small interface to
`service.py` (and, later, a PostgreSQL adapter): `exists`, `create(ledger)`, `read() -> Record`
(decoded and chain-verified events), `locked()` (the one writer lock) and, under it,
`write(record, events)` (append the sealed events). Readers take no lock: a document is replaced by
an atomic rename, and a log only grows by whole lines.

Lock: `flock` on `<ledger>.lock`, never deleted, so two writers can never hold two different locks;
a write re-reads the ledger under it. Document writes: a temporary file `.<ledger>.tmp-<pid>` in
the same folder, fsync, `os.replace`, fsync of the folder (temporary files of writers that died are
removed first). Log writes: the lines at the end, then fsync (see `log.py`). Every file-system call
goes through `fsio` (the fault-injection seam).

What the caller should tell the user (a torn tail cut, a temporary file removed, a network file
system) is left in `Store.notices` after each write; `Service` passes it on as warnings.
"""

from __future__ import annotations

import os
import stat
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, TypeVar

from ..errors import LedgerError, LedgerMissing, StateError, WriteError
from . import chain, codec, fsio, log, safefile
from .lock import FileLock

T = TypeVar("T")


@dataclass
class Ledger:
    """The ledger's content as read: schema_version, the events (decoded, chain-verified) and, for a
    document, the top-level `profile` (the current view, which must match the events) and other
    tools' top-level keys. A log also says where its good lines end and what follows (`tail`)."""

    profile: dict | None
    events: list[dict] = field(default_factory=list)
    schema_version: int = codec.SCHEMA_VERSION
    extra: dict = field(default_factory=dict)  # top-level keys of other tools: kept as they are
    tail: "log.Scan | None" = None  # a log's scan: where the next line goes, the torn tail
    size: int = 0  # the file's size as read
    base: dict | None = None  # a log read after its checkpoint: the event (seq, hash) `events` follow

    @property
    def last(self) -> dict | None:
        return self.events[-1] if self.events else self.base

    def to_data(self) -> dict:
        return {**self.extra, "schema_version": self.schema_version, "profile": self.profile, "events": self.events}

    @property
    def head(self) -> str:
        last = self.last
        return f"{last['seq']}:{last['hash']}" if last else f"0:{chain.GENESIS}"

    def append(self, event: dict) -> dict:
        """Seal and append one event (a dict with type, recorded_at, data, optional incident)."""
        sealed = chain.seal(_clean(event), self.last)
        self.events.append(sealed)
        return sealed


def _clean(event: dict) -> dict:
    clean = {k: v for k, v in event.items() if v is not None}
    clean["data"] = {k: v for k, v in clean.get("data", {}).items() if v is not None}
    return clean


def parse(raw: bytes, path: Path) -> Ledger:
    """A document's bytes -> its content, decoded and chain-verified (LedgerError otherwise)."""
    data = codec.decode(raw, path)
    events = data["events"]
    try:
        chain.verify(events)
    except LedgerError as exc:
        raise type(exc)(f"{path}: {exc.message}", getattr(exc, "seq", None)) from None
    extra = {k: v for k, v in data.items() if k not in ("schema_version", "profile", "events")}
    return Ledger(profile=data["profile"], events=events, schema_version=data["schema_version"], extra=extra,
                  size=len(raw))


def _maybe_server(path) -> bool:
    """Cheap test before `pg.is_target` (which imports its module): a URI or a libpq key=value."""
    text = str(path)
    return text[:8].lower().startswith("postgres") or "=" in text


class Store:
    """What both formats share: the path, the lock, the checks and clean-up around a write.
    `Store(path)` builds the store of the path's format (a name ending in `.jsonl`: the log)."""

    kind = "?"

    def __new__(cls, path: Path | str, lock_timeout: float = 10.0):
        if cls is Store:
            if _maybe_server(path):  # a PostgreSQL connection string (issue 15): `pg.py`
                from . import pg

                if pg.is_target(path):
                    return pg.PgStore.__new__(pg.PgStore, path, lock_timeout)
            cls = LogStore if log.is_log(Path(path)) else DocumentStore
        return super().__new__(cls)

    def __init__(self, path: Path | str, lock_timeout: float = 10.0):
        self.path = Path(path)
        self.lock_timeout = lock_timeout
        self.notices: list[str] = []  # for the user, from the last write (see the module docstring)

    @property
    def lock_path(self) -> Path:
        return self.path.with_name(self.path.name + ".lock")

    @property
    def tmp_path(self) -> Path:
        return self.path.with_name(f".{self.path.name}.tmp-{os.getpid()}")

    def exists(self) -> bool:
        return self.path.exists()

    def read_bytes(self) -> bytes:
        return self._reading(fsio.read_file)

    def _reading(self, call):
        try:
            return call(self.path)
        except FileNotFoundError:
            raise LedgerMissing(
                f"{self.path}: no ledger here; create one with `nis2-incident init --name NAME --category essential|important`"
            ) from None
        except IsADirectoryError:
            raise LedgerError(f"{self.path}: is a folder, not a ledger file") from None
        except OSError as exc:
            raise LedgerError(f"{self.path}: cannot read: {exc.strerror or exc}") from None

    def read(self) -> Ledger:
        raise NotImplementedError

    def encode(self, ledger: Ledger) -> bytes:
        """The whole file for `ledger` (what `create` writes)."""
        raise NotImplementedError

    def write(self, ledger: Ledger, events: list[dict]) -> None:
        """Under the lock: store `events`, just sealed after `ledger` (read under the same lock)."""
        raise NotImplementedError

    def update(self, change: Callable[[Ledger], T]) -> tuple[T, Ledger]:
        """Re-read under the lock, apply `change` (which appends events or raises), write them.
        Nothing is written when `change` raises or appends nothing."""
        self.notices = []
        with self.locked():
            ledger = self.read()
            before = len(ledger.events)
            result = change(ledger)
            if len(ledger.events) != before:
                self.write(ledger, ledger.events[before:])
            return result, ledger

    def create(self, ledger: Ledger) -> None:
        self.notices = []
        with self.locked():
            try:
                found = fsio.stat(self.path)
                size = found.st_size
            except FileNotFoundError:
                found = size = None
            except OSError as exc:
                raise WriteError(f"{self.path}: cannot tell whether a ledger exists ({exc.strerror or exc}); "
                                 "nothing was recorded") from None
            if found is not None and not stat.S_ISREG(found.st_mode):
                raise StateError(f"{self.path}: is {safefile.kind(found.st_mode)}, not a ledger file; nothing was "
                                 "recorded. Use --ledger to choose a file name")
            if size is not None:
                raise StateError(f"{self.path}: a ledger already exists ({size} bytes); it is never overwritten. "
                                 "Use --ledger to choose another file")
            self._replace(self.encode(ledger), ledger.head)


    @contextmanager
    def locked(self):
        """Hold the write lock (`lock.FileLock` on `<ledger>.lock`; issue 14)."""
        with FileLock(self.lock_path, self.lock_timeout, what="the lock file", tail="; nothing was recorded",
                      timed_out=lambda holder: (
                          f"{self.path}: another nis2-incident process ({holder}) holds the write lock; gave up "
                          f"after {self.lock_timeout:g} s. Retry, or raise --lock-timeout"),
                      like=self.path, make_folder=True).held():
            yield

    def _replace(self, payload: bytes | tuple, head: str) -> None:
        """Write `payload` (bytes, or parts written one after the other) through the protocol."""
        folder = self.path.parent
        self._check_file_system(folder)
        self._remove_stale_temporary_files(folder)
        tmp = self.tmp_path
        try:
            # O_EXCL | O_NOFOLLOW, with the ledger's mode and owner (a 0600 ledger stays 0600; issue 14)
            fd, tmp = safefile.create_temporary(self.path, safefile.reference(self.path))
            try:
                for part in (payload,) if isinstance(payload, bytes) else payload:
                    view = memoryview(part)
                    while view:
                        written = fsio.write(fd, view)
                        view = view[written:]
                fsio.fsync(fd)
            finally:
                fsio.close(fd)
            fsio.replace(tmp, self.path)
        except OSError as exc:
            left = ""
            try:
                fsio.unlink(tmp)
            except FileNotFoundError:
                pass
            except OSError:
                left = f"; the temporary file {tmp.name} is left behind and the next write removes it"
            raise WriteError(f"{self.path}: could not write the ledger ({exc.strerror or exc}); "
                             f"nothing was recorded and the previous file is intact{left}") from None
        try:
            dfd = fsio.open_fd(folder, os.O_RDONLY)
            try:
                fsio.fsync(dfd)
            finally:
                try:
                    fsio.close(dfd)
                except OSError:
                    pass  # a read-only descriptor: nothing to lose once fsync returned
        except OSError as exc:
            raise WriteError(f"{self.path}: the change was written (head {head}) but the folder could not be "
                             f"synced ({exc.strerror or exc}), so a power cut may still lose it; check with "
                             "`list` or `verify` before retrying, so as not to record it twice") from None

    def _check_file_system(self, folder: Path) -> None:
        try:
            kind = fsio.fs_type(folder)
        except OSError:
            return  # unknown: say nothing rather than guess
        if kind in fsio.NETWORK_FS:
            self.notices.append(
                f"{self.path} is on a network file system ({kind}): the write lock and the atomic rename are "
                "not guaranteed there, so two writers or a crash may lose events; keep the ledger on a local "
                "disk (README: What we promise about your data)")

    def _remove_stale_temporary_files(self, folder: Path) -> None:
        """`.<ledger>.tmp-<pid>` files of writers that died (SIGKILL, power cut) before their rename
        (`safefile.remove_stale`, which `check`'s state file uses too)."""
        safefile.remove_stale(folder, self.path.name, self.notices)


class DocumentStore(Store):
    """A TOML or JSON document (`codec.py`): read whole, written whole (temporary file, rename)."""

    kind = "document"

    def read(self) -> Ledger:
        """Read, decode and verify the whole ledger."""
        return parse(self.read_bytes(), self.path)

    def encode(self, ledger: Ledger) -> bytes:
        return codec.encode(ledger.to_data(), self.path)

    def write(self, ledger: Ledger, events: list[dict]) -> None:
        self._replace(self.encode(ledger), ledger.head)


class LogStore(Store):
    """The JSON Lines log (`log.py`): read line by line, appended to by whole lines."""

    kind = "log"

    def read(self, raw: bytes | None = None, start: int = 0, prev: tuple[int, str] | None = None,
             version: int | None = None, apply=None, keep: bool = True, hashes: bool = True,
             at: int = 0) -> Ledger:
        """Decode and chain-verify the lines (from offset `start`, after the event `prev`, when a
        checkpoint vouches for what comes before), calling `apply` on each event; keep them in
        `events` only with `keep` (else `base` is the head). A torn tail is left out
        (`ledger.tail.torn`). `at`: where `raw` begins in the file (the bytes after a prefix, read by
        `through`); offsets and sizes are the file's."""
        raw = self.read_bytes() if raw is None else raw
        found = log.scan(raw, self.path, start, prev, version, apply=apply, keep=keep, hashes=hashes)
        if at:
            found.offsets = [offset + at for offset in found.offsets]
            found.end += at
        base = {"seq": prev[0], "hash": prev[1]} if prev is not None else None
        return Ledger(profile=None, events=found.events, schema_version=found.schema_version, tail=found,
                      size=len(raw) + at, base=base if keep else (found.last or base))

    @property
    def gives_whole(self) -> bool:
        """A store whose bytes come from elsewhere (`read_bytes` overridden: PostgreSQL's mirror) gives
        them in one piece; a file is read a piece at a time (`chunks`, `through`, `line_at`)."""
        return type(self).read_bytes is not LogStore.read_bytes

    def through(self, offset: int, starts) -> "log.Through | None":
        """The file read once, a piece at a time, for a read through its checkpoint (`log.through`)."""
        return log.through(self.chunks(), offset, starts)

    @contextmanager
    def _reading_fd(self):
        """The file opened for reading (through `fsio`, the fault seam; never blocking on a FIFO)."""
        fd = self._reading(lambda path: fsio.open_fd(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)))
        try:
            yield fd
        finally:
            try:
                fsio.close(fd)
            except OSError:
                pass

    def line_at(self, start: int) -> bytes:
        """The line that starts at `start` (without its newline), read from the file (`pread`)."""
        with self._reading_fd() as fd:
            data = b""
            while True:
                piece = self._reading(lambda path: fsio.pread(fd, 4096, start + len(data)))
                nl = piece.find(b"\n")
                if nl >= 0 or not piece:
                    return data + (piece[:nl] if nl >= 0 else piece)
                data += piece

    def stream(self, apply, hashes: bool = True) -> Ledger:
        """`read` of the whole log without holding it (`log.scan_chunks`: a piece at a time, no event
        kept): what `verify` uses. `hashes`: keep every event's hash (for a kept head)."""
        found, size = log.scan_chunks(self.chunks(), self.path, apply=apply, hashes=hashes)
        return Ledger(profile=None, events=[], schema_version=found.schema_version, tail=found, size=size,
                      base=found.last)

    def chunks(self):
        """The log's bytes in pieces of `log.CHUNK` (through `fsio`, the fault seam); in one piece from a
        store that `gives_whole`."""
        if self.gives_whole:
            yield self.read_bytes()
            return
        with self._reading_fd() as fd:
            mode = self._reading(lambda path: fsio.fstat(fd)).st_mode
            if stat.S_ISDIR(mode):
                raise LedgerError(f"{self.path}: is a folder, not a ledger file")
            if not stat.S_ISREG(mode):
                raise LedgerError(f"{self.path}: cannot read: not a regular file (a FIFO, a socket or a device)")
            while True:
                piece = self._reading(lambda path: fsio.read(fd, log.CHUNK))
                if not piece:
                    return
                yield piece

    def encode(self, ledger: Ledger) -> bytes:
        return log.header_line(ledger.schema_version) + b"".join(log.line_of(ev) for ev in ledger.events)

    def write(self, ledger: Ledger, events: list[dict]) -> None:
        if ledger.schema_version != codec.SCHEMA_VERSION:
            raise StateError(f"{self.path}: schema_version {ledger.schema_version}: convert it first with "
                             "`nis2-incident ledger migrate`")
        self._check_file_system(self.path.parent)
        tail = ledger.tail
        if tail is not None and tail.torn:
            self.notices.append(log.torn_message(self.path, tail, ledger.size) + "; cut before this write")
        log.append(self, [log.line_of(ev) for ev in events], tail.end if tail else ledger.size, ledger.size)
