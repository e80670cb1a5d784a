"""Reading a ledger one event at a time (nis2_incident/ledger/stream.py, issue 8): less memory, never a
different result.

A walk is trusted only when it gives exactly what a whole decode gives; whatever it cannot prove
raises NotStreamable and the ledger is read whole, which then reports the error with its place. These
tests hold the walk to the whole decode on the ledgers the tool writes, on reformatted and
hand-edited ones, on cuts that fall inside strings, and on random damage; and the commands to the
same output and exit code with the walk as without it.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_cache import NOWS, build, runner

from nis2_incident import service as service_mod
from nis2_incident.cli import app
from nis2_incident.errors import Nis2IncidentError
from nis2_incident.ledger import Store, codec, stream

_BUILT: dict[str, bytes] = {}


def built(tmp_path_factory, fmt: str) -> bytes:
    """The bytes of test_cache's ledger in every situation (built once per format)."""
    if fmt not in _BUILT:
        path = build(tmp_path_factory.mktemp("stream") / f"ledger.{fmt}")
        _BUILT[fmt] = path.read_bytes()
    return _BUILT[fmt]


def nth_replaced(raw: bytes, old: bytes, new: bytes, n: int) -> bytes:
    """`raw` with the n-th occurrence (from 1) of `old` replaced."""
    at = -1
    for _ in range(n):
        at = raw.index(old, at + 1)
    return raw[:at] + new + raw[at + len(old):]


def walked(raw: bytes, path: Path) -> tuple[dict, list[dict]]:
    """Header and events through a walk; NotStreamable if it cannot."""
    walk = stream.walk(raw, path)
    return walk.header, list(walk.events())


def whole(raw: bytes, path: Path) -> tuple[dict, list[dict]]:
    data = codec.decode(raw, path)
    return {k: v for k, v in data.items() if k != "events"}, data["events"]


@pytest.mark.parametrize("fmt", ["toml", "json"])
def test_a_walk_gives_what_a_whole_decode_gives(tmp_path_factory, fmt):
    raw = built(tmp_path_factory, fmt)
    path = Path(f"ledger.{fmt}")
    header, events = walked(raw, path)
    assert (header, events) == whole(raw, path)
    assert len(events) > 20
    walk = stream.walk(raw, path)
    assert walk.encoded() is True and codec.is_encoded(codec.decode(raw, path), raw, path) is True
    assert [walk.event(i) for i in (0, len(walk) - 1)] == [events[0], events[-1]]
    assert walk.source() == raw


def test_a_reformatted_ledger_is_walked_the_same_but_not_encoded(tmp_path_factory):
    """The append fast path needs the bytes the codec writes: a walk must see a reformatting as the
    whole comparison does."""
    path = Path("ledger.json")
    data = codec.decode(built(tmp_path_factory, "json"), path)
    for text in (json.dumps(data, ensure_ascii=False, indent=4) + "\n", json.dumps(data, ensure_ascii=True, indent=2)):
        raw = text.encode()
        assert walked(raw, path) == whole(raw, path)
        assert stream.walk(raw, path).encoded() is False and codec.is_encoded(data, raw, path) is False
    tpath = Path("ledger.toml")
    traw = built(tmp_path_factory, "toml")
    commented = traw.replace(b"\n[[events]]\n", b"\n[[events]]\n# a note\n", 3)
    assert walked(commented, tpath) == whole(commented, tpath)
    assert stream.walk(commented, tpath).encoded() is False
    assert codec.is_encoded(codec.decode(commented, tpath), commented, tpath) is False


