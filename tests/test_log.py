"""The ledger as a JSON Lines log (issue 13, README "What we promise about your data"): one event a
line, each line the exact bytes its hash covers plus the hash; appends write whole lines at the end;
a torn tail is ignored by readers, reported by `verify` and cut by the next writer; documents (TOML,
JSON) convert to and from the log with the same events, hashes and head."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nis2_incident.cli import app
from nis2_incident.ledger import Store, log

runner = CliRunner()
FIXTURES = Path(__file__).parent / "fixtures"


def cli(ledger: Path, *args: str, now: str = "2026-03-29T12:00"):
    return runner.invoke(app, ["--ledger", str(ledger), "--now", now, *args], catch_exceptions=False)


def build(path: Path) -> Path:
    steps = [
        ("2026-03-28T09:00", ["init", "--name", "CHU Log", "--category", "essential"]),
        ("2026-03-28T10:30", ["open", "Rançongiciel « PACS »\nligne 2", "--aware", "2026-03-28T10:00", "--malicious",
                              "--personal-data", "--ioc", "198.51.100.7", "--summary", "tab\there 🔓"]),
        ("2026-03-28T20:00", ["submit", "1", "nis2.early_warning", "--reference", "CERTFR-1"]),
        ("2026-03-29T09:00", ["open", "Panne", "--aware", "2026-03-29T08:00"]),
        ("2026-03-29T10:00", ["close", "2"]),
    ]
    for now, args in steps:
        r = cli(path, *args, now=now)
        assert r.exit_code == 0, r.stderr
    return path


def lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def test_each_line_is_the_hashed_bytes_then_the_hash(tmp_path):
    path = build(tmp_path / "ledger.jsonl")
    header, *events = lines(path)
    assert json.loads(header) == {"format": "nis2-incident-ledger", "schema_version": 1}
    assert len(events) == 6  # profile, opened, filed, opened, handled, closed
    prev = "0" * 64
    for number, line in enumerate(events, start=1):
        assert line.endswith(b'"}\n') and b"\n" not in line[:-1]
        event = json.loads(line)  # one JSON object a line (jq reads it)
        body = line[:-(log.SUFFIX_LEN + 1)] + b"}"  # the line without ,"hash":"…"} and its newline
        assert hashlib.sha256(body).hexdigest() == event["hash"]
        without = {k: v for k, v in event.items() if k != "hash"}
        assert body == json.dumps(without, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        assert event["seq"] == number and event["prev"] == prev
        prev = event["hash"]
    assert "🔓".encode() in path.read_bytes()  # UTF-8, not escaped


def test_a_write_appends_whole_lines_and_never_rewrites_what_is_there(tmp_path):
    path = build(tmp_path / "ledger.jsonl")
    before, inode = path.read_bytes(), path.stat().st_ino
    r = cli(path, "submit", "1", "nis2.notification", now="2026-03-29T11:00")
    assert r.exit_code == 0, r.stderr
    after = path.read_bytes()
    assert after.startswith(before) and after.count(b"\n") == before.count(b"\n") + 1
    assert path.stat().st_ino == inode  # appended in place: no temporary copy renamed over it
    assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name]


@pytest.mark.parametrize("junk", [b'{"data":{"at":"2026-03-29T', b"\x00" * 40, b'{"seq":7,"type":"fil'])
def test_a_torn_tail_is_ignored_by_reads_reported_by_verify_and_cut_by_the_next_write(tmp_path, junk):
    path = build(tmp_path / "ledger.jsonl")
    good = path.read_bytes()
    path.write_bytes(good + junk)
    r = cli(path, "status", "--json")
    assert r.exit_code == 0 and len(json.loads(r.stdout)) == 2  # the reader ignores the unacknowledged bytes
    r = cli(path, "verify")
    assert r.exit_code == 3 and "line 8" in r.stderr and "never acknowledged" in r.stderr
    assert path.read_bytes() == good + junk  # reading never writes
    r = cli(path, "submit", "1", "nis2.notification", now="2026-03-29T11:00")
    assert r.exit_code == 0, r.stderr
    assert "cut before this write" in r.stderr
    data = path.read_bytes()
    new = data[len(good):]
    assert data.startswith(good) and new.count(b"\n") == 1 and json.loads(new)["seq"] == 7  # one whole line
    assert cli(path, "verify").exit_code == 0


def test_an_altered_last_line_is_refused_never_cut_as_a_torn_write(tmp_path):
    """A complete last line that does not verify is not what a write cut short leaves (its bytes end
    with the newline): it is an alteration, refused by every command (exit 3, naming the line), and
    no write cuts it, so the evidence stays. (The issue's first design cut it as a torn tail.)"""
    path = build(tmp_path / "ledger.jsonl")
    *keep, last = lines(path)
    altered = b"".join(keep) + last.replace(b'"type":"closed"', b'"type":"close_"')
    path.write_bytes(altered)
    r = cli(path, "verify")
    assert r.exit_code == 3 and "line 7" in r.stderr and "altered" in r.stderr
    for args in (["show", "2", "--json"], ["submit", "1", "nis2.notification", "--at", "2026-03-29T10:30"]):
        assert cli(path, *args).exit_code == 3, args
    assert path.read_bytes() == altered


def test_an_altered_event_before_the_end_fails_every_command_and_nothing_is_written(tmp_path):
    path = build(tmp_path / "ledger.jsonl")
    data = path.read_bytes().replace(b"CERTFR-1", b"CERTFR-2")
    path.write_bytes(data)
    r = cli(path, "verify")
    assert r.exit_code == 3 and "line 4" in r.stderr and "seq 3" in r.stderr and "altered" in r.stderr
    for args in (["status"], ["submit", "1", "nis2.notification"], ["open", "x", "--aware", "-1h"]):
        r = cli(path, *args)
        assert r.exit_code == 3, (args, r.stderr)
    assert path.read_bytes() == data


def test_a_line_rewritten_in_another_json_form_with_its_hash_recomputed_is_refused(tmp_path):
    """Same data, other bytes (spaces, another key order): the hash matches the bytes, but the line
    is not the canonical form, so it could not give the same hash in another format: refused."""
    path = build(tmp_path / "ledger.jsonl")
    header, *events = lines(path)
    event = json.loads(events[2])
    body = json.dumps({k: v for k, v in event.items() if k != "hash"}, indent=1, ensure_ascii=False).replace("\n", " ")
    digest = hashlib.sha256(body.encode()).hexdigest()
    # keep the chain: the next event's prev must name the new hash
    nxt = events[3].replace(event["hash"].encode(), digest.encode())
    events[2] = body[:-1].encode() + b',"hash":"' + digest.encode() + b'"}\n'
    events[3] = nxt
    path.write_bytes(header + b"".join(events))
    r = cli(path, "verify")
    assert r.exit_code == 3 and "canonical form" in r.stderr and "line 4" in r.stderr


def test_documents_and_the_log_convert_with_the_same_events_hashes_and_head(tmp_path):
    log_path = build(tmp_path / "ledger.jsonl")
    head = cli(log_path, "verify").stdout.strip().splitlines()[-1]
    toml_path, json_path, back = tmp_path / "l.toml", tmp_path / "l.json", tmp_path / "back.jsonl"
    for old, new in ((log_path, toml_path), (toml_path, json_path), (json_path, back)):
        r = runner.invoke(app, ["ledger", "migrate", str(old), str(new)], catch_exceptions=False)
        assert r.exit_code == 0, r.stderr
        assert cli(new, "verify").stdout.strip().splitlines()[-1] == head
    assert back.read_bytes() == log_path.read_bytes()
    # the same through `export`: the document forms of any ledger
    for kind in ("toml", "jsonl", "json"):
        out = tmp_path / f"export.{kind}"
        assert cli(toml_path, "export", "--format", kind, "--output", str(out)).exit_code == 0
        assert cli(out, "verify").stdout.strip().splitlines()[-1] == head
    # the JSON export of the log (its events copied from the log's lines, one a line) is a JSON ledger
    # document too, with the same hashes and head
    record = tmp_path / "record.json"
    assert cli(log_path, "export", "--format", "json", "--output", str(record)).exit_code == 0
    assert cli(record, "verify").stdout.strip().splitlines()[-1] == head
    assert json.loads(record.read_bytes())["events"] == [json.loads(x) for x in lines(log_path)[1:]]
    assert (tmp_path / "export.jsonl").read_bytes() == log_path.read_bytes()
    # never over an existing file
    r = runner.invoke(app, ["ledger", "migrate", str(toml_path), str(back)])
    assert r.exit_code == 5 and back.read_bytes() == log_path.read_bytes()


def test_the_version_1_fixture_migrates_to_a_log_with_its_original_hashes(tmp_path):
    fixture = tmp_path / "ledger-v1.toml"
    shutil.copy(FIXTURES / "ledger-v1.toml", fixture)
    head = cli(fixture, "verify").stdout.strip().splitlines()[-1]
    import tomllib

    stored = tomllib.loads(fixture.read_text())["events"]
    assert head == f"head: {stored[-1]['seq']}:{stored[-1]['hash']}"
    target = tmp_path / "ledger.jsonl"
    assert runner.invoke(app, ["ledger", "migrate", str(fixture), str(target)]).exit_code == 0
    assert [json.loads(x)["hash"] for x in lines(target)[1:]] == [ev["hash"] for ev in stored]
    assert cli(target, "verify").stdout.strip().splitlines()[-1] == head


def test_a_log_of_a_newer_schema_or_another_format_is_refused(tmp_path):
    path = build(tmp_path / "ledger.jsonl")
    data = path.read_bytes()
    path.write_bytes(data.replace(b'"schema_version":1', b'"schema_version":99', 1))
    r = cli(path, "status")
    assert r.exit_code == 3 and "newer" in r.stderr
    path.write_bytes(b'{"format":"other"}\n' + data.split(b"\n", 1)[1])
    r = cli(path, "status")
    assert r.exit_code == 3 and "not a nis2-incident log" in r.stderr


def test_init_creates_a_log_by_default_and_whatever_the_name_says(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    r = runner.invoke(app, ["--now", "2026-03-28T09:00", "init", "--name", "X", "--category", "important"])
    assert r.exit_code == 0, r.stderr
    default = tmp_path / "data" / "nis2-incident" / "ledger.jsonl"
    assert default.read_bytes().startswith(b'{"format":"nis2-incident-ledger"')
    for name, start in (("a.toml", b"schema_version"), ("b.json", b"{")):
        assert cli(tmp_path / name, "init", "--name", "X", "--category", "important").exit_code == 0
        assert (tmp_path / name).read_bytes().startswith(start)
    # an older per-user TOML ledger (and no log) stays the default until migrated
    older = tmp_path / "old" / "nis2-incident"
    older.mkdir(parents=True)
    shutil.copy(FIXTURES / "ledger-v1.toml", older / "ledger.toml")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "old"))
    r = runner.invoke(app, ["paths", "--json"])
    assert json.loads(r.stdout)["ledger"].endswith("ledger.toml")


