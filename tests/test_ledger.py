"""The ledger on disk (SPEC §6, §8; DESIGN §3): one data model in TOML and JSON, a tamper-evident
hash chain, "unreadable is never empty", atomic writes, the write lock, and fuzzing of the parser.

Each test names the failure it guards against. A ledger used by most tests (`populate`) holds
8 events: 1 profile_set, 2 opened INC-2026-001, 3 opened INC-2026-002, 4 filed (INC-001),
5 requested (INC-001), 6 handled (INC-002), 7 closed (INC-002), 8 amended (INC-001).
"""

from __future__ import annotations

import copy
import errno
import json
import os
import re
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import at
from nis2_incident.errors import (
    InputError,
    IntegrityError,
    LedgerError,
    LockTimeout,
    Nis2IncidentError,
    StateError,
    WriteError,
)
from nis2_incident.ledger.lock import command_line
from nis2_incident.ledger import Ledger, Store, chain, codec, parse
from nis2_incident.ledger import store as store_mod
from nis2_incident.service import Service, folded

NOW = "2026-03-28T12:00"  # Paris, the day before the March clock change
N_EVENTS = 8
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$")


def populate(svc: Service) -> Service:
    svc.open_incident("Ransomware on the PACS", "2026-03-28T10:00")
    svc.open_incident("Phishing wave", "2026-03-28T09:00", summary="Mailbox compromise")
    svc.submit("INC-2026-001", "early_warning", at="2026-03-28T11:00", reference="ANSSI-1")
    svc.request("INC-2026-001", "2026-03-31T17:00", at="2026-03-28T11:00")
    svc.conclude("INC-2026-002", "closed", at="2026-03-28T11:30")
    svc.update_incident("INC-2026-001", summary="PACS encrypted")
    return svc


@pytest.fixture
def full(make_service, ledger_file) -> Path:
    """A TOML ledger with the 8 events above."""
    populate(make_service(NOW, name="Hôpital Test"))
    return ledger_file


@pytest.fixture(params=["toml", "json"])
def any_full(request, make_service, tmp_path) -> Path:
    """The same ledger, in either format."""
    path = tmp_path / f"ledger.{request.param}"
    populate(make_service(NOW, path=path, name="Hôpital Test"))
    return path


def service(path: Path, lock_timeout: float = 10.0) -> Service:
    return Service(Store(path, lock_timeout=lock_timeout), at(NOW))


def raw_load(path: Path) -> dict:
    """What an attacker or a text editor sees: the file's data, without any of our checks."""
    text = path.read_text("utf-8")
    return json.loads(text) if path.suffix == ".json" else tomllib.loads(text)


def raw_save(path: Path, data: dict) -> None:
    path.write_bytes(codec.encode(data, path))


def reseal(events: list[dict], start: int = 0) -> None:
    """Recompute prev and hash from index `start` on, as a forger with `chain.event_hash` would."""
    for i in range(start, len(events)):
        events[i]["prev"] = events[i - 1]["hash"] if i else chain.GENESIS
        events[i]["hash"] = chain.event_hash(events[i])


def head_of(events: list[dict], seq: int) -> str:
    return f"{seq}:{events[seq - 1]['hash']}"


# --- one data model, two formats -----------------------------------------------------------


def test_toml_and_json_ledgers_hold_the_same_events_and_hashes(make_service, tmp_path):
    """SPEC §6: the same data in both formats, so the same events hash the same."""
    toml_path, json_path = tmp_path / "a.toml", tmp_path / "a.json"
    populate(make_service(NOW, path=toml_path))
    populate(make_service(NOW, path=json_path))

    t, j = Store(toml_path).read(), Store(json_path).read()
    assert len(t.events) == N_EVENTS
    assert t.events == j.events
    assert t.profile == j.profile
    assert t.head == j.head
    assert [e["hash"] for e in t.events] == [e["hash"] for e in j.events]
    assert service(toml_path).verify()["head"] == service(json_path).verify()["head"] == t.head
    # the files really are TOML and JSON, with the three documented top-level keys
    assert toml_path.read_text("utf-8").startswith("schema_version = 1\n")
    as_json = json.loads(json_path.read_text("utf-8"))
    assert list(as_json) == ["schema_version", "profile", "events"]
    assert as_json == tomllib.loads(toml_path.read_text("utf-8"))


def test_a_ledger_converted_between_formats_keeps_its_chain(full, tmp_path):
    """Other tools may convert a ledger: the hashes do not depend on the format."""
    data = raw_load(full)
    json_path = tmp_path / "converted.json"
    raw_save(json_path, data)
    result = service(json_path).verify()
    assert result == {"ok": True, "events": N_EVENTS, "incidents": 2,
                      "head": Store(full).read().head, "head_check": None}


