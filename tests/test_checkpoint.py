"""The log's checkpoint (issue 13, README "What we promise about your data"): derived data in the
user's own cache folder that lets a read skip the lines it already verified. It changes the speed,
never the result: a missing, damaged, odd or lying checkpoint is ignored, and a write seals its event
after the head the log itself ends with."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nis2_incident.cli import app
from nis2_incident import checkpoint
from nis2_incident.ledger import log

runner = CliRunner()


def cli(ledger: Path, *args: str, now: str = "2026-04-02T12:00"):
    return runner.invoke(app, ["--ledger", str(ledger), "--now", now, *args], catch_exceptions=False)


def build(path: Path) -> Path:
    steps = [
        ("2026-03-28T09:00", ["init", "--name", "CHU Point", "--category", "essential"]),
        ("2026-03-28T10:30", ["open", "Rançongiciel", "--aware", "2026-03-28T10:00"]),
        ("2026-03-28T11:00", ["open", "Panne réglée", "--aware", "2026-03-28T10:45", "--not-significant",
                              "--rationale", "aucune perturbation"]),
        ("2026-03-28T11:30", ["close", "2"]),  # settled: every obligation not applicable, closed
        ("2026-03-28T20:00", ["submit", "1", "nis2.early_warning", "--reference", "CERTFR-1"]),
        ("2026-03-29T09:00", ["open", "Messagerie", "--aware", "2026-03-29T08:00"]),
    ]
    for now, args in steps:
        r = cli(path, *args, now=now)
        assert r.exit_code == 0, r.stderr
    return path


def views(path: Path, now: str = "2026-04-02T12:00") -> dict:
    out = {}
    for args in (["status", "--json"], ["list", "--json"], ["show", "2", "--json"], ["check", "--all", "--dry-run",
                                                                                      "--format", "json"],
                 ["export", "--format", "json"], ["list", "--json"]):  # (the second list: with the views kept)
        r = cli(path, *args, now=now)
        assert r.exit_code in (0, 1, 2), r.stderr
        out[" ".join(args)] = (r.exit_code, r.stdout)
    return out


@pytest.fixture
def counted(monkeypatch):
    calls = []
    real = log.read_line
    monkeypatch.setattr(log, "read_line", lambda raw, pos, nl, number, *rest: calls.append(number) or real(raw, pos, nl, number, *rest))
    return calls


def test_a_warm_read_decodes_no_line_and_an_append_by_another_program_only_its_own(tmp_path, counted, monkeypatch):
    path = build(tmp_path / "ledger.jsonl")
    lines = path.read_bytes().count(b"\n")
    counted.clear()
    assert cli(path, "status", "--json").exit_code == 0
    assert counted == []  # every line vouched for by the checkpoint (the last write kept it)
    # another program appends (a second checkout, another user's copy of the tool): only its line is read
    mine = os.environ["XDG_CACHE_HOME"]
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "other-cache"))
    assert cli(path, "submit", "1", "nis2.notification", now="2026-03-30T09:00").exit_code == 0
    monkeypatch.setenv("XDG_CACHE_HOME", mine)
    counted.clear()
    r = cli(path, "status", "--json")
    assert r.exit_code == 0 and counted == [lines + 1]
    counted.clear()
    assert cli(path, "status", "--json").exit_code == 0 and counted == []


def test_results_never_depend_on_the_checkpoint(tmp_path):
    path = build(tmp_path / "ledger.jsonl")
    for now in ("2026-03-28T12:00", "2026-03-30T12:00", "2026-04-02T12:00", "2027-01-01T12:00"):
        warm = views(path, now)
        shutil.rmtree(checkpoint.folder())
        assert views(path, now) == warm, now


def test_it_lives_in_the_users_cache_folder_private_and_nothing_is_left_beside_the_ledger(tmp_path):
    path = build(tmp_path / "ledger.jsonl")
    where = checkpoint.location(path)
    assert where.is_file() and str(where).startswith(os.environ["XDG_CACHE_HOME"])
    assert stat.S_IMODE(where.stat().st_mode) == 0o600 and stat.S_IMODE(where.parent.stat().st_mode) == 0o700
    body = json.loads(where.read_text())
    assert "regimes" not in body and "hours" not in where.read_text()  # no rules in it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ledger.jsonl", "ledger.jsonl.lock"]


@pytest.mark.parametrize("odd", ["garbage", "truncated", "symlink-to-the-ledger", "fifo", "folder", "deep"])
def test_a_damaged_or_odd_checkpoint_is_ignored_and_never_touches_the_ledger(tmp_path, odd):
    path = build(tmp_path / "ledger.jsonl")
    expected = views(path)
    where = checkpoint.location(path)
    data = where.read_bytes()
    ledger_bytes = path.read_bytes()
    where.unlink()
    if odd == "garbage":
        where.write_bytes(b"\x00not json")
    elif odd == "truncated":
        where.write_bytes(data[: len(data) // 2])
    elif odd == "symlink-to-the-ledger":
        where.symlink_to(path)
    elif odd == "fifo":
        os.mkfifo(where)
    elif odd == "folder":
        where.mkdir()
    else:
        where.write_text("[" * 100_000 + "]" * 100_000)
    assert views(path) == expected
    assert path.read_bytes() == ledger_bytes and not path.is_symlink()
    assert cli(path, "open", "x", "--aware", "-1h", now="2026-04-02T12:00").exit_code == 0
    assert cli(path, "verify").exit_code == 0


def test_a_checkpoint_naming_another_head_never_decides_where_a_write_seals(tmp_path):
    """A checkpoint edited with the prefix's hash kept but another head: not used (a write seals
    after the last line of the log itself), so the chain stays whole."""
    path = build(tmp_path / "ledger.jsonl")
    where = checkpoint.location(path)
    body = json.loads(where.read_text())
    body["head"] = [body["head"][0], "f" * 64]
    where.write_text(json.dumps(body))
    assert cli(path, "open", "x", "--aware", "-1h").exit_code == 0
    assert cli(path, "verify").exit_code == 0


def test_a_checkpoint_that_hides_a_live_incident_is_not_used_once_the_bytes_change(tmp_path):
    """The checkpoint vouches for exact bytes only: after any change to them it is not used, and a
    tampered ledger is refused as without it."""
    path = build(tmp_path / "ledger.jsonl")
    data = path.read_bytes()
    path.write_bytes(data.replace(b"CERTFR-1", b"CERTFR-9"))
    r = cli(path, "status")
    assert r.exit_code == 3 and "altered" in r.stderr


def test_an_as_of_read_before_the_checkpoint_reads_the_ledger_itself(tmp_path, counted):
    path = build(tmp_path / "ledger.jsonl")
    counted.clear()
    r = cli(path, "show", "1", "--json", now="2026-03-28T12:00")
    assert r.exit_code == 0 and counted  # the checkpoint covers events recorded after --now: not used


def test_a_settled_incident_asked_for_is_read_from_its_lines_in_the_log(tmp_path, counted):
    path = build(tmp_path / "ledger.jsonl")
    body = json.loads(checkpoint.location(path).read_text())
    assert all(ident != "INC-2026-002" for _, ident in body["live"])  # settled: not kept live
    counted.clear()
    r = cli(path, "show", "2", "--json")
    # its own lines, which the prefix's hash vouches for: no line decoded and verified again
    assert r.exit_code == 0 and json.loads(r.stdout)["status"] == "closed" and not counted


def test_a_document_past_a_thousand_incidents_suggests_the_log_once(tmp_path, monkeypatch):
    """Issue 13: a document ledger past 1,000 incidents says once, on stderr, that the log is
    faster (and how to migrate); not again on the next command."""
    from nis2_incident import service as service_mod

    monkeypatch.setattr(service_mod, "DOCUMENT_ADVICE", 2)
    path = tmp_path / "ledger.toml"
    assert cli(path, "init", "--name", "X", "--category", "essential", now="2026-03-28T09:00").exit_code == 0
    for n in range(3):
        assert cli(path, "open", f"incident {n}", "--aware", "-5m", now=f"2026-03-28T1{n}:00").exit_code == 0
    first = cli(path, "status", "--json")
    assert first.exit_code == 0 and "ledger migrate" in first.stderr and "said once" in first.stderr
    json.loads(first.stdout)  # stdout stays JSON
    again = cli(path, "status", "--json")
    assert again.exit_code == 0 and "ledger migrate" not in again.stderr


def test_a_settled_incident_is_read_from_its_own_lines_not_the_whole_log(tmp_path, monkeypatch):
    """Issue 13: `show` of a settled incident through the checkpoint decodes only that incident's
    lines (the prefix's SHA-256 vouches for them), and shows what a whole read shows."""
    path = build(tmp_path / "ledger.jsonl")
    body = json.loads(checkpoint.location(path).read_text())
    assert "INC-2026-002" in body["settled"]
    from nis2_incident.ledger import store

    reads = []
    real = store.LogStore.read
    monkeypatch.setattr(store.LogStore, "read", lambda self, *a, **k: reads.append(k.get("start", 0) + k.get("at", 0))
                        or real(self, *a, **k))  # (where in the file the read begins)
    warm = cli(path, "show", "2", "--json")
    assert warm.exit_code == 0 and reads and all(start > 0 for start in reads)  # never from the top
    shutil.rmtree(checkpoint.folder())
    before = len(reads)
    cold = cli(path, "show", "2", "--json")
    # without a checkpoint: every line checked (the survey), the incident's own lines folded when asked
    # for (it is marked settled, issue 13), never a whole read from the top; the same text
    assert cold.stdout == warm.stdout and reads[before:] and all(start > 0 for start in reads[before:])
    # a new line of a settled incident (a late filing) makes it live again, then settled again
    assert cli(path, "status", "--json").exit_code == 0  # a checkpoint again
    r = cli(path, "update", "2", "--summary", "ajouté après coup", now="2026-04-02T12:00")
    assert r.exit_code == 0, r.stderr
    after = cli(path, "show", "2", "--json")
    assert json.loads(after.stdout)["summary"] == "ajouté après coup"
    shutil.rmtree(checkpoint.folder())
    assert cli(path, "show", "2", "--json").stdout == after.stdout


# --- the views of settled incidents (issue 13: `list --json` at 10,000 incidents) ----------------------

def test_list_json_takes_a_settled_incidents_view_as_kept_and_gives_the_same_text(tmp_path, monkeypatch):
    """The second `list --json` computes the views of the live incidents only (the settled one's text is
    kept in the views file, beside the checkpoint); the text is that of a read without any derived file."""
    from nis2_incident import service as service_mod

    path = build(tmp_path / "ledger.jsonl")
    first = cli(path, "list", "--json")
    assert first.exit_code == 0 and checkpoint.views_location(path, "list-json-indented").is_file()
    assert stat.S_IMODE(checkpoint.views_location(path, "list-json-indented").stat().st_mode) == 0o600
    computed = []
    real = service_mod.Service.view
    monkeypatch.setattr(service_mod.Service, "view", lambda self, state, inc, *a: computed.append(inc.id) or real(self, state, inc, *a))
    again = cli(path, "list", "--json")
    assert again.stdout == first.stdout
    assert computed and "INC-2026-002" not in computed  # the settled one: taken as kept
    monkeypatch.setattr(service_mod.Service, "view", real)
    shutil.rmtree(checkpoint.folder())
    assert cli(path, "list", "--json").stdout == first.stdout


@pytest.mark.parametrize("damage", ["flip", "truncate", "garbage", "other-key"])
def test_a_damaged_views_file_is_ignored(tmp_path, damage):
    path = build(tmp_path / "ledger.jsonl")
    expected = cli(path, "list", "--json").stdout
    where = checkpoint.views_location(path, "list-json-indented")
    data = bytearray(where.read_bytes())
    if damage == "flip":
        data[-3] ^= 0x01  # inside the settled incident's compressed text: the seal no longer matches
    elif damage == "truncate":
        del data[len(data) // 2:]
    elif damage == "garbage":
        data = bytearray(b"not a views file")
    else:  # a body for another code or profile: its key differs
        data = bytearray(data.replace(b'"key":"', b'"key":"0', 1))
    where.write_bytes(bytes(data))
    r = cli(path, "list", "--json")
    assert r.exit_code == 0 and r.stdout == expected


def test_a_kept_view_is_not_taken_for_a_settled_incident_whose_lines_changed(tmp_path):
    """Another program rewrites the log to the same length: the settled incident's title edited, every
    later event re-hashed (a chain that verifies on its own). Its kept text was made for another last
    event (hash), so `list --json` shows the new bytes, never the kept text."""
    from nis2_incident.ledger import chain

    path = build(tmp_path / "ledger.jsonl")
    assert "Panne réglée" in cli(path, "list", "--json").stdout  # the views file now holds it
    header, *lines = path.read_bytes().splitlines(keepends=True)
    events = [json.loads(line) for line in lines]
    target = next(i for i, ev in enumerate(events) if ev["type"] == "opened" and ev["data"]["title"] == "Panne réglée")
    events[target]["data"]["title"] = "Panne cachéé"  # the same length in UTF-8
    for i in range(target, len(events)):
        if i > target:
            events[i]["prev"] = events[i - 1]["hash"]
        events[i]["hash"] = chain.event_hash(events[i])
    size = path.stat().st_size
    path.write_bytes(header + b"".join(chain.canonical(ev)[:-1] + b',"hash":"' + ev["hash"].encode() + b'"}\n'
                                       for ev in events))
    assert path.stat().st_size == size
    r = cli(path, "list", "--json")
    assert r.exit_code == 0 and "Panne cachéé" in r.stdout and "Panne réglée" not in r.stdout


def test_the_private_writer_leaves_the_old_file_and_no_temporary_file_when_a_write_fails(tmp_path):
    """`checkpoint.write_private` (checkpoint, views files, mirror): a write that fails half-way keeps
    the file as it was and removes its temporary file; one that succeeds replaces it, 0600."""
    target = tmp_path / "cache" / "derived.json"
    checkpoint.write_private(target, (b"old",))
    assert target.read_bytes() == b"old" and stat.S_IMODE(target.stat().st_mode) == 0o600

    def pieces():
        yield b"half of the new "
        raise OSError("disk full")

    with pytest.raises(OSError):
        checkpoint.write_private(target, pieces())
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in target.parent.iterdir()) == ["derived.json"]
    checkpoint.write_private(target, (b"new ", memoryview(b"bytes")))
    assert target.read_bytes() == b"new bytes"


def test_a_warm_read_does_not_hold_the_log_and_shows_what_a_cold_one_does(tmp_path, monkeypatch):
    """Through the checkpoint, `check`, `status` and `show` (of a live and of a settled incident) read
    the log once, a piece at a time (`log.through`: the prefix hashed, the live lines and the bytes
    after it taken), never the whole file at once, and print what a read without a checkpoint prints;
    a line appended by another program is read and verified as usual."""
    from nis2_incident.ledger import store

    path = build(tmp_path / "ledger.jsonl")
    commands = (["status", "--json"], ["check", "--all", "--dry-run", "--format", "json"], ["show", "1", "--json"],
                ["show", "2", "--json"])

    def outputs(cold: bool = False) -> list:
        out = []
        for args in commands:
            if cold:
                shutil.rmtree(checkpoint.folder(), ignore_errors=True)
            r = cli(path, *args)
            out.append((r.exit_code, r.stdout))
        return out

    cold = outputs(cold=True)
    wholes = []
    real = store.LogStore.read_bytes
    monkeypatch.setattr(store.LogStore, "read_bytes", lambda self: wholes.append(self.path) or real(self))
    assert outputs() == cold and wholes == []
    # another program appends (here: a write of this process, then the checkpoint put back as it was)
    kept = checkpoint.location(path).read_bytes()
    assert cli(path, "update", "1", "--summary", "chiffrement des serveurs", now="2026-03-29T10:00").exit_code == 0
    checkpoint.location(path).write_bytes(kept)
    wholes.clear()
    warm = outputs()
    assert warm == outputs(cold=True) and "chiffrement des serveurs" in warm[2][1]
    assert wholes and all(p == path for p in wholes)  # (the cold reads)


def test_a_log_rewritten_during_a_warm_read_is_refused_not_shown(tmp_path):
    """What a read through the checkpoint did not take in its pass is read when asked for: a line by
    itself (its own hash checked), or the whole file, whose prefix must hash again to what the pass
    verified. A log rewritten in place between the two is refused (exit 3), never shown."""
    from datetime import datetime, timezone

    from nis2_incident.errors import IntegrityError
    from nis2_incident.ledger import Store
    from nis2_incident.service import Service

    path = build(tmp_path / "ledger.jsonl")
    assert cli(path, "status").exit_code == 0  # a checkpoint
    svc = Service(Store(path), datetime(2026, 4, 2, 10, tzinfo=timezone.utc))
    state = svc.state()
    raw = path.read_bytes()
    forged = raw.replace(b"Panne ", b"Pannf ")
    assert len(forged) == len(raw) and forged != raw
    path.write_bytes(forged)  # the same size, in place, as a forger would
    with pytest.raises(IntegrityError, match="rewritten while it was read"):
        state.incident("2")  # a settled incident: its line read by itself no longer holds its hash
    with pytest.raises(IntegrityError, match="rewritten while it was read"):
        svc._raw  # the whole file (exports, drafts)
    assert cli(path, "show", "2").exit_code == 3  # a new read: the checkpoint no longer fits, the line is refused
    # the forged line given its own hash (it holds by itself; the chain after it no longer does): the
    # digest of the incident's line hashes the checkpoint keeps refuses it too (review of session 6)
    path.write_bytes(raw)
    assert cli(path, "status").exit_code == 0
    svc = Service(Store(path), datetime(2026, 4, 2, 10, tzinfo=timezone.utc))
    state = svc.state()
    lines = raw.split(b"\n")
    k = next(i for i, line in enumerate(lines) if b"Panne " in line)
    line = lines[k].replace(b"Panne ", b"Pannf ")
    lines[k] = line[:-66] + hashlib.sha256(line[:-75] + b"}").hexdigest().encode() + b'"}'
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(IntegrityError, match="rewritten while it was read"):
        state.incident("2")


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=6), st.integers(1, 30), max_size=8),
       st.dictionaries(st.text(min_size=1, max_size=6).filter(lambda t: "\n" not in t and "\t" not in t),
                       st.lists(st.integers(0, 10**9), min_size=1, max_size=3).map(lambda xs: ",".join(map(str, xs))),
                       max_size=5))