def test_an_append_that_fails_leaves_the_log_as_it_was(tmp_path, monkeypatch):
    from nis2_incident.ledger import fsio

    path = build(tmp_path / "ledger.jsonl")
    before = path.read_bytes()
    real = fsio.pwrite
    calls = []

    def failing(fd, data, offset):
        calls.append(offset)
        real(fd, bytes(data)[:10], offset)  # a part of the line reaches the file, then the disk is full
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fsio, "pwrite", failing)
    r = cli(path, "submit", "1", "nis2.notification", now="2026-03-29T11:00")
    assert calls and r.exit_code == 7 and "nothing was recorded" in r.stderr
    assert path.read_bytes() == before
    assert os.path.getsize(path) == len(before)


def test_bug_invalid_json_in_a_line_named_line_1_as_well_as_its_own_line(tmp_path):
    """Found by the random byte flips of tests/test_tamper_scale.py: a line that is not JSON was
    reported as "line 4: invalid JSON: Invalid control character at: line 1 column 57 (char 56)",
    naming a second, wrong line (json's own count, within the one line it was given). Now: the
    line of the file and the column in it."""
    path = build(tmp_path / "ledger.jsonl")
    header, *events = lines(path)
    pos = events[2].index(b"CERTFR-1")
    events[2] = events[2][:pos] + b"\x01" + events[2][pos + 1:]
    path.write_bytes(header + b"".join(events))
    r = cli(path, "verify")
    assert r.exit_code == 3
    assert r.stderr == f"error: {path}: line 4, column {pos + 1}: invalid JSON: unexpected control character in string\n"


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=8) | st.sampled_from(
    ["\ue000", "\U0001f513", "a\u2028b", "\x00\x1f\x7f", "é\"\\"])
