"""Every file-system call the ledger makes, and nothing else.

`store.py` calls these as `fsio.NAME(...)` and never `os`/`fcntl` directly, so this module is the one
seam where the safety tests inject faults: they replace the functions named in `SEAM` to fail the Nth
call with EIO or ENOSPC, or to kill the process before or after a given call (tests/faultkit.py). The
functions themselves are plain: no test switch, no environment variable, no hook.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re

# The names a fault injector replaces; the order is that of a write (see store.py).
SEAM = ("read_file", "digest_file", "stat", "makedirs", "open_fd", "fstat", "flock", "ftruncate", "pwrite", "pread",
        "read", "listdir", "unlink", "fs_type", "write", "fchown", "fchmod", "fsync", "close", "replace")

# File systems on which `flock` and rename atomicity are not guaranteed (types as in /proc/mounts).
NETWORK_FS = frozenset({
    "nfs", "nfs4", "cifs", "smb3", "smbfs", "ncpfs", "afs", "coda", "9p", "ceph", "glusterfs", "lustre",
    "gpfs", "ocfs2", "gfs2", "davfs", "fuse.sshfs", "fuse.glusterfs", "fuse.cephfs", "fuse.s3fs",
    "fuse.rclone", "fuse.davfs2", "fuse.gcsfuse", "fuse.goofys", "fuse.juicefs", "fuse.smbnetfs",
})


def read_file(path) -> bytes:
    """The bytes of the regular file at `path`; never blocks on a FIFO (opened non-blocking, then
    refused, as a folder or a device is)."""
    import errno
    import stat

    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(fd, "rb") as handle:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, "is a folder", str(path))
        if not stat.S_ISREG(mode):
            raise OSError(errno.EINVAL, "not a regular file (a FIFO, a socket or a device)", str(path))
        return handle.read()


def digest_file(path) -> str:
    """SHA-256 of a file's bytes, read through a small buffer (not held whole)."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def stat(path) -> os.stat_result:
    return os.stat(path)


def makedirs(folder) -> None:
    os.makedirs(folder, exist_ok=True)


def open_fd(path, flags: int, mode: int = 0o644) -> int:
    return os.open(path, flags, mode)


def fstat(fd: int) -> os.stat_result:
    return os.fstat(fd)


def fchmod(fd: int, mode: int) -> None:
    os.fchmod(fd, mode)


def fchown(fd: int, uid: int, gid: int) -> None:
    os.fchown(fd, uid, gid)


def realpath(path) -> str:
    """The path with every symbolic link resolved (not in SEAM: it reads no file's content)."""
    return os.path.realpath(path)


def flock(fd: int, operation: int) -> None:
    fcntl.flock(fd, operation)


def ftruncate(fd: int, length: int) -> None:
    os.ftruncate(fd, length)


def pwrite(fd: int, data: bytes, offset: int) -> int:
    return os.pwrite(fd, data, offset)


def pread(fd: int, size: int, offset: int) -> bytes:
    return os.pread(fd, size, offset)


def read(fd: int, size: int) -> bytes:
    return os.read(fd, size)


def listdir(folder) -> list[str]:
    return os.listdir(folder)


def unlink(path) -> None:
    os.unlink(path)


def write(fd: int, data) -> int:
    return os.write(fd, data)


def fsync(fd: int) -> None:
    os.fsync(fd)


def close(fd: int) -> None:
    os.close(fd)


def replace(src, dst) -> None:
    os.replace(src, dst)


def fs_type(folder) -> str | None:
    """The type of the file system holding `folder` ("ext4", "nfs4", ...), from /proc/mounts; None
    where there is no /proc/mounts (not Linux)."""
    try:
        with open("/proc/mounts", "rb") as handle:
            text = handle.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return None
    return mount_type(os.path.realpath(folder), text)


def mount_type(path: str, mounts: str) -> str | None:
    """The type of the mount that holds `path` (absolute, resolved): the longest mount point that is
    `path` or one of its parents; the last one listed wins when several are mounted on one point."""
    best, best_len = None, -1
    for line in mounts.splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        point, kind = _unescape(parts[1]), parts[2]
        inside = path == point or path.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= best_len:
            best, best_len = kind, len(point)
    return best


def _unescape(field: str) -> str:
    """/proc/mounts writes space, tab, newline and backslash in mount points as octal escapes."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)
