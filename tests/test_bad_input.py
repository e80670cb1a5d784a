"""Bad input gives clean errors, fast (DESIGN §3, row "bad input"; SPEC §8; issue 7, item 6).

tests/test_ledger.py fuzzes the reader with random and mutated bytes and forged values, and
tests/test_timeutil.py fuzzes WHEN with short text. This adds what those leave out: hostile values at
value positions (nesting thousands of levels deep, 5,000-digit integers, NaN and infinities, duplicate
keys), byte order marks (UTF-8, doubled, UTF-16, UTF-32, in the middle), invalid UTF-8 sequences, and
the same through the command line. Every example must give only the project's own error, naming the
file and a place in it (a line, a byte, an event). No example may hang (the subprocesses have a
timeout); speed is measured by benchmarks/, never asserted here.
A ledger that reads must also accept a write: what reads can be written.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from conftest import at
from nis2_incident import timeutil as tu
from nis2_incident.cli import app
from nis2_incident.errors import InputError, LedgerError, Nis2IncidentError
from nis2_incident.ledger import Ledger, Store, codec, parse
from nis2_incident.service import Service, folded

NOW = "2026-03-28T12:00"
runner = CliRunner()
LOCATION = re.compile(r"line \d+|byte \d+|events\[\d+\]|seq \d+|event #\d+|schema_version|profile|top level"
                      r"|is empty")
BOMS = [b"\xef\xbb\xbf", b"\xef\xbb\xbf\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\xff\xfe\x00\x00",
        b"\x00\x00\xfe\xff"]
BAD_UTF8 = [b"\xff", b"\x80", b"\xc3", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xe2\x82"]


def seed(fmt: str) -> bytes:
    ledger = Ledger(profile={"name": "CHU", "category": "essential", "timezone": "Europe/Paris",
                             "regimes": ["nis2"]})
    ledger.append({"type": "profile_set", "recorded_at": "2026-03-28T12:00:00+01:00", "data": dict(ledger.profile)})
    ledger.append({"type": "opened", "recorded_at": "2026-03-28T12:00:00+01:00", "incident": "INC-2026-001",
                   "data": {"title": "Ransomware", "aware_at": "2026-03-28T10:00:00+01:00",
                            "significance": "undetermined", "number": 1, "iocs": ["1.2.3.4"]}})
    return codec.encode(ledger.to_data(), Path(f"x.{fmt}"))


SEED = {"toml": seed("toml"), "json": seed("json")}
# value positions in the seed texts: the incident number, and the last of the list of indicators
SLOTS = {"toml": [b"number = 1", b'"1.2.3.4"'], "json": [b'"number": 1', b'"1.2.3.4"']}


def deep(fmt: str):
    open_close = {"json": [("[", "]"), ('{"a": ', "}")], "toml": [("[", "]"), ("{ a = ", "}")]}[fmt]
    return st.tuples(st.sampled_from(open_close), st.integers(1, 20_000)).map(
        lambda t: t[0][0] * t[1] + ("1" if "a" in t[0][0] else "") + t[0][1] * t[1])


def hostile_value(fmt: str):
    digits = st.integers(4000, 6000).map(lambda n: "9" * n)
    common = [deep(fmt), digits, digits.map(lambda d: "-" + d)]
    if fmt == "json":
        return st.one_of(*common, st.sampled_from(["NaN", "Infinity", "-Infinity", "1.5", "1e400", "-0.0",
                                                    '{"a": 1, "a": 2}', '"\\ud800"', '"\\u0000"', "[1,]", "01"]))
    return st.one_of(*common, digits.map(lambda d: "_".join(d[i:i + 3] for i in range(0, len(d), 3))),
                     st.sampled_from(["nan", "inf", "-inf", "1.5", "1979-05-27T07:32:00Z", "1979-05-27",
                                      "07:32:00", '"\\ud800"', "0x" + "f" * 5000, "{ a = 1, a = 2 }",
                                      '"""x"""', "[1,]", "+01"]))


@st.composite
def hostile_ledger(draw):
    fmt = draw(st.sampled_from(["toml", "json"]))
    raw = SEED[fmt]
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["value"] * 6 + ["bom", "bom-inside", "utf16", "bad-utf8", "dup-line"]))
        if kind == "value":
            slot = draw(st.sampled_from([s for s in SLOTS[fmt] if s in raw] or [b""]))
            if slot:
                key, sep = (slot.split(b"=")[0] + b"= ", b"") if fmt == "toml" and b"=" in slot else (b"", b"")
                if fmt == "json" and b":" in slot:
                    key = slot.split(b":")[0] + b": "
                value = draw(hostile_value(fmt)).encode()
                raw = raw.replace(slot, key + value + sep, 1)
        elif kind == "bom":
            raw = draw(st.sampled_from(BOMS)) + raw
        elif kind == "bom-inside":
            pos = draw(st.integers(0, len(raw)))
            raw = raw[:pos] + b"\xef\xbb\xbf" + raw[pos:]
        elif kind == "utf16":
            raw = raw.decode("utf-8", "replace").encode(draw(st.sampled_from(["utf-16", "utf-32", "utf-16-be"])))
        elif kind == "bad-utf8":
            pos = draw(st.integers(0, len(raw)))
            raw = raw[:pos] + draw(st.sampled_from(BAD_UTF8)) + raw[pos:]
        elif kind == "dup-line":
            lines = raw.split(b"\n")
            i = draw(st.integers(0, len(lines) - 1))
            lines.insert(i, lines[i])
            raw = b"\n".join(lines)
    return fmt, raw


def only_project_errors(raw: bytes, fmt: str) -> Ledger | None:
    """Parse (and fold) with the file named; every refusal names the file and a place in it."""
    path = Path(f"/ledgers/hostile.{fmt}")
    try:
        ledger = parse(raw, path)
        folded(ledger, str(path))
    except LedgerError as exc:
        assert exc.message.startswith(f"{path}: "), exc.message
        assert LOCATION.search(exc.message), exc.message
        return None
    return ledger


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=hostile_ledger())
def test_hostile_ledgers_give_only_project_errors_with_a_location(case):
    fmt, raw = case
    only_project_errors(raw, fmt)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=hostile_ledger())
def test_what_reads_can_be_written(case):
    """A ledger that parses accepts a write (or refuses it with a project error); never a crash in the
    writer. Found: a value nested 300 levels deep read fine and then crashed the TOML writer."""
    fmt, raw = case
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"ledger.{fmt}"
        path.write_bytes(raw)
        try:
            Service(Store(path), at(NOW)).open_incident("After", "2026-03-28T10:00")
        except Nis2IncidentError:
            assert path.read_bytes() == raw
        else:
            assert Store(path).read().events[-1]["data"]["title"] == "After"


@pytest.mark.parametrize("depth", [32, 300, 5000])
@pytest.mark.parametrize("fmt", ["toml", "json"])
def test_bug_deep_nesting_in_another_tools_key_crashed_the_next_write(tmp_path, make_service, fmt, depth):
    """Found by the write fuzzing: a top-level key of another tool (kept as it is) holding a list
    nested 300 levels deep parsed and verified, then `open` died in the TOML writer with RecursionError
    (exit 70). Now nesting beyond 32 levels is refused when reading (exit 3), with its place."""
    path = tmp_path / f"ledger.{fmt}"
    make_service(NOW, path=path)
    data = json.loads(path.read_text()) if fmt == "json" else tomllib.loads(path.read_text())
    text = codec.encode({"other_tool": 1, **data}, path).decode()
    nested = "[" * depth + "]" * depth
    text = text.replace('"other_tool": 1', f'"other_tool": {nested}') if fmt == "json" else \
        text.replace("other_tool = 1", f"other_tool = {nested}")
    path.write_text(text, "utf-8")
    before = path.read_bytes()
    for args in (["verify"], ["open", "Deep", "--aware", "2026-03-28T10:00"]):
        result = runner.invoke(app, ["--ledger", str(path), "--now", NOW, *args], catch_exceptions=False)
        assert result.exit_code == 3, result.stderr
        line = result.stderr.strip()
        assert re.fullmatch(rf"error: {re.escape(str(path))}: line \d+, column \d+: invalid ledger: nested more "
                            r"than 32 levels deep( \(under other_tool\[0\]\[0\]\[0\]…\)| \(maximum recursion "
                            r"depth exceeded\))", line), line
        assert path.read_bytes() == before


@pytest.mark.parametrize("fmt", ["toml", "json"])
def test_a_ledger_nested_at_the_limit_is_read_and_written(tmp_path, make_service, fmt):
    path = tmp_path / f"ledger.{fmt}"
    make_service(NOW, path=path)
    data = Store(path).read().to_data()
    data["other_tool"] = json.loads("[" * 31 + "]" * 31)  # depth 32 with the top level
    path.write_bytes(codec.encode(data, path))
    result = runner.invoke(app, ["--ledger", str(path), "--now", NOW, "open", "x", "--aware", "2026-03-28T10:00"])
    assert result.exit_code == 0, result.stderr
    assert Store(path).read().extra["other_tool"] == data["other_tool"]


# --- byte order marks and bad UTF-8, through the command line ----------------------------------


@pytest.mark.parametrize("fmt", ["toml", "json"])
def test_a_utf8_bom_is_accepted_and_the_next_write_drops_it(tmp_path, make_service, fmt):
    """Notepad saves UTF-8 with a BOM; the ledger is still the same ledger."""
    path = tmp_path / f"ledger.{fmt}"
    make_service(NOW, path=path)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    result = runner.invoke(app, ["--ledger", str(path), "verify"])
    assert result.exit_code == 0, result.stderr
    result = runner.invoke(app, ["--ledger", str(path), "--now", NOW, "open", "x", "--aware", "2026-03-28T10:00"])
    assert result.exit_code == 0, result.stderr
    assert not path.read_bytes().startswith(b"\xef\xbb\xbf")


@pytest.mark.parametrize(("bom", "encoding", "name"), [
    (b"", "utf-16", "UTF-16"), (b"", "utf-32", "UTF-32"), (b"\xef\xbb\xbf\xef\xbb\xbf", "utf-8", None)])
@pytest.mark.parametrize("fmt", ["toml", "json"])
def test_other_byte_order_marks_are_refused_with_the_place(tmp_path, make_service, fmt, bom, encoding, name):
    path = tmp_path / f"ledger.{fmt}"
    make_service(NOW, path=path)
    damaged = bom + path.read_text("utf-8").encode(encoding)
    path.write_bytes(damaged)
    for args in (["verify"], ["--now", NOW, "open", "x", "--aware", "2026-03-28T10:00"]):
        result = runner.invoke(app, ["--ledger", str(path), *args])
        assert result.exit_code == 3, result.stderr
        message = result.stderr.strip()
        assert message.startswith(f"error: {path}: ")
        assert LOCATION.search(message), message
        if name:
            assert message == (f"error: {path}: byte 0 (line 1): not valid UTF-8 (the file starts with a {name} "
                               "byte order mark: save it as UTF-8)")
        assert path.read_bytes() == damaged


def test_invalid_utf8_in_a_ledger_names_the_byte_and_line(tmp_path, make_service):
    path = tmp_path / "ledger.toml"
    make_service(NOW, path=path)
    raw = path.read_bytes()
    pos = raw.index(b"CHU Test")
    path.write_bytes(raw[:pos] + b"\xc3" + raw[pos:])
    result = runner.invoke(app, ["--ledger", str(path), "verify"])
    assert result.exit_code == 3
    line = raw.count(b"\n", 0, pos) + 1
    assert result.stderr.strip() == f"error: {path}: byte {pos} (line {line}): not valid UTF-8"


def test_deep_nesting_through_a_real_process(tmp_path):
    """The real entry point, with its real stack depth: a 100,000-level JSON ledger is exit 3, fast."""
    path = tmp_path / "ledger.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    proc = subprocess.run([sys.executable, "-m", "nis2_incident", "--ledger", str(path), "verify"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 3, proc.stderr
    assert proc.stderr == (f"error: {path}: line 1, column 33: invalid ledger: nested more than 32 levels deep "
                           "(maximum recursion depth exceeded)\n")


# --- WHEN ---------------------------------------------------------------------------------------

NOW_UTC = tu.parse_when("2026-06-01T12:00Z", tu.now_utc(), "UTC")


def when_text():
    digits = st.integers(1, 5000).map(lambda n: "9" * n)
    return st.one_of(
        st.text(max_size=40).map(lambda t: "\ufeff" + t),                                     # BOMs
        st.sampled_from(["\ufeffnow", "\ufeff2026-03-28T10:00", "2026-03-28T10:00\ufeff", "now\ufeff",
                         "\udcff", "2026-03-28T10:00\udcff", "\x00", "2026-03-28T10:00\x00",     # bad UTF-8 (argv)
                         "NaN", "nan", "inf", "-inf", "Infinity", "1e400", "P1D", "PT5000000H",
                         "２０２６-０３-２８T10:00", "٢٠٢٦-03-28T10:00", "2026-03-28T10:00+99:00",
                         "9999-12-31T23:59+14:00", "0001-01-01T00:00-14:00"]),
        digits.map(lambda d: f"in {d}d"), digits.map(lambda d: f"-{d}h"), digits.map(lambda d: f"{d} ago"),
        digits.map(lambda d: f"{d}-01-01T10:00"), digits.map(lambda d: f"2026-03-28T10:00+{d}"),
        st.integers(1, 5000).map(lambda n: "(" * n), st.integers(1, 5000).map(lambda n: "[" * n + "]" * n),
    )


@settings(max_examples=300, deadline=None)
@given(text=when_text())
# found by this test (session 6): 64 characters above U+FFFF, quoted as 640 escapes in the message
@example(text="\ufeff0000000000000000\x1f\x1f" + "\x08" * 6 + "\U0001005e\U00012544" + "\U00018cd6" * 3
         + "\U00018d09" * 5 + "\U0001d1eb\U0002ebe1")
def test_when_parser_gives_only_input_errors_on_hostile_text(text):
    try:
        got = tu.parse_when(text, NOW_UTC, "Europe/Paris")
    except InputError as exc:
        assert exc.message and "accepted" in exc.message or "WHEN" in exc.message or "time" in exc.message, \
            exc.message
        assert len(exc.message) < 400  # a 5,000-digit input is not echoed back whole
    else:
        assert got.utcoffset().total_seconds() == 0


def test_invalid_utf8_in_a_when_through_a_real_process(tmp_path, make_service):
    """Bytes that are not UTF-8 in argv arrive as lone surrogates: exit 2 and the option named."""
    path = tmp_path / "ledger.toml"
    make_service(NOW, path=path)
    before = path.read_bytes()
    proc = subprocess.run([sys.executable.encode(), b"-m", b"nis2_incident", b"--ledger", bytes(path), b"--now",
                           NOW.encode(), b"open", b"x", b"--aware", b"2026-03-28T10:00\xff"],
                          capture_output=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith(b"error: aware-at: invalid time"), proc.stderr
    assert path.read_bytes() == before


@pytest.mark.parametrize(("text", "where", "what"), [
    ('{"schema_version": 1,\n  "profile": {"a": 1, "a": 2}}', "line 2, column 23", "duplicate key 'a'"),
    ('{"schema_version": 1,\n "profile": {"a": NaN}}', "line 2, column 19", "NaN is not allowed"),
    ('{"schema_version": 1,\n\n "profile": {"a": -Infinity}}', "line 3, column 19", "-Infinity is not allowed"),
    ('{"schema_version": 1.0}', "line 1, column 20", "the number 1.0 (no decimals) is not allowed"),
    ('{"schema_version": 1,\n "x": "' + "9" * 5000 + '", "y": ' + "9" * 5000 + "}", "line 2, column 5016",
     "an integer of 5000 digits: Exceeds the limit (4300 digits)"),
    ('{"x": ' + "[" * 5000 + "]" * 5000 + "}", "line 1, column 38", "nested more than 32 levels deep"),
])
def test_bug_json_refusals_had_no_line_and_column(text, where, what):
    """Found by the hostile-input fuzzing: the refusals added on top of `json` (duplicate keys, NaN,
    decimals, huge integers, deep nesting) said what but not where ("invalid ledger: NaN is not
    allowed"), in a file of thousands of lines. Now they give the line and column of the culprit."""
    with pytest.raises(LedgerError) as err:
        parse(text.encode(), Path("/l/ledger.json"))
    assert err.value.message.startswith(f"/l/ledger.json: {where}: invalid ledger: {what}"), err.value.message


@pytest.mark.parametrize(("text", "where", "what"), [
    ('schema_version = 1\n# 9999\nx = "' + "9" * 5000 + '"\ny = [1, ' + "9" * 5000 + "]\n", "line 4, column 9",
     "an integer of 5000 digits"),
    ("schema_version = 1\ny = " + "9_999" * 1200 + "\n", "line 2, column 5", "an integer of 4800 digits"),
    ("schema_version = 1\nx = '[[['\ny = " + "[" * 5000 + "]" * 5000 + "\n", "line 3, column 36",
     "nested more than 32 levels deep"),
])
def test_bug_toml_refusals_had_no_line_and_column(text, where, what):
    with pytest.raises(LedgerError) as err:
        parse(text.encode(), Path("/l/ledger.toml"))
    assert err.value.message.startswith(f"/l/ledger.toml: {where}: invalid ledger: {what}"), err.value.message


# --- the log (issue 13): hostile lines, CR LF, byte order marks ---------------------------------

from nis2_incident.ledger import log  # noqa: E402


def log_bytes(extra: dict | None = None, events: int = 4) -> bytes:
    """A small log, every line sealed (a forger's or another tool's log: the chain verifies), with
    `extra` top-level keys in the second event."""
    ledger = Ledger(profile={"name": "CHU", "category": "essential", "timezone": "Europe/Paris",
                             "regimes": ["nis2"]})
    ledger.append({"type": "profile_set", "recorded_at": "2026-03-28T12:00:00+01:00", "data": dict(ledger.profile)})
    for n in range(1, events):
        ledger.append({"type": "opened", "recorded_at": "2026-03-28T12:00:00+01:00", "incident": f"INC-2026-{n:03d}",
                       **((extra or {}) if n == 1 else {}),
                       "data": {"title": f"Ransomware {n}", "aware_at": "2026-03-28T10:00:00+01:00",
                                "significance": "undetermined", "number": n, "iocs": ["1.2.3.4"]}})
    return Store("x.jsonl").encode(ledger)


def nested(levels: int):
    return json.loads("[" * levels + "]" * levels)


def test_bug_a_log_line_nested_deeper_than_a_document_allows_crashed_migrate_to_toml(tmp_path):
    """Found writing the hostile-log tests: a log whose event holds a value nested 300 levels deep
    (every hash right) verified, then `ledger migrate` to TOML died in the TOML writer (internal
    error, exit 70). A log line now has the limit of a document (32 levels, counted as in the
    document it would migrate to), refused with its line (exit 3); at the limit it migrates."""
    path = tmp_path / "ledger.jsonl"
    path.write_bytes(log_bytes({"other_tool": nested(300)}))
    for args in (["verify"], ["status"], ["ledger", "migrate", str(path), str(tmp_path / "copy.toml")]):
        result = runner.invoke(app, ["--ledger", str(path), "--now", NOW, *args])
        assert result.exit_code == 3, (args, result.stderr)
        assert result.stderr == (f"error: {path}: line 3: invalid ledger: nested more than 32 levels deep "
                                 "(under other_tool[0][0][0]…)\n"), result.stderr
    assert not (tmp_path / "copy.toml").exists()
    path.write_bytes(log_bytes({"other_tool": nested(30)}))  # depth 33 in a document
    assert runner.invoke(app, ["--ledger", str(path), "verify"]).exit_code == 3
    path.write_bytes(log_bytes({"other_tool": nested(29)}))  # depth 32 in a document: at the limit
    assert runner.invoke(app, ["--ledger", str(path), "verify"]).exit_code == 0
    r = runner.invoke(app, ["ledger", "migrate", str(path), str(tmp_path / "copy.toml")])
    assert r.exit_code == 0, r.stderr
    assert runner.invoke(app, ["--ledger", str(tmp_path / "copy.toml"), "verify"]).exit_code == 0


CRLF = "ends with CR LF (\\r\\n): a log's lines end with LF (\\n) only; another program converted the file"
BOM_IN_LOG = "starts with a UTF-8 byte order mark: a log is written by nis2-incident only and has none"


@pytest.mark.parametrize(("damage", "line", "what"), [
    ("whole file CR LF", 1, CRLF), ("one event line CR LF", 3, CRLF), ("the last line CR LF", 5, CRLF),
    ("a one-event log CR LF", 1, CRLF), ("BOM at the start", 1, BOM_IN_LOG), ("BOM on a line", 3, BOM_IN_LOG),
    ("BOM on the last line", 5, BOM_IN_LOG)])
def test_a_log_with_cr_lf_line_ends_or_a_byte_order_mark_is_refused_naming_the_line(tmp_path, damage, line, what):
    """Our choice (README, What we promise): a log is written by nis2-incident only, so CR LF line ends
    (git's core.autocrlf, an editor) and a byte order mark are refused, naming the line, and never
    written over. Before: a BOM was silently accepted (and kept by every write), CR LF gave "not an
    event line", and in a one-event log the only event was taken for a torn tail, so the ledger
    seemed to have no profile; a CR LF last line would have been cut by the next write."""
    path = tmp_path / "ledger.jsonl"
    raw = log_bytes(events=4 if "one-event" not in damage else 1)
    lines = raw.splitlines(keepends=True)
    if "CR LF" in damage and ("whole" in damage or "one-event" in damage):
        lines = [x[:-1] + b"\r\n" for x in lines]
    elif "CR LF" in damage:
        lines[line - 1] = lines[line - 1][:-1] + b"\r\n"
    else:
        lines[line - 1] = b"\xef\xbb\xbf" + lines[line - 1]
    damaged = b"".join(lines)
    path.write_bytes(damaged)
    for args in (["verify"], ["status"], ["list", "--json"], ["open", "x", "--aware", "2026-03-28T10:00"]):
        result = runner.invoke(app, ["--ledger", str(path), "--now", NOW, *args])
        assert result.exit_code == 3, (args, result.stderr)
        assert result.stderr.startswith(f"error: {path}: line {line} {what}"), result.stderr
    assert path.read_bytes() == damaged


def hostile_log_value():
    digits = st.integers(4000, 6000).map(lambda n: "9" * n)
    return st.one_of(
        st.integers(33, 20_000).map(lambda n: "[" * n + "]" * n),
        st.integers(33, 5_000).map(lambda n: '{"a":' * n + "1" + "}" * n),
        digits, digits.map(lambda d: "-" + d),
        st.sampled_from(["NaN", "Infinity", "-Infinity", "1.5", "1e400", "-0.0", '{"a":1,"a":2}', '"\\ud800"',
                         "[1,]", "01", "true", "null", '"x"', "{}"]))


@st.composite
def hostile_log(draw):
    """A small log with line 2, 3 or 4 (never one of the last two) made hostile: random bytes, a
    hostile value (deep nesting, 5,000-digit integers, NaN, floats, ...), a duplicate key, each with
    its hash recomputed or not; or a header of another format; or CR LF line ends; or a BOM."""
    header, *lines = log_bytes(events=5).splitlines(keepends=True)
    kind = draw(st.sampled_from(["random", "value", "value", "duplicate-key", "header", "crlf", "bom"]))
    # an event line with two whole lines after it (line 2, the profile, has no incident's values)
    target = draw(st.integers(1 if kind == "value" else 0, 2))
    rehash = draw(st.booleans())
    if kind == "random":
        lines[target] = draw(st.binary(min_size=0, max_size=300).map(lambda b: b.replace(b"\n", b""))) + b"\n"
    elif kind in ("value", "duplicate-key"):
        line = lines[target]
        body = line[:-(log.SUFFIX_LEN + 1)] + b"}"
        if kind == "value":
            slot = draw(st.sampled_from([b'"number":1', b'"1.2.3.4"', b'"significance":"undetermined"']))
            if slot not in body:
                slot = b'"1.2.3.4"'
            value = draw(hostile_log_value()).encode()
            body = body.replace(slot, (slot.split(b":")[0] + b":" + value) if b":" in slot else value, 1)
        else:
            body = body.replace(b'{"data":', b'{"data":{},"data":', 1)
        digest = (hashlib.sha256(body).hexdigest() if rehash else "0" * 64).encode()
        lines[target] = body[:-1] + b',"hash":"' + digest + b'"}\n'
    elif kind == "header":
        header = draw(st.sampled_from([b'{"format":"other-tool","schema_version":1}\n', b'{"schema_version":1}\n',
                                       b"schema_version = 1\n", b'{"format":"nis2-incident-ledger"}\n',
                                       b'{"format":"nis2-incident-ledger","schema_version":1.0}\n',
                                       b'{"format":"nis2-incident-ledger","format":"x","schema_version":1}\n',
                                       b"[" * 5000 + b"]" * 5000 + b"\n", b"\x00" * 30 + b"\n"]))
    elif kind == "crlf":
        header, lines = header[:-1] + b"\r\n", [x[:-1] + b"\r\n" for x in lines]
    else:
        where = draw(st.integers(-1, 1))
        if where < 0:
            header = b"\xef\xbb\xbf" + header
        else:
            lines[where] = b"\xef\xbb\xbf" + lines[where]
    raw = header + b"".join(lines)
    assert raw != log_bytes(events=5)
    return kind, raw


LOG_LOCATION = re.compile(r"line \d+\b")


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=hostile_log())
def test_hostile_logs_give_only_project_errors_with_file_and_line_and_are_never_written_over(case):
    """Every hostile log is refused (never a torn tail, since two whole lines follow the damage) with
    only the project's own error, naming the file and the line, under hypothesis's 1 s deadline; a
    write refuses it too and leaves every byte as it was."""
    kind, raw = case
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "ledger.jsonl"
        path.write_bytes(raw)
        for attempt in (lambda: Service(Store(path), at(NOW)).verify(),
                        lambda: Service(Store(path), at(NOW)).open_incident("After", "2026-03-28T10:00")):
            with pytest.raises(LedgerError) as err:
                attempt()
            message = err.value.message
            assert message.startswith(f"{path}: "), (kind, message)
            assert LOG_LOCATION.search(message) or "schema_version" in message, (kind, message)
        assert path.read_bytes() == raw


