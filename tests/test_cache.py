"""The read cache and the append fast path (issue 8): faster, never different.

`<ledger>.cache` is derived data (nis2_incident/ledger/cache.py; README, "The read cache"). These
tests hold every command's output to what the code without any cache gives (whole reads and whole
rewrites, as before issue 8), with the cache missing, fresh, stale after an edit by another program,
corrupt, unwritable, written by other code or for other regime files; a tampered ledger is refused
by writes and by `verify` whatever cache lies beside it; and a write through the fast path writes
byte-for-byte what a whole re-encoding writes, in TOML and in JSON.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from conftest import at
from nis2_incident import service as service_mod
from nis2_incident.cli import app
from nis2_incident.errors import IntegrityError, NotFound
from nis2_incident.ledger import Store, cache, chain, codec, stream
from nis2_incident.ledger import store as store_mod
from nis2_incident.service import Service

runner = CliRunner()
NOWS = ["2026-03-01T12:00", "2026-03-03T09:00", "2026-03-29T03:30", "2026-04-10T12:00", "2027-06-01T12:00"]
# the clock before most incidents, during them, across the March change, after, a year later


def svc(path: Path, now: str) -> Service:
    return Service(Store(path), at(now))


def build(path: Path) -> Path:
    """Incidents in every situation: settled (closed, all met; all not applicable; one late), closed
    with obligations still open, handled, open with a request, open and recent."""
    svc(path, "2026-03-01T09:00").init(name="CHU Cache", category="essential", health_establishment=True,
                                      regimes=["nis2", "gdpr", "csp"], targets={"csp.report": "4h"})
    s = svc(path, "2026-03-02T10:30")
    s.open_incident("Rançongiciel sur le PACS « urgent »", "2026-03-02T10:00", personal_data=True, malicious=True,
                    iocs=["198.51.100.7", "evil.example", "a\\b \"quoted\"", "x" * 60, "y" * 60])
    for stage, when in (("csp.report", "2026-03-02T11:00"), ("nis2.early_warning", "2026-03-03T08:00"),
                        ("nis2.notification", "2026-03-04T09:00"), ("gdpr.notification", "2026-03-04T09:30")):
        svc(path, when).submit("1", stage, reference=f"REF-{stage}", channel="portail")
    svc(path, "2026-03-10T10:00").conclude("1", "handled")
    svc(path, "2026-03-20T10:00").submit("1", "nis2.final", reference="REF-final")
    svc(path, "2026-03-21T10:00").conclude("1", "closed")                       # 1: settled, all met
    svc(path, "2026-03-02T12:00").open_incident("Messagerie compromise", "2026-03-02T11:00")
    svc(path, "2026-03-02T13:00").conclude("2", "closed")                       # 2: closed, overdue later
    svc(path, "2026-03-05T09:00").open_incident(
        "Panne réseau\nsans gravité", "2026-03-05T08:00", significance="not_significant",
        significance_rationale="Aucune perturbation",
        serious=False, serious_rationale="Pas de risque pour les patients", summary="ligne 1\nligne 2\ttab")
    svc(path, "2026-03-05T10:00").conclude("3", "closed")                       # 3: settled, not applicable
    svc(path, "2026-03-06T09:00").open_incident("Accès VPN suspect", "2026-03-06T08:00")
    svc(path, "2026-03-06T12:00").request("4", "+5d")                           # 4: open, a request
    svc(path, "2026-03-07T09:00").open_incident("Hameçonnage", "2026-03-07T08:00", personal_data=True)
    svc(path, "2026-03-07T10:00").submit("5", "csp.report")
    svc(path, "2026-03-08T09:00").conclude("5", "handled")                      # 5: handled
    svc(path, "2026-03-09T09:00").open_incident("Fuite de données 🔓", "2026-03-09T08:00", personal_data=True)
    for stage, when in (("csp.report", "2026-03-09T09:30"), ("nis2.early_warning", "2026-03-09T20:00"),
                        ("nis2.notification", "2026-03-11T09:00")):
        svc(path, when).submit("6", stage)
    svc(path, "2026-03-14T09:00").submit("6", "gdpr.notification", late_reason="Attente de l'analyse")
    svc(path, "2026-03-25T09:00").submit("6", "nis2.final")
    svc(path, "2026-03-26T09:00").conclude("6", "closed")                       # 6: settled, one late
    svc(path, "2026-03-28T09:00").open_incident("Déni de service", "2026-03-28T08:30")  # 7: recent
    return path


@pytest.fixture(params=["toml", "json"])
def ledger(request, tmp_path) -> Path:
    return build(tmp_path / f"ledger.{request.param}")


@pytest.fixture
def toml_ledger(tmp_path) -> Path:
    """For what does not depend on the ledger's format (the cache file is the same for both)."""
    return build(tmp_path / "ledger.toml")


