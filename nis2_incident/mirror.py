"""A PostgreSQL ledger's lines as last read on this machine (issue 15: fast reads from many machines).

`PgStore.read_bytes` asks the server only for the lines after the mirror's last seq N, once the
server has shown that its rows 1..N are the mirror's lines (`PgStore._same_rows`): the SHA-256 of
their last 75 bytes (`,"hash":"<64 hex>"}`, in seq order), which the table's CHECK constraints bind
to every byte of each line, is the mirror's `tails`; then the mirror plus the new lines are exactly the
server's rows, and the log's checkpoint (`checkpoint.py`) spares decoding them. Any difference (a row
edited on the server, a mirror edited or damaged here) makes the read fetch every line and rewrite
the mirror; so no result ever depends on the mirror, only the bytes transferred do.

The mirror is two files: the lines (`NAME.jsonl`: the log's header line then the lines, the bytes
a read returns) and their sums (`NAME.sums`: `{"size", "sha256", "seq", "tails"}`: the size and
SHA-256 of the lines file, its last seq, and the SHA-256 of its lines' last 75 bytes). The sums are taken
when the lines are written; a read uses the mirror only if the lines file's SHA-256 (taken at every
read: it is also the log checkpoint's prefix hash, `known`, so it is not taken twice) is the sums'
`sha256`: a mirror edited, damaged, half-written or without its sums is not used at all.

It sits beside `checkpoint.py`, outside `ledger/` (whose file-system calls all go through the
`fsio` seam): both are derived data, written silently or not at all. Trust model: the checkpoint's. It lives in the user's own cache folder
(`~/.cache/nis2-incident/mirrors/`, folder 0700, files 0600), named by the SHA-256 of the connection
string without password; it is opened without following links and only if it is a regular file; any
error reading or writing it is ignored (derived data). It holds the record's events, as readable as
what this user can SELECT: a user who may not keep a copy of the record should not run reads as
themselves on a shared machine (README, Team mode). Like the checkpoint's seal, the sums keep out
edits and bit rot, not someone who can write the user's own cache folder.
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
    tails: str  # SHA-256 of the lines' last 75 bytes (`,"hash":"…"}`), in order: what the server is asked for
    sha256: str = ""  # SHA-256 of `data` (the log checkpoint's prefix hash when it ends where `data` does)


def location(key: str) -> Path:
    from . import checkpoint

    name = hashlib.sha256(key.encode()).hexdigest()[:32]
    return checkpoint.folder().parent / "mirrors" / f"{name}.jsonl"


def _sums(path: Path) -> Path:
    return path.with_suffix(".sums")


def tails_of(body) -> str:
    """SHA-256 of the last 75 bytes (`,"hash":"<64 hex>"}`) of each line in `body` (whole lines, each
    ending with a newline), in order: what `PgStore._same_rows` asks the server for."""
    lines = bytes(body).split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return hashlib.sha256(b"".join(line[-75:] for line in lines)).hexdigest()


def load(key: str, header: bytes) -> Mirror | None:
    from . import checkpoint

    path = location(key)
    data = checkpoint.read_private(path, MAX_SIZE)
    if data is None or not data.startswith(header) or not data.endswith(b"\n"):
        return None
    sums = checkpoint.read_private(_sums(path), 4096)
    try:
        sums = orjson.loads(sums) if sums is not None else None
        if not isinstance(sums, dict) or sums.get("size") != len(data):
            return None
        whole = hashlib.sha256(data).hexdigest()
        seq, tails = sums["seq"], sums["tails"]
        if sums["sha256"] != whole or not isinstance(seq, int) or isinstance(seq, bool) or seq < 0 \
                or not isinstance(tails, str):
            return None  # edited, damaged, half-written, or written by another version: not used
    except (ValueError, KeyError, TypeError):
        return None
    return Mirror(data, seq, tails, whole)


def save(key: str, raw: bytes, kept: Mirror | None, seq: int) -> str | None:
    """Append the new lines to the mirror it was read from (`kept`), else replace it, then write its
    sums (`seq`: the last line's); silently give up on any error. Returns the SHA-256 of `raw` (for
    the checkpoint), or None. Two readers writing at once leave a mirror whose sums are not its
    lines', or whose hashes are not the server's: the next read then fetches every line and
    replaces it."""
    from . import checkpoint

    path = location(key)
    try:
        whole = hashlib.sha256(raw).hexdigest()
        header_end = raw.index(b"\n") + 1
        sums = orjson.dumps({"size": len(raw), "sha256": whole, "seq": seq,
                             "tails": tails_of(memoryview(raw)[header_end:])})
    except ValueError:
        return None
    try:
        checkpoint.write_private(_sums(path), (b"",))  # no sums while the lines change: a crash leaves a mirror not used
        done = False
        if kept is not None and len(raw) > len(kept.data):
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
            try:
                info = os.fstat(fd)
                if stat.S_ISREG(info.st_mode) and info.st_size == len(kept.data):
                    checkpoint.write_all(fd, memoryview(raw)[len(kept.data):])
                    done = True
            finally:
                os.close(fd)
        if not done:
            checkpoint.write_private(path, (raw,))
        checkpoint.write_private(_sums(path), (sums,))
    except OSError:
        return whole
    return whole


