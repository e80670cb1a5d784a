"""The read cache: `<ledger>.cache`, derived data beside the ledger, never authoritative (issue 8).

What it holds is decided by `service.py` (the verified head, the profile, every incident's id and
number, and the events of the incidents that can still change with time); this module only keeps the
file: a frame that names the SHA-256 of the exact ledger bytes the content was derived from, and a
checksum of the content.

    nis2-incident read cache 1
    <SHA-256 of the body> <length of the body in bytes>
    <body: one JSON object, with "ledger_sha256">

Trust model (README, "The read cache"):
- A cache is used only for the ledger bytes whose SHA-256 it names, so any change to the ledger (by
  this tool, another tool, an editor, an attacker) makes it stale, and a stale cache is never used.
- A torn, truncated, corrupt or otherwise unreadable cache is ignored, as if there were none: the
  command reads the whole ledger, as it did before the cache existed, and rewrites the cache.
- The checksum catches accidents, not forgery: whoever can write the cache can also write the ledger
  beside it, and could as well rewrite the ledger's whole hash chain (README, "Integrity, not
  authorship"). `verify` therefore never reads the cache: it recomputes everything from the ledger's
  bytes, and a head kept elsewhere (`verify --head`) still catches a rewrite.
- The cache is written in place (it is rewritten whole; a reader that catches it half-written sees a
  bad checksum and ignores it), after the ledger's rename, under the ledger's lock for writes. It is
  never fsynced: after a power cut it may be lost or stale, which costs one full read. A cache that
  cannot be written (read-only folder, full disk) is skipped silently.

Every file-system call goes through `fsio`, like the rest of the ledger package.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from . import fsio

MAGIC = b"nis2-incident read cache 1\n"
SUFFIX = ".cache"


def cache_path(ledger: Path) -> Path:
    return ledger.with_name(ledger.name + SUFFIX)


def load(path: Path, ledger_sha256: str) -> dict | None:
    """The body of the cache at `path` if it is whole and was derived from the ledger bytes whose
    SHA-256 is `ledger_sha256`; None otherwise (missing, unreadable, torn, corrupt, stale)."""
    try:
        raw = fsio.read_file(path)
    except OSError:
        return None
    if not raw.startswith(MAGIC):
        return None
    frame, sep, body = raw[len(MAGIC):].partition(b"\n")
    if not sep:
        return None
    digest, _, length = frame.partition(b" ")
    if not length.isdigit() or int(length) != len(body) or hashlib.sha256(body).hexdigest().encode() != digest:
        return None
    try:
        data = json.loads(body)
    except ValueError:  # includes UnicodeDecodeError
        return None
    if not isinstance(data, dict) or data.get("ledger_sha256") != ledger_sha256:
        return None
    return data


def save(path: Path, body: dict, mode: int = 0o644) -> bool:
    """Write the cache whole, in place; False (and nothing raised) when it cannot be written."""
    payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    data = MAGIC + f"{hashlib.sha256(payload).hexdigest()} {len(payload)}\n".encode() + payload
    try:
        fd = fsio.open_fd(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    except PermissionError:
        # another user's cache (e.g. written by root's `check`): replace it if the folder allows,
        # rather than leave every later read without a cache
        try:
            fsio.unlink(path)
            fd = fsio.open_fd(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        except OSError:
            return False
    except OSError:
        return False
    try:
        view = memoryview(data)
        while view:
            view = view[fsio.write(fd, view):]
        return True
    except OSError:
        return False  # a half-written cache has a bad checksum: the next reader ignores it
    finally:
        try:
            fsio.close(fd)
        except OSError:
            pass
