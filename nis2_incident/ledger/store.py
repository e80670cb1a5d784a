"""The ledger file on disk: read without a lock (writes are atomic renames), write under an flock.

Write protocol: lock `<ledger>.lock` (never deleted, so two writers can never hold two different
locks), re-read and verify the ledger under the lock, let the caller append events, remove temporary
files left by writers that died, write a temporary file `.<ledger>.tmp-<pid>` in the same folder,
fsync it, `os.replace` it over the ledger, fsync the folder. A reader sees the old file or the new
one, never a half-written one. Every file-system call goes through `fsio` (the fault-injection seam).

What the caller should tell the user (a temporary file removed, a network file system) is left in
`Store.notices` after each write; `Service` passes it on as warnings.

Issue 8 (speed) adds the pieces `Service` assembles into its fast paths: `snapshot` reads the bytes
once and their SHA-256 (with the read cache when it is for exactly these bytes, `cache.py`); `parse`
decodes and verifies a snapshot; `write_full` and `write_append` write through the same protocol
(`_replace`), the latter writing the old bytes plus the encoded new events (`codec.encode_tail`),
byte-for-byte what `write_full` would write; `save_cache` writes the cache, silently giving up.
"""

from __future__ import annotations

import hashlib
import os
import stat
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, TypeVar

from ..errors import LedgerError, LedgerMissing, StateError, WriteError
from . import cache, chain, codec, fsio, safefile
from .lock import FileLock

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
        sealed = chain.seal(_clean(event), self.events[-1] if self.events else None)
        self.events.append(sealed)
        return sealed


def _clean(event: dict) -> dict:
    clean = {k: v for k, v in event.items() if v is not None}
    clean["data"] = {k: v for k, v in clean.get("data", {}).items() if v is not None}
    return clean


class LedgerEnd:
    """A ledger known through its read cache: its profile and its head, enough to seal and append
    events, not its events. `events` holds only what is appended here (`Ledger`'s interface)."""

    def __init__(self, profile: dict, head_seq: int, head_hash: str, schema_version: int = codec.SCHEMA_VERSION):
        self.profile, self.schema_version = profile, schema_version
        self._last = {"seq": head_seq, "hash": head_hash} if head_seq else None
        self.events: list[dict] = []

    @property
    def head(self) -> str:
        return f"{self._last['seq']}:{self._last['hash']}" if self._last else f"0:{chain.GENESIS}"

    def append(self, event: dict) -> dict:
        sealed = chain.seal(_clean(event), self._last)
        self.events.append(sealed)
        self._last = sealed
        return sealed


@dataclass
class Snapshot:
    """The ledger's bytes as read once, their SHA-256, and the read cache if it is for these bytes."""

    raw: bytes | None  # None in a lazy snapshot, or once a JSON walk holds the text instead (`Service._walk`)
    digest: str
    prefix: "hashlib._Hash | None"  # SHA-256 state after raw[:len(raw) - codec.tail_cut(path)] (None: lazy)
    cache: dict | None = None


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
        self.notices: list[str] = []  # for the user, from the last write (see the module docstring)

    @property
    def lock_path(self) -> Path:
        return self.path.with_name(self.path.name + ".lock")

    @property
    def cache_path(self) -> Path:
        return cache.cache_path(self.path)

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
        """Read, decode and verify the whole ledger (never the cache)."""
        return parse(self.read_bytes(), self.path)

    def snapshot(self, with_cache: bool = True, lazy: bool = False) -> Snapshot:
        """Read the bytes once; their SHA-256; the read cache's content when it was derived from
        exactly these bytes (else None). `lazy`: hash the file without holding its bytes and, when the
        cache is for them, return a snapshot without them (`raw` None: a read through the cache needs
        only the digest; 30 ms and the file's size in memory saved at 10,000 incidents); else read them."""
        if lazy and with_cache:
            digest = self._reading(fsio.digest_file)
            doc = cache.load(self.cache_path, digest)
            if doc is not None:
                return Snapshot(None, digest, None, doc)
            with_cache = False  # just read, and not for these bytes
        raw = self.read_bytes()
        cut = min(codec.tail_cut(self.path), len(raw))
        hasher = hashlib.sha256()
        hasher.update(memoryview(raw)[:len(raw) - cut])
        prefix = hasher.copy()
        hasher.update(memoryview(raw)[len(raw) - cut:])
        digest = hasher.hexdigest()
        return Snapshot(raw, digest, prefix, cache.load(self.cache_path, digest) if with_cache else None)

    def reread(self, digest: str) -> bytes:
        """The ledger's bytes again, which must be those whose SHA-256 is `digest` (read earlier under
        the same lock); WriteError if another program changed them without taking the lock."""
        raw = self.read_bytes()
        if hashlib.sha256(raw).hexdigest() != digest:
            raise WriteError(f"{self.path}: changed by another program during this write (one that does not "
                             "take the lock); nothing was recorded: retry")
        return raw

    def parse(self, snap: Snapshot) -> Ledger:
        return parse(snap.raw, self.path)

    def save_cache(self, body: dict) -> bool:
        """Write the read cache; False, silently, when it cannot be written (it is only derived data)."""
        return cache.save(self.cache_path, body)

    @contextmanager
    def locked(self):
        """Hold the write lock (`lock.FileLock` on `<ledger>.lock`; issue 14)."""
        with FileLock(self.lock_path, self.lock_timeout, what="the lock file", tail="; nothing was recorded",
                      timed_out=lambda holder: (
                          f"{self.path}: another nis2-incident process ({holder}) holds the write lock; gave up "
                          f"after {self.lock_timeout:g} s. Retry, or raise --lock-timeout"),
                      like=self.path, make_folder=True).held():
            yield

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
            self._replace(codec.encode(ledger.to_data(), self.path), ledger.head)

    def update(self, change: Callable[[Ledger], T]) -> tuple[T, Ledger]:
        """Re-read under the lock, apply `change` (which appends events or raises), write atomically.
        Nothing is written when `change` raises or appends nothing."""
        self.notices = []
        with self.locked():
            ledger = self.read()
            before = len(ledger.events)
            result = change(ledger)
            if len(ledger.events) != before:
                self.write_full(ledger)
            return result, ledger

    # --- under the lock ----------------------------------------------------------------------

    def write_full(self, ledger: Ledger) -> tuple[int, str]:
        """Encode the whole ledger and write it (the protocol of `_replace`). (size, SHA-256) written."""
        payload = codec.encode(ledger.to_data(), self.path)
        self._replace(payload, ledger.head)
        return len(payload), hashlib.sha256(payload).hexdigest()

    def write_append(self, snap: Snapshot, events: list[dict], head: str) -> tuple[int, str] | None:
        """Write the snapshot's bytes with `events` appended, without decoding them: what
        `write_full` would write, provided the snapshot holds what `encode` writes (the caller knows
        it from the read cache). None, having written nothing, when the bytes do not end as
        expected. (size, SHA-256) written, the hash from the snapshot's, without rereading."""
        tail = codec.encode_tail(snap.raw, events, self.path)
        if tail is None:
            return None
        keep = len(snap.raw) - codec.tail_cut(self.path)
        self._replace((memoryview(snap.raw)[:keep], tail), head)  # no joined copy of a large file
        hasher = snap.prefix.copy()
        hasher.update(tail)
        return keep + len(tail), hasher.hexdigest()

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
