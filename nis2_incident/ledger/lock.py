"""One exclusive lock on a sidecar file that is never deleted (issue 14): the ledger's write lock
(`<ledger>.lock`) and `check`'s state lock (`<state>.lock`) are both a `FileLock`.

- The lock file is opened with `O_NOFOLLOW | O_NONBLOCK` and must be a regular file (`safefile`): a
  symbolic link, a FIFO or a folder at its name is refused with a message, never followed. Once held,
  it must hold what a lock holds (nothing, or a process id): any other content (the ledger hard-linked
  at the lock's name, say) is refused and left as it is; only then is the holder's pid written.
- Waiting is a blocking `flock`, so the kernel wakes a waiter the moment the lock is released (a poll
  loop let newcomers overtake waiters that slept: with 16 writers on 2 cores, some gave up after
  10 s). The timeout is a `signal.setitimer` alarm whose handler raises, in the main thread when no
  other alarm is armed; elsewhere (a thread, an alarm in use) it falls back to polling every 10 ms.
- A timeout names the holder: its pid, read from the lock file, and its command line from
  /proc/PID/cmdline where there is one.

Every file-system call goes through `fsio`. `FileLock.held()` raises WriteError when the lock file
cannot be opened, locked or marked, LockTimeout after `timeout` s; the messages end with `tail`.
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import signal
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

from ..errors import LockTimeout, WriteError
from . import fsio, safefile

_BUSY = (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES)
_LOCK_CONTENT = re.compile(rb"[0-9]{0,20}\n?")


class _Expired(Exception):
    """Raised by the alarm's handler to interrupt a blocking flock."""


def _expire(signum, frame):
    raise _Expired