@contextmanager
def without_cache():
    """The code as it was before the cache: whole reads (`Store.read`), whole rewrites (`Store.update`)."""
    original = Service.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self._cached = False

    with pytest.MonkeyPatch.context() as m:
        m.setattr(Service, "__init__", init)
        yield


def cli(ledger: Path, now: str, *args: str) -> tuple[int, str, str]:
    r = runner.invoke(app, ["--ledger", str(ledger), "--now", now, *args], catch_exceptions=False)
    return r.exit_code, r.stdout, r.stderr


def cache_file(ledger: Path) -> Path:
    return cache.cache_path(ledger)


def reads(n_incidents: int = 7) -> list[list[str]]:
    out = [["status", "--json"], ["status"], ["check", "--format", "json", "--all"], ["check", "--format", "nagios"],
           ["check", "--dry-run"], ["list", "--json"], ["verify", "--json"], ["show", "99"], ["status", "INC-1999-001"]]
    out += [["show", str(n), "--json"] for n in range(1, n_incidents + 1)]
    out += [["explain", "1", "--json"], ["explain", "2", "--json"], ["status", "3", "--json"], ["status", "4", "--json"],
            ["show", "INC-2026-001"], ["status", "1"]]
    return out


COLD = [["status", "--json"], ["check", "--format", "json", "--all"], ["show", "1", "--json"], ["show", "2", "--json"]]


# --- the same results -------------------------------------------------------------------------


def test_every_read_gives_what_the_code_without_cache_gives(ledger):
    """Missing cache (a whole read, which writes it), then fresh cache: both exactly as without one,
    at times before, during and long after the incidents, across the March clock change."""
    for now in NOWS:
        for args in reads():
            with without_cache():
                expected = cli(ledger, now, *args)
            if args in COLD or args[0] == "verify":
                cache_file(ledger).unlink(missing_ok=True)
                assert cli(ledger, now, *args) == expected, (now, args, "no cache")
                if args[0] == "verify":  # never reads nor writes the cache
                    assert not cache_file(ledger).exists()
                    cli(ledger, now, "status")
            assert cache_file(ledger).exists()
            assert cli(ledger, now, *args) == expected, (now, args, "cache")


def test_check_and_status_read_through_the_cache_without_decoding_the_ledger(ledger, monkeypatch):
    cli(ledger, NOWS[3], "status", "--json")  # writes the cache

    def no_decoding(*args, **kwargs):
        raise AssertionError("the ledger was decoded")

    monkeypatch.setattr(codec, "decode", no_decoding)  # a whole read
    monkeypatch.setattr(stream, "walk", no_decoding)  # a whole read, one event at a time
    assert cli(ledger, NOWS[3], "check")[0] == 2
    assert cli(ledger, NOWS[3], "status", "--json")[0] == 0
    assert cli(ledger, NOWS[3], "show", "7", "--json")[0] == 0  # a live incident: in the cache
    # (the error boundary turns the AssertionError into an internal error, exit 70)
    code, _, err = cli(ledger, NOWS[3], "show", "1", "--json")  # a settled one: the whole ledger is read
    assert code == 70 and "the ledger was decoded" in err
    code, _, err = cli(ledger, NOWS[3], "verify")  # verify never uses the cache
    assert code == 70 and "the ledger was decoded" in err


