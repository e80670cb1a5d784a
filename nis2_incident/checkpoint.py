"""The checkpoint of a log ledger: derived data that lets a read skip what it has already verified.

It names a prefix of the log (its length and its SHA-256) and holds what a read of that prefix
found: the head, the profile, every incident's id and number, and where the lines of the incidents
that can still change with time ("live") start. A read hashes the log's first `offset` bytes; only if
they are exactly the bytes the checkpoint was made from does it take the checkpoint's word for them,
then decodes and verifies every line after them as any read does. So an append by any program costs
the next reader only the new lines, and any other change to the file makes the checkpoint unused.

Trust model (README, "What we promise about your data"):
- It lives in the user's own cache folder (platformdirs, e.g. `~/.cache/nis2-incident/checkpoints/`),
  created 0700, the file 0600, never in the ledger's folder, which others may write (cron runs as
  root over shared folders); one file per ledger, named by the SHA-256 of the ledger's resolved path.
- It holds no rules (regimes are read from their files every time) and decides no write: a write
  seals its event after the head the log itself ends with, verified under the lock.
- It is opened without following links and only if it is a regular file (a FIFO never blocks a
  read); a missing, unreadable, damaged, oversized or stale checkpoint is ignored, as if there were
  none, and rebuilt; one that cannot be written is skipped silently. `verify` never reads it.
- It is sealed: the file is `{"seal":"<SHA-256 of BODY>",` then BODY (its JSON object) without its
  `{`, so a checkpoint edited by hand or damaged on disk (another live list, profile or head, the
  prefix's hash kept) does not match its seal and is ignored. The seal holds no secret: it keeps out
  edits and bit rot, not someone who can write the user's own cache folder (and run the tool as them).
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import sys
from pathlib import Path

VERSION = 4  # 2: sealed; 3: the id index and the settled lines each one text; 4: with their digest (service._entry)
_SEAL = b'{"seal":"'
_SEALED = len(_SEAL) + 64 + 2  # up to the body's first key: {"seal":"<64 hex>",
HASHER = "\0hasher"  # the key the read keeps the prefix's hash state under (no key of a checkpoint's JSON)
MAX_SIZE = 64 * 1024 * 1024  # a checkpoint of 10,000 incidents is well under 1 MB


def folder() -> Path:
    return user_cache_path() / "checkpoints"


def user_cache_path() -> Path:
    """platformdirs' cache folder for nis2-incident. On Linux, where it is the XDG base directory rule
    (`$XDG_CACHE_HOME`, an absolute path, else `$HOME/.cache`), that rule is applied here for the plain
    cases: importing platformdirs costs 5-10 ms at every read of a log (its Unix module imports
    tempfile, shutil and random), more than the rest of a warm read of 100 incidents.
    tests/test_checkpoint.py checks that it is the folder platformdirs gives. Any other case (another
    system, a relative or missing HOME) asks platformdirs itself."""
    if sys.platform == "linux" and "ANDROID_DATA" not in os.environ:  # (platformdirs may find Android)
        xdg = os.environ.get("XDG_CACHE_HOME", "")
        home = os.environ.get("HOME", "")
        if xdg.startswith("/"):
            return Path(xdg) / "nis2-incident"
        if not xdg.strip() and home.startswith("/"):  # as `os.path.expanduser("~/.cache")`
            return Path((home.rstrip("/") or "") + "/.cache") / "nis2-incident"
    import platformdirs

    return platformdirs.user_cache_path("nis2-incident", appauthor=False)


def _identity(ledger) -> str:
    """The ledger's resolved path; a PostgreSQL ledger's connection string without password (issue 15)."""
    return ledger.key if hasattr(ledger, "conninfo") else os.path.realpath(ledger)


def location(ledger: Path) -> Path:
    key = hashlib.sha256(os.fsencode(_identity(ledger))).hexdigest()[:32]
    return folder() / f"{key}.json"


def read_private(path: Path, limit: int = MAX_SIZE) -> bytes | None:
    """The bytes of a derived file in the user's cache folder (the checkpoint, the views file, a
    mirror), or None: missing, unreadable, a link (not followed), not a regular file (a FIFO never
    blocks: opened non-blocking), over `limit` bytes, or growing while read."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
            return None
        chunks = [os.read(fd, info.st_size + 1)]  # one read of the whole file: no copy to join them
        while chunks[-1] and sum(map(len, chunks)) <= info.st_size:
            chunks.append(os.read(fd, info.st_size + 1))
    except OSError:
        return None
    finally:
        os.close(fd)
    data = chunks[0] if len(chunks) == 1 or not chunks[1] else b"".join(chunks)
    return None if len(data) > info.st_size else data


