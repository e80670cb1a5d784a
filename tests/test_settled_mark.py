"""The `settled` mark of a `closed` event (issue 13, item 6: a read without a checkpoint).

`close` writes `"settled": "<rules mark>"` in the `closed` event when every obligation of the incident
is met, late, not applicable or not in force (states that no longer change with the clock), the mark
being a digest of what the obligations are computed from besides the incident's own events (the
deciding code, the profile, the regimes). A read takes an incident whose last event is that `closed`
as settled without computing its obligations; any later event of the incident, another profile or
other rules make it compute them again. The mark must never make an incident with something still
owed look settled, and results must be the same with and without a checkpoint.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import at
from nis2_incident import deadlines
from nis2_incident.cli import app
from nis2_incident.ledger import Store
from nis2_incident.service import Service, rules_mark

runner = CliRunner()
ROOT = Path(__file__).resolve().parent.parent


def cli(ledger: Path, *args: str, now: str = "2026-04-02T12:00"):
    return runner.invoke(app, ["--ledger", str(ledger), "--now", now, *args], catch_exceptions=False)


def ok(ledger: Path, *args: str, now: str = "2026-04-02T12:00"):
    r = cli(ledger, *args, now=now)
    assert r.exit_code == 0, r.stderr
    return r


def closing(path: Path, ident: str) -> dict:
    events = [json.loads(line) for line in path.read_bytes().splitlines()[1:]]
    return [e for e in events if e["type"] == "closed" and e["incident"] == ident][-1]


def no_checkpoint() -> None:
    shutil.rmtree(Path(os.environ["XDG_CACHE_HOME"]) / "nis2-incident", ignore_errors=True)


def live(path: Path, now: str = "2026-04-02T12:00") -> list[str]:
    """The incidents `status --json` shows (the live ones), read without a checkpoint, then with the one
    that read wrote: both must agree."""
    no_checkpoint()
    cold = json.loads(ok(path, "status", "--json", now=now).stdout)
    warm = json.loads(ok(path, "status", "--json", now=now).stdout)
    assert cold == warm
    return [i["id"] for i in cold]


@pytest.fixture
def ledger(tmp_path) -> Path:
    path = tmp_path / "ledger.jsonl"
    ok(path, "init", "--name", "CHU Point", "--category", "essential", "--regime", "nis2", now="2026-03-28T09:00")
    # 1: not significant, so every NIS 2 obligation is not applicable: settled once closed
    ok(path, "open", "Panne réglée", "--aware", "2026-03-28T10:45", "--not-significant", "--rationale",
       "aucune perturbation", now="2026-03-28T11:00")
    # 2: significant, nothing filed: closed with obligations still owed
    ok(path, "open", "Rançongiciel", "--aware", "2026-03-28T10:00", now="2026-03-28T11:05")
    ok(path, "close", "1", now="2026-03-28T11:30")
    ok(path, "close", "2", now="2026-03-28T11:40")
    return path


def test_close_marks_settled_only_an_incident_with_nothing_owed(ledger):
    svc = Service(Store(ledger), at("2026-03-28T11:40"))
    state = svc.state()
    assert closing(ledger, "INC-2026-001")["data"]["settled"] == rules_mark(state.profile, svc.regimes)
    assert "settled" not in closing(ledger, "INC-2026-002")["data"]  # closed with its early warning owed
    assert live(ledger) == ["INC-2026-002"]
    assert ok(ledger, "verify").stdout.startswith("ok: 7 events, 2 incidents")


def test_a_read_without_a_checkpoint_takes_the_mark_instead_of_computing(ledger, monkeypatch):
    computed = []
    real = deadlines.compute
    monkeypatch.setattr(deadlines, "compute", lambda inc, *a, **k: computed.append(inc.id) or real(inc, *a, **k))
    no_checkpoint()
    ok(ledger, "status", "--json")
    assert "INC-2026-001" not in computed and "INC-2026-002" in computed


def test_an_event_after_the_closing_makes_it_live_again(ledger):
    # 3: another settled one, so that the log still holds a mark after 1 changes
    ok(ledger, "open", "Autre", "--aware", "2026-03-28T10:50", "--not-significant", "--rationale", "aucune",
       now="2026-03-28T11:45")
    ok(ledger, "close", "3", now="2026-03-28T11:50")
    # 1 becomes significant, so the NIS 2 stages apply and are overdue; written without a checkpoint
    # (the write reads the log by its bytes, 1 and 3 settled by their marks, then keeps a checkpoint
    # past its line, in which 1 must be live)
    no_checkpoint()
    changed = Service(Store(ledger), at("2026-03-29T09:05")).update_incident("1", significance="significant")
    assert changed.value.incident.significance == "significant"
    through = json.loads(ok(ledger, "status", "--json").stdout)  # through the checkpoint that write kept
    assert [i["id"] for i in through] == ["INC-2026-001", "INC-2026-002"]
    assert live(ledger) == ["INC-2026-001", "INC-2026-002"]
    overdue = json.loads(ok(ledger, "show", "1", "--json").stdout)
    assert any(o["state"] == "overdue" for o in overdue["obligations"])
    # an amendment that changes nothing owed: computed again, still settled
    no_checkpoint()
    ok(ledger, "update", "3", "--summary", "relu", now="2026-03-29T09:10")
    assert json.loads(ok(ledger, "status", "--json").stdout) == through
    assert live(ledger) == ["INC-2026-001", "INC-2026-002"]


def test_a_filing_after_the_closing_makes_it_live_again(ledger, monkeypatch):
    # 3: every NIS 2 report filed, then closed: settled, marked
    ok(ledger, "open", "Messagerie", "--aware", "2026-03-28T10:00", now="2026-03-28T11:45")
    for stage in ("nis2.early_warning", "nis2.notification", "nis2.final"):
        ok(ledger, "submit", "3", stage, "--at", "2026-03-28T11:00", now="2026-03-28T11:46")
    ok(ledger, "close", "3", now="2026-03-28T11:50")
    assert "settled" in closing(ledger, "INC-2026-003")["data"]
    # a further filing on the closed incident: the mark no longer speaks for it, its obligations are
    # computed again (still all met: not shown)
    ok(ledger, "submit", "3", "nis2.final", "--at", "2026-03-28T12:00", "--force", now="2026-03-28T12:05")
    assert "INC-2026-003" not in Service(Store(ledger), at("2026-04-02T12:00")).state().marks
    computed = []
    real = deadlines.compute
    monkeypatch.setattr(deadlines, "compute", lambda inc, *a, **k: computed.append(inc.id) or real(inc, *a, **k))
    assert live(ledger) == ["INC-2026-002"]
    assert "INC-2026-003" in computed and "INC-2026-001" not in computed
    # 2, closed with its reports owed, stays live after a filing of one of them
    ok(ledger, "submit", "2", "nis2.early_warning", "--at", "2026-03-28T12:00", "--force", now="2026-03-28T12:10")
    assert live(ledger) == ["INC-2026-002"]


def test_another_profile_does_not_take_the_mark(ledger, monkeypatch):
    # 3: personal data, not significant: nothing owed under NIS 2 alone, so closed settled (marked)
    ok(ledger, "open", "Fuite", "--aware", "2026-03-28T11:00", "--not-significant", "--rationale", "aucune",
       "--personal-data", now="2026-03-28T11:45")
    ok(ledger, "close", "3", now="2026-03-28T11:50")
    mark = closing(ledger, "INC-2026-003")["data"]["settled"]
    assert live(ledger) == ["INC-2026-002"]
    # GDPR enabled: the mark is no longer that of the rules in force; the breach notification is owed
    ok(ledger, "profile", "--regime", "nis2", "--regime", "gdpr", now="2026-03-28T12:00")
    svc = Service(Store(ledger), at("2026-04-02T12:00"))
    assert rules_mark(svc.state().profile, svc.regimes) != mark
    assert live(ledger) == ["INC-2026-002", "INC-2026-003"]
    shown = json.loads(ok(ledger, "show", "3", "--json").stdout)
    assert any(o["stage"] == "gdpr.notification" and o["state"] == "overdue" for o in shown["obligations"])


def test_a_mark_of_other_rules_is_ignored(ledger, monkeypatch):
    """A ledger whose marks were made by other code or rules (another version, other regime files):
    the mark does not match, every closed incident's obligations are computed, same results."""
    expected = live(ledger)
    from nis2_incident import service

    monkeypatch.setattr(service, "_deciding_code", lambda: "another version")
    computed = []
    real = deadlines.compute
    monkeypatch.setattr(deadlines, "compute", lambda inc, *a, **k: computed.append(inc.id) or real(inc, *a, **k))
    assert live(ledger) == expected
    assert "INC-2026-001" in computed


