"""The files kept around a ledger, opened, written and guarded safely (issue 14).

Cron runs the tool as root over a folder others may write, so nothing at a derived file's path may
redirect, hang or destroy anything:

- `open_regular` opens with `O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC` and accepts regular files only: a
  symbolic link is refused (never followed), a FIFO never blocks the open (and is refused), nor do a
  socket, a device or a folder get read or written. `read_regular` reads such a file whole.
- `write_atomic` writes a derived file like the ledger: a temporary file `.<name>.tmp-<pid>` created
  with `O_EXCL | O_NOFOLLOW` (a link planted at that name is never followed), given the ledger's mode
  and owner (`match`), written, fsynced, renamed over the target, folder fsynced; temporary files of
  writers that died are removed first (`remove_stale`).
- `match(fd, like)` gives a file the permission bits of `like` (the ledger's `stat`), and its owner
  and group where this process may (root; or the group alone for a member of it), so a write never
  makes a private ledger, or anything derived from it, readable by more people than the ledger.
- `own_file(target, ledger)`: is `target` (following links, compared by device and inode, never by
  name) the ledger or one of its own files? Output options refuse such a target.
- `resolve(path)`: a ledger path with its symbolic links resolved, once, so every path to a ledger
  shares its lock and its writes go to the file itself.

Every call goes through `fsio` (the fault-injection seam). Errors are `OSError`s whose `strerror` is a
sentence for the user (`NotRegular` for a file of the wrong kind); callers add what was not done.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from pathlib import Path

from . import fsio

SAFE_FLAGS = os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)

# The names, beside a ledger `L`, of its own files: `L` itself, its lock, `check`'s state and that
# state's lock (the log's checkpoint is not beside it: it is in the user's cache folder). Temporary files `.L.tmp-PID`, `.L.*.tmp-PID` are found by listing.
OWN_SUFFIXES = ("", ".lock", ".check-state.json", ".check-state.json.lock")


class NotRegular(OSError):
    """The path names something other than a regular file (a link, a folder, a FIFO, ...)."""


def kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def _refuse(path, what: str) -> NotRegular:
    return NotRegular(errno.EINVAL, f"is {what}, not a regular file; accepted: a regular file (remove or move it)",
                      str(path))


def open_regular(path, flags: int, mode: int = 0o600) -> tuple[int, os.stat_result]:
    """(descriptor, its fstat) of the regular file at `path`, opened with `flags | SAFE_FLAGS`.
    NotRegular for a symbolic link (never followed), a folder, a FIFO (the open never blocks), a
    socket or a device; other OSErrors as the system gives them."""
    try:
        fd = fsio.open_fd(path, flags | SAFE_FLAGS, mode)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _refuse(path, "a symbolic link") from None
        if exc.errno == errno.EISDIR:
            raise _refuse(path, "a folder") from None
        if exc.errno == errno.ENXIO:  # a FIFO without a reader, opened for writing; a socket
            raise _refuse(path, "a FIFO or a socket") from None
        raise
    try:
        st = fsio.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise _refuse(path, kind(st.st_mode))
    except BaseException:
        try:
            fsio.close(fd)
        except OSError:
            pass
        raise
    return fd, st


def read_regular(path, limit: int = 64 << 20) -> bytes:
    """The bytes of the regular file at `path` (see `open_regular`); OSError (FileNotFoundError when
    missing, NotRegular, or a file larger than `limit`)."""
    fd, st = open_regular(path, os.O_RDONLY)
    try:
        if st.st_size > limit:
            raise OSError(errno.EFBIG, f"is {st.st_size} bytes, more than the {limit} accepted", str(path))
        parts, total = [], 0
        while True:
            chunk = fsio.read(fd, 1 << 20)
            if not chunk:
                return b"".join(parts)
            total += len(chunk)
            if total > limit:
                raise OSError(errno.EFBIG, f"is more than the {limit} bytes accepted", str(path))
            parts.append(chunk)
    finally:
        try:
            fsio.close(fd)
        except OSError:
            pass


def reference(path) -> os.stat_result | None:
    """The `stat` of the file whose mode and owner derived files take (the ledger); None when missing.
    Other OSErrors (EIO, EACCES) are raised: a write that cannot tell the ledger's mode does not guess."""
    try:
        return fsio.stat(path)
    except FileNotFoundError:
        return None


def match(fd: int, like: os.stat_result | None, mine: os.stat_result | None = None, owner: bool = True) -> None:
    """Give the file open at `fd` the permission bits of `like`, and its owner and group where this
    process may: root sets both; another user sets the group when it is one of its own (else the
    file keeps this user's group); `owner` False: the mode only. Nothing to do (no call) when they are
    already the same. OSError when the mode cannot be set."""
    if like is None:
        return
    mine = mine or fsio.fstat(fd)
    if owner and (mine.st_uid, mine.st_gid) != (like.st_uid, like.st_gid):
        try:
            if os.geteuid() == 0:
                fsio.fchown(fd, like.st_uid, like.st_gid)
            elif mine.st_gid != like.st_gid:
                fsio.fchown(fd, -1, like.st_gid)
        except PermissionError:
            pass  # not a member of the ledger's group: the permission bits below still apply
    want = stat.S_IMODE(like.st_mode) & 0o777
    if stat.S_IMODE(mine.st_mode) != want:
        fsio.fchmod(fd, want)