def test_a_json_ledger_reads_back_and_accepts_writes(make_service, tmp_path):
    path = tmp_path / "ledger.json"
    svc = make_service(NOW, path=path)
    out = svc.open_incident("Ransomware on the PACS", "2026-03-28T10:00")
    assert out.value.incident.id == "INC-2026-001"
    ledger = Store(path).read()
    assert [e["type"] for e in ledger.events] == ["profile_set", "opened"]
    assert ledger.events[1]["data"] == {"title": "Ransomware on the PACS",
                                        "aware_at": "2026-03-28T10:00:00+01:00",
                                        "significance": "undetermined", "number": 1}
    assert ledger.head == out.head == f"2:{ledger.events[1]['hash']}"
    state = service(path).state()
    assert list(state.incidents) == ["INC-2026-001"]
    assert state.incidents["INC-2026-001"].aware_at == at("2026-03-28T10:00")


def test_event_times_are_strings_with_offsets_in_both_formats(any_full):
    """SPEC §6: RFC 3339 strings with offset, never naive values, never TOML datetimes, and in the
    profile's zone (Paris), not the machine's (the tests run in Los Angeles)."""
    data = raw_load(any_full)
    times = []
    for ev in data["events"]:
        times.append(ev["recorded_at"])
        times += [v for k, v in ev["data"].items() if k in ("at", "due") or k.endswith("_at")]
    assert len(times) == 8 + 8  # every recorded_at; aware_at x2, at x4 (filed, requested, handled, closed), due x2
    for value in times:
        assert isinstance(value, str), value
        assert RFC3339.match(value), value
    filed = data["events"][3]
    assert filed["type"] == "filed"
    # due: 24 h after aware-at 10:00+01:00, across the clock change: 11:00+02:00 on the 29th
    assert filed["data"] == {"stage": "nis2.early_warning", "at": "2026-03-28T11:00:00+01:00",
                             "reference": "ANSSI-1", "due": "2026-03-29T11:00:00+02:00", "late": False}
    assert data["events"][4]["data"] == {"stage": "nis2.intermediate", "at": "2026-03-28T11:00:00+01:00",
                                         "due": "2026-03-31T17:00:00+02:00"}
    text = any_full.read_text("utf-8")
    assert "-07:00" not in text and "-08:00" not in text
    if any_full.suffix == ".toml":
        assert 'recorded_at = "2026-03-28T12:00:00+01:00"' in text


# --- tamper evidence ------------------------------------------------------------------------


def expect_tamper(path: Path, seq: int, words: str) -> IntegrityError:
    """chain.verify and Service.verify both name the first bad seq; writes refuse, bytes unchanged."""
    events = raw_load(path)["events"]
    with pytest.raises(IntegrityError) as raw_err:
        chain.verify(events)
    assert raw_err.value.seq == seq
    assert re.search(rf"\bseq {seq}\b", raw_err.value.message), raw_err.value.message
    assert words in raw_err.value.message

    before = path.read_bytes()
    with pytest.raises(IntegrityError) as svc_err:
        service(path).verify()
    assert svc_err.value.seq == seq
    assert svc_err.value.message == f"{path}: {raw_err.value.message}"
    assert svc_err.value.exit_code == 3
    with pytest.raises(IntegrityError):
        service(path).open_incident("after tampering", "2026-03-28T10:00")
    assert path.read_bytes() == before
    return svc_err.value


def test_tamper_edit_a_time_inside_an_event(any_full):
    text = any_full.read_text("utf-8")
    sep = " = " if any_full.suffix == ".toml" else ": "
    old = f'"at"{sep}"2026-03-28T11:00:00+01:00"' if sep == ": " else f'at{sep}"2026-03-28T11:00:00+01:00"'
    new = old.replace("11:00:00", "10:45:00")
    assert text.count(old) == 2  # seq 4 (filed) and seq 5 (requested); the first one is edited
    any_full.write_text(text.replace(old, new, 1), "utf-8")
    err = expect_tamper(any_full, 4, "hash does not match its content")
    assert "event seq 4 was altered" in err.message


def test_tamper_same_instant_other_offset_is_still_an_edit(any_full):
    """The hash covers the stored text: rewriting a time as the same instant in UTC is caught too."""
    data = raw_load(any_full)
    assert data["events"][3]["data"]["at"] == "2026-03-28T11:00:00+01:00"
    data["events"][3]["data"]["at"] = "2026-03-28T10:00:00+00:00"
    raw_save(any_full, data)
    expect_tamper(any_full, 4, "was altered")


def test_tamper_delete_a_middle_event(any_full):
    data = raw_load(any_full)
    del data["events"][3]  # seq 4
    raw_save(any_full, data)
    err = expect_tamper(any_full, 4, "removed, duplicated or moved")
    assert "event #4 has seq 5" in err.message


def test_tamper_duplicate_an_event(any_full):
    data = raw_load(any_full)
    data["events"].insert(4, copy.deepcopy(data["events"][3]))  # seq 4 twice
    raw_save(any_full, data)
    err = expect_tamper(any_full, 5, "removed, duplicated or moved")
    assert "event #5 has seq 4" in err.message


def test_tamper_swap_two_events(any_full):
    data = raw_load(any_full)
    ev = data["events"]
    ev[3], ev[4] = ev[4], ev[3]
    raw_save(any_full, data)
    err = expect_tamper(any_full, 4, "removed, duplicated or moved")
    assert "event #4 has seq 5" in err.message