def test_the_clock_never_settles_what_the_mark_did_not(ledger):
    # as of a time before the closing, incident 1 is not closed: live, whatever the mark says later
    assert "INC-2026-001" in live(ledger, now="2026-03-28T11:20")
    # long after (a clock change between: winter to summer time on 29 March), still settled, and 2
    # still owed
    assert live(ledger, now="2026-06-01T12:00") == ["INC-2026-002"]


def test_marks_at_scale_same_results_with_and_without_checkpoint(tmp_path):
    """A generated ledger (the benchmark's, 300 incidents, 30 open: every closed one marked as
    `close` would): status, check and list are the same read without a checkpoint, through the one
    that read wrote, and on the same events without any mark (a ledger written before marks)."""
    path = tmp_path / "big.jsonl"
    env = {**os.environ, "NIS2_INCIDENT_NOW": "2026-11-29T03:00:00+01:00"}
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "generate.py"), "--incidents", "300", "--open", "30",
                    "--out", str(path)], check=True, env=env, capture_output=True)
    marked = path.read_bytes().count(b'"settled":')
    assert marked == 270
    # the same events without marks, resealed as a ledger written before marks existed
    from nis2_incident.ledger import Ledger

    old = tmp_path / "old.jsonl"
    ledger = Ledger(profile=None)
    for line in path.read_bytes().splitlines()[1:]:
        ev = json.loads(line)
        ev["data"].pop("settled", None)
        ledger.append({k: v for k, v in ev.items() if k not in ("seq", "prev", "hash")})
    Store(old).create(ledger)
    now = "2026-11-29T03:00"

    def read(p: Path) -> list:
        out = []
        for args in (["status", "--json"], ["check", "--all", "--dry-run", "--format", "json"], ["list", "--json"]):
            r = cli(p, *args, now=now)
            assert r.exit_code in (0, 1, 2), r.stderr
            out.append((r.exit_code, r.stdout))
        return out

    no_checkpoint()
    cold = read(path)
    assert read(path) == cold  # through the checkpoint
    no_checkpoint()
    assert read(old) == cold  # no mark: every closed incident's obligations computed
    assert len(json.loads(cold[0][1])) == 30