def remove_stale(folder: Path, name: str, notices: list[str]) -> None:
    """Remove `.<name>.tmp-<pid>` files in `folder` left by writers that died (SIGKILL, power cut)
    before their rename. Called under the file's lock, so no live writer is between its open and its
    rename: a file of a process that no longer runs, or of this very process, is garbage. What was
    done (or could not be) is appended to `notices`, for the user."""
    pattern = re.compile(rf"\.{re.escape(name)}\.tmp-([0-9]{{1,10}})")
    try:
        names = fsio.listdir(folder)
    except OSError as exc:
        notices.append(f"could not look for temporary files left by interrupted writes in {folder} "
                       f"({exc.strerror or exc})")
        return
    for entry in sorted(names):
        found = pattern.fullmatch(entry)
        if not found:
            continue
        pid, path = int(found.group(1)), folder / entry
        if pid != os.getpid() and pid_alive(pid):
            notices.append(f"left {path} in place: process {pid} is still running; if it is not a "
                           "nis2-incident writer, remove the file by hand")
            continue
        try:
            fsio.unlink(path)
        except FileNotFoundError:
            continue
        except OSError as exc:
            notices.append(f"could not remove {path}, left by an interrupted write "
                           f"({exc.strerror or exc}); remove it by hand")
            continue
        notices.append(f"removed {path}, a temporary file left by an interrupted write of process "
                       f"{pid}; the ledger itself was not affected")


def pid_alive(pid: int) -> bool:
    if pid <= 0:  # 0 and negative pids name process groups, not processes
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    except (OverflowError, OSError):
        return False
    return True


def create_temporary(path: Path, like: os.stat_result | None, owner: bool = True) -> tuple[int, Path]:
    """(descriptor, path) of a new temporary file `.<name>.tmp-<pid>` beside `path`, created with
    `O_EXCL | O_NOFOLLOW` (a leftover of this pid, or a link planted at its name, is removed, never
    followed), with `like`'s mode and owner (`match`)."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    try:
        fd, st = open_regular(tmp, flags, 0o644)
    except FileExistsError:
        fsio.unlink(tmp)  # ours by its name (this pid); unlink removes a link, never its target
        fd, st = open_regular(tmp, flags, 0o644)
    try:
        match(fd, like, st, owner)
    except BaseException:
        fsio.close(fd)
        try:
            fsio.unlink(tmp)
        except OSError:
            pass
        raise
    return fd, tmp


def write_atomic(path: Path, payload, like: os.stat_result | None = None, notices: list[str] | None = None,
                 owner: bool = True) -> None:
    """Write `payload` (bytes, or an iterable of bytes written as they come) to `path` atomically:
    temporary file (`create_temporary`), fsync, rename over `path` (a link at `path` is replaced, not
    followed), fsync of the folder (a failure there is ignored: the file is whole and in place). With
    `notices`, stale temporary files of `path` are removed first (call it under `path`'s lock).
    OSError when it cannot be written; the temporary file is then removed and `path` is unchanged."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if notices is not None:
        remove_stale(folder, path.name, notices)
    fd, tmp = create_temporary(path, like, owner)
    try:
        try:
            for part in (payload,) if isinstance(payload, (bytes, bytearray, memoryview)) else payload:
                view = memoryview(part)
                while view:
                    view = view[fsio.write(fd, view):]
            fsio.fsync(fd)
        finally:
            fsio.close(fd)
        fsio.replace(tmp, path)
    except BaseException:
        try:
            fsio.unlink(tmp)
        except OSError:
            pass
        raise
    try:
        dfd = fsio.open_fd(folder, os.O_RDONLY)
        try:
            fsio.fsync(dfd)
        finally:
            fsio.close(dfd)
    except OSError:
        pass  # the file is complete and in place; only its durability across a power cut is in doubt


def own_file(target, ledger, allow=()) -> str | None:
    """The name of the ledger's own file that `target` is (the same device and inode, following
    links), or None. Own files: the ledger, the names of `OWN_SUFFIXES` beside it, and its temporary
    files (`.<ledger>.tmp-PID`, `.<ledger>.<derived>.tmp-PID`). Paths in `allow` are not counted."""
    try:
        st = fsio.stat(target)
    except OSError:
        return None  # nothing there (or nothing reachable): nothing of the ledger's can be replaced
    ledger = Path(ledger)
    candidates = [ledger.with_name(ledger.name + suffix) for suffix in OWN_SUFFIXES]
    try:
        prefix = f".{ledger.name}."
        candidates += [ledger.with_name(n) for n in fsio.listdir(ledger.parent or ".")
                       if n.startswith(prefix) and ".tmp-" in n]
    except OSError:
        pass
    allowed = set()
    for path in allow:
        try:
            other = fsio.stat(path)
            allowed.add((other.st_dev, other.st_ino))
        except OSError:
            pass
    for path in candidates:
        try:
            other = fsio.stat(path)
        except OSError:
            continue
        key = (other.st_dev, other.st_ino)
        if key == (st.st_dev, st.st_ino) and key not in allowed:
            return path.name
    return None


def resolve(path) -> Path:
    """`path` with its symbolic links resolved (the ledger a link points to), else as it is."""
    return Path(fsio.realpath(path))


def blocking_folder(folder: Path) -> Path | None:
    """The nearest of `folder` and its parents that exists and is not a folder (a file in the way)."""
    for candidate in (folder, *folder.parents):
        try:
            st = fsio.stat(candidate)
        except OSError:
            continue
        return None if stat.S_ISDIR(st.st_mode) else candidate
    return None