def test_settled_incidents_are_left_out_of_the_cache_and_nothing_else(ledger):
    cli(ledger, NOWS[3], "check")
    body = cache.load(cache_file(ledger), hashlib.sha256(ledger.read_bytes()).hexdigest())
    assert body is not None
    assert sorted({ev["incident"] for ev in body["events"]}) == [
        "INC-2026-002", "INC-2026-004", "INC-2026-005", "INC-2026-007"]
    assert [ident for ident, _ in body["incidents"]] == [f"INC-2026-{n:03d}" for n in range(1, 8)]
    assert body["encoded"] is True and body["head"][0] == len(Store(ledger).read().events)


# --- stale, corrupt, unwritable, foreign caches ---------------------------------------------------


def test_a_stale_cache_after_an_edit_by_another_program_is_not_used(ledger, tmp_path):
    cli(ledger, NOWS[3], "status", "--json")
    stale = cache_file(ledger).read_bytes()
    # another program appends an incident (here: this code, on a copy, without cache)
    other = tmp_path / "other" / ledger.name
    other.parent.mkdir()
    shutil.copy(ledger, other)
    with without_cache():
        svc(other, NOWS[3]).open_incident("Ajout par un autre outil", "2026-04-10T09:00")
    ledger.write_bytes(other.read_bytes())
    cache_file(ledger).write_bytes(stale)
    for args in (["status", "--json"], ["check", "--format", "json", "--all"], ["list", "--json"]):
        with without_cache():
            expected = cli(ledger, NOWS[3], *args)
        assert "INC-2026-008" in expected[1]
        cache_file(ledger).write_bytes(stale)
        assert cli(ledger, NOWS[3], *args) == expected, args


def test_a_stale_cache_after_a_rewrite_with_a_valid_chain_is_not_used(toml_ledger):
    """An edit that keeps the chain valid (re-hashed) changes the bytes, so the cache is stale."""
    ledger = toml_ledger
    cli(ledger, NOWS[3], "status", "--json")
    stale = cache_file(ledger).read_bytes()
    data = codec.decode(ledger.read_bytes(), ledger)
    opened = next(ev for ev in data["events"] if ev.get("incident") == "INC-2026-007")
    opened["data"]["title"] = "Titre réécrit"
    prev = None
    for ev in data["events"]:
        ev["prev"] = prev["hash"] if prev else chain.GENESIS
        ev["hash"] = chain.event_hash(ev)
        prev = ev
    ledger.write_bytes(codec.encode(data, ledger))
    cache_file(ledger).write_bytes(stale)
    code, out, _ = cli(ledger, NOWS[3], "status", "--json")
    assert code == 0 and "Titre réécrit" in out and "Déni de service" not in out


CORRUPTIONS = ["empty", "truncated", "one-byte-flipped", "bad-checksum", "random-bytes", "not-json",
               "body-not-an-object", "keys-missing", "wrong-types", "bad-event-in-cache", "unknown-profile-field",
               "half-an-incident", "directory"]


