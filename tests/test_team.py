"""Team mode (issue 15): the ledger on a real PostgreSQL server that the test run starts itself
(tests/pgtest.py; the `pg_server` session fixture, one new database per test).

- One black-box suite runs the same CLI scenario against a file and against PostgreSQL: same
  stdout, same exit codes, same line bytes, same hashes, same head.
- The server enforces what the file cannot: the chain's constraints, append-only (a trigger), roles.
- `ledger pull` / `ledger push [--rebase]` / `ledger migrate`, every branch.
Concurrency, kills and a stopped server: tests/test_team_safety.py.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import psycopg
import pytest

from conftest import run_both_ways
from nis2_incident.ledger import Store, log
from nis2_incident.ledger.pg import PgStore, is_target, safe

NOW = "2026-03-02T10:00+01:00"


def cli(capsys, ledger: str, *argv: str, now: str = NOW) -> tuple[int, str, str]:
    return run_both_ways("main", ["--ledger", ledger, "--now", now, *argv], capsys)


def ok(capsys, ledger: str, *argv: str, now: str = NOW) -> str:
    code, out, err = cli(capsys, ledger, *argv, now=now)
    assert code == 0, (argv, out, err)
    return out


SCENARIO = [  # (argv, now): every command that reads or writes the record
    (["init", "--name", "CHU Test", "--category", "essential", "--health-establishment"], "2026-03-02T08:00+01:00"),
    (["open", "Ransomware on the PACS", "--aware", "2026-03-02T07:30", "--personal-data", "--significant"], None),
    (["open", "Phishing", "--aware", "2026-03-02T09:00"], None),
    (["update", "INC-2026-001", "--summary", "PACS encrypted"], None),
    (["submit", "INC-2026-001", "nis2.early_warning", "--at", "2026-03-02T09:40", "--reference", "ANSSI-1"], None),
    (["request", "INC-2026-001", "--due", "2026-03-20T12:00", "--at", "2026-03-02T09:45"], None),
    (["handled", "INC-2026-002", "--at", "2026-03-02T09:50"], None),
    (["close", "INC-2026-002", "--at", "2026-03-02T09:55"], None),
    (["profile", "--within", "12h"], None),
    (["status", "--json"], None),
    (["list", "--json"], None),
    (["show", "INC-2026-001", "--json"], None),
    (["explain", "INC-2026-001", "nis2.notification", "--json"], None),
    (["check", "--format", "json", "--all"], None),
    (["verify", "--json"], None),
    (["export", "--format", "json"], None),
    (["export", "--format", "jsonl"], None),
    (["export", "--format", "csv"], None),
    (["draft", "INC-2026-001", "nis2.notification"], None),
    (["show", "INC-2026-009"], None),  # unknown incident: exit 4 both ways
    (["submit", "INC-2026-001", "nis2.final", "--at", "2026-03-09T10:00"], None),  # in the future: exit 2
    (["init", "--name", "Again", "--category", "essential"], None),  # exists: exit 5
]


def _run_scenario(capsys, ledger: str) -> list[tuple[int, str, str]]:
    results = []
    for argv, now in SCENARIO:
        code, out, err = cli(capsys, ledger, *argv, now=now or NOW)
        results.append((code, out.replace(ledger, "<LEDGER>"), err.replace(ledger, "<LEDGER>")))
    return results


def test_every_command_gives_the_same_output_the_same_bytes_and_the_same_hashes_on_a_file_and_on_postgresql(
        capsys, tmp_path, pg_url):
    path = str(tmp_path / "ledger.jsonl")
    on_file = _run_scenario(capsys, path)
    on_server = _run_scenario(capsys, pg_url)
    assert [r[0] for r in on_file] == [0] * 13 + [1] + [0] * 5 + [4, 2, 5]  # check: 1, something is due soon
    for argv, a, b in zip([a for a, _ in SCENARIO], on_file, on_server):
        if argv[0] == "init" and a[0] == 5:  # says what exists: a file of N bytes, a database of N events
            assert a[:2] == b[:2] and "a ledger already exists" in b[2] and b[2].count("\n") == 1
        else:
            assert a == b, argv
    # the same lines, byte for byte: the server stores the log's own lines
    assert PgStore(pg_url).read_bytes() == (tmp_path / "ledger.jsonl").read_bytes()
    heads = {json.loads(on_file[14][1])["head"], json.loads(on_server[14][1])["head"]}  # verify --json
    assert len(heads) == 1 and heads.pop().startswith("9:")


@pytest.mark.parametrize("kind", ["file", "postgresql"])
def test_the_black_box_scenarios_exit_as_documented(kind, capsys, tmp_path, pg_url):
    ledger = str(tmp_path / "ledger.jsonl") if kind == "file" else pg_url
    code, out, err = cli(capsys, ledger, "status")
    assert code == 3 and err.startswith("error: ") and "no ledger" in err and err.count("\n") == 1
    ok(capsys, ledger, "init", "--name", "CHU", "--category", "important")
    assert cli(capsys, ledger, "open", "", "--aware", "2026-03-02T09:00")[0] == 2
    out = ok(capsys, ledger, "open", "Outage", "--aware", "2026-03-02T09:00", "--json")
    assert json.loads(out)["id"] == "INC-2026-001"
    assert cli(capsys, ledger, "close", "INC-2026-007")[0] == 4
    head = json.loads(ok(capsys, ledger, "verify", "--json"))["head"]
    assert json.loads(ok(capsys, ledger, "verify", "--head", head, "--json"))["head_check"] is not None
    assert ok(capsys, ledger, "paths", "--json")


def test_a_postgresql_ledger_is_chosen_by_uri_by_libpq_keywords_or_by_the_environment(capsys, pg_server, monkeypatch):
    db = pg_server.createdb()
    keywords = f"host={pg_server.folder} dbname={db} user=postgres"
    assert is_target(keywords) and is_target(pg_server.url(db)) and not is_target("ledger=1.jsonl")
    ok(capsys, keywords, "init", "--name", "CHU", "--category", "important")
    monkeypatch.setenv("NIS2_INCIDENT_LEDGER", pg_server.url(db))
    code, out, err = run_both_ways("main", ["--now", NOW, "verify", "--json"], capsys)
    assert code == 0 and json.loads(out)["events"] == 1
    data = json.loads(run_both_ways("main", ["paths", "--json"], capsys)[1])
    assert data["source"] == "$NIS2_INCIDENT_LEDGER" and data["exists"] is True


def test_a_service_name_from_the_service_file_is_a_ledger(capsys, pg_server, tmp_path, monkeypatch):
    db = pg_server.createdb()
    (tmp_path / "pg_service.conf").write_text(f"[nis2]\nhost={pg_server.folder}\ndbname={db}\nuser=postgres\n")
    monkeypatch.setenv("PGSERVICEFILE", str(tmp_path / "pg_service.conf"))
    ok(capsys, "service=nis2", "init", "--name", "CHU", "--category", "important")
    assert pg_server.sql("SELECT count(*) FROM nis2_incident.events", db=db) == [(1,)]


def test_a_password_is_never_shown_in_output_or_errors(capsys, pg_server):
    db = pg_server.createdb()
    url = pg_server.url(db, password="Tr0ub4dor-SECRET")
    assert "SECRET" not in safe(url) and "SECRET" not in safe(f"host=/x password='Tr0ub4dor-SECRET' dbname={db}")
    assert "SECRET" not in safe(url + "&password=Tr0ub4dor-SECRET")
    for argv in (["init", "--name", "CHU", "--category", "important"], ["paths", "--json"], ["verify"],
                 ["export", "--format", "json"], ["show", "INC-2026-404"]):
        code, out, err = cli(capsys, url, *argv)
        assert "SECRET" not in out + err, argv
    # an error from the server side (no such database) does not show it either
    bad = pg_server.url("no_such_db", password="Tr0ub4dor-SECRET")
    code, out, err = cli(capsys, bad, "status")
    assert code == 3 and "SECRET" not in out + err and "no_such_db" in err and err.count("\n") == 1
    # nor does what the tables keep
    dump = pg_server.sql("SELECT string_agg(convert_from(line, 'UTF8'), '') FROM nis2_incident.events", db=db)
    assert "SECRET" not in (dump[0][0] or "")


def test_init_refuses_a_database_holding_another_tools_tables(capsys, pg_server):
    db = pg_server.createdb()
    pg_server.sql("CREATE TABLE patients (id int)", db=db)
    code, out, err = cli(capsys, pg_server.url(db), "init", "--name", "CHU", "--category", "important")
    assert code == 5 and "public.patients" in err and "nothing was created" in err
    assert pg_server.sql("SELECT count(*) FROM information_schema.schemata WHERE schema_name = 'nis2_incident'",
                         db=db) == [(0,)]


def test_init_creates_the_schema_with_its_version_and_migrations(capsys, pg_url, pg_server):
    ok(capsys, pg_url, "init", "--name", "CHU", "--category", "important")
    db = pg_url.split("/")[3].split("?")[0]
    assert pg_server.sql("SELECT version FROM nis2_incident.schema_version", db=db) == [(1,)]
    assert pg_server.sql("SELECT format, schema_version FROM nis2_incident.ledger", db=db) == [
        ("nis2-incident-ledger", 1)]
    # a newer version of the tables than this code knows is refused, not guessed at
    pg_server.sql("INSERT INTO nis2_incident.schema_version (version, description) VALUES (2, 'future')", db=db)
    code, out, err = cli(capsys, pg_url, "status")
    assert code == 3 and "upgrade nis2-incident" in err


def _db(url: str) -> str:
    return url.split("/")[3].split("?")[0]


def _reseal(event: dict) -> bytes:
    """The stored line of `event` with its hash recomputed (what a forger with the table would write)."""
    from nis2_incident.ledger import chain

    body = {k: v for k, v in event.items() if k != "hash"}
    return log.line_of({**body, "hash": chain.event_hash(body)})[:-1]


def _forge_title(pg_server, url: str, seq: int = 2, title: str = "Nothing happened") -> None:
    """What a superuser forger does: event `seq`'s title rewritten, its hash recomputed (the row's
    constraints hold), written with the table's triggers disabled, then enabled again."""
    db = _db(url)
    line = bytes(pg_server.sql(f"SELECT line FROM nis2_incident.events WHERE seq = {int(seq)}", db=db)[0][0])
    event, _ = log.decode_line(line, seq, "x")
    event["data"]["title"] = title
    forged = _reseal(event)
    pg_server.sql("ALTER TABLE nis2_incident.events DISABLE TRIGGER ALL", db=db)
    pg_server.sql(f"UPDATE nis2_incident.events SET line = %s, hash = %s WHERE seq = {int(seq)}", db=db,
                  params=(forged, forged[-66:-2].decode()))
    pg_server.sql("ALTER TABLE nis2_incident.events ENABLE TRIGGER ALL", db=db)