def test_tamper_swap_two_events_and_renumber_them(any_full):
    data = raw_load(any_full)
    ev = data["events"]
    ev[3], ev[4] = ev[4], ev[3]
    ev[3]["seq"], ev[4]["seq"] = 4, 5
    raw_save(any_full, data)
    expect_tamper(any_full, 4, "prev does not match")


def test_tamper_change_prev(any_full):
    data = raw_load(any_full)
    data["events"][4]["prev"] = "f" * 64  # seq 5
    raw_save(any_full, data)
    err = expect_tamper(any_full, 5, "prev does not match")
    assert "the chain is broken at seq 5" in err.message


def test_tamper_change_prev_and_rehash_that_event(any_full):
    """Re-hashing only the edited event does not help: its prev no longer matches seq 4's hash."""
    data = raw_load(any_full)
    data["events"][4]["prev"] = "f" * 64
    data["events"][4]["hash"] = chain.event_hash(data["events"][4])
    raw_save(any_full, data)
    expect_tamper(any_full, 5, "prev does not match")


def test_tamper_edit_the_profile_event(any_full):
    data = raw_load(any_full)
    data["events"][0]["data"]["category"] = "important"
    raw_save(any_full, data)
    expect_tamper(any_full, 1, "was altered")


def test_tamper_edit_only_the_top_level_profile(any_full):
    """The top-level profile is a view of the profile events; editing it alone is caught."""
    data = raw_load(any_full)
    data["profile"]["category"] = "important"
    data["profile"]["name"] = "Someone else"
    raw_save(any_full, data)
    chain.verify(raw_load(any_full)["events"])  # the chain itself is intact
    before = any_full.read_bytes()
    with pytest.raises(IntegrityError) as err:
        service(any_full).verify()
    assert err.value.seq is None
    assert err.value.exit_code == 3
    assert err.value.message.startswith(f"{any_full}: the top-level profile does not match the profile set by the events")
    assert "(differs in: category, name)" in err.value.message
    for write in (lambda s: s.open_incident("x", "2026-03-28T10:00"),
                  lambda s: s.update_incident("INC-2026-001", summary="x")):
        with pytest.raises(IntegrityError):
            write(service(any_full))
    assert any_full.read_bytes() == before


def test_forged_tail_passes_plain_verify_but_not_a_kept_head(any_full):
    """An attacker edits seq 4 and recomputes every later hash with chain.event_hash. The chain is
    then self-consistent, so plain `verify` CANNOT see it (by design: the chain has no secret); only
    a head kept elsewhere before the forgery proves the rewrite."""
    original = raw_load(any_full)["events"]
    kept_head = head_of(original, N_EVENTS)
    assert Store(any_full).read().head == kept_head
    kept_early = head_of(original, 3)  # kept before seq 4 existed: says nothing about seq 4..

    data = raw_load(any_full)
    data["events"][3]["data"]["at"] = "2026-03-28T10:15:00+01:00"  # the filing, moved earlier
    reseal(data["events"], 3)
    raw_save(any_full, data)

    chain.verify(raw_load(any_full)["events"])  # passes: documented limit of a bare hash chain
    plain = service(any_full).verify()
    assert plain["ok"] is True and plain["events"] == N_EVENTS
    assert plain["head"] != kept_head

    with pytest.raises(IntegrityError) as err:
        service(any_full).verify(head=kept_head)
    assert err.value.seq == N_EVENTS
    assert err.value.message == (f"{any_full}: event seq {N_EVENTS} does not match the kept head: "
                                 f"the chain was rewritten at or before seq {N_EVENTS}")
    # the bare-hash form of the same head, as a user may paste it
    bare = original[N_EVENTS - 1]["hash"][:16]
    with pytest.raises(IntegrityError) as err2:
        service(any_full).verify(head=bare)
    assert err2.value.seq is None
    assert f"kept head {bare[:12]}… is not in the chain" in err2.value.message
    # a head kept after seq 5 was written also fails, naming seq 5
    with pytest.raises(IntegrityError) as err3:
        service(any_full).verify(head=head_of(original, 5))
    assert err3.value.seq == 5
    # and one kept before the forged event still matches: it only vouches for seq 1..3
    assert service(any_full).verify(head=kept_early)["head_check"] == "kept head seq 3 found; 5 event(s) added since"


def test_cut_tail_is_caught_by_a_kept_head(any_full):
    original = raw_load(any_full)["events"]
    kept_head = head_of(original, N_EVENTS)
    data = raw_load(any_full)
    del data["events"][-2:]  # seq 7 and 8 removed
    raw_save(any_full, data)

    assert service(any_full).verify()["events"] == N_EVENTS - 2  # plain verify cannot know
    with pytest.raises(IntegrityError) as err:
        service(any_full).verify(head=kept_head)
    assert err.value.seq == N_EVENTS - 1
    assert err.value.message == (f"{any_full}: kept head is seq 8 but the ledger ends at seq 6: the head is not "
                                 "from this ledger (another file, or a typo in SEQ), or events 7..8 were removed "
                                 "from the end; check where the head was kept and which file --ledger names")
    with pytest.raises(IntegrityError) as err2:
        service(any_full).verify(head=original[-1]["hash"])
    assert "events were removed from the end or rewritten (the ledger ends at seq 6)" in err2.value.message