def test_a_cold_read_checks_every_line_but_folds_none_of_a_settled_incident(ledger, monkeypatch):
    from nis2_incident.ledger import log
    from nis2_incident.model import State

    decoded, folded = [], []
    real, real_apply = log.read_line, State.apply
    monkeypatch.setattr(log, "read_line", lambda raw, pos, nl, number, *rest: decoded.append(number)
                        or real(raw, pos, nl, number, *rest))
    monkeypatch.setattr(State, "apply", lambda self, ev, *rest, **kw: folded.append(ev["seq"] + 1)
                        or real_apply(self, ev, *rest, **kw))
    expected = live(ledger)
    lines = ledger.read_bytes().splitlines()
    settled = [n for n, line in enumerate(lines, start=1) if b'"incident":"INC-2026-001"' in line]
    decoded.clear()
    folded.clear()
    no_checkpoint()
    assert json.loads(ok(ledger, "status", "--json").stdout)[0]["id"] == expected[0]
    # every line checked as the whole read checks it (hash, canonical form, shape, chain) ...
    assert set(decoded) >= set(range(2, len(lines) + 1))
    # ... but the settled incident's lines are not folded
    assert folded and not set(folded) & set(settled)
    # a byte of the settled incident's first line changed: refused as by a whole read (exit 3, its line)
    first = settled[0]
    altered = b"\n".join(line.replace(b"Panne", b"Pannf") if n == first else line
                         for n, line in enumerate(lines, start=1)) + b"\n"
    ledger.write_bytes(altered)
    for args in (["status", "--json"], ["check"], ["show", "2"], ["verify"]):
        no_checkpoint()
        r = cli(ledger, *args)
        assert r.exit_code == 3 and f"line {first}" in r.stderr and "altered" in r.stderr, (args, r.stderr)