def _corruptions(raw: bytes, digest: str) -> dict[str, bytes | None]:
    head, _, body = raw.partition(b"\n")[2].partition(b"\n")
    frame = raw[: len(cache.MAGIC)]

    def framed(obj) -> bytes:  # a well-formed frame around whatever body
        payload = json.dumps(obj).encode()
        return frame + f"{hashlib.sha256(payload).hexdigest()} {len(payload)}\n".encode() + payload

    good = json.loads(body)
    return {
        "empty": b"",
        "truncated": raw[: len(raw) // 2],
        "one-byte-flipped": raw[:-10] + bytes([raw[-10] ^ 0x01]) + raw[-9:],
        "bad-checksum": frame + b"0" * 64 + raw[len(frame) + 64:],
        "random-bytes": bytes(range(256)) * 8,
        "not-json": framed("x")[:-3] + b"{{{",
        "body-not-an-object": framed([1, 2, 3]),
        "keys-missing": framed({"ledger_sha256": digest, "code": good["code"]}),
        "wrong-types": framed({**good, "incidents": 5, "events": "none"}),
        "bad-event-in-cache": framed({**good, "events": [{"seq": 1, "type": "exploded", "hash": "x",
                                                          "recorded_at": "x", "incident": "INC-2026-002"}]}),
        "unknown-profile-field": framed({**good, "events": good["events"][:1] + [{"bad": True}]}),
        "half-an-incident": framed({**good, "events": [ev for ev in good["events"]  # its `opened` left out
                                                       if not (ev["type"] == "opened" and ev["incident"] == "INC-2026-002")]}),
        "directory": None,
    }


@pytest.mark.parametrize("name", CORRUPTIONS)
def test_a_corrupt_or_unreadable_cache_is_ignored_and_replaced(toml_ledger, name):
    ledger = toml_ledger
    cli(ledger, NOWS[3], "status", "--json")
    digest = hashlib.sha256(ledger.read_bytes()).hexdigest()
    corruptions = _corruptions(cache_file(ledger).read_bytes(), digest)
    assert list(corruptions) == CORRUPTIONS
    bad = corruptions[name]
    before = ledger.read_bytes()
    for args in (["status", "--json"], ["check", "--format", "json", "--all"], ["show", "2", "--json"]):
        with without_cache():
            expected = cli(ledger, NOWS[3], *args)
        if bad is None:
            if not cache_file(ledger).is_dir():
                cache_file(ledger).unlink(missing_ok=True)
                cache_file(ledger).mkdir()  # cannot be read or written: ignored, silently
        else:
            cache_file(ledger).write_bytes(bad)
        assert cli(ledger, NOWS[3], *args) == expected, args
        if bad is not None:  # replaced by a good one
            assert cache.load(cache_file(ledger), digest) is not None
    # and a write works as well, with the same bytes as without cache
    if bad is not None:
        cache_file(ledger).write_bytes(bad)
    reference = ledger.with_name("reference" + ledger.suffix)
    reference.write_bytes(before)
    with without_cache():
        svc(reference, NOWS[3]).open_incident("Après", "2026-04-10T10:00")
    svc(ledger, NOWS[3]).open_incident("Après", "2026-04-10T10:00")
    assert ledger.read_bytes() == reference.read_bytes()


def test_a_cache_written_by_other_code_or_for_other_regime_files_is_not_used(toml_ledger, tmp_path, monkeypatch):
    ledger = toml_ledger
    regimes = tmp_path / "regimes"
    regimes.mkdir()
    nis2 = (Path(service_mod.__file__).parent / "regimes" / "nis2.toml").read_text("utf-8")
    (regimes / "nis2.toml").write_text(nis2, "utf-8")
    args = ["--regimes", str(regimes), "--ledger", str(ledger), "--now", NOWS[1], "status", "--json"]
    first = runner.invoke(app, args, catch_exceptions=False)
    assert first.exit_code == 0
    # the authority's early warning moves from 24 h to 12 h: the cache must not keep the old rule
    (regimes / "nis2.toml").write_text(nis2.replace("hours = 24", "hours = 12", 1), "utf-8")
    with without_cache():
        expected = runner.invoke(app, args, catch_exceptions=False).stdout
    assert expected != first.stdout
    assert runner.invoke(app, args, catch_exceptions=False).stdout == expected
    # other code (another version, or another checkout): not trusted either
    calls = []
    monkeypatch.setattr(store_mod, "parse", lambda raw, path, real=store_mod.parse: calls.append(1) or real(raw, path))
    monkeypatch.setattr(stream, "walk", lambda raw, path, real=stream.walk: calls.append(1) or real(raw, path))
    monkeypatch.setattr(service_mod, "code_key", lambda: "another version")
    assert runner.invoke(app, args, catch_exceptions=False).stdout == expected
    assert calls, "the cache of other code was used"


def test_a_ledger_that_is_not_what_the_codec_writes_is_rewritten_whole_then_appended_to(tmp_path):
    """Hand-edited layout (here: a byte order mark and a comment): the first write re-encodes it,
    exactly as without cache; the next ones append."""
    path = tmp_path / "ledger.toml"
    svc(path, NOWS[1]).init(name="CHU", category="essential")
    path.write_bytes(b"\xef\xbb\xbf# edited by hand\n" + path.read_bytes())
    reference = tmp_path / "reference.toml"
    shutil.copy(path, reference)
    assert cli(path, NOWS[1], "status", "--json")[0] == 0  # a cache, which knows the bytes are not as encoded
    for i in range(3):
        with without_cache():
            svc(reference, NOWS[1]).open_incident(f"n{i}", "2026-03-03T08:00")
        svc(path, NOWS[1]).open_incident(f"n{i}", "2026-03-03T08:00")
        assert path.read_bytes() == reference.read_bytes() == codec.encode(Store(path).read().to_data(), path)


# --- a tampered ledger ----------------------------------------------------------------------------


def _tamper(ledger: Path) -> None:
    data = codec.decode(ledger.read_bytes(), ledger)
    data["events"][3]["recorded_at"] = "2026-03-02T10:31:00+01:00"  # an edit, not re-hashed
    ledger.write_bytes(codec.encode(data, ledger))


def test_a_tampered_ledger_beside_the_cache_of_its_intact_bytes_is_refused_by_writes_and_verify(ledger):
    cli(ledger, NOWS[3], "status", "--json")  # the cache of the intact ledger
    _tamper(ledger)
    tampered = ledger.read_bytes()
    code, out, err = cli(ledger, NOWS[3], "verify")
    assert code == 3 and "event seq 4" in err
    for write in (lambda s: s.open_incident("x", "2026-04-10T09:00"), lambda s: s.submit("7", "csp.report"),
                  lambda s: s.conclude("4", "handled")):
        with pytest.raises(IntegrityError):
            write(svc(ledger, NOWS[3]))
        assert ledger.read_bytes() == tampered
    code, out, err = cli(ledger, NOWS[3], "open", "x", "--aware", "2026-04-10T09:00")
    assert code == 3 and ledger.read_bytes() == tampered
    assert cli(ledger, NOWS[3], "check")[0] == 3  # check cannot verify it either: exit 3


def test_a_cache_naming_the_tampered_bytes_without_a_valid_checksum_is_ignored(ledger):
    cli(ledger, NOWS[3], "status", "--json")
    raw = cache_file(ledger).read_bytes()
    _tamper(ledger)
    tampered = ledger.read_bytes()
    old = json.loads(raw.split(b"\n", 2)[2])["ledger_sha256"].encode()
    cache_file(ledger).write_bytes(raw.replace(old, hashlib.sha256(tampered).hexdigest().encode()))
    with pytest.raises(IntegrityError):
        svc(ledger, NOWS[3]).open_incident("x", "2026-04-10T09:00")
    assert ledger.read_bytes() == tampered
    assert cli(ledger, NOWS[3], "check")[0] == 3


def test_verify_ignores_even_a_cache_forged_for_the_tampered_bytes(ledger):
    """Whoever can write the cache can write the ledger (README: the cache's trust model); `verify`
    never reads the cache, so it still names the altered event."""
    cli(ledger, NOWS[3], "status", "--json")
    body = json.loads(cache_file(ledger).read_bytes().split(b"\n", 2)[2])
    _tamper(ledger)
    body["ledger_sha256"] = hashlib.sha256(ledger.read_bytes()).hexdigest()
    cache.save(cache_file(ledger), body)
    code, _, err = cli(ledger, NOWS[3], "verify")
    assert code == 3 and "event seq 4" in err and "was altered" in err


# --- the append fast path writes what a whole re-encoding writes ---------------------------------


WRITES = [
    lambda s: s.open_incident("Nouvel incident « test »", "2026-04-10T08:00", summary="a\nb\t\"c\" \\ d",
                              iocs=["1.2.3.4", "é" * 70, "z" * 90]),
    lambda s: s.update_incident("8", severity="élevée", impact="🏥 urgences", personal_data=True),
    lambda s: s.submit("8", "csp.report", reference="SIG-1", channel="portail"),
    lambda s: s.request("8", "+3d"),
    lambda s: s.submit("7", "nis2.early_warning", late_reason="Tard"),
    lambda s: s.conclude("8", "handled"),
    lambda s: s.open_incident("Deuxième", "2026-04-10T09:00"),
    lambda s: s.conclude("9", "closed"),  # two events: handled and closed
    lambda s: s.update_incident("1", summary="Un incident réglé, modifié"),  # settled: the whole ledger
    lambda s: s.update_incident("3", personal_data=True),  # settled, becomes live again (GDPR)
    lambda s: s.set_profile(check_within="8h"),  # the profile: the whole ledger
    lambda s: s.open_incident("Après le profil", "2026-04-10T10:00"),
]


def test_writes_through_the_cache_are_byte_for_byte_the_whole_encoding(ledger, tmp_path, monkeypatch):
    reference = tmp_path / ("reference" + ledger.suffix)
    shutil.copy(ledger, reference)
    appended, whole = [], []
    real_append, real_full = Store.write_append, Store.write_full
    monkeypatch.setattr(Store, "write_append",
                        lambda self, *a: (self.path == ledger and appended.append(1)) or real_append(self, *a))
    monkeypatch.setattr(Store, "write_full",
                        lambda self, *a: (self.path == ledger and whole.append(1)) or real_full(self, *a))
    cli(ledger, NOWS[3], "status")  # the cache
    for i, write in enumerate(WRITES):
        with without_cache():
            expected = write(svc(reference, "2026-04-10T12:00"))
        got = write(svc(ledger, "2026-04-10T12:00"))
        assert ledger.read_bytes() == reference.read_bytes(), i
        assert ledger.read_bytes() == codec.encode(Store(ledger).read().to_data(), ledger), i
        assert (got.head, got.warnings) == (expected.head, expected.warnings), i
        for now in (NOWS[3], NOWS[4]):  # and what is read afterwards, through the updated cache
            for args in (["status", "--json"], ["check", "--format", "json", "--all"]):
                with without_cache():
                    want = cli(reference, now, *args)
                have = cli(ledger, now, *args)
                assert have == (want[0], want[1].replace(str(reference), str(ledger)), want[2]), (i, args)
    # every write appended (through the cache, or for a settled incident by walking the whole file
    # one event at a time); only the profile's change rewrote the whole file
    assert len(appended) == len(WRITES) - 1 and len(whole) == 1, (len(appended), len(whole))
    assert Service(Store(ledger), at(NOWS[3])).verify()["ok"]


def test_a_json_ledger_keeps_its_layout_through_appends(tmp_path):
    path = tmp_path / "ledger.json"
    svc(path, NOWS[1]).init(name="CHU", category="essential")
    for i in range(3):
        svc(path, NOWS[1]).open_incident(f"n{i}", "2026-03-03T08:00")
    raw = path.read_bytes()
    assert raw == codec.encode(json.loads(raw), path)
    assert raw.endswith(b'\n    }\n  ]\n}\n')


EVENT = st.fixed_dictionaries(
    {"type": st.sampled_from(["opened", "amended", "filed", "closed"]),
     "recorded_at": st.text(max_size=30),
     "data": st.dictionaries(st.text(min_size=1, max_size=12),
                             st.one_of(st.text(max_size=120), st.integers(-10**6, 10**6), st.booleans(),
                                       st.lists(st.text(max_size=40), max_size=6),
                                       st.dictionaries(st.text(min_size=1, max_size=8),
                                                       st.lists(st.text(max_size=8), max_size=3), max_size=3)),
                             max_size=6),
     "seq": st.integers(1, 10**6), "prev": st.just("0" * 64), "hash": st.just("f" * 64)},
    optional={"incident": st.text(min_size=1, max_size=20)})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=st.lists(EVENT, min_size=2, max_size=6), cut=st.integers(1, 3), fmt=st.sampled_from(["toml", "json"]))