def test_the_trigger_refuses_update_delete_and_truncate_by_hand(capsys, pg_url, pg_server):
    ok(capsys, pg_url, "init", "--name", "CHU", "--category", "important")
    ok(capsys, pg_url, "open", "Outage", "--aware", "2026-03-02T09:00")
    before = PgStore(pg_url).read_bytes()
    for statement in ("UPDATE nis2_incident.events SET incident = 'INC-X'", "DELETE FROM nis2_incident.events",
                      "TRUNCATE nis2_incident.events", "DELETE FROM nis2_incident.ledger",
                      "UPDATE nis2_incident.schema_version SET version = 9"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            pg_server.sql(statement, db=_db(pg_url))
    assert PgStore(pg_url).read_bytes() == before


def test_the_table_keeps_the_chain_against_clients_that_skip_the_tool(capsys, pg_url, pg_server):
    ok(capsys, pg_url, "init", "--name", "CHU", "--category", "important")
    ok(capsys, pg_url, "open", "Outage", "--aware", "2026-03-02T09:00")
    db = _db(pg_url)
    line2 = pg_server.sql("SELECT line, prev, hash FROM nis2_incident.events WHERE seq = 2", db=db)[0]
    # a second event 2 (a fork), an event whose hash is not that of its line, a gap: all refused
    with pytest.raises(psycopg.errors.UniqueViolation):
        pg_server.sql("INSERT INTO nis2_incident.events (seq, prev, hash, recorded_at, line) "
                      "VALUES (3, %s, %s, 'x', %s)", db=db, params=(line2[1], line2[2] , line2[0]))
    with pytest.raises(psycopg.errors.CheckViolation):
        pg_server.sql("INSERT INTO nis2_incident.events (seq, prev, hash, recorded_at, line) "
                      "VALUES (3, %s, %s, 'x', %s)", db=db, params=(line2[2], "a" * 64, line2[0]))
    event, _ = log.decode_line(bytes(line2[0]), 2, "x")
    gap = _reseal({**event, "seq": 5, "prev": "b" * 64})  # a well-formed event 5 after no event 4
    with pytest.raises(psycopg.errors.ForeignKeyViolation):
        pg_server.sql("INSERT INTO nis2_incident.events (seq, prev, hash, recorded_at, line) "
                      "VALUES (5, %s, %s, 'x', %s)", db=db, params=("b" * 64, gap[-66:-2].decode(), gap))
    assert json.loads(ok(capsys, pg_url, "verify", "--json"))["events"] == 2


def test_superuser_tampering_with_the_trigger_disabled_is_caught_by_verify(capsys, pg_url, pg_server):
    ok(capsys, pg_url, "init", "--name", "CHU", "--category", "important")
    ok(capsys, pg_url, "open", "Outage", "--aware", "2026-03-02T09:00")
    ok(capsys, pg_url, "open", "Phishing", "--aware", "2026-03-02T09:10")
    head = json.loads(ok(capsys, pg_url, "verify", "--json"))["head"]
    _forge_title(pg_server, pg_url)  # the superuser rewrites event 2's title and recomputes its hash
    code, out, err = cli(capsys, pg_url, "verify")
    assert code == 3 and "seq 3" in err and "chain is broken" in err
    assert cli(capsys, pg_url, "status")[0] == 3  # every command refuses it, as for a file
    # the last event rewritten whole: only a kept head tells (as for a file)
    db2 = pg_server.createdb()
    url2 = pg_server.url(db2)
    ok(capsys, url2, "init", "--name", "CHU", "--category", "important")
    ok(capsys, url2, "open", "Outage", "--aware", "2026-03-02T09:00")
    head = json.loads(ok(capsys, url2, "verify", "--json"))["head"]
    _forge_title(pg_server, url2)
    assert cli(capsys, url2, "verify")[0] == 0
    code, out, err = cli(capsys, url2, "verify", "--head", head)
    assert code == 3 and "seq 2" in err


def test_roles_reader_reads_writer_writes_through_the_function_only(capsys, pg_url, pg_server):
    out = ok(capsys, pg_url, "init", "--name", "CHU", "--category", "important", "--roles", "chu")
    db = _db(pg_url)
    pg_server.sql("CREATE ROLE dpo LOGIN; GRANT chu_reader TO dpo; CREATE ROLE oncall LOGIN; GRANT chu_writer TO oncall",
                  db=db)
    reader, writer = pg_server.url(db, user="dpo"), pg_server.url(db, user="oncall")
    assert json.loads(ok(capsys, reader, "verify", "--json"))["events"] == 1
    before = PgStore(pg_url).read_bytes()
    code, out, err = cli(capsys, reader, "open", "Outage", "--aware", "2026-03-02T09:00")
    assert code == 7 and err.count("\n") == 1 and "role dpo may read this ledger but not write it" in err
    assert PgStore(pg_url).read_bytes() == before
    ok(capsys, writer, "open", "Outage", "--aware", "2026-03-02T09:00")
    # the server's word on who appended each row (outside the chain: the line's bytes are the file's)
    assert pg_server.sql("SELECT seq, stored_by FROM nis2_incident.events ORDER BY seq", db=db) == [
        (1, "postgres"), (2, "oncall")]
    with pytest.raises(psycopg.errors.InsufficientPrivilege):  # not even the writer inserts by hand
        pg_server.sql("INSERT INTO nis2_incident.events (seq, prev, hash, recorded_at, line) VALUES "
                      "(3, 'x', 'y', 'z', 'w')", db=db, user="oncall")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        pg_server.sql("SELECT nis2_incident.append(2, 'x', ARRAY[]::bytea[])", db=db, user="dpo")
    assert pg_server.sql("SELECT tableowner FROM pg_tables WHERE tablename = 'events'", db=db) == [("chu_owner",)]
    # a role the init runs again with is reused, and said so
    db2 = pg_server.createdb()
    code, out, err = cli(capsys, pg_server.url(db2), "init", "--name", "CHU", "--category", "important",
                         "--roles", "chu")
    assert code == 0 and "role chu_reader already exists" in err


def test_roles_are_refused_for_a_file_and_a_bad_prefix(capsys, tmp_path, pg_url):
    code, out, err = cli(capsys, str(tmp_path / "l.jsonl"), "init", "--name", "C", "--category", "important",
                         "--roles", "chu")
    assert code == 2 and "PostgreSQL" in err and not (tmp_path / "l.jsonl").exists()
    code, out, err = cli(capsys, pg_url, "init", "--name", "C", "--category", "important", "--roles", "Bad-Name")
    assert code == 2 and "--roles" in err and not PgStore(pg_url).exists()


def test_a_lost_race_re_reads_and_retries(pg_url, pg_server):
    """A client that skips the tool (the owner inserting a valid event by hand) appends between the
    tool's read and its insert: the append function sees another head (SQLSTATE 40001), nothing of
    the tool's write lands, and the service re-reads and seals after the new head."""
    from conftest import at
    from nis2_incident.service import Service

    Service(Store(pg_url), at("2026-03-02T08:00")).init(name="CHU", category="important", regimes=["nis2"])
    store = Store(pg_url)
    real_read, raced = store.read_bytes, []

    def read_then_race():
        raw = real_read()
        if store._conn is not None and not raced:  # under the lock, once: another client's row lands
            ledger = Store(pg_url).read()
            ev = ledger.append({"type": "opened", "recorded_at": "2026-03-02T08:50:00+01:00",
                                "incident": "INC-2026-001", "data": {"title": "By hand", "number": 1,
                                "aware_at": "2026-03-02T08:30:00+01:00", "significance": "undetermined"}})
            line = log.line_of(ev)[:-1]
            pg_server.sql("INSERT INTO nis2_incident.events (seq, prev, hash, incident, recorded_at, line) "
                          "VALUES (%s, %s, %s, %s, %s, %s)", db=_db(pg_url),
                          params=(ev["seq"], ev["prev"], ev["hash"], ev["incident"], ev["recorded_at"], line))
            raced.append(ev["hash"])
        return raw

    store.read_bytes = read_then_race
    out = Service(store, at("2026-03-02T09:00")).open_incident("Mine", "2026-03-02T08:45")
    assert raced and out.head.startswith("3:") and out.value.incident.id == "INC-2026-002"
    events = Store(pg_url).read().events
    assert [e["seq"] for e in events] == [1, 2, 3] and events[1]["hash"] == raced[0]
    assert events[2]["prev"] == raced[0] and events[2]["data"]["title"] == "Mine"


# --- the write lock ------------------------------------------------------------------------------

@pytest.mark.parametrize("timeout", ["0.3", "0"])
def test_a_write_that_cannot_get_the_lock_exits_6_naming_the_holder(timeout, capsys, pg_url):
    ok(capsys, pg_url, "init", "--name", "CHU", "--category", "important")
    before = PgStore(pg_url).read_bytes()
    with psycopg.connect(pg_url, application_name="cron on monitoring-01") as holder:
        holder.execute("SELECT pg_advisory_xact_lock(%s, %s)", (0x4E495332, 15))
        code, out, err = run_both_ways("main", ["--ledger", pg_url, "--now", NOW, "--lock-timeout", timeout, "open",
                                                "Outage", "--aware", "2026-03-02T09:00"], capsys)
        assert code == 6 and err.count("\n") == 1, err
        assert "cron on monitoring-01" in err and "role postgres" in err and "nothing was recorded" in err
        assert json.loads(ok(capsys, pg_url, "verify", "--json"))["events"] == 1  # reads take no lock
    assert PgStore(pg_url).read_bytes() == before
    ok(capsys, pg_url, "open", "Outage", "--aware", "2026-03-02T09:00")  # released: writes again


# --- pull, push, migrate -------------------------------------------------------------------------

def _shared(capsys, pg_url):
    ok(capsys, pg_url, "init", "--name", "CHU", "--category", "important", now="2026-03-02T08:00+01:00")
    ok(capsys, pg_url, "open", "Outage", "--aware", "2026-03-02T07:00", now="2026-03-02T08:10+01:00")


def test_pull_copies_the_record_line_for_line_and_brings_a_copy_up_to_date(capsys, pg_url, tmp_path):
    _shared(capsys, pg_url)
    copy = tmp_path / "copy.jsonl"
    out = json.loads(ok(capsys, pg_url, "ledger", "pull", "--to", str(copy), "--json"))
    assert out["copied"] == 2 and copy.read_bytes() == PgStore(pg_url).read_bytes()
    head = json.loads(ok(capsys, pg_url, "verify", "--json"))["head"]
    assert json.loads(ok(capsys, str(copy), "verify", "--head", head, "--json"))["head"] == head
    assert json.loads(ok(capsys, pg_url, "ledger", "pull", "--to", str(copy), "--json"))["copied"] == 0
    ok(capsys, pg_url, "open", "Phishing", "--aware", "2026-03-02T09:00")
    assert json.loads(ok(capsys, pg_url, "ledger", "pull", "--to", str(copy), "--json"))["copied"] == 1
    assert copy.read_bytes() == PgStore(pg_url).read_bytes()
    code, out, err = cli(capsys, pg_url, "ledger", "pull", "--to", str(tmp_path / "copy.toml"))
    assert code == 2 and ".jsonl" in err and not (tmp_path / "copy.toml").exists()


def test_pull_refuses_a_copy_holding_offline_events(capsys, pg_url, tmp_path):
    _shared(capsys, pg_url)
    copy = tmp_path / "copy.jsonl"
    ok(capsys, pg_url, "ledger", "pull", "--to", str(copy))
    ok(capsys, str(copy), "open", "Offline", "--aware", "2026-03-02T09:00")
    before = copy.read_bytes()
    code, out, err = cli(capsys, pg_url, "ledger", "pull", "--to", str(copy))
    assert code == 5 and "ledger push" in err and "seq 3..3" in err and copy.read_bytes() == before


def test_push_appends_offline_events_with_their_hashes_when_the_record_has_not_moved(capsys, pg_url, tmp_path):
    _shared(capsys, pg_url)
    copy = tmp_path / "copy.jsonl"
    ok(capsys, pg_url, "ledger", "pull", "--to", str(copy))
    code, out, err = cli(capsys, pg_url, "ledger", "push", str(copy), "--json")
    assert code == 0 and json.loads(out)["pushed"] == 0 and "nothing was pushed" in err
    ok(capsys, str(copy), "open", "Offline", "--aware", "2026-03-02T09:00", now="2026-03-02T10:00+01:00")
    ok(capsys, str(copy), "update", "INC-2026-002", "--summary", "at 03:00", now="2026-03-02T10:05+01:00")
    out = json.loads(ok(capsys, pg_url, "ledger", "push", str(copy), "--json", now="2026-03-02T11:00+01:00"))
    assert out["pushed"] == 2 and out["rebased"] is False
    assert PgStore(pg_url).read_bytes() == copy.read_bytes()  # the same lines, the same hashes


def test_push_refuses_when_the_record_moved_and_rebase_re_seals_keeping_the_originals(capsys, pg_url, tmp_path):
    _shared(capsys, pg_url)
    copy = tmp_path / "copy.jsonl"
    ok(capsys, pg_url, "ledger", "pull", "--to", str(copy))
    ok(capsys, str(copy), "open", "Offline", "--aware", "2026-03-02T09:00", now="2026-03-02T10:00+01:00")
    ok(capsys, str(copy), "update", "INC-2026-002", "--summary", "at 03:00", now="2026-03-02T10:05+01:00")
    ok(capsys, str(copy), "update", "INC-2026-001", "--summary", "seen offline", now="2026-03-02T10:06+01:00")
    ok(capsys, pg_url, "open", "Online", "--aware", "2026-03-02T09:10", now="2026-03-02T10:30+01:00")
    offline = Store(copy).read().events[2:]
    before = PgStore(pg_url).read_bytes()
    code, out, err = cli(capsys, pg_url, "ledger", "push", str(copy), now="2026-03-02T11:00+01:00")
    assert code == 5 and err.count("\n") == 1 and "1 event(s) recorded after seq 2" in err and "--rebase" in err
    assert PgStore(pg_url).read_bytes() == before
    code, out, err = cli(capsys, pg_url, "ledger", "push", str(copy), "--rebase", "--json", now="2026-03-02T11:00+01:00")
    assert code == 0, err
    info = json.loads(out)
    assert info["pushed"] == 3 and info["rebased"] is True and info["renamed"] == {"INC-2026-002": "INC-2026-003"}
    assert "recorded as INC-2026-003" in err
    events = Store(pg_url).read().events
    assert [e["seq"] for e in events] == [1, 2, 3, 4, 5, 6]
    for new, old in zip(events[3:], offline):
        assert new["offline"]["hash"] == old["hash"] and new["offline"]["recorded_at"] == old["recorded_at"]
        assert new["offline"]["seq"] == old["seq"] and new["recorded_at"] == "2026-03-02T11:00:00+01:00"
        assert new["type"] == old["type"]
    assert events[4]["incident"] == "INC-2026-003" and events[4]["offline"]["incident"] == "INC-2026-002"
    assert events[5]["incident"] == "INC-2026-001" and events[5]["data"] == offline[2]["data"]
    show = json.loads(ok(capsys, pg_url, "show", "INC-2026-003", "--json", now="2026-03-02T11:01+01:00"))
    assert show["title"] == "Offline" and show["summary"] == "at 03:00"
    assert json.loads(ok(capsys, pg_url, "verify", "--json"))["events"] == 6
    # the copy, whose offline events are now all in the record, is replaced by a pull
    out = json.loads(ok(capsys, pg_url, "ledger", "pull", "--to", str(copy), "--json"))
    assert out["replaced"] == 3 and copy.read_bytes() == PgStore(pg_url).read_bytes()


def test_push_refuses_a_copy_of_another_ledger_and_a_torn_copy(capsys, pg_url, tmp_path):
    _shared(capsys, pg_url)
    other = tmp_path / "other.jsonl"
    ok(capsys, str(other), "init", "--name", "Other", "--category", "important", now="2026-03-01T08:00+01:00")
    before = PgStore(pg_url).read_bytes()
    code, out, err = cli(capsys, pg_url, "ledger", "push", str(other))
    assert code == 5 and "not a copy" in err and PgStore(pg_url).read_bytes() == before
    copy = tmp_path / "copy.jsonl"
    ok(capsys, pg_url, "ledger", "pull", "--to", str(copy))
    with open(copy, "ab") as f:
        f.write(b'{"data":{')  # a write cut short offline
    code, out, err = cli(capsys, pg_url, "ledger", "push", str(copy))
    assert code == 3 and "cut short" in err and PgStore(pg_url).read_bytes() == before


def test_migrate_moves_a_file_into_postgresql_and_back_with_the_same_hashes(capsys, pg_server, tmp_path):
    path = tmp_path / "ledger.jsonl"
    ok(capsys, str(path), "init", "--name", "CHU", "--category", "important")
    ok(capsys, str(path), "open", "Outage", "--aware", "2026-03-02T09:00")
    url = pg_server.url(pg_server.createdb())
    out = json.loads(ok(capsys, str(path), "ledger", "migrate", str(path), url, "--json"))
    assert out["events"] == 2 and PgStore(url).read_bytes() == path.read_bytes()
    back = tmp_path / "back.toml"
    ok(capsys, url, "ledger", "migrate", url, str(back))
    assert json.loads(ok(capsys, str(back), "verify", "--json"))["head"] == out["head"]
    code, out2, err = cli(capsys, url, "ledger", "migrate", str(path), url)  # never overwritten
    assert code == 5 and "already exists" in err
    code, out2, err = cli(capsys, url, "ledger", "migrate", url, url)
    assert code == 2 and "the same ledger" in err


# --- fast reads: the mirror ----------------------------------------------------------------------

def test_a_read_fetches_only_the_lines_this_machine_has_not_seen_and_never_trusts_a_differing_mirror(
        capsys, pg_url, pg_server, monkeypatch, tmp_path):
    from nis2_incident import mirror

    ok(capsys, pg_url, "init", "--name", "CHU", "--category", "important")
    for i in range(3):
        ok(capsys, pg_url, "open", f"Outage {i}", "--aware", "2026-03-02T09:00")
    fresh = PgStore(pg_url)
    full = fresh.read_bytes()
    assert fresh.fetched == 0  # every line was already read on this machine by the commands above
    path = mirror.location(fresh.path.key)
    assert path.read_bytes() == full and oct(path.stat().st_mode & 0o777) == "0o600"
    ok(capsys, pg_url, "open", "Mine", "--aware", "2026-03-02T09:00")  # this machine's write: mirrored too
    store = PgStore(pg_url)
    full = store.read_bytes()
    assert store.fetched == 0
    here = os.environ["XDG_CACHE_HOME"]
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "other-machine"))
    ok(capsys, pg_url, "open", "Another", "--aware", "2026-03-02T09:00")  # another machine's write
    monkeypatch.setenv("XDG_CACHE_HOME", here)
    store = PgStore(pg_url)
    assert store.read_bytes().startswith(full) and store.fetched == 1
    # a mirror edited here (a title changed, the length kept) is not the server's: every line is read
    edited = path.read_bytes().replace(b"Outage 1", b"Outage X")
    path.write_bytes(edited)
    store = PgStore(pg_url)
    raw = store.read_bytes()
    assert store.fetched == 6 and b"Outage 1" in raw and path.read_bytes() == raw
    # a row edited on the server (trigger disabled, hash recomputed): the mirror is not used, and
    # every command sees the server's rows, so the broken chain is refused
    _forge_title(pg_server, pg_url)
    store = PgStore(pg_url)
    assert b"Nothing happened" in store.read_bytes() and store.fetched == 6
    for argv in (["status"], ["check"], ["list"], ["verify"]):
        assert cli(capsys, pg_url, *argv)[0] == 3, argv