def test_verify_still_decodes_every_line_of_a_settled_incident(ledger):
    """A settled incident's line rewritten in another JSON form with its hash and the chain
    recomputed (hash and chain hold): `verify` decodes every line and refuses it; a read without a
    checkpoint does not take it by its bytes either (not the shape of a line nis2-incident writes)."""
    import hashlib

    header, *events = ledger.read_bytes().splitlines(keepends=True)
    index = next(i for i, line in enumerate(events) if b'"type":"handled","hash"' in line
                 and b"INC-2026-001" in line)
    event = json.loads(events[index])
    body = json.dumps({k: v for k, v in event.items() if k != "hash"}, indent=1).replace("\n", " ")
    digest = hashlib.sha256(body.encode()).hexdigest()
    events[index] = body[:-1].encode() + b',"hash":"' + digest.encode() + b'"}\n'
    old = event["hash"]
    for i in range(index + 1, len(events)):  # reseal the chain after it, as a forger would
        ev = json.loads(events[i])
        ev["prev"] = old
        from nis2_incident.ledger import chain, log

        ev["hash"] = chain.event_hash(ev)
        old = ev["hash"]
        events[i] = log.line_of(ev)
    ledger.write_bytes(header + b"".join(events))
    r = cli(ledger, "verify")
    assert r.exit_code == 3 and "canonical form" in r.stderr and f"line {index + 2}" in r.stderr
    no_checkpoint()
    r = cli(ledger, "status", "--json")
    assert r.exit_code == 3 and "canonical form" in r.stderr


def test_verify_refuses_a_mark_that_does_not_hold(ledger):
    """A `settled` mark written into the closed event of an incident that still owes its early
    warning, the chain resealed after it as a forger would: a read without a checkpoint takes the
    mark (that is what makes it fast), so `verify` computes every mark a read would take and refuses
    this one, naming the incident and what it owes (exit 3, the ledger untouched)."""
    from nis2_incident.ledger import chain, log

    svc = Service(Store(ledger), at("2026-03-28T11:40"))
    mark = rules_mark(svc.state().profile, svc.regimes)
    assert ok(ledger, "verify").exit_code == 0
    header, *lines = ledger.read_bytes().splitlines(keepends=True)
    events = [json.loads(line) for line in lines]
    index = next(i for i, ev in enumerate(events) if ev["type"] == "closed" and ev["incident"] == "INC-2026-002")
    events[index]["data"]["settled"] = mark
    for i in range(index, len(events)):  # reseal from the forged event on
        if i > index:
            events[i]["prev"] = events[i - 1]["hash"]
        events[i]["hash"] = chain.event_hash({k: v for k, v in events[i].items() if k != "hash"})
        lines[i] = log.line_of(events[i])
    forged = header + b"".join(lines)
    ledger.write_bytes(forged)
    no_checkpoint()
    assert live(ledger) == []  # what the mark hides from a read
    r = cli(ledger, "verify")
    assert r.exit_code == 3, r.stderr
    assert "INC-2026-002" in r.stderr and "marked settled" in r.stderr and "nis2.early_warning" in r.stderr
    assert ledger.read_bytes() == forged