@pytest.mark.parametrize("raw_edit", [
    # a cut inside a multi-line string: the piece before it ends in an unterminated string
    lambda raw: raw.replace('title = "Déni de service"'.encode(), 'title = """Déni\n[[events]]\nde service"""'.encode()),
    lambda raw: raw.replace('title = "Déni de service"'.encode(), "title = '''Déni\n[[events]]\nde service'''".encode()),
    # a table of another tool after the events: the last piece holds more than one event
    lambda raw: raw + b"\n[other_tool]\nx = 1\n",
    # the events written another way: a comment on the header line, an inline array, CRLF, a BOM
    lambda raw: raw.replace(b"\n[[events]]\n", b"\n[[events]] # seen\n"),
    lambda raw: raw.replace(b"\r", b"").replace(b"\n", b"\r\n"),
    lambda raw: b"\xef\xbb\xbf" + raw,
    # an older or newer schema_version: the upgrade chain works on the whole data
    lambda raw: raw.replace(b"schema_version = 1", b"schema_version = 0", 1),
    lambda raw: raw.replace(b"schema_version = 1", b"schema_version = 2", 1),
    # two events in one piece (a later header spelled with spaces, or followed by blanks)
    lambda raw: nth_replaced(raw, b"\n[[events]]\n", b"\n[[ events ]]\n", 3),
    lambda raw: nth_replaced(raw, b"\n[[events]]\n", b"\n[[events]]  \n", 5),
    # the first header spelled another way: the header piece defines events
    lambda raw: raw.replace(b"\n[[events]]\n", b"\n[[ events ]]\n", 1),
])
def test_what_a_walk_cannot_prove_is_read_whole(tmp_path_factory, raw_edit):
    path = Path("ledger.toml")
    raw = raw_edit(built(tmp_path_factory, "toml"))
    with pytest.raises(stream.NotStreamable):
        walked(raw, path)


@pytest.mark.parametrize("raw_edit", [
    lambda raw: raw.replace(b'{\n  "schema_version": 1,', b'{\n  "schema_version": 1,\n  "schema_version": 1,', 1),
    lambda raw: raw[:-2] + b',\n  "events": []\n}\n',   # events twice
    lambda raw: raw.replace(b'"seq": 3,', b'"seq": 3.0,', 1),
    lambda raw: raw.replace(b'"seq": 3,', b'"seq": NaN,', 1),
    lambda raw: raw.replace(b'"seq": 3,', b'"seq": 3, "seq": 3,', 1),
    lambda raw: raw + b"x",
    lambda raw: raw[:-3],
    lambda raw: raw.replace(b'"events": [', b'"events": {', 1),
])
def test_json_that_a_whole_read_refuses_is_never_walked(tmp_path_factory, raw_edit):
    path = Path("ledger.json")
    raw = raw_edit(built(tmp_path_factory, "json"))
    with pytest.raises(stream.NotStreamable):
        walked(raw, path)
    with pytest.raises(Nis2IncidentError):
        whole(raw, path)


SNIPPETS = [b"\n[[events]]\n", b'"""', b"'''", b"\n", b'"', b"#", b"[events.data]\n", b"x = 1\n", b",", b"}",
            b"]", b"{", b'"seq": 1,', b"\\", b"\n[profile]\n", b"\xff", b"\n    },\n    {"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fmt=st.sampled_from(["toml", "json"]), seed=st.integers(0, 2**32), edits=st.integers(1, 3))
def test_a_damaged_ledger_is_walked_only_into_what_a_whole_decode_gives(tmp_path_factory, fmt, seed, edits):
    """Random insertions of structural snippets, deletions and byte flips: a walk either refuses, or
    gives exactly the header and events a whole decode gives."""
    rng = random.Random(seed)
    raw = bytearray(built(tmp_path_factory, fmt))
    for _ in range(edits):
        spot = rng.randrange(len(raw))
        action = rng.randrange(3)
        if action == 0:
            raw[spot:spot] = rng.choice(SNIPPETS)
        elif action == 1:
            del raw[spot:spot + rng.randrange(1, 40)]
        else:
            raw[spot] = rng.randrange(256)
    raw = bytes(raw)
    path = Path(f"ledger.{fmt}")
    try:
        got = walked(raw, path)
    except stream.NotStreamable:
        return
    assert got == whole(raw, path)


# --- the commands: the same output and exit code with the walk as without it ---------------------------