def _read_sealed(path: Path) -> bytes | None:
    """The bytes of a sealed file (see the module's docstring), or None (as `read_private`, or damaged,
    edited)."""
    data = read_private(path)
    if data is None:
        return None
    if not data.startswith(_SEAL) or data[_SEALED - 2:_SEALED] != b'",':
        return None
    digest = hashlib.sha256(b"{")
    digest.update(memoryview(data)[_SEALED:])
    if digest.hexdigest().encode() != data[len(_SEAL):_SEALED - 2]:
        return None  # edited by hand, damaged, or of another version: not this code's checkpoint
    return data


def _write_sealed(path: Path, body: dict) -> None:
    """Write `body` as JSON, sealed (`_write_sealed_bytes`)."""
    import orjson

    try:
        data = orjson.dumps(body)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return
    _write_sealed_bytes(path, data)


def write_all(fd: int, data) -> None:
    """Every byte of `data` to `fd` (os.write may write fewer)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def write_private(path: Path, pieces) -> None:
    """The one writer of derived files in the user's cache folder (checkpoint, views, mirror): the
    pieces written to a temporary file beside `path`, then renamed over it; 0600 in a 0700 folder,
    never through a link. OSError when it cannot; the temporary file is then removed."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        os.makedirs(path.parent, mode=0o700, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            for piece in pieces:
                write_all(fd, piece)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _write_sealed_bytes(path: Path, data: bytes, more: list[bytes] = ()) -> None:
    """Write `data` (starting with `{`) then the pieces `more`, sealed, atomically (`write_private`);
    silently give up on any error: it is only derived data."""
    try:
        digest = hashlib.sha256(data)
        for piece in more:
            digest.update(piece)
        write_private(path, (_SEAL + digest.hexdigest().encode() + b'",', memoryview(data)[1:], *more))
    except (OSError, ValueError, TypeError):
        pass


def load_body(ledger: Path, code: str) -> dict | None:
    """The checkpoint of `ledger` if it was made by this code (`code`) for this ledger, its prefix not
    yet checked: the read checks it as it reads the log (`Service._through_checkpoint`: the prefix's
    length and SHA-256 are `offset` and `prefix_sha256`); else None (missing, unreadable, not a
    regular file, damaged, of another version)."""
    data = _read_sealed(location(ledger))
    if data is None:
        return None
    try:
        import orjson  # (compiled: a checkpoint of 10,000 incidents is about 1 MB of JSON)

        body = orjson.loads(data)
        if not isinstance(body, dict) or body.get("version") != VERSION or body.get("code") != code:
            return None
        if body.get("ledger") != _identity(ledger):
            return None
        offset = body["offset"]
        if not isinstance(offset, int) or offset <= 0 or not isinstance(body["prefix_sha256"], str):
            return None
        return body
    except (ValueError, KeyError, TypeError, RecursionError):
        return None


# The index of incidents and the settled incidents' lines, each kept as one text: what `service.py`
# puts in a checkpoint, in the form the file keeps it.

def index_text(numbers: dict[str, int]) -> dict | None:
    """Every incident's id and number as the checkpoint keeps them: the ids in opening order, one text
    (`"INC-1\nINC-2"`), and the numbers that are not the position in that order (usually none). A
    list of 10,000 pairs took 6-15 ms to parse at every warm read, one text 1-2 ms. None for an id
    that is empty or holds a newline or a tab (no checkpoint then: it is derived data)."""
    ids = list(numbers)
    if any("\n" in ident or "\t" in ident or not ident for ident in ids):
        return None
    return {"incidents": "\n".join(ids),
            "numbers": {ident: n for position, (ident, n) in enumerate(numbers.items(), start=1) if n != position}}


def index_of(doc: dict) -> dict[str, int]:
    text = doc["incidents"]
    ids = text.split("\n") if text else []
    index = dict(zip(ids, range(1, len(ids) + 1)))
    index.update(doc.get("numbers") or {})
    return index


def settled_text(lines: dict[str, str]) -> str:
    """Each settled incident's entry (`entry`), as the checkpoint keeps them: `"INC-1\t120,740#<digest>\n..."`
    (one text: parsed only by what reads a settled incident, `settled_of`)."""
    return "\n".join(f"{ident}\t{starts}" for ident, starts in lines.items())


def entry(starts, hashes) -> str:
    """A settled incident's entry in the checkpoint: where its lines start, and a digest of their
    hashes (the 64 hex digits each line ends with, the SHA-256 of its bytes), so that its lines read
    again by themselves later (`show`) are known to be the very lines the prefix's SHA-256 vouched
    for: `"120,740#<32 hex>"`."""
    return ",".join(map(str, starts)) + "#" + lines_digest(hashes)