def test_check_head_accepts_seq_hash_and_bare_prefixes(full):
    events = Store(full).read().events
    h5 = events[4]["hash"]
    assert chain.check_head(events, head_of(events, 8)) == "kept head seq 8 found; 0 event(s) added since"
    assert chain.check_head(events, f"5:{h5}") == "kept head seq 5 found; 3 event(s) added since"
    assert chain.check_head(events, f"5:{h5[:12]}") == "kept head seq 5 found; 3 event(s) added since"
    assert chain.check_head(events, f"  5:{h5.upper()}\n") == "kept head seq 5 found; 3 event(s) added since"
    assert chain.check_head(events, h5) == "kept head found at seq 5; 3 event(s) added since"
    assert chain.check_head(events, h5[:12]) == "kept head found at seq 5; 3 event(s) added since"
    assert chain.check_head(events, h5[:12].upper()) == "kept head found at seq 5; 3 event(s) added since"
    assert service(full).verify(head=h5[:12])["head_check"] == "kept head found at seq 5; 3 event(s) added since"
    # a right hash under the wrong seq is not accepted
    with pytest.raises(IntegrityError) as err:
        chain.check_head(events, f"4:{h5}")
    assert err.value.seq == 4


def test_check_head_seq_zero_is_the_empty_ledger(full):
    """`Ledger.head` of an empty ledger is `0:000…`: every ledger extends it. Seq 0 must not be
    looked up as events[-1] (the last event), which accepted `0:<last hash>` as a kept head."""
    events = Store(full).read().events
    assert Ledger(profile={}).head == f"0:{chain.GENESIS}"
    assert chain.check_head(events, f"0:{chain.GENESIS}") == "kept head seq 0 found; 8 event(s) added since"
    assert chain.check_head(events, "0:000000000000") == "kept head seq 0 found; 8 event(s) added since"
    with pytest.raises(InputError):
        chain.check_head(events, f"0:{events[-1]['hash']}")


@pytest.mark.parametrize("head", [
    "", "   ", "abc", "0123456789a",            # empty, too short (11 hex digits)
    "g" * 12, "0123456789abcdeg",                # not hex
    "5:", "5:0123456789a",                      # seq without enough hash
    "x:0123456789ab", "-1:0123456789ab", "1.5:0123456789ab",  # seq not a number
    "0123456789ab" * 6,                          # 72 digits: longer than SHA-256
    "5:0123456789ab:0123456789ab",
])
def test_check_head_refuses_malformed_heads(full, head):
    events = Store(full).read().events
    with pytest.raises(InputError) as err:
        chain.check_head(events, head)
    assert err.value.exit_code == 2
    assert "accepted: SEQ:HASH" in err.value.message
    if head.strip():  # Service.verify treats an empty head as "no head" (see the report)
        with pytest.raises(InputError):
            service(full).verify(head=head)


# --- unreadable is never empty ---------------------------------------------------------------


def _edit(old: bytes, new: bytes):
    def apply(raw: bytes, path: Path) -> bytes:
        assert old in raw, old
        return raw.replace(old, new, 1)
    return apply


def _data(change):
    def apply(raw: bytes, path: Path) -> bytes:
        data = tomllib.loads(raw.decode("utf-8"))
        change(data)
        return codec.encode(data, path)
    return apply