def test_a_checkpoint_made_under_other_regime_files_is_not_taken(tmp_path):
    """A checkpoint decides which incidents are live; made under the shipped GDPR file (the breach
    without personal data recorded: no GDPR obligation, settled once closed), it must not be taken
    under a regimes folder whose GDPR file applies to every incident: the warm `check` then finds the
    overdue notification the cold one finds."""
    path = tmp_path / "ledger.jsonl"
    ok(path, "init", "--name", "CHU Point", "--category", "essential", "--regime", "nis2", "--regime", "gdpr",
       now="2026-03-28T09:00")
    ok(path, "open", "Fuite", "--aware", "2026-03-28T10:00", "--not-significant", "--rationale", "aucune",
       "--no-personal-data", now="2026-03-28T11:00")
    ok(path, "close", "1", now="2026-03-28T11:30")
    folder = tmp_path / "rules"
    folder.mkdir()
    shipped = (ROOT / "nis2_incident" / "regimes" / "gdpr.toml").read_text(encoding="utf-8")
    assert "incident = { personal_data = true }" in shipped
    (folder / "gdpr.toml").write_text(shipped.replace("incident = { personal_data = true }", "incident = {}", 1),
                                      encoding="utf-8")
    no_checkpoint()
    assert cli(path, "check", "--dry-run", now="2026-04-10T12:00").exit_code == 0  # writes the checkpoint
    args = ["--regimes", str(folder), "--ledger", str(path), "--now", "2026-04-10T12:00", "check", "--dry-run"]
    warm = runner.invoke(app, args, catch_exceptions=False)
    no_checkpoint()
    cold = runner.invoke(app, args, catch_exceptions=False)
    assert cold.exit_code == 2 and "gdpr.notification" in cold.stdout, cold.stdout
    assert (warm.exit_code, warm.stdout) == (cold.exit_code, cold.stdout)


def _resealed(ledger: Path, change) -> bytes:
    """The ledger with `change(events)` applied to its decoded events (a list it may edit, shorten or
    reorder), every seq, prev and hash then recomputed as a forger would: a chain that holds."""
    from nis2_incident.ledger import chain, log

    header, *lines = ledger.read_bytes().splitlines(keepends=True)
    events = [json.loads(line) for line in lines]
    change(events)
    previous = chain.GENESIS
    for seq, ev in enumerate(events, start=1):
        ev["seq"], ev["prev"] = seq, previous
        ev["hash"] = previous = chain.event_hash({k: v for k, v in ev.items() if k != "hash"})
    forged = header + b"".join(log.line_of(ev) for ev in events)
    ledger.write_bytes(forged)
    return forged


def test_a_settled_incident_without_its_opened_line_is_refused_by_every_read_and_write(ledger):
    """Review of session 5: the `opened` line of a settled incident removed, the chain resealed. A read
    without a checkpoint (cold) does not take the incident's other lines for it: it reads the whole
    log, which refuses the ledger (exit 3, naming the line), and a write leaves it untouched."""
    forged = _resealed(ledger, lambda events: events.remove(
        next(ev for ev in events if ev["type"] == "opened" and ev["incident"] == "INC-2026-001")))
    for args in (["status", "--json"], ["check"], ["list", "--json"], ["verify"],
                 ["open", "Autre", "--aware", "2026-04-02T11:00"]):
        no_checkpoint()
        r = cli(ledger, *args)
        assert r.exit_code == 3 and "unknown incident 'INC-2026-001'" in r.stderr and "line " in r.stderr, \
            (args, r.stderr)
    assert ledger.read_bytes() == forged


