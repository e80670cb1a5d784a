"""A PostgreSQL ledger's lines as last read on this machine (issue 15: fast reads from many machines).

`PgStore.read_bytes` asks the server only for the lines after the mirror's last seq, once the
server's SHA-256 of its own rows up to that seq (`string_agg(line || '\\n' ORDER BY seq)`, computed
by the server) is the SHA-256 of the mirror's lines: then the mirror plus the new lines are exactly
the server's rows, and the log's checkpoint (`checkpoint.py`) spares decoding them. Any difference
(a row edited on the server, a mirror edited or damaged here) makes the read fetch every line and
rewrite the mirror; so no result ever depends on the mirror, only the bytes transferred do.

It sits beside `checkpoint.py`, outside `ledger/` (whose file-system calls all go through the
`fsio` seam): both are derived data, written silently or not at all. Trust model: the checkpoint's. It lives in the user's own cache folder
(`~/.cache/nis2-incident/mirrors/`, folder 0700, file 0600), named by the SHA-256 of the connection
string without password; it is opened without following links and only if it is a regular file; any
error reading or writing it is ignored (derived data). It holds the record's events, as readable as
what this user can SELECT: a user who may not keep a copy of the record should not run reads as
themselves on a shared machine (README, Team mode).
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

import orjson

MAX_SIZE = 1 << 30


@dataclass
class Mirror:
    data: bytes  # the header line, then whole lines
    seq: int  # the last line's seq (0: the header only)
    digest: str  # SHA-256 of the lines after the header


def location(key: str) -> Path:
    from . import checkpoint

    name = hashlib.sha256(key.encode()).hexdigest()[:32]
    return checkpoint.folder().parent / "mirrors" / f"{name}.jsonl"


def load(key: str, header: bytes) -> Mirror | None:
    path = location(key)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_SIZE:
            return None
        chunks = []
        while True:
            chunk = os.read(fd, 1 << 22)
            if not chunk:
                break
            chunks.append(chunk)
    except OSError:
        return None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if not data.startswith(header) or not data.endswith(b"\n"):
        return None
    body = memoryview(data)[len(header):]
    if not body:
        return Mirror(data, 0, hashlib.sha256(b"").hexdigest())
    start = data.rfind(b"\n", 0, len(data) - 1) + 1
    try:
        last = orjson.loads(data[start:-1])
        seq = last["seq"]
    except (ValueError, KeyError, TypeError):
        return None
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
        return None
    return Mirror(data, seq, hashlib.sha256(body).hexdigest())


def save(key: str, raw: bytes, kept: Mirror | None) -> None:
    """Append the new lines to the mirror it was read from (`kept`), else replace it; silently give
    up on any error. Two readers appending at once leave a mirror whose hash is not the server's: the
    next read then fetches every line and replaces it."""
    path = location(key)
    try:
        os.makedirs(path.parent, mode=0o700, exist_ok=True)
        if kept is not None and len(raw) > len(kept.data):
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
            try:
                info = os.fstat(fd)
                if stat.S_ISREG(info.st_mode) and info.st_size == len(kept.data):
                    _write_all(fd, memoryview(raw)[len(kept.data):])
                    return
            finally:
                os.close(fd)
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            _write_all(fd, memoryview(raw))
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError:
        try:
            os.unlink(path.with_name(f".{path.name}.tmp-{os.getpid()}"))
        except OSError:
            pass


def _write_all(fd: int, view: memoryview) -> None:
    while view:
        view = view[os.write(fd, view):]