def test_a_role_without_grants_is_told_it_may_not_read(capsys, pg_url, pg_server):
    ok(capsys, pg_url, "init", "--name", "CHU", "--category", "important")
    db = _db(pg_url)
    pg_server.sql("CREATE ROLE visitor_%s LOGIN" % db, db=db)
    code, out, err = cli(capsys, pg_server.url(db, user=f"visitor_{db}"), "status")
    assert code == 3 and err.count("\n") == 1 and "may not read this ledger" in err


def test_check_on_postgresql_remembers_what_this_host_announced(capsys, pg_url, tmp_path):
    ok(capsys, pg_url, "init", "--name", "CHU", "--category", "essential")
    ok(capsys, pg_url, "open", "Outage", "--aware", "2026-03-02T09:00", "--significant")
    code, first, _ = cli(capsys, pg_url, "check", "--format", "json", now="2026-03-03T05:30+01:00")
    assert code == 1 and first.strip()
    state = list((Path(os.environ["XDG_STATE_HOME"]) / "nis2-incident" / "check-state").glob("*.check-state.json"))
    assert len(state) == 1 and "SECRET" not in state[0].read_text()
    code, again, _ = cli(capsys, pg_url, "check", "--format", "json", now="2026-03-03T05:31+01:00")
    assert code == 1 and again.strip() == ""  # announced once, remembered on this host