CORRUPTIONS = {
    # one byte changed: in the content (the hash catches it), in the syntax, a NUL, a non-UTF-8 byte
    "byte-in-a-title": (_edit(b"Ransomware", b"Ransomwarf"), "was altered"),
    "byte-in-a-hash": (_edit(b'hash = "', b'hash = "X'), "hash does not match"),
    "byte-in-the-syntax": (_edit(b"[[events]]", b"[[events]}"), "invalid TOML"),
    "nul-byte": (_edit(b"PACS", b"PA\x00S"), "invalid TOML"),
    "invalid-utf8-byte": (_edit(b"Phishing", b"Ph\xffshing"), "not valid UTF-8"),
    "latin1-file": (lambda raw, p: raw.decode("utf-8").encode("latin-1"), "not valid UTF-8"),
    "truncated-half": (lambda raw, p: raw[: len(raw) // 2], ""),
    "truncated-two-bytes": (lambda raw, p: raw[:-2], "invalid TOML"),
    "empty": (lambda raw, p: b"", "the ledger is empty (0 bytes)"),
    "whitespace-only": (lambda raw, p: b"\n  \n\t\n", "the ledger is empty (6 bytes)"),
    "newer-schema": (_edit(b"schema_version = 1", b"schema_version = 2"), "is newer than this nis2-incident"),
    "missing-schema": (_edit(b"schema_version = 1\n", b""), "schema_version: missing or not an integer"),
    "schema-is-string": (_edit(b"schema_version = 1", b'schema_version = "1"'), "schema_version: missing"),
    "schema-zero": (_edit(b"schema_version = 1", b"schema_version = 0"), "not a known version"),
    "profile-not-a-table": (_data(lambda d: d.update(profile="CHU")), "profile: missing or not a table"),
    "events-not-a-list": (_data(lambda d: d.update(events={"a": 1})), "events: must be a list of tables"),
    "event-not-a-table": (_data(lambda d: d["events"].insert(1, "x")), "events[1]: must be a table"),
    "seq-not-an-integer": (_data(lambda d: d["events"][2].update(seq="3")), "events[2]: seq must be an integer"),
    "hash-not-a-string": (_data(lambda d: d["events"][2].update(hash=3)), "hash must be a string"),
    "event-key-missing": (_data(lambda d: d["events"][2].pop("prev")), "events[2]: missing key(s) prev"),
    "5000-digit-integer": (_edit(b"number = 1", b"number = " + b"9" * 5000), "Exceeds the limit"),
    "4000-digit-integer": (_edit(b"number = 1", b"number = " + b"9" * 4000), "cannot be canonicalised"),
    "toml-datetime-value": (_edit(b'at = "2026-03-28T11:30:00+01:00"', b"at = 2026-03-28T11:30:00+01:00"),
                            "cannot be canonicalised"),
    "deep-nesting": (lambda raw, p: raw + b"x = " + b"[" * 50_000 + b"]" * 50_000 + b"\n", ""),
}

WRITES = {
    "open": lambda s: s.open_incident("New one", "2026-03-28T10:00"),
    "update": lambda s: s.update_incident("INC-2026-001", severity="high"),
    "submit": lambda s: s.submit("INC-2026-001", "notification", at="2026-03-28T11:45"),
    "request": lambda s: s.request("INC-2026-001", "+5d", at="2026-03-28T11:45"),
    "handled": lambda s: s.conclude("INC-2026-001", "handled", at="2026-03-28T11:45"),
    "close": lambda s: s.conclude("INC-2026-001", "closed", at="2026-03-28T11:45"),
}


def test_every_write_use_case_works_on_the_intact_ledger(full):
    """The control for the refusals below: the same calls succeed when nothing is wrong."""
    for name, write in WRITES.items():
        before = len(Store(full).read().events)
        write(service(full))
        assert len(Store(full).read().events) > before, name
    assert service(full).verify()["events"] == N_EVENTS + 6  # close after handled adds one event


@pytest.mark.parametrize("name", list(CORRUPTIONS))
def test_unreadable_ledger_is_never_empty_and_never_overwritten(full, name):
    """pass-code PR #1, taskwarrior#2264: a damaged ledger is refused by every write, byte-for-byte
    unchanged, with the file named; `init` does not replace it either."""
    corrupt, words = CORRUPTIONS[name]
    damaged = corrupt(full.read_bytes(), full)
    full.write_bytes(damaged)
    for op, write in WRITES.items():
        with pytest.raises(LedgerError) as err:
            write(service(full))
        assert err.value.exit_code == 3, op
        assert str(full) in err.value.message, (op, err.value.message)
        assert words in err.value.message, (op, err.value.message)
        assert full.read_bytes() == damaged, op
    with pytest.raises(LedgerError):
        service(full).verify()
    with pytest.raises(StateError) as err:
        service(full).init(name="CHU Test", category="essential")
    assert err.value.exit_code == 5
    assert f"{full}: a ledger already exists ({len(damaged)} bytes)" in err.value.message
    assert full.read_bytes() == damaged
    # nothing but the ledger and its lock beside it (no derived file in its folder)
    assert sorted(os.listdir(full.parent)) == ["ledger.toml", "ledger.toml.lock"]


def test_a_missing_ledger_is_not_created_by_a_write(ledger_file):
    with pytest.raises(LedgerError) as err:
        service(ledger_file).open_incident("x", "2026-03-28T10:00")
    assert err.value.exit_code == 3
    assert "create one with `nis2-incident init" in err.value.message
    assert not ledger_file.exists()


@pytest.fixture
def json_full(make_service, tmp_path) -> Path:
    path = tmp_path / "ledger.json"
    populate(make_service(NOW, path=path))
    return path


def _json_edit(old: str, new: str):
    def apply(text: str) -> str:
        assert old in text, old
        return text.replace(old, new, 1)
    return apply


JSON_CASES = {
    "duplicate-top-level-key": (_json_edit('"schema_version": 1,', '"schema_version": 1, "schema_version": 1,'),
                                "duplicate key 'schema_version'"),
    "duplicate-key-in-event": (_json_edit('"seq": 2,', '"seq": 2, "seq": 2,'), "duplicate key 'seq'"),
    "nan": (_json_edit('"late": false', '"late": NaN'), "NaN is not allowed"),
    "infinity": (_json_edit('"late": false', '"late": Infinity'), "Infinity is not allowed"),
    "minus-infinity": (_json_edit('"number": 1', '"number": -Infinity'), "-Infinity is not allowed"),
    "float-schema": (_json_edit('"schema_version": 1', '"schema_version": 1.0'), "the number 1.0 (no decimals)"),
    "float-in-data": (_json_edit('"number": 1', '"number": 1e3'), "the number 1e3 (no decimals)"),
    "5000-digit-integer": (_json_edit('"number": 1', '"number": ' + "7" * 5000), "Exceeds the limit"),
    "5000-digit-schema": (_json_edit('"schema_version": 1', '"schema_version": -' + "7" * 5000), "Exceeds the limit"),
    "4000-digit-integer": (_json_edit('"number": 1', '"number": ' + "7" * 4000), "cannot be canonicalised"),
    "top-level-array": (lambda t: "[" + t + "]", "the top level must be a table"),
    "top-level-string": (lambda t: '"ledger"', "the top level must be a table"),
    "null-profile": (_json_edit('"profile": {', '"profile": null, "x": {'), "profile: missing or not a table"),
    "trailing-garbage": (lambda t: t + "}", "invalid JSON: Extra data"),
    "deep-nesting": (lambda t: "[" * 100_000 + "]" * 100_000, "recursion"),
    "lone-surrogate-in-event": (_json_edit('"title": "Ransomware', '"title": "\\ud800Ransomware'),
                                "cannot be canonicalised"),
}


@pytest.mark.parametrize("name", list(JSON_CASES))
def test_json_ledger_bad_values_are_ledger_errors(json_full, name):
    """Duplicate keys, NaN, floats, huge integers: the project's own error, never a crash."""
    change, words = JSON_CASES[name]
    damaged = change(json_full.read_text("utf-8")).encode("utf-8", "surrogatepass")
    with pytest.raises(LedgerError) as err:
        parse(damaged, json_full)
    assert str(json_full) in err.value.message
    assert words in err.value.message, err.value.message
    json_full.write_bytes(damaged)
    for op in ("open", "update", "close"):
        with pytest.raises(LedgerError):
            WRITES[op](service(json_full))
        assert json_full.read_bytes() == damaged


def test_json_syntax_error_names_line_and_column(json_full):
    text = json_full.read_text("utf-8").replace('"seq": 3,', '"seq": 3', 1)
    line = next(i for i, l in enumerate(text.splitlines(), 1) if '"seq": 3' in l) + 1
    with pytest.raises(LedgerError) as err:
        parse(text.encode(), json_full)
    assert err.value.message.startswith(f"{json_full}: line {line}, column ")
    assert "invalid JSON: Expecting ',' delimiter" in err.value.message


def test_forged_event_with_a_non_string_incident_is_a_ledger_error(full):
    """A chain-valid ledger (re-hashed) whose `incident` is a list crashed the fold with
    TypeError: unhashable type (exit 70) instead of a clean ledger error (exit 3)."""
    data = raw_load(full)
    data["events"][4]["incident"] = ["INC-2026-001"]
    reseal(data["events"], 4)
    raw_save(full, data)
    before = full.read_bytes()
    with pytest.raises(LedgerError) as err:
        service(full).verify()
    assert "events[4] (seq 5): incident must be a string" in err.value.message
    with pytest.raises(LedgerError):
        WRITES["open"](service(full))
    assert full.read_bytes() == before


# --- atomic write ---------------------------------------------------------------------------


def _fail_at(monkeypatch, name: str, n: int, err: int = errno.ENOSPC):
    """Make os.<name> (as store.py calls it) raise OSError(err) at its n-th call. `monkeypatch` is a
    `monkeypatch.context()`, so leaving it restores os without undoing the conftest environment."""
    real = getattr(store_mod.os, name)
    calls = {"n": 0}

    def failing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == n:
            raise OSError(err, os.strerror(err))
        return real(*args, **kwargs)

    monkeypatch.setattr(store_mod.os, name, failing)
    return calls


@pytest.mark.parametrize("name", ["replace", "fsync", "write"])
@pytest.mark.parametrize("err", [errno.ENOSPC, errno.EIO])
def test_failed_io_before_the_rename_leaves_the_old_file(full, monkeypatch, name, err):
    """taskwarrior#2264: a full disk must not leave a zero-length or half-written ledger."""
    before = full.read_bytes()
    with monkeypatch.context() as m:
        calls = _fail_at(m, name, 1, err)
        with pytest.raises(WriteError) as exc:
            service(full).open_incident("Lost?", "2026-03-28T10:00")
    assert calls["n"] == 1
    assert exc.value.exit_code == 7
    assert exc.value.message == (f"{full}: could not write the ledger ({os.strerror(err)}); "
                                 "nothing was recorded and the previous file is intact")
    assert full.read_bytes() == before
    assert sorted(os.listdir(full.parent)) == ["ledger.toml", "ledger.toml.lock"]  # no temp file left
    assert service(full).verify()["events"] == N_EVENTS
    # and the next write works
    assert service(full).open_incident("Next", "2026-03-28T10:00").value.incident.id == "INC-2026-003"


def test_failed_folder_fsync_after_the_rename_is_reported(full, monkeypatch):
    """The second fsync is the folder's: the new file is in place but may not survive a crash, so
    the write is reported as failed (exit 7) and the ledger is the new, valid state."""
    with monkeypatch.context() as m:
        calls = _fail_at(m, "fsync", 2, errno.EIO)
        with pytest.raises(WriteError) as exc:
            service(full).open_incident("Maybe", "2026-03-28T10:00")
    assert calls["n"] == 2
    assert "the change was written (head 9:" in exc.value.message
    assert "but the folder could not be synced (Input/output error)" in exc.value.message
    assert "check with `list` or `verify` before retrying, so as not to record it twice" in exc.value.message
    ledger = Store(full).read()
    assert len(ledger.events) == N_EVENTS + 1 and ledger.events[-1]["data"]["title"] == "Maybe"
    assert sorted(os.listdir(full.parent)) == ["ledger.toml", "ledger.toml.lock"]


def test_failed_io_during_init_creates_no_ledger(ledger_file, monkeypatch):
    with monkeypatch.context() as m:
        _fail_at(m, "replace", 1)
        with pytest.raises(WriteError):
            service(ledger_file).init(name="CHU Test", category="essential")
    assert not ledger_file.exists()
    assert sorted(os.listdir(ledger_file.parent)) == ["ledger.toml.lock"]
    service(ledger_file).init(name="CHU Test", category="essential")
    assert service(ledger_file).verify()["events"] == 1


def test_a_refused_change_writes_nothing(full, monkeypatch):
    """A use case that raises before appending must not even rewrite the same bytes."""
    calls = _fail_at(monkeypatch, "replace", 10**9)
    stat = full.stat()
    with pytest.raises(InputError):
        service(full).open_incident("Future", "2026-03-28T13:00")  # aware-at after now
    out = service(full).update_incident("INC-2026-001", summary="PACS encrypted")  # already recorded
    assert out.warnings == ["no change: every value given is already recorded; nothing was written"]
    assert out.head == head_of(raw_load(full)["events"], N_EVENTS)
    assert calls["n"] == 0
    assert full.stat().st_ino == stat.st_ino and full.stat().st_mtime_ns == stat.st_mtime_ns


# --- the write lock -------------------------------------------------------------------------

HOLDER = """
import sys, time
from nis2_incident.ledger import Store
with Store(sys.argv[1]).locked():
    print("locked", flush=True)
    time.sleep(120)
"""


def test_lock_timeout_names_the_holder_and_the_lock_survives_it(full):
    """filelock#574: the lock file is never deleted (a deleted lock lets two writers in); a waiting
    writer gives up after its timeout naming the holder's pid; a killed holder frees it at once."""
    store = Store(full)
    lock = store.lock_path
    assert lock == full.parent / "ledger.toml.lock" and lock.exists()
    inode = lock.stat().st_ino
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(full)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "locked\n"
        assert lock.read_text() == f"{holder.pid}\n"
        before = full.read_bytes()

        start = time.monotonic()
        with pytest.raises(LockTimeout) as err:
            service(full, lock_timeout=0.3).open_incident("Blocked", "2026-03-28T10:00")
        assert time.monotonic() - start >= 0.3
        assert err.value.exit_code == 6
        # the holder by its pid and (issue 14) its command line, from /proc
        shown = command_line(holder.pid)
        assert shown.startswith(f"{sys.executable} -c ")
        assert err.value.message == (f"{full}: another nis2-incident process (pid {holder.pid}, `{shown}`) holds "
                                     "the write lock; gave up after 0.3 s. Retry, or raise --lock-timeout")
        assert full.read_bytes() == before
        # readers do not take the lock
        assert service(full).verify()["events"] == N_EVENTS
        assert lock.exists() and lock.stat().st_ino == inode
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        holder.stdout.close()
    assert holder.returncode == -signal.SIGKILL
    # a killed holder's flock is gone with its process: a zero-timeout writer gets it at once
    out = service(full, lock_timeout=0).open_incident("After the kill", "2026-03-28T10:00")
    assert out.value.incident.id == "INC-2026-003"
    assert lock.stat().st_ino == inode
    assert lock.read_text() == f"{os.getpid()}\n"


def test_lock_file_is_never_deleted_nor_replaced_across_writes(make_service, ledger_file):
    svc = make_service(NOW)
    lock = Store(ledger_file).lock_path
    inode = lock.stat().st_ino
    for i in range(3):
        svc.open_incident(f"n{i}", "2026-03-28T10:00")
        assert lock.stat().st_ino == inode
    with pytest.raises(StateError):
        svc.init(name="Again", category="essential")
    assert lock.stat().st_ino == inode
    assert sorted(os.listdir(ledger_file.parent)) == ["ledger.toml", "ledger.toml.lock"]


# --- fuzzing the parser ----------------------------------------------------------------------


def _valid(fmt: str) -> bytes:
    from nis2_incident.ledger import Ledger as L

    ledger = L(profile={"name": "CHU", "category": "essential", "timezone": "Europe/Paris",
                        "trust_service": False, "health_establishment": False, "regimes": ["nis2"],
                        "check_within": "6h"})
    ledger.append({"type": "profile_set", "recorded_at": "2026-03-28T12:00:00+01:00", "data": dict(ledger.profile)})
    ledger.append({"type": "opened", "recorded_at": "2026-03-28T12:00:00+01:00", "incident": "INC-2026-001",
                   "data": {"title": "Ransomware", "aware_at": "2026-03-28T10:00:00+01:00",
                            "significance": "undetermined", "number": 1, "iocs": ["1.2.3.4"]}})
    ledger.append({"type": "filed", "recorded_at": "2026-03-28T12:00:00+01:00", "incident": "INC-2026-001",
                   "data": {"stage": "nis2.early_warning", "at": "2026-03-28T11:00:00+01:00",
                            "due": "2026-03-29T11:00:00+02:00", "late": False}})
    return codec.encode(ledger.to_data(), Path(f"x.{fmt}"))


VALID = {"toml": _valid("toml"), "json": _valid("json")}


def _parse_or_ledger_error(raw: bytes, fmt: str):
    path = Path(f"x.{fmt}")
    try:
        ledger = parse(raw, path)
    except LedgerError as exc:
        assert exc.message.startswith(f"{path}: "), exc.message
        return None
    # whatever parses must also fold (or be refused) cleanly
    try:
        folded(ledger, str(path))
    except LedgerError:
        pass
    return ledger


def test_the_fuzz_seed_ledgers_are_valid():
    for fmt, raw in VALID.items():
        ledger = _parse_or_ledger_error(raw, fmt)
        assert ledger is not None and len(ledger.events) == 3
        assert list(folded(ledger).incidents) == ["INC-2026-001"]


@settings(max_examples=200, deadline=None)
@given(raw=st.binary(max_size=4000), fmt=st.sampled_from(["toml", "json"]))
def test_parse_random_bytes_only_raises_ledger_error(raw, fmt):
    _parse_or_ledger_error(raw, fmt)


@st.composite
def mutated(draw):
    fmt = draw(st.sampled_from(["toml", "json"]))
    data = bytearray(VALID[fmt])
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["replace", "delete", "insert", "truncate", "duplicate"]))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "replace" and data:
            data[pos] = draw(st.integers(0, 255))
        elif kind == "delete":
            del data[pos: pos + draw(st.integers(1, 40))]
        elif kind == "insert":
            snippet = draw(st.sampled_from([b"\x00", b"\xff", b'"', b"[", b"]", b"{", b"}", b"=", b",", b"\n",
                                            b"NaN", b"1.5", b"-", b"9" * 5000, b"[[events]]\n", b'\\u0000',
                                            b"\\ud800", b"true", b"null", b"'''", b"#"]) | st.binary(max_size=8))
            data[pos:pos] = snippet
        elif kind == "truncate":
            del data[pos:]
        elif kind == "duplicate" and data:
            end = min(len(data), pos + draw(st.integers(1, 200)))
            data[end:end] = data[pos:end]
    return fmt, bytes(data)