def test_encoding_then_appending_the_tail_is_the_whole_encoding(events, cut, fmt):
    """Any text (quotes, backslashes, control characters, newlines, non-ASCII), long lists, tables
    in the data: the tail added to what `encode` wrote is what `encode` writes for the whole."""
    path = Path(f"ledger.{fmt}")
    cut = min(cut, len(events) - 1)
    head = {"schema_version": 1, "profile": {"name": "x", "category": "essential"}}
    before = codec.encode({**head, "events": events[:-cut]}, path)
    tail = codec.encode_tail(before, events[-cut:], path)
    whole = codec.encode({**head, "events": events}, path)
    assert tail is not None
    assert before[: len(before) - codec.tail_cut(path)] + tail == whole
    assert codec.is_encoded({**head, "events": events}, whole, path)
    assert not codec.is_encoded({**head, "events": events}, whole + b"\n", path)


def test_store_append_refuses_bytes_that_do_not_end_as_encoded(tmp_path):
    path = tmp_path / "ledger.json"
    svc(path, NOWS[1]).init(name="CHU", category="essential")
    store = Store(path)
    snap = store.snapshot()
    snap.raw = snap.raw + b"\n"
    assert store.write_append(snap, [{"type": "x", "seq": 2, "prev": "0", "hash": "1", "data": {}}], "2:1") is None