@pytest.mark.parametrize("moved", [False, True])
def test_push_refuses_an_offline_event_that_does_not_fit_the_record(moved, capsys, pg_url, tmp_path):
    """A copy whose chain verifies but whose offline event the fold refuses (written by hand: an
    amendment of an incident that does not exist) is refused whole, rebased or not."""
    _shared(capsys, pg_url)
    copy = tmp_path / "copy.jsonl"
    ok(capsys, pg_url, "ledger", "pull", "--to", str(copy))
    local = Store(copy)
    with local.locked():
        ledger = local.read()
        before = len(ledger.events)
        ledger.append({"type": "amended", "recorded_at": "2026-03-02T10:00:00+01:00", "incident": "INC-2026-404",
                       "data": {"summary": "by hand"}})
        local.write(ledger, ledger.events[before:])
    if moved:
        ok(capsys, pg_url, "open", "Online", "--aware", "2026-03-02T09:10")
    before = PgStore(pg_url).read_bytes()
    code, out, err = cli(capsys, pg_url, "ledger", "push", str(copy), *(["--rebase"] if moved else []))
    assert code == 5 and "does not fit" in err and "INC-2026-404" in err and err.count("\n") == 1
    assert PgStore(pg_url).read_bytes() == before


def test_rebase_renumbers_the_filing_a_late_reason_names(capsys, pg_url, tmp_path):
    _shared(capsys, pg_url)  # INC-2026-001 aware at 07:00: the NIS 2 early warning is due at 07:00 next day
    copy = tmp_path / "copy.jsonl"
    ok(capsys, pg_url, "ledger", "pull", "--to", str(copy))
    late = "2026-03-04T10:00+01:00"
    ok(capsys, str(copy), "submit", "INC-2026-001", "nis2.early_warning", "--at", "2026-03-03T09:00", now=late)
    ok(capsys, str(copy), "submit", "INC-2026-001", "nis2.early_warning", "--late-reason", "the PACS was down",
       now=late)
    offline = Store(copy).read().events
    assert offline[-1]["data"].get("reason_for") == offline[-2]["seq"] == 3
    ok(capsys, pg_url, "open", "Online", "--aware", "2026-03-02T09:10", now=late)
    ok(capsys, pg_url, "ledger", "push", str(copy), "--rebase", now="2026-03-04T10:05+01:00")
    events = Store(pg_url).read().events
    assert events[-1]["data"]["reason_for"] == events[-2]["seq"] == 4
    assert events[-1]["offline"]["seq"] == 4 and events[-2]["offline"]["seq"] == 3