@settings(max_examples=200, deadline=None)
@given(case=mutated())
def test_parse_mutated_ledgers_only_raises_ledger_error(case):
    fmt, raw = case
    _parse_or_ledger_error(raw, fmt)


JSONISH = st.recursive(
    st.booleans() | st.integers(-(10**20), 10**20) | st.text(max_size=20)
    | st.sampled_from(["2026-03-28T11:00:00+01:00", "2026-03-28T11:00:00", "nis2.early_warning", "INC-2026-001",
                       "opened", "filed", "closed", "profile_set", "Europe/Paris", "Mars/Olympus", "gdpr"]),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(
        st.sampled_from(["at", "due", "stage", "title", "aware_at", "number", "late", "name", "regimes"]), c,
        max_size=3),
    max_leaves=6)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(index=st.integers(0, 2), in_data=st.booleans(), value=JSONISH,
       key=st.sampled_from(["type", "recorded_at", "incident", "data", "at", "due", "stage", "title", "aware_at",
                            "number", "late", "name", "regimes", "timezone", "category", "iocs", "significance"]))
def test_forged_chain_valid_ledgers_give_only_project_errors(tmp_path, index, in_data, value, key):
    """Beyond the chain: a re-hashed ledger with any value anywhere (as a careless tool might write)
    is read, shown and written to with only the project's errors, never a crash."""
    data = json.loads(VALID["json"])
    ev = data["events"][index]
    target = ev["data"] if in_data and key not in ("type", "recorded_at", "incident", "data") else ev
    target[key] = value
    try:
        reseal(data["events"], index)
    except IntegrityError:
        return
    path = tmp_path / "forged.json"
    path.write_bytes(codec.encode(data, path))
    svc = Service(Store(path), at(NOW))
    for use in (lambda: svc.verify(), lambda: svc.views(),
                lambda: svc.open_incident("x", "2026-03-28T10:00"),
                lambda: svc.submit("1", "early_warning", at="2026-03-28T11:30")):
        try:
            use()
        except Nis2IncidentError:
            pass