def test_a_partial_state_completes_itself_with_the_same_incidents(ledger):
    cli(ledger, NOWS[3], "status")
    state = svc(ledger, NOWS[3]).state()
    assert state.partial
    assert [inc.id for inc in state.live] == ["INC-2026-002", "INC-2026-004", "INC-2026-005", "INC-2026-007"]
    assert state.count == 7 and state.known("INC-2026-001")
    with pytest.raises(NotFound) as err:
        state.incident("42")
    assert "INC-2026-003, INC-2026-004, INC-2026-005, INC-2026-006, INC-2026-007" in err.value.message
    assert state.incident("1").title.startswith("Rançongiciel")  # settled: read whole
    assert not state.partial and list(state.incidents) == [f"INC-2026-{n:03d}" for n in range(1, 8)]


def test_a_cache_vouching_for_another_toml_writer_is_not_appended_through(toml_ledger, monkeypatch):
    """Found by review: `encoded` says the bytes are what *this* tomli-w writes; a cache written under
    another version (an upgrade may lay TOML out otherwise) must not let a write append on its word."""
    ledger = toml_ledger
    cli(ledger, NOWS[3], "status")
    body = json.loads(cache_file(ledger).read_bytes().split(b"\n", 2)[2])
    assert body["encoder"].startswith("tomli-w ")
    walked = []
    real = service_mod.Service._write_walking
    monkeypatch.setattr(service_mod.Service, "_write_walking",
                        lambda self, *a: walked.append(1) or real(self, *a))
    svc(ledger, "2026-04-10T12:00").open_incident("Avec le bon écrivain", "2026-04-10T08:00")
    assert walked == []  # appended through the cache
    body = json.loads(cache_file(ledger).read_bytes().split(b"\n", 2)[2])
    cache.save(cache_file(ledger), {**body, "encoder": "tomli-w 0.0"})
    svc(ledger, "2026-04-10T12:00").open_incident("Après une mise à jour", "2026-04-10T08:00")
    assert walked == [1]  # the cache declined; the file was checked again, event by event
    assert Service(Store(ledger), at(NOWS[3])).verify()["ok"]


