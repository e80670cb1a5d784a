"""The ledger as a JSON Lines log (`*.jsonl`, the default): a header line, then one event a line.

The line of an event is the exact bytes its hash covers, plus the hash:

    {"data":{…},"incident":"INC-2026-001","prev":"<64 hex>","recorded_at":"…","seq":2,"type":"opened","hash":"<64 hex>"}

i.e. the RFC 8785 canonical JSON of the event without `hash` (keys sorted, no spaces, UTF-8), whose
closing `}` is replaced by `,"hash":"<SHA-256 of the canonical JSON>"}`, then `\\n`. So the hashed
bytes are the line without its last 75 bytes (`,"hash":"` + 64 hex digits + `"}`) followed by `}`:
verification hashes the stored bytes and never re-encodes an event to hash it. Each line is still
one JSON object (`jq .seq ledger.jsonl`), one event a line in `git diff`. A reader also checks that
the stored bytes are the canonical form of what they decode to, so the same events give the same
bytes, and the same hashes, in every format (`ledger migrate`).

The header is `{"format":"nis2-incident-ledger","schema_version":N}`. The profile is not repeated
there: it is what the `profile_set` events say.

Appending writes whole lines at the end of the file under the writer's lock, then fsyncs; nothing
before the end is ever rewritten. Bytes after the last newline (a write cut short by a crash or a
full disk) were never acknowledged: a reader ignores them, `verify` reports them, and the next
writer cuts them under the lock and says so. A complete line that does not verify, the last one
included, is an integrity error, never cut: a write's bytes end with its newline, so a write cut
short never leaves a complete line, and cutting an altered last line would erase the evidence. A log is written by this tool only: CR LF line ends or a byte order mark (another
program converted the file) are refused on any line, naming it, and never cut as a torn tail.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from ..errors import IntegrityError, LedgerError, WriteError
from . import chain, codec, fsio, locate

FORMAT = "nis2-incident-ledger"
SUFFIX_LEN = 75  # len(',"hash":"') + 64 + len('"}')
_HASH_KEY = b',"hash":"'
_HEX = frozenset(b"0123456789abcdef")


def is_log(path: Path) -> bool:
    return Path(path).suffix.lower() == ".jsonl"


def header_line(schema_version: int = codec.SCHEMA_VERSION) -> bytes:
    return b'{"format":"' + FORMAT.encode() + b'","schema_version":' + str(schema_version).encode() + b"}\n"


def line_of(event: dict) -> bytes:
    """The stored line of a sealed event (its `hash` must be the SHA-256 of its canonical body)."""
    body = chain.canonical(event)
    digest = hashlib.sha256(body).hexdigest()
    if event.get("hash") != digest:
        raise IntegrityError(f"event seq {event.get('seq')}: its hash is not that of its content", event.get("seq"))
    return body[:-1] + _HASH_KEY + digest.encode() + b'"}\n'


def line_hash(line: bytes) -> bytes:
    """The hash a stored line ends with (without its newline): `…,"hash":"<64 hex>"}`."""
    return line[-66:-2]


def holds_its_hash(line: bytes) -> bool:
    """Whether a stored line (without its newline) ends with the SHA-256 of its own bytes, the way
    `line_of` writes it (its shape is not checked: `read_line` does that)."""
    return len(line) > SUFFIX_LEN and line[-SUFFIX_LEN:-66] == _HASH_KEY \
        and hashlib.sha256(line[:-SUFFIX_LEN] + b"}").hexdigest().encode() == line_hash(line)


def _loads(data: bytes):
    """JSON text -> value, refusing what the ledger never holds (floats, NaN, integers beyond 64 bits,
    nesting past orjson's limit). orjson (compiled) replaced `json.loads` with an `object_pairs_hook`,
    about 3 times slower; duplicate keys need no hook: a line holding one is not the canonical form of
    what it decodes to, which `decode_line` checks."""
    value = orjson.loads(data)
    if chain.may_hold_odd_number(data) and chain.odd_number(value) == "float":
        raise ValueError("a number with decimals (the ledger holds none)")
    return value


def decode_line(line: bytes, number: int, path) -> tuple[dict, str]:
    """One stored line (without its newline) -> (event with `hash`, hash), checking that the hash is
    the SHA-256 of the stored bytes and that those bytes are the event's canonical form. LedgerError
    (IntegrityError for a hash or form that does not match) naming the line."""
    where = f"{path}: line {number}"
    if len(line) <= SUFFIX_LEN or line[-SUFFIX_LEN:-SUFFIX_LEN + len(_HASH_KEY)] != _HASH_KEY \
            or line[-2:] != b'"}' or not _HEX.issuperset(line[-66:-2]):
        raise LedgerError(f"{where}: not an event line (it must end with ,\"hash\":\"<64 hex digits>\"}})")
    body = bytes(line[:-SUFFIX_LEN]) + b"}"
    digest = bytes(line[-66:-2]).decode()
    try:
        event = _loads(body)
    except json.JSONDecodeError as exc:  # its own "line 1 column C" is within this line: say the column only
        raise LedgerError(f"{where}, column {exc.colno}: invalid JSON: {exc.msg}") from None
    except (ValueError, RecursionError) as exc:
        raise LedgerError(f"{where}: invalid JSON: {exc}") from None
    if not isinstance(event, dict):
        raise LedgerError(f"{where}: an event must be a JSON object")
    if body.count(b"[") + body.count(b"{") > locate.MAX_DEPTH - 2:  # cheap: only then walk it
        # the limit of a document, where an event sits at depth 3, so that what a log holds can be
        # migrated and exported to TOML or JSON (and read back)
        deep = locate.too_deep({"events": [event]})
        if deep is not None:
            raise LedgerError(f"{where}: {locate.describe_depth('', True, deep[2:])}")
    if hashlib.sha256(body).hexdigest() != digest:
        raise IntegrityError(f"{where}: event seq {event.get('seq')}: hash does not match its content: "
                             f"event seq {event.get('seq')} was altered", event.get("seq") if isinstance(event.get("seq"), int) else None)
    if "hash" in event:
        raise LedgerError(f"{where}: the event holds a second hash key")
    try:
        canonical = chain.canonical(event, fast=True)
    except IntegrityError as exc:  # e.g. an integer beyond 2^53: no canonical form (RFC 8785)
        raise IntegrityError(f"{where}: {exc.message}", exc.seq) from None
    if canonical != body:
        raise IntegrityError(f"{where}: event seq {event.get('seq')} is not stored in its canonical form "
                             "(RFC 8785): it was edited outside nis2-incident", event.get("seq") if isinstance(event.get("seq"), int) else None)
    event["hash"] = digest
    return event, digest


_BOM = b"\xef\xbb\xbf"


def refuse_conversion(path, number: int, line: bytes) -> None:
    """A log is written by nis2-incident only: a line ending in CR LF or starting with a byte order
    mark was converted by another program (an editor, git's core.autocrlf). It is refused, naming the
    line, wherever it is: never taken for a torn tail and cut."""
    if line.endswith(b"\r"):
        raise LedgerError(f"{path}: line {number} ends with CR LF (\\r\\n): a log's lines end with LF (\\n) only; "
                          "another program converted the file (an editor, or git's core.autocrlf: add "
                          "`*.jsonl -text` to .gitattributes). Restore it from a copy, or convert it back "
                          "(dos2unix) and run `verify`")
    if line.startswith(_BOM):
        raise LedgerError(f"{path}: line {number} starts with a UTF-8 byte order mark: a log is written by "
                          "nis2-incident only and has none; another program added it. Restore the file from a "
                          "copy, or remove those 3 bytes and run `verify`")


def parse_header(raw: bytes, path) -> tuple[int, int]:
    """(schema_version, offset of the first event line), or LedgerError."""
    if not raw or raw.isspace():  # (not `raw.strip()`: a copy of the whole file)
        raise LedgerError(f"{path}: the ledger is empty ({len(raw)} bytes); it is never treated as a new ledger. "
                          "Restore it from a backup or move it away and run `init`")
    end = raw.find(b"\n")
    if end < 0:
        refuse_conversion(path, 1, raw)
        raise LedgerError(f"{path}: line 1: the header line is cut short (no newline); this is not a complete ledger")
    refuse_conversion(path, 1, raw[:end])
    try:
        head = _loads(raw[:end])
    except (ValueError, RecursionError, UnicodeDecodeError) as exc:
        raise LedgerError(f"{path}: line 1: the header is not JSON ({exc}); a log ledger starts with "
                          f'{header_line().decode().strip()}') from None
    if not isinstance(head, dict) or head.get("format") != FORMAT:
        raise LedgerError(f"{path}: line 1: not a nis2-incident log (the header must name format {FORMAT!r})")
    version = head.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise LedgerError(f"{path}: line 1: schema_version: missing or not a positive integer")
    if version > codec.SCHEMA_VERSION:
        raise LedgerError(f"{path}: schema_version {version} is newer than this nis2-incident understands "
                          f"({codec.SCHEMA_VERSION}); upgrade nis2-incident")
    return version, end + 1


@dataclass
class Scan:
    """What a read of the log found: where each line starts and whose incident it is, each event's
    hash, the events themselves when asked to keep them, and the torn tail (bytes never
    acknowledged) if any."""

    schema_version: int
    events: list[dict] = field(default_factory=list)  # only with `keep`
    offsets: list[int] = field(default_factory=list)  # where each event's line starts
    owners: list[str | None] = field(default_factory=list)  # each event's incident
    hashes: list[str] = field(default_factory=list)
    last: dict | None = None  # the last good event's seq and hash (the head)
    recorded_at: str | None = None  # when the last good event was recorded
    end: int = 0  # the end of the last good line: where the next line goes
    torn: str | None = None  # what is wrong with the bytes after `end`, if any


def scan(raw: bytes, path, start: int = 0, prev: tuple[int, str] | None = None,
         version: int | None = None, apply=None, keep: bool = True, stop: int | None = None,
         track: bool = True, hashes: bool = True) -> Scan:
    """Decode and chain the lines of `raw` from offset `start` (0 without `version`: from the header)
    up to `stop` (default: the end), after the event `prev` = (seq, hash) (None: the first event);
    `apply(event)` is called on each in order (the fold, as it reads: no list of every event is held
    unless `keep`). `track`: keep each line's offset and incident (for the checkpoint); `hashes`: each
    event's hash (for `verify --head`). Raises LedgerError for anything but a torn tail."""
    import sys

    if start == 0 and version is None:
        version, start = parse_header(raw, path)
    out = Scan(version or codec.SCHEMA_VERSION, end=start)
    last_seq, last_hash = prev if prev is not None else (0, chain.GENESIS)
    # the line after event seq N is line N + 2 (the header is line 1, each event one line): no need to
    # count the newlines of a prefix the chain (or the checkpoint's hash of it) vouches for
    number = last_seq + 2
    pos, size = start, len(raw) if stop is None else stop
    intern = sys.intern
    # Lines that hold none of what orjson could write otherwise than RFC 8785 (see chain.py), no CR and
    # no byte order mark, are decoded here (`_plain_event`), which checks the same things in fewer steps;
    # any line it is not sure of goes through `decode_line`, which names what is wrong.
    plain = is_plain(raw, start, size)
    while pos < size:
        nl = raw.find(b"\n", pos)
        if nl < 0:
            out.torn = f"line {number} is cut short ({size - pos} bytes without a newline)"
            break
        ev, digest = read_line(raw, pos, nl, number, path, last_seq, last_hash, plain)
        if apply is not None:
            try:
                apply(ev)
            except LedgerError as exc:
                raise type(exc)(f"{path}: line {number}: {exc.message}") from None
        if keep:
            out.events.append(ev)
        if track:
            owner = ev.get("incident")
            out.owners.append(intern(owner) if owner is not None else None)
            out.offsets.append(pos)
        if hashes:
            out.hashes.append(digest)
        last_seq, last_hash = ev["seq"], digest
        out.recorded_at = ev["recorded_at"]
        pos = nl + 1
        out.end = pos
        number += 1
    out.last = {"seq": last_seq, "hash": last_hash} if last_seq else None
    return out


CHUNK = 1 << 20  # what a streamed read holds of the file at a time (plus one line)


@dataclass
class Through:
    """What a read through the checkpoint takes of the log in its one pass (`through`)."""

    hasher: object  # the SHA-256 state of the first `offset` bytes
    lines: dict[int, bytes]  # the lines asked for, by where they start (without their newline)
    last: bytes  # the prefix's last line (it ends at offset - 1)
    tail: bytes  # every byte after the prefix
    size: int  # the file's size as read


def through(chunks, offset: int, starts, hash_it: bool = True) -> Through | None:
    """One pass over the log's bytes (`chunks`: in order, in pieces of any size) for a read through its
    checkpoint: the SHA-256 of the first `offset` bytes, the lines that start at `starts` (ascending,
    each line below `offset`), the prefix's last line and every byte after it, holding one piece of the
    file at a time (at 10,000 incidents, 23 ms instead of 40 to read the 30 MB whole and hash it: a
    fresh 30 MB buffer costs its page faults). None when the file is shorter than `offset`, the prefix
    does not end with a newline, or `starts` are not starts of lines in order. `hash_it`: False when
    the caller knows the prefix's hash already (then `hasher` is None)."""
    hasher = hashlib.sha256() if hash_it else None
    lines: dict[int, bytes] = {}
    want = iter(starts)
    nxt = next(want, None)
    cur_start, cur = None, []  # a line asked for, begun in an earlier piece
    carry: list[bytes] = []  # the prefix's bytes after its last newline, in earlier pieces
    last, tail, pos, before = None, [], 0, 10  # before: the byte before the piece (10, newline, at the start)
    for piece in chunks:
        n = len(piece)
        k = min(n, offset - pos) if pos < offset else 0
        if k:
            if hasher is not None:
                hasher.update(memoryview(piece)[:k])
            if pos + k == offset:
                if piece[k - 1] != 10:  # 10: newline
                    return None
                i = piece.rfind(b"\n", 0, k - 1)
                last = b"".join(carry) + piece[:k - 1] if i < 0 else piece[i + 1:k - 1]
            else:
                i = piece.rfind(b"\n", 0, k)
                carry = [piece[i + 1:k]] if i >= 0 else carry + [piece[:k]]
        if pos + n > offset:
            tail.append(piece[max(0, offset - pos):])
        at = 0
        while True:
            if cur_start is None:
                if nxt is None or nxt >= pos + n:
                    break
                if nxt < pos + at or nxt >= offset or (piece[nxt - pos - 1] if nxt > pos else before) != 10:
                    return None  # (not where a line starts)
                cur_start, at = nxt, nxt - pos
                nxt = next(want, None)
            nl = piece.find(b"\n", at)
            if nl < 0:
                cur.append(piece[at:])
                break
            cur.append(piece[at:nl])
            lines[cur_start] = b"".join(cur)
            cur_start, cur, at = None, [], nl + 1
        if n:
            before = piece[-1]
        pos += n
    if pos < offset or last is None or cur_start is not None or nxt is not None:
        return None
    return Through(hasher, lines, last, b"".join(tail), pos)


def scan_chunks(chunks, path, apply=None, hashes: bool = True) -> tuple[Scan, int]:
    """`scan` over the file's bytes as they come (`chunks`: its bytes in order, in pieces of any
    size), holding one piece and the line it cuts at a time instead of the whole file (`verify`: a
    log of 10,000 incidents is about 30 MB). The same checks and errors as `scan` of the whole; no
    event is kept, no offset tracked. (scan, size of the file read)."""
    buf, version, prev, total, base = b"", None, None, 0, 0
    out = None
    for chunk in chunks:
        total += len(chunk)
        buf = buf + chunk if buf else chunk
        cut = buf.rfind(b"\n") + 1
        if not cut:
            continue
        start = 0
        if version is None:
            version, start = parse_header(buf, path)
            out = Scan(version, end=start)
        part = scan(buf, path, start, prev, version, apply=apply, keep=False, stop=cut, track=False,
                    hashes=hashes)
        if part.last is not None:
            prev = (part.last["seq"], part.last["hash"])
            out.last, out.recorded_at = part.last, part.recorded_at
            out.hashes += part.hashes
        out.end = base + cut
        base += cut
        buf = buf[cut:]
    if out is None:  # no complete first line: the header's own error (empty, cut short, not a log)
        parse_header(buf, path)
    if buf:
        out.torn = f"line {(prev[0] if prev else 0) + 2} is cut short ({len(buf)} bytes without a newline)"
    return out, total


def read_line(raw: bytes, pos: int, nl: int, number: int, path, last_seq: int, last_hash: str,
              plain: bool) -> tuple[dict, str]:
    """The event of the line raw[pos:nl] (line `number`), checked, with its hash: by `_plain_event`
    when the stretch read is plain, else (or when it is not sure) by `_checked_line`, which names
    what is wrong. Every line read goes through here (tests count them)."""
    if plain and nl - pos > SUFFIX_LEN:
        line = raw[pos:nl]
        body = line[:-SUFFIX_LEN] + b"}"
        digest = line[-66:-2].decode("ascii", "replace")
        try:
            ev = orjson.loads(body)
        except ValueError:
            ev = None
        if ev is not None and _plain_event(ev, line, body, digest, last_seq, last_hash):
            ev["hash"] = digest
            return ev, digest
    if raw[nl - 1] == 13 or raw.startswith(_BOM, pos):  # 13: CR
        refuse_conversion(path, number, raw[pos:nl])
    # A complete line that does not verify is never a torn write: a write ends its bytes with the
    # newline, so one cut short lacks it. Even the last line is an alteration (or damage), refused
    # like any other and never cut, so the next write cannot erase the evidence.
    return _checked_line(memoryview(raw)[pos:nl], number, path, last_seq, last_hash)


def _checked_line(line, number: int, path, last_seq: int, last_hash: str) -> tuple[dict, str]:
    """`decode_line`, then the event's shape and its place in the chain; LedgerError naming the line."""
    ev, digest = decode_line(line, number, path)
    codec.check_event(ev, number - 2, path)
    if ev["seq"] != last_seq + 1:
        raise IntegrityError(f"{path}: line {number}: event #{last_seq + 1} has seq {ev['seq']}: an event "
                             f"was removed, duplicated or moved at seq {last_seq + 1}", last_seq + 1)
    if ev["prev"] != last_hash:
        raise IntegrityError(f"{path}: line {number}: event seq {ev['seq']}: prev does not match the hash "
                             f"of event seq {last_seq}: the chain is broken at seq {ev['seq']}", ev["seq"])
    return ev, digest


# What makes a stretch of the log not plain (see `scan`): an escape (a lone surrogate could hide in
# one), 4-byte UTF-8 (keys sorted by UTF-16 code units), CR and the byte order mark (refused).
_NOT_PLAIN = (b"\\u", b"\xf0", b"\xf1", b"\xf2", b"\xf3", b"\xf4", b"\r", _BOM)
# Each looked for by a byte first: `bytes.find` of one byte is memchr (about 1.5 ms over the 30 MB of
# 10,000 incidents), of two or three bytes a slower search (20-27 ms each)
_FIRST_BYTES = {mark[:1]: [m for m in _NOT_PLAIN if m[:1] == mark[:1]] for mark in _NOT_PLAIN}


def is_plain(raw: bytes, start: int = 0, end: int | None = None) -> bool:
    """Whether raw[start:end] holds none of `_NOT_PLAIN`."""
    end = len(raw) if end is None else end
    for first, marks in _FIRST_BYTES.items():
        if raw.find(first, start, end) >= 0 and any(raw.find(m, start, end) >= 0 for m in marks):
            return False
    return True
_SORTED_STRICT = orjson.OPT_SORT_KEYS | orjson.OPT_STRICT_INTEGER
_MAX_OPEN = locate.MAX_DEPTH - 2
_TOP_KEYS = frozenset({"data", "incident", "prev", "recorded_at", "seq", "type"})  # (no `hash`: it is the line's)


def _plain_event(ev, line: bytes, body: bytes, digest: str, last_seq: int, last_hash: str) -> bool:
    """True when the decoded `ev` of a plain line passes every check of `_checked_line` (so it would
    return the same event): an object with the keys and types of an event, next in the chain, its
    hash that of the stored bytes, those bytes its canonical form (orjson with sorted keys writes RFC
    8785 for plain text; OPT_STRICT_INTEGER refuses integers of 2^53 and more), no number with
    decimals, not nested too deep. False sends the line to `_checked_line`, which says what is wrong."""
    if type(ev) is not dict or not ev.keys() <= _TOP_KEYS or line[-SUFFIX_LEN:-66] != _HASH_KEY \
            or line[-2:] != b'"}':
        return False
    seq = ev.get("seq")
    if type(seq) is not int or seq != last_seq + 1 or ev.get("prev") != last_hash \
            or type(ev.get("type")) is not str or type(ev.get("recorded_at")) is not str:
        return False
    if "incident" in ev and type(ev["incident"]) is not str:
        return False
    data = ev.get("data")
    if type(data) is dict:
        for value in data.values():
            kind = type(value)
            if kind is float or ((kind is dict or kind is list) and chain.odd_number(value) is not None):
                return False
    elif data is not None and chain.odd_number(data) is not None:
        return False
    if body.count(b"[") + body.count(b"{") > _MAX_OPEN:
        return False
    # (the stored hash is lowercase hex when it equals a hexdigest: `digest` is its bytes decoded)
    if hashlib.sha256(body).hexdigest() != digest:
        return False
    try:
        return orjson.dumps(ev, option=_SORTED_STRICT) == body
    except (TypeError, ValueError):  # orjson.JSONEncodeError is a TypeError
        return False


def torn_message(path, scan_: Scan, size: int) -> str:
    return (f"{path}: {scan_.torn}: the last {size - scan_.end} byte(s) were never acknowledged "
            "(a write cut short)")


def append(store, lines: list[bytes], end: int, size: int) -> None:
    """Write `lines` at offset `end` of the log, under the caller's lock, and fsync. `size` is the
    file's size as read under the lock: bytes between `end` and `size` are a torn tail, cut first.
    On failure the file is cut back to `end` where possible; WriteError either way."""
    path = store.path
    payload = b"".join(lines)
    try:
        fd = fsio.open_fd(path, os.O_WRONLY)
    except OSError as exc:
        raise WriteError(f"{path}: cannot open the ledger to append ({exc.strerror or exc}); nothing was recorded") from None
    try:
        try:
            if size != end:
                fsio.ftruncate(fd, end)
            view, offset = memoryview(payload), end
            while view:
                written = fsio.pwrite(fd, view, offset)
                view, offset = view[written:], offset + written
            fsio.fsync(fd)
        except OSError as exc:
            try:
                fsio.ftruncate(fd, end)
                fsio.fsync(fd)
                left = ""
            except OSError:
                left = "; a partial line may be left at the end, which the next write cuts"
            raise WriteError(f"{path}: could not append to the ledger ({exc.strerror or exc}); nothing was "
                             f"recorded{left}") from None
    finally:
        try:
            fsio.close(fd)
        except OSError:
            pass
