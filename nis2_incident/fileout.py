"""Atomic writes of output files (`draft --output`, `export --output`).

A temporary file in the same folder, written in full and fsynced, then renamed over the target and the
folder fsynced: a reader (a mail client attaching the draft, a calendar re-importing the feed) sees the
old file or the new one, never half of one. A failure leaves the old file as it was and raises
WriteError (exit 7). The ledger has its own writer (`ledger/store.py`), with its lock.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import InputError, WriteError


def write_atomic(path: str | Path, payload) -> Path:
    """Write `payload` (bytes, or an iterable of bytes written as they come) to `path` atomically."""
    target = Path(path).expanduser()
    if target.is_dir():
        raise InputError(f"--output {target}: is a folder; accepted: a file name")
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise InputError(f"--output {target}: folder {folder} does not exist; accepted: a file in an existing folder")
    tmp = folder / f".{target.name}.tmp-{os.getpid()}"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            for part in (payload,) if isinstance(payload, bytes) else payload:
                view = memoryview(part)
                while view:
                    view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except BaseException as exc:  # a failed write, or an error or Ctrl-C while the payload was being made
        try:
            tmp.unlink()
        except OSError:
            pass
        if not isinstance(exc, OSError):
            raise
        raise WriteError(f"{target}: could not write ({exc.strerror or exc}); the previous file, if any, "
                         "is unchanged") from None
    try:
        dfd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass  # the file is complete and in place; only its durability across a power cut is in doubt
    return target