def test_a_read_through_the_cache_hashes_the_ledger_without_holding_it(toml_ledger, monkeypatch):
    """`check` and `status` need only the ledger's SHA-256 when the cache is for it: the bytes are
    hashed through a small buffer, never read whole (memory and time at 10,000 incidents)."""
    from nis2_incident.ledger import fsio

    ledger = toml_ledger
    cli(ledger, NOWS[3], "status")  # the cache
    reads = []
    real_read = fsio.read_file
    monkeypatch.setattr(fsio, "read_file", lambda path: reads.append(Path(path).name) or real_read(path))
    with without_cache():
        want = cli(ledger, NOWS[3], "status", "--json")
    reads.clear()
    assert cli(ledger, NOWS[3], "status", "--json") == want
    assert cli(ledger, NOWS[3], "check", "--all", "--format", "json")[0] in (0, 1, 2)
    assert ledger.name not in reads and f"{ledger.name}.cache" in reads


def test_a_partial_state_completed_after_a_write_becomes_the_newer_ledger_whole(toml_ledger):
    """A read through the cache holds no bytes; asked then for a settled incident, it reads the ledger
    as it is now. If a write came in between, the state is that of the newer ledger, head and all."""
    ledger = toml_ledger
    cli(ledger, NOWS[3], "status")
    reader = svc(ledger, NOWS[3])
    state = reader.state()
    assert state.partial
    out = svc(ledger, "2026-04-10T12:00").open_incident("Pendant la lecture", "2026-04-10T08:00")
    assert state.incident("1").id == "INC-2026-001"  # settled: completes the state from the file
    assert f"{state.head_seq}:{state.head_hash}" == out.head
    assert any(inc.title == "Pendant la lecture" for inc in state.incidents.values())