class FileLock:
    def __init__(self, path: Path | str, timeout: float, *, what: str = "the lock file", tail: str = "",
                 timed_out: Callable[[str], str] | None = None, like: Path | None = None,
                 make_folder: bool = False):
        """`what` names the file in messages; `tail` ends them ("; nothing was recorded");
        `timed_out(holder)` is the timeout's message (holder: "pid 123 (nis2-incident open ...)");
        `like`: the file (the ledger) whose mode and owner the lock file takes (`safefile.match`, best effort);
        `make_folder`: create the lock's folder first."""
        self.path = Path(path)
        self.timeout = timeout
        self.what, self.tail, self.like, self.make_folder = what, tail, like, make_folder
        self.timed_out = timed_out or (lambda holder: f"{self.path}: held by {holder} for {self.timeout:g} s")

    def _error(self, doing: str, exc: OSError) -> WriteError:
        return WriteError(f"{self.path}: cannot {doing} {self.what}: {exc.strerror or exc}{self.tail}")

    def _open(self) -> int:
        folder = self.path.parent
        if self.make_folder:
            try:
                fsio.makedirs(folder)
            except OSError as exc:
                blocker = safefile.blocking_folder(folder)
                if blocker is not None:
                    raise WriteError(f"{blocker}: is a file, not a folder, so {folder} cannot hold "
                                     f"{self.path.name}{self.tail}") from None
                raise self._error("create the folder of", exc) from None
        try:
            like = safefile.reference(self.like) if self.like is not None else None
        except OSError as exc:
            raise WriteError(f"{self.like}: cannot read its mode and owner, for its lock file "
                             f"({exc.strerror or exc}){self.tail}") from None
        try:
            fd, st = safefile.open_regular(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            blocker = safefile.blocking_folder(folder) if isinstance(exc, (NotADirectoryError, FileExistsError)) else None
            if blocker is not None:
                raise WriteError(f"{blocker}: is a file, not a folder, so {folder} cannot hold "
                                 f"{self.path.name}{self.tail}") from None
            raise self._error("open", exc) from None
        if like is not None:
            try:
                safefile.match(fd, like, st)  # e.g. a group-shared ledger's lock, group-writable
            except OSError:
                pass  # someone else's lock file: it works as it is
        return fd

    @contextmanager
    def held(self):
        fd = self._open()
        try:
            self._acquire(fd)
            self._mark(fd)
            yield
        finally:
            try:
                fsio.close(fd)  # closing releases the flock; the lock file stays
            except OSError:
                pass  # the descriptor (and its flock) is gone either way; nothing was written through it

    # --- waiting -------------------------------------------------------------------------------

    def _try(self, fd: int) -> bool:
        try:
            fsio.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except OSError as exc:
            if exc.errno not in _BUSY:
                raise self._error("lock", exc) from None
            return False

    def _acquire(self, fd: int) -> None:
        if self._try(fd):
            return
        if self.timeout > 0 and self._alarm_usable():
            self._wait_blocking(fd)
        else:
            self._poll(fd)

    @staticmethod
    def _alarm_usable() -> bool:
        if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
            return False
        return signal.getitimer(signal.ITIMER_REAL)[0] == 0 and \
            signal.getsignal(signal.SIGALRM) in (signal.SIG_DFL, signal.SIG_IGN, None)

    def _wait_blocking(self, fd: int) -> None:
        previous = signal.signal(signal.SIGALRM, _expire)
        try:
            try:
                signal.setitimer(signal.ITIMER_REAL, self.timeout)
                try:
                    fsio.flock(fd, fcntl.LOCK_EX)  # the kernel wakes this waiter when the lock is released
                finally:
                    signal.setitimer(signal.ITIMER_REAL, 0)
            except _Expired:
                raise self._timeout(fd) from None
            except OSError as exc:
                raise self._error("lock", exc) from None
        finally:
            signal.signal(signal.SIGALRM, signal.SIG_DFL if previous is None else previous)

    def _poll(self, fd: int) -> None:
        deadline = time.monotonic() + self.timeout
        while True:
            if time.monotonic() >= deadline:
                raise self._timeout(fd)
            time.sleep(0.01)
            if self._try(fd):
                return

    def _timeout(self, fd: int) -> LockTimeout:
        return LockTimeout(self.timed_out(self.holder(fd)))

    @staticmethod
    def holder(fd: int) -> str:
        """"pid 123 (nis2-incident open ...)" from the lock file and /proc; "an unknown process"."""
        try:
            text = fsio.pread(fd, 64, 0).decode("ascii", "replace").strip()
        except OSError:
            text = ""
        if not text.isdigit():
            return "pid unknown"
        return f"pid {text}" + (f", `{command}`" if (command := command_line(int(text))) else "")

    # --- marking -------------------------------------------------------------------------------

    def _mark(self, fd: int) -> None:
        """Write this process's id into the lock file, for whoever waits; refuse a file that holds
        anything else than a lock holds (never truncate what is not a lock)."""
        try:
            content = fsio.pread(fd, 64, 0)
        except OSError as exc:
            raise self._error("read", exc) from None
        if len(content) >= 64 or not _LOCK_CONTENT.fullmatch(content):
            raise WriteError(f"{self.path}: is not a lock file (it holds {'64 or more' if len(content) >= 64 else len(content)} "
                             f"bytes that are not a process id); it was left as it is. Move it away (a lock file "
                             f"holds nothing but a process id){self.tail}")
        try:
            fsio.ftruncate(fd, 0)
            fsio.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except OSError as exc:
            raise WriteError(f"{self.path}: cannot write this process's id into {self.what} "
                             f"({exc.strerror or exc}){self.tail}") from None


def command_line(pid: int, limit: int = 120) -> str:
    """The command line of process `pid` (from /proc, printable, at most `limit` characters), or ""."""
    try:
        raw = fsio.read_file(f"/proc/{pid}/cmdline")
    except OSError:
        return ""
    text = " ".join(part.decode("utf-8", "replace") for part in raw.split(b"\0") if part)
    text = "".join(ch if ch.isprintable() else "?" for ch in text)
    return text if len(text) <= limit else text[:limit - 1] + "…"