_scalars = st.none() | st.booleans() | st.integers(-(2**60), 2**60) | _texts
_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_texts, inner, max_size=4),
                       max_leaves=12)


@settings(max_examples=400, deadline=None)
@given(event=st.dictionaries(_texts, _values, max_size=6))
def test_the_fast_canonical_form_is_rfc8785_or_defers_to_it(event):
    """The fast path (orjson, sorted keys) is used only where it writes RFC 8785's bytes: on any
    value, `canonical(fast=True)` equals the rfc8785 package's output, or both refuse it."""
    import rfc8785

    from nis2_incident.errors import IntegrityError
    from nis2_incident.ledger import chain

    try:
        expected = rfc8785.dumps({k: v for k, v in event.items() if k != "hash"})
    except Exception:
        with pytest.raises(IntegrityError):
            chain.canonical(event, fast=True)
        return
    assert chain.canonical(event, fast=True) == expected


def _read_both_ways(line: bytes, last: tuple[int, str]):
    """What `read_line` gives for one line, by the plain path and by the checked path: the event or the
    error's text."""
    from nis2_incident.errors import LedgerError
    from nis2_incident.ledger import log

    raw = line + b"\n"
    out = []
    for plain in (True, False):
        try:
            out.append(log.read_line(raw, 0, len(line), 5, "L", last[0], last[1], plain))
        except LedgerError as exc:
            out.append(("error", type(exc).__name__, exc.message))
    return out