def test_passwords_from_pgpassword_pgpass_or_the_uri_are_used_and_never_shown(capsys, pg_server, tmp_path, monkeypatch):
    """A role that must give a password (scram-sha-256 on the socket for it alone): libpq takes it
    from the URI, $PGPASSWORD or a password file, and no message ever shows it, even a refused one."""
    db = pg_server.createdb()
    secret = "Sesame-0pen-42"
    pg_server.sql(f"CREATE ROLE pw_{db} LOGIN PASSWORD '{secret}'")
    pg_server.sql(f"GRANT ALL ON DATABASE {db} TO pw_{db}; ALTER DATABASE {db} OWNER TO pw_{db}")
    hba = pg_server.data / "pg_hba.conf"
    hba.write_text(f"local all pw_{db} scram-sha-256\n" + hba.read_text())
    pg_server.sql("SELECT pg_reload_conf()")
    bare = pg_server.url(db, user=f"pw_{db}")
    code, out, err = cli(capsys, bare, "init", "--name", "CHU", "--category", "important")
    assert code == 3 and err.count("\n") == 1 and "password" in err  # none given: refused, one line
    code, out, err = cli(capsys, pg_server.url(db, user=f"pw_{db}", password="Wrong-guess-99"), "status")
    assert code == 3 and "Wrong-guess-99" not in out + err and "password authentication failed" in err
    ok(capsys, pg_server.url(db, user=f"pw_{db}", password=secret), "init", "--name", "CHU", "--category", "important")
    monkeypatch.setenv("PGPASSWORD", secret)
    out = ok(capsys, bare, "paths", "--json") + ok(capsys, bare, "open", "Outage", "--aware", "2026-03-02T09:00")
    assert secret not in out
    monkeypatch.delenv("PGPASSWORD")
    passfile = tmp_path / "pgpass"
    passfile.write_text(f"*:*:*:pw_{db}:{secret}\n")
    passfile.chmod(0o600)
    monkeypatch.setenv("PGPASSFILE", str(passfile))
    code, out, err = cli(capsys, bare, "verify", "--json")
    assert code == 0 and json.loads(out)["events"] == 2 and secret not in out + err
    # nothing the tool keeps on this machine holds it either
    for folder in (os.environ["XDG_CACHE_HOME"], os.environ["XDG_STATE_HOME"]):
        for path in Path(folder).rglob("*"):
            if path.is_file():
                assert secret.encode() not in path.read_bytes(), path