def test_a_settled_incident_line_in_another_json_form_is_refused_cold(ledger):
    """A settled incident's line written in another JSON form of the same event (an escape, `\\u00e9`,
    for a letter the canonical form writes as itself), its hash that of its bytes and the chain
    resealed: every cold read checks each line's canonical form, so `status`, `check` and a write
    refuse it (exit 3, its line), as `verify` does."""
    import hashlib

    from nis2_incident.ledger import chain, log

    header, *lines = ledger.read_bytes().splitlines(keepends=True)
    index = next(i for i, line in enumerate(lines) if "Panne réglée".encode() in line)
    text = lines[index][:-log.SUFFIX_LEN - 1].replace("é".encode(), b"\\u00e9") + b"}"
    ev_hash = hashlib.sha256(text).hexdigest()
    lines[index] = text[:-1] + b',"hash":"' + ev_hash.encode() + b'"}\n'
    for i in range(index + 1, len(lines)):  # the chain after it resealed
        later = json.loads(lines[i])
        later["prev"] = ev_hash
        later["hash"] = ev_hash = chain.event_hash({k: v for k, v in later.items() if k != "hash"})
        lines[i] = log.line_of(later)
    ledger.write_bytes(header + b"".join(lines))
    before = ledger.read_bytes()
    for args in (["status", "--json"], ["check"], ["verify"], ["open", "Autre", "--aware", "2026-04-02T11:00"]):
        no_checkpoint()
        r = cli(ledger, *args)
        assert r.exit_code == 3 and f"line {index + 2}" in r.stderr and "canonical form" in r.stderr, (args, r.stderr)
    assert ledger.read_bytes() == before


def test_an_invalid_fact_of_a_settled_incident_is_found_where_it_is_folded(ledger):
    """A settled incident's `opened` line given a value the fold refuses, the chain resealed (every line
    canonical, every hash right): `verify` folds every event and refuses it, naming the line; `show`
    of that incident folds its lines and says the same, with the ledger's path and line. `status`
    and `check`, which have nothing to say about a settled incident, do not fold it (the README's
    "What we promise")."""
    def bad(events):
        opened = next(ev for ev in events if ev["type"] == "opened" and ev["incident"] == "INC-2026-001")
        opened["data"]["significance"] = "somewhat"

    _resealed(ledger, bad)
    number = next(n for n, line in enumerate(ledger.read_bytes().splitlines(), start=1) if b"somewhat" in line)
    no_checkpoint()
    r = cli(ledger, "verify")
    assert r.exit_code == 3 and f"line {number}" in r.stderr and "significance" in r.stderr, r.stderr
    no_checkpoint()
    assert cli(ledger, "status", "--json").exit_code == 0
    for cold in (True, False):
        if cold:
            no_checkpoint()
        r = cli(ledger, "show", "1")
        assert r.exit_code == 3 and f"{ledger}: line {number}: " in r.stderr and "significance" in r.stderr, r.stderr


def test_a_profile_set_that_names_an_incident_is_refused_by_every_read(ledger):
    """Review of session 6: a `profile_set` event carrying an `incident` key changed the profile in the
    whole read but was taken for that incident's line by the read without a checkpoint (hidden when
    the incident is settled), so `check` and `status` could hide obligations `verify` accepted. No
    writer makes one: every read refuses it (exit 3, naming its line), cold, warm and `verify`."""
    def insert(events):
        at = next(i for i, ev in enumerate(events) if ev["type"] == "closed" and ev["incident"] == "INC-2026-001")
        events.insert(at, {"data": {"name": "CHU Ailleurs"}, "incident": "INC-2026-001",
                           "recorded_at": events[at]["recorded_at"], "type": "profile_set"})

    _resealed(ledger, insert)
    number = next(n for n, line in enumerate(ledger.read_bytes().splitlines(), start=1) if b"CHU Ailleurs" in line)
    for args in (["status", "--json"], ["check"], ["verify"], ["show", "1"]):
        for _ in ("cold", "again"):
            no_checkpoint() if _ == "cold" else None
            r = cli(ledger, *args)
            assert r.exit_code == 3 and f"line {number}" in r.stderr and "names no incident" in r.stderr, \
                (args, r.stderr)