_floats = st.floats(allow_nan=False, allow_infinity=False)
_data = st.dictionaries(_texts, _values | _floats | st.lists(_floats, max_size=2), max_size=4)


@settings(max_examples=300, deadline=None)
@given(data=_data, seq=st.just(5) | st.sampled_from([4, 6, 2**53, "5", None]),
       extra=st.dictionaries(st.sampled_from(["hash", "x", "incident", "type"]), _values | _floats, max_size=2),
       edit=st.integers(0, 400), byte=st.binary(min_size=0, max_size=2))
def test_the_plain_path_reads_every_line_as_the_checked_path_does(data, seq, extra, edit, byte):
    """`read_line` takes the plain path (orjson, fewer steps) only where it returns what the checked
    path (`decode_line`, which names what is wrong) returns: on events of any content (floats, integers
    of 2^53, odd keys and characters, a second hash, a seq out of place) sealed as the tool seals
    them, and on the same lines with bytes replaced, both give the same event or the same error."""
    import hashlib

    from nis2_incident.ledger import chain

    prev = "a" * 64
    event = {"data": data, "incident": "INC-2026-001", "prev": prev, "recorded_at": "2026-03-01T10:00:00Z",
             "seq": seq, "type": "amended", **extra}
    try:
        body = chain.canonical(event)
    except Exception:
        import orjson

        body = orjson.dumps(event, option=orjson.OPT_SORT_KEYS)  # what another program could write
    line = body[:-1] + b',"hash":"' + hashlib.sha256(body).hexdigest().encode() + b'"}'
    variants = [line, line[:edit] + byte + line[edit + len(byte):]]
    results = [_read_both_ways(candidate, (4, prev)) for candidate in variants]
    for plain, checked in results:
        assert plain == checked
    assert len(results) == 2


_PIECES = [b"a", b"\\", b"u", b"\\u", b"\xef", b"\xbb", b"\xbf", b"\xef\xbb\xbf", b"\r", b"\xf0", b"\xf4", b"\n"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=12), st.integers(0, 30), st.integers(0, 30))
def test_is_plain_is_the_absence_of_every_mark(pieces, start, end):
    """`is_plain` looks for each mark by its first byte first (memchr): the same answer as looking for
    every mark, over any stretch."""
    raw = b"".join(pieces)
    expected = all(raw.find(mark, start, end) < 0 for mark in log._NOT_PLAIN)
    assert log.is_plain(raw, start, end) == expected


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=12).map(lambda b: b.replace(b"\n", b"")), min_size=1, max_size=12),
       st.data())
def test_through_takes_what_a_whole_read_would(lines, data):
    """`log.through` reads the log once, in pieces of any size, and gives what slicing the whole file
    gives: the prefix's SHA-256, the lines asked for, the prefix's last line and the bytes after it;
    None for an offset that is not a line's end, or a start that is not a line's."""
    raw = b"".join(line + b"\n" for line in lines) + data.draw(st.binary(max_size=8), "tail")
    ends = [i + 1 for i, byte in enumerate(raw) if byte == 10]
    offset = data.draw(st.sampled_from(ends + [len(raw) + 1, 1]), "offset")
    begins = [0] + ends
    starts = sorted(set(data.draw(st.lists(st.sampled_from(begins) | st.integers(0, len(raw)), max_size=4),
                                  "starts")))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(raw)), max_size=5), "cuts"))
    chunks = [raw[a:b] for a, b in zip([0, *cuts], [*cuts, len(raw)])]
    got = log.through(iter(chunks), offset, starts)
    fits = offset in ends and all(start < offset and (start == 0 or raw[start - 1] == 10) for start in starts)
    if not fits:
        assert got is None
        return
    assert got is not None
    assert got.hasher.hexdigest() == hashlib.sha256(raw[:offset]).hexdigest()
    assert got.lines == {start: raw[start:raw.index(b"\n", start)] for start in starts}
    assert got.last == raw[raw.rfind(b"\n", 0, offset - 1) + 1:offset - 1]
    assert got.tail == raw[offset:] and got.size == len(raw)