def test_the_checkpoint_keeps_the_index_and_the_settled_lines_as_they_were(numbers, lines):
    """The id index and the settled incidents' line starts are kept each as one text (a list of 10,000
    pairs took 6-15 ms to parse at every warm read): read back, the same ids, numbers and order, and
    the same lines; an id that is empty or holds a newline or a tab gives no checkpoint rather than a
    wrong one."""
    kept = checkpoint.index_text(numbers)
    if any("\n" in ident or "\t" in ident or not ident for ident in numbers):
        assert kept is None  # (an empty id: `""` is also the text of no ids at all)
    else:
        back = checkpoint.index_of(json.loads(json.dumps(kept)))
        assert back == numbers and list(back) == list(numbers)
    assert checkpoint.settled_of({"settled": checkpoint.settled_text(lines)}) == lines


@pytest.mark.parametrize("xdg", [None, "", "   ", "/tmp/x-cache", "/tmp/x-cache/", "relative/cache"])
@pytest.mark.parametrize("home", ["/home/someone", "/root/", "//", None, "relative"])
def test_the_cache_folder_is_the_one_platformdirs_gives(monkeypatch, xdg, home):
    """`checkpoint.user_cache_path` applies the XDG rule itself on Linux (importing platformdirs costs
    5-10 ms at every read): in every case it names the folder platformdirs names."""
    import platformdirs

    for name, value in (("XDG_CACHE_HOME", xdg), ("HOME", home)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    try:
        expected = platformdirs.user_cache_path("nis2-incident", appauthor=False)
    except RuntimeError:  # (a home platformdirs cannot resolve: then it is asked, and says so, either way)
        with pytest.raises(RuntimeError):
            checkpoint.user_cache_path()
        return
    assert checkpoint.user_cache_path() == expected


def test_a_write_to_a_settled_incident_through_the_checkpoint_does_not_read_the_whole_log(tmp_path, monkeypatch):
    """A late amendment of a settled incident, through the checkpoint: its lines are read by themselves
    (checked against the digest the checkpoint keeps) and kept for the checkpoint written after the
    line, never the whole file; the ledger is what a write without a checkpoint makes of it."""
    from nis2_incident.ledger import store

    path = build(tmp_path / "ledger.jsonl")
    twin = tmp_path / "twin" / "ledger.jsonl"
    twin.parent.mkdir()
    shutil.copyfile(path, twin)
    assert cli(path, "status").exit_code == 0  # a checkpoint
    wholes = []
    real = store.LogStore.read_bytes
    monkeypatch.setattr(store.LogStore, "read_bytes", lambda self: wholes.append(self.path) or real(self))
    r = cli(path, "update", "2", "--summary", "ajouté après coup", now="2026-04-02T12:00")
    assert r.exit_code == 0, r.stderr
    assert wholes == []
    monkeypatch.setattr(store.LogStore, "read_bytes", real)
    shutil.rmtree(checkpoint.folder())
    assert cli(twin, "update", "2", "--summary", "ajouté après coup", now="2026-04-02T12:00").exit_code == 0
    assert path.read_bytes() == twin.read_bytes()
    assert json.loads(cli(path, "show", "2", "--json").stdout)["summary"] == "ajouté après coup"


@pytest.mark.parametrize("warm", [False, True])
def test_a_closing_that_settles_an_incident_keeps_the_checkpoint_at_the_end_of_the_log(tmp_path, warm):
    """Review of session 6: the checkpoint kept after a write names a settled incident's lines with a
    digest of their hashes; the `closed` line the write just appended is not in what the read took,
    and making that digest failed (silently: derived data), so no checkpoint followed a settling
    `close`. It now covers the whole log, cold or warm."""
    path = build(tmp_path / "ledger.jsonl")
    assert cli(path, "open", "Autre", "--aware", "2026-03-29T08:30", "--not-significant", "--rationale", "rien",
               now="2026-03-29T09:30").exit_code == 0
    shutil.rmtree(checkpoint.folder())
    if warm:
        assert cli(path, "status").exit_code == 0
    r = cli(path, "close", "4", now="2026-03-29T10:00")
    assert r.exit_code == 0, r.stderr
    body = json.loads(checkpoint.location(path).read_text())
    assert body["offset"] == path.stat().st_size and "INC-2026-004" in body["settled"]