def test_a_time_in_another_form_is_compared_as_a_time_by_a_read_without_a_checkpoint(ledger):
    """Review of session 6: the read without a checkpoint compares `recorded_at` texts of the writer's
    one form (`2026-04-02T12:00:00+02:00`) as text; another form `parse_instant` accepts (a space for the
    T) sorted wrongly as text, so "as of" an earlier `--now` the read took an event the whole read
    leaves out. It is now parsed: cold, warm and whole reads agree."""
    def later(events):
        events.append({"data": {"title": "Renommé plus tard"}, "incident": "INC-2026-002",
                       "recorded_at": "2026-03-28 23:00:00+01:00", "type": "amended"})

    _resealed(ledger, later)
    before = "2026-03-28T20:00:00+01:00"  # after every other event (the latest, 11:40, in the T form)
    no_checkpoint()
    cold = cli(ledger, "show", "2", "--json", now=before)
    assert cold.exit_code == 0 and "Renommé plus tard" not in cold.stdout and "left out" in cold.stderr, cold.stderr
    warm = cli(ledger, "show", "2", "--json", now=before)
    assert warm.stdout == cold.stdout
    assert "Renommé plus tard" in ok(ledger, "show", "2", "--json", now="2026-03-30T12:00:00+02:00").stdout


def test_a_live_incident_with_an_invalid_fact_is_refused_naming_the_ledger_and_line(ledger):
    """Review of session 6: a live incident's line folded through the checkpoint or by the read without
    one said `event seq N: ...` without the ledger and line the whole read names."""
    def bad(events):
        opened = next(ev for ev in events if ev["type"] == "opened" and ev["incident"] == "INC-2026-002")
        opened["data"]["significance"] = "somewhat"

    _resealed(ledger, bad)
    number = next(n for n, line in enumerate(ledger.read_bytes().splitlines(), start=1) if b"somewhat" in line)
    for cold in (True, False):
        if cold:
            no_checkpoint()
        r = cli(ledger, "status")
        assert r.exit_code == 3 and f"{ledger}: line {number}: " in r.stderr, r.stderr


def test_an_export_that_meets_a_refused_settled_line_leaves_its_output_file_as_it_was(ledger, tmp_path):
    """Review of session 6: an export is made as it is read; a settled incident's line that only the
    fold refuses stops it (exit 3). `--output FILE` is written whole or not at all: the file stays as
    it was, and no temporary file is left beside it."""
    def bad(events):
        opened = next(ev for ev in events if ev["type"] == "opened" and ev["incident"] == "INC-2026-001")
        opened["data"]["significance"] = "somewhat"

    _resealed(ledger, bad)
    out = tmp_path / "out" / "record.json"
    out.parent.mkdir()
    out.write_text("before\n")
    for fmt in ("json", "csv"):
        no_checkpoint()
        r = cli(ledger, "export", "--format", fmt, "--output", str(out))
        assert r.exit_code == 3 and "significance" in r.stderr, r.stderr
        assert out.read_text() == "before\n" and sorted(p.name for p in out.parent.iterdir()) == ["record.json"]


def test_an_incident_id_not_in_capitals_reads_cold_warm_and_whole(ledger):
    """Review of session 6 (older than it): an id the ledger holds in another form than the tool writes
    (lower case, from another tool or an old import) made every read that keeps a checkpoint exit 4,
    the id normalised as a person types it before it was looked up; the id as held is looked up first."""
    def lower(events):
        for ev in events:
            if ev.get("incident") == "INC-2026-002":
                ev["incident"] = "inc-2026-002"

    _resealed(ledger, lower)
    for cold in (True, False):
        if cold:
            no_checkpoint()
        r = cli(ledger, "status", "--json")
        assert r.exit_code == 0 and "inc-2026-002" in r.stdout, r.stderr
    assert json.loads(ok(ledger, "show", "inc-2026-002", "--json").stdout)["id"] == "inc-2026-002"
    assert ok(ledger, "verify").exit_code == 0