def lines_digest(hashes) -> str:
    """The digest of a settled incident's line hashes its `entry` keeps."""
    return hashlib.sha256(b"".join(hashes)).hexdigest()[:32]


def entry_starts(text: str) -> list[int]:
    """Where the lines of a settled incident's `entry` start."""
    return [int(x) for x in text.split("#", 1)[0].split(",")]


def entry_digest(text: str) -> str | None:
    """The digest of a settled incident's `entry` (None in an entry without one)."""
    return text.split("#", 1)[1] if "#" in text else None


def settled_of(doc: dict) -> dict[str, str]:
    """`doc["settled"]` as a dict (incident -> its entry, `entry`), parsed once."""
    lines = doc.get("settled") or {}
    if isinstance(lines, str):
        lines = doc["settled"] = dict(item.split("\t", 1) for item in lines.split("\n") if item)
    return lines


def save(ledger: Path, body: dict) -> None:
    """Write the checkpoint (`_write_sealed`)."""
    _write_sealed(location(ledger), {**body, "version": VERSION, "ledger": _identity(ledger)})


# The views of settled incidents (issue 13: `list --json` and the JSON export at 10,000 incidents
# computed and encoded every incident's view). A settled incident's view no longer changes with the
# clock; it is kept here as the text a command made of it, under the key of what made it (this code,
# the command's kind of text, the profile, the regimes), beside the hash of the incident's last event,
# which the chain makes a commitment to every byte of the log up to it: the text is taken again only
# for an incident whose last line, in bytes the checkpoint's prefix vouches for, has that hash. Same
# folder, same seal, same rules as the checkpoint; `verify` never reads it.

def views_location(ledger: Path, kind: str) -> Path:
    """One views file per kind of text (`list --json`'s, the JSON export's, the CSV rows), so that
    running one command after the other does not make the other's texts again."""
    if not kind.replace("-", "").isalnum() or not kind.isascii():
        raise ValueError(f"not a kind of text: {kind!r}")
    return location(ledger).with_suffix(f".views.{kind}.json")


def load_views(ledger: Path, kind: str, key: str) -> dict[str, tuple[str, memoryview]]:
    """{incident id: (hash of its last event, its text compressed)} made under `key`, or {}. The file is
    sealed like the checkpoint; its body is a header line, then for each incident the line `id TAB hash
    TAB N` and the N bytes of its text compressed (zlib), so that reading it holds its bytes once."""
    data = _read_sealed(views_location(ledger, kind))
    if data is None:
        return {}
    first = data.find(b"\n")
    try:
        head = json.loads(b"{" + data[_SEALED:first])
    except ValueError:
        return {}
    if not isinstance(head, dict) or head.get("version") != VERSION or head.get("key") != key \
            or head.get("ledger") != _identity(ledger):
        return {}
    out: dict[str, tuple[str, memoryview]] = {}
    view, pos, size = memoryview(data), first + 1, len(data)
    while pos < size:
        end = data.find(b"\n", pos)
        tab1 = data.find(b"\t", pos, end)
        tab2 = data.find(b"\t", tab1 + 1, end)
        if end < 0 or tab1 < 0 or tab2 < 0 or not data[tab2 + 1:end].isdigit():
            return {}
        stop = end + 1 + int(data[tab2 + 1:end])
        if stop > size:
            return {}
        out[data[pos:tab1].decode("utf-8", "replace")] = (data[tab1 + 1:tab2].decode("ascii", "replace"),
                                                          view[end + 1:stop])  # (no copy)
        pos = stop
    return out


def save_views(ledger: Path, kind: str, key: str, views: dict[str, tuple[str, bytes]]) -> None:
    """Write the views file (`load_views`), sealed, atomically; silently give up on any error."""
    head = json.dumps({"version": VERSION, "key": key, "ledger": _identity(ledger)}, ensure_ascii=False)
    pieces = [piece for ident, (digest, packed) in views.items() if "\t" not in ident and "\n" not in ident
              for piece in (f"{ident}\t{digest}\t{len(packed)}\n".encode("utf-8", "replace"), packed)]
    _write_sealed_bytes(views_location(ledger, kind), b"{" + head[1:].encode("utf-8", "replace") + b"\n", pieces)


def first_time(ledger: Path, topic: str) -> bool:
    """True the first time it is asked for this ledger and topic (a marker in the same private
    folder); False afterwards, and whenever the marker cannot be written (then nothing is said)."""
    marker = location(ledger).with_suffix(f".{topic}")
    try:
        os.makedirs(marker.parent, mode=0o700, exist_ok=True)
        os.close(os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600))
    except OSError:
        return False
    return True