def test_hostile_logs_through_a_real_process_are_exit_3_with_file_and_line(tmp_path):
    """The real entry point, with its real stack: nesting 100,000 levels deep in a line, a 5,000-digit
    integer, NaN, a duplicate key: exit 3, one line naming the file and the line, fast."""
    header, *lines = log_bytes(events=4).splitlines(keepends=True)
    cases = {"deep": lines[1].replace(b'"1.2.3.4"', b"[" * 100_000 + b"]" * 100_000),
             "digits": lines[1].replace(b'"number":1', b'"number":' + b"9" * 5000),
             "nan": lines[1].replace(b'"number":1', b'"number":NaN'),
             "duplicate": lines[1].replace(b'{"data":', b'{"data":{},"data":')}
    seen = 0
    for name, line in cases.items():
        assert line != lines[1], name
        path = tmp_path / f"{name}.jsonl"
        path.write_bytes(header + lines[0] + line + b"".join(lines[2:]))
        proc = subprocess.run([sys.executable, "-m", "nis2_incident", "--ledger", str(path), "verify"],
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 3, (name, proc.stderr)
        assert proc.stderr.startswith(f"error: {path}: line 3"), (name, proc.stderr)
        assert proc.stderr.count("\n") == 1, (name, proc.stderr)
        seen += 1
    assert seen == len(cases)


def test_bug_an_integer_without_a_canonical_form_in_a_log_line_named_neither_file_nor_line(tmp_path):
    """Found by the hostile-log fuzzing: an integer of 2^53 or more (here 4,000 digits, under Python's
    4,300-digit limit) in a line whose hash was recomputed over it has no RFC 8785 form; the refusal
    said "event seq 2: cannot be canonicalised" without the file or the line. Now it names both."""
    header, *lines = log_bytes(events=4).splitlines(keepends=True)
    seen = 0
    for number in (str(2 ** 53), "9" * 4000):
        body = lines[1][:-(log.SUFFIX_LEN + 1)].replace(b'"number":1', b'"number":' + number.encode()) + b"}"
        forged = body[:-1] + b',"hash":"' + hashlib.sha256(body).hexdigest().encode() + b'"}\n'
        path = tmp_path / "ledger.jsonl"
        path.write_bytes(header + lines[0] + forged + b"".join(lines[2:]))
        result = runner.invoke(app, ["--ledger", str(path), "verify"])
        assert result.exit_code == 3
        # 2^53 decodes, but has no RFC 8785 form; 4,000 digits is beyond what the decoder takes: both
        # refused naming the file and the line
        assert result.stderr.startswith(f"error: {path}: line 3"), result.stderr[:200]
        assert ("event seq 2: cannot be canonicalised" in result.stderr if len(number) < 20
                else "invalid JSON" in result.stderr), result.stderr[:200]
        seen += 1
    assert seen == 2