def run(ledger: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--ledger", str(ledger), "--now", NOWS[3], *args])
    return result.exit_code, result.stdout, result.stderr


def without_walk(monkeypatch):
    def refuse(raw, path):
        raise stream.NotStreamable

    monkeypatch.setattr(stream, "walk", refuse)


TAMPERINGS = {
    "intact": lambda raw: raw,
    "an altered title": lambda raw: raw.replace("Hameçonnage".encode(), "Hameconnage".encode(), 1),
    "an altered hash": lambda raw: raw.replace(b'hash = "', b'hash = "0', 3) if b'hash = "' in raw
    else raw.replace(b'"hash": "', b'"hash": "0', 3),
    "an edited profile": lambda raw: raw.replace(b'name = "CHU Cache"', b'name = "CHU Other"', 1)
    if b'name = "CHU Cache"' in raw else raw.replace(b'"name": "CHU Cache"', b'"name": "CHU Other"', 1),
}


@pytest.mark.parametrize("fmt", ["toml", "json"])
@pytest.mark.parametrize("tampering", list(TAMPERINGS))
@pytest.mark.parametrize("command", [("verify",), ("verify", "--json"), ("list", "--json"), ("status", "--json"),
                                     ("show", "1", "--json"), ("check", "--all", "--format", "json")])
def test_commands_give_the_same_with_and_without_the_walk(tmp_path, tmp_path_factory, monkeypatch, fmt,
                                                          tampering, command):
    ledger = tmp_path / f"ledger.{fmt}"
    ledger.write_bytes(TAMPERINGS[tampering](built(tmp_path_factory, fmt)))
    with_walk = run(ledger, *command)
    Path(f"{ledger}.cache").unlink(missing_ok=True)
    Path(f"{ledger}.check-state.json").unlink(missing_ok=True)
    without_walk(monkeypatch)
    assert run(ledger, *command) == with_walk
    assert (with_walk[0] in (0, 2)) == (tampering == "intact")  # check: 2 when something is overdue


@pytest.mark.parametrize("fmt", ["toml", "json"])
def test_verify_with_a_kept_head_through_the_walk(tmp_path, tmp_path_factory, fmt):
    ledger = tmp_path / f"ledger.{fmt}"
    raw = built(tmp_path_factory, fmt)
    ledger.write_bytes(raw)
    events = codec.decode(raw, ledger)["events"]
    fifth = events[4]["hash"]
    code, out, _ = run(ledger, "verify", "--head", f"5:{fifth[:12]}")
    assert code == 0 and f"kept head seq 5 found; {len(events) - 5} event(s) added since" in out
    code, _, err = run(ledger, "verify", "--head", f"{len(events) + 2}:{fifth}")
    assert code == 3 and f"events {len(events) + 1}..{len(events) + 2} were removed from the end" in err


def test_a_json_walk_lets_the_bytes_go_and_gives_them_back_when_it_cannot_finish(tmp_path, tmp_path_factory):
    """Memory: a JSON walk holds the text, so the snapshot's bytes are dropped; a walk that fails
    halfway (here: an altered event) puts back the very bytes that were read, for the whole read."""
    ledger = tmp_path / "ledger.json"
    raw = built(tmp_path_factory, "json")
    ledger.write_bytes(raw)
    svc = service_mod.Service(Store(ledger), service_mod.tu.parse_instant("2026-04-10T12:00:00+02:00"))
    snap = svc.store.snapshot(with_cache=False)
    assert svc._walk(snap) is not None and snap.raw is None
    tampered = raw.replace("Hameçonnage".encode(), "Hameconnage".encode(), 1)
    ledger.write_bytes(tampered)
    snap = svc.store.snapshot(with_cache=False)
    assert svc._walk(snap) is None and snap.raw == tampered


@pytest.mark.parametrize("fmt", ["toml", "json"])
def test_a_write_without_a_cache_walks_and_appends_byte_for_byte(tmp_path, tmp_path_factory, monkeypatch, fmt):
    """The first write after another program changed the ledger (no cache serves) verifies and folds
    it one event at a time and appends, writing what a whole re-encoding writes; a settled incident
    too (the walk holds every incident)."""
    from test_cache import svc, without_cache

    ledger, reference = tmp_path / f"ledger.{fmt}", tmp_path / f"reference.{fmt}"
    ledger.write_bytes(built(tmp_path_factory, fmt))
    reference.write_bytes(built(tmp_path_factory, fmt))
    real_write_full = Store.write_full

    def write_full(self, *args):
        assert self.path != ledger, "rewrote the whole file"
        return real_write_full(self, *args)

    monkeypatch.setattr(Store, "write_full", write_full)
    for write in (lambda s: s.open_incident("Sans cache", "2026-04-10T08:00", personal_data=True),
                  lambda s: s.update_incident("1", summary="réglé, modifié")):  # 1 is settled
        Path(f"{ledger}.cache").unlink(missing_ok=True)
        with without_cache():
            expected = write(svc(reference, "2026-04-10T12:00"))
        got = write(svc(ledger, "2026-04-10T12:00"))
        assert ledger.read_bytes() == reference.read_bytes()
        assert (got.head, got.warnings) == (expected.head, expected.warnings)
        assert Path(f"{ledger}.cache").exists()



def test_a_json_write_reads_the_bytes_again_and_refuses_if_another_program_changed_them(
        tmp_path, tmp_path_factory, monkeypatch):
    """A JSON walk drops the bytes; the append reads them again under the lock, and appends only to
    the very bytes it verified (a program that ignores the lock may have written in between)."""
    from nis2_incident.errors import WriteError

    from test_cache import svc

    ledger = tmp_path / "ledger.json"
    ledger.write_bytes(built(tmp_path_factory, "json"))
    edited = ledger.read_bytes().replace("Hameçonnage".encode(), "Hameconnage".encode(), 1)
    real_body = service_mod.Service._cache_body

    def body_then_an_outside_edit(self, *args):
        ledger.write_bytes(edited)  # between the walk and the append, without the lock
        return real_body(self, *args)

    monkeypatch.setattr(service_mod.Service, "_cache_body", body_then_an_outside_edit)
    with pytest.raises(WriteError, match="changed by another program during this write"):
        svc(ledger, "2026-04-10T12:00").open_incident("Pendant une édition", "2026-04-10T08:00")
    assert ledger.read_bytes() == edited
    monkeypatch.undo()
    ledger.write_bytes(built(tmp_path_factory, "json"))
    Path(f"{ledger}.cache").unlink(missing_ok=True)
    out = svc(ledger, "2026-04-10T12:00").open_incident("Sans édition", "2026-04-10T08:00")
    assert out.head.startswith(f"{len(codec.decode(built(tmp_path_factory, 'json'), ledger)['events']) + 1}:")


@pytest.mark.parametrize("fmt", ["toml", "json"])
def test_an_event_the_fold_cannot_take_gives_the_whole_reads_answer(tmp_path, tmp_path_factory, monkeypatch, fmt):
    """The walk folds as it verifies; the whole read verifies everything first. An event whose time
    is past what Python holds (found by review: OverflowError, exit 70) before a later altered event:
    both ways name the altered event (exit 3); alone, it is a clear error naming it (exit 3)."""
    from nis2_incident.ledger import chain

    path = tmp_path / f"ledger.{fmt}"
    data = codec.decode(built(tmp_path_factory, fmt), path)
    events = data["events"]
    events[2]["recorded_at"] = "9999-12-31T23:00:00-05:00"
    for i in range(2, len(events)):  # re-seal from there: a chain that verifies
        ev = {k: v for k, v in events[i].items() if k not in ("seq", "prev", "hash")}
        events[i] = chain.seal(ev, events[i - 1])
    alone = codec.encode(data, path)
    events[10]["hash"] = "0" * 64
    both = codec.encode(data, path)
    for raw, says in ((alone, "event seq 3: recorded_at: out of range"), (both, "event seq 11")):
        path.write_bytes(raw)
        with_walk = run(path, "verify")
        Path(f"{path}.cache").unlink(missing_ok=True)
        with monkeypatch.context() as m:
            m.setattr(stream, "walk", lambda raw, p: (_ for _ in ()).throw(stream.NotStreamable()))
            assert run(path, "verify") == with_walk
        assert with_walk[0] == 3 and says in with_walk[2], with_walk


def test_a_write_on_a_reformatted_json_ledger_walks_then_rewrites_it_whole(tmp_path, tmp_path_factory):
    """A JSON walk lets the bytes go; when the file turns out not to be laid out as the codec writes
    it (here: indented by 4), the write reads the same bytes again and rewrites the whole file, as a
    write without the cache does."""
    from test_cache import svc, without_cache

    path = Path("ledger.json")
    reformatted = (json.dumps(codec.decode(built(tmp_path_factory, "json"), path), ensure_ascii=False, indent=4)
                   + "\n").encode()
    ledger, reference = tmp_path / "ledger.json", tmp_path / "reference.json"
    ledger.write_bytes(reformatted)
    reference.write_bytes(reformatted)
    with without_cache():
        expected = svc(reference, "2026-04-10T12:00").open_incident("Réindenté", "2026-04-10T08:00")
    got = svc(ledger, "2026-04-10T12:00").open_incident("Réindenté", "2026-04-10T08:00")
    assert got.head == expected.head and ledger.read_bytes() == reference.read_bytes()
    assert ledger.read_bytes() != reformatted and b'\n  "events": [\n' in ledger.read_bytes()