def test_a_second_push_rebase_of_the_same_copy_pushes_nothing_twice(capsys, tmp_path):
    """A retried `push --rebase` (the first one's answer lost, or run twice by a script) must not re-seal
    the same offline events again: the record would hold the offline incident twice. Events recorded in
    the copy after the first push still go, under the ids the first push gave."""
    shared, copy = str(tmp_path / "shared.jsonl"), tmp_path / "copy.jsonl"
    ok(capsys, shared, "init", "--name", "CHU Test", "--category", "essential", now="2026-03-02T08:00+01:00")
    ok(capsys, shared, "open", "First", "--aware", "2026-03-02T07:30", now="2026-03-02T08:10+01:00")
    ok(capsys, shared, "ledger", "pull", "--to", str(copy), now="2026-03-02T08:20+01:00")
    ok(capsys, str(copy), "open", "Offline", "--aware", "2026-03-02T09:00", now="2026-03-02T10:00+01:00")
    ok(capsys, shared, "open", "Online", "--aware", "2026-03-02T09:10", now="2026-03-02T10:30+01:00")
    ok(capsys, shared, "ledger", "push", str(copy), "--rebase", now="2026-03-02T11:00+01:00")
    after_first = Path(shared).read_bytes()
    for rebase in (["--rebase"], []):
        code, out, err = cli(capsys, shared, "ledger", "push", str(copy), *rebase, "--json", now="2026-03-02T11:05+01:00")
        assert code == 0, err
        assert json.loads(out)["pushed"] == 0 and "already in the record" in err
        assert Path(shared).read_bytes() == after_first
    titles = [i["title"] for i in json.loads(ok(capsys, shared, "list", "--json", now="2026-03-02T11:06+01:00"))]
    assert sorted(titles) == ["First", "Offline", "Online"]
    # more work on the (not re-pulled) copy: only that goes, to the incident's id in the record
    ok(capsys, str(copy), "update", "INC-2026-002", "--summary", "later offline", now="2026-03-02T11:10+01:00")
    code, out, err = cli(capsys, shared, "ledger", "push", str(copy), "--rebase", "--json", now="2026-03-02T11:15+01:00")
    assert code == 0, err
    assert json.loads(out)["pushed"] == 1
    show = json.loads(ok(capsys, shared, "show", "INC-2026-003", "--json", now="2026-03-02T11:16+01:00"))
    assert show["title"] == "Offline" and show["summary"] == "later offline"
    # init, First, Online, Offline (re-sealed once), the later amendment
    assert json.loads(ok(capsys, shared, "verify", "--json"))["events"] == 5


def test_paths_answers_where_the_ledger_is_when_its_server_is_down(capsys):
    """`paths` is what the on-call engineer runs to see where the record is: with the server down it
    still answers (exit 0), `exists` unknown (null) and the connection error said, password hidden."""
    url = "postgresql://oncall:Tr0ub4dor-SECRET@127.0.0.1:1/ledger?connect_timeout=2"  # port 1: refused
    code, out, err = cli(capsys, url, "paths", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["exists"] is None and "cannot connect" in data["error"]
    assert data["ledger"].startswith("postgresql://oncall@127.0.0.1:1/ledger") and "SECRET" not in out + err
    code, out, err = cli(capsys, url, "paths")
    assert code == 0 and "exists: unknown" in out and "SECRET" not in out + err
