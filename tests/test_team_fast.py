"""Fast reads of a PostgreSQL ledger (issue 15, item 4): the mirror proved by the rows' last 75 bytes.

A warm `check` or `status` on a machine that has read the ledger before asks the server only for the
SHA-256 of each row's `,"hash":"<64 hex>"}` (bound to the rest of the line by the table's CHECK
constraints) and the rows after its mirror (`PgStore._same_rows`, `mirror.py`). These tests show
that the shortcut sees every rewrite of a row by SQL that the file path sees (the same bytes in a
file are refused by the same command), and that no result depends on what this machine has cached.
"""

from __future__ import annotations

import os

import pytest

from nis2_incident import mirror
from nis2_incident.ledger import log
from nis2_incident.ledger.pg import PgStore
from test_team import _db, _reseal, cli, ok

CHECK_NOW = "2026-03-03T05:30+01:00"  # the early warning of INC-2026-001 is due at 07:30


def _ledger(capsys, url: str) -> None:
    ok(capsys, url, "init", "--name", "CHU", "--category", "essential")
    ok(capsys, url, "open", "Ransomware", "--aware", "2026-03-02T07:30", "--significant")
    ok(capsys, url, "open", "Phishing", "--aware", "2026-03-02T08:00")
    ok(capsys, url, "handled", "INC-2026-002", "--at", "2026-03-02T09:00")
    ok(capsys, url, "close", "INC-2026-002", "--at", "2026-03-02T09:05")
    ok(capsys, url, "open", "Outage", "--aware", "2026-03-02T09:30")


def _commands(capsys, url: str) -> list[tuple[int, str, str]]:
    """`check` (as a host that has announced nothing yet: a state folder of its own) and `status`."""
    import tempfile

    state = os.environ.get("XDG_STATE_HOME")
    with tempfile.TemporaryDirectory() as fresh:
        os.environ["XDG_STATE_HOME"] = fresh
        try:
            return [cli(capsys, url, *argv, now=CHECK_NOW) for argv in (["check", "--format", "json", "--all"],
                                                                          ["status", "--json"], ["status"])]
        finally:
            if state is None:
                del os.environ["XDG_STATE_HOME"]
            else:
                os.environ["XDG_STATE_HOME"] = state


def _elsewhere(monkeypatch, tmp_path, name: str):
    """Run what follows as another machine (a cache folder of its own); returns how to come back."""
    here = os.environ["XDG_CACHE_HOME"]
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / name))
    return lambda: monkeypatch.setenv("XDG_CACHE_HOME", here)


def test_a_warm_read_takes_the_shortcut_and_gives_what_a_machine_with_nothing_cached_gives(
        capsys, pg_url, tmp_path, monkeypatch):
    _ledger(capsys, pg_url)
    _commands(capsys, pg_url)  # this machine has read it: mirror and checkpoint
    store = PgStore(pg_url)
    raw = store.read_bytes()
    assert store.fetched == 0 and store.proof == "tails"
    # the mirror's sums name what the server computed: its lines file and their last 75 bytes
    path = mirror.location(store.path.key)
    assert path.read_bytes() == raw and oct(path.with_suffix(".sums").stat().st_mode & 0o777) == "0o600"
    warm = _commands(capsys, pg_url)
    back = _elsewhere(monkeypatch, tmp_path, "cold")
    cold = _commands(capsys, pg_url)
    back()
    assert warm == cold and [r[0] for r in warm] == [1, 0, 0]  # check: a deadline is near
    # one more event from another machine: only it crosses, and the results still agree
    back = _elsewhere(monkeypatch, tmp_path, "writer")
    ok(capsys, pg_url, "update", "INC-2026-001", "--summary", "PACS encrypted")
    back()
    store = PgStore(pg_url)
    assert store.read_bytes().startswith(raw) and store.fetched == 1 and store.proof == "tails"
    warm = _commands(capsys, pg_url)
    back = _elsewhere(monkeypatch, tmp_path, "cold2")
    assert warm == _commands(capsys, pg_url)
    back()


def _title_resealed(line: bytes) -> bytes:
    """Event 2 with another title and its hash recomputed: what a forger with the table writes."""
    event, _ = log.decode_line(line, 2, "x")
    event["data"]["title"] = "Nothing happened"
    return _reseal(event)


TAMPERING = {
    # the row's line and hash rewritten (every constraint holds): the chain breaks at seq 3
    "resealed": ["UPDATE nis2_incident.events SET line = %(forged)s, hash = %(forged_hash)s WHERE seq = 2"],
    # only the 11 bytes the CHECKs leave free (`,"hash":"` and `"}`): every constraint holds
    "hash key": ["UPDATE nis2_incident.events SET line = %(hash_key)s WHERE seq = 2"],
    # a CHECK dropped, then the title changed with the hash kept: the line no longer hashes to it
    "check dropped": ["ALTER TABLE nis2_incident.events DROP CONSTRAINT events_check2",
                      "UPDATE nis2_incident.events SET line = %(same_hash)s WHERE seq = 2"],
    # ... and put back NOT VALID (it is there, but does not vouch for the rows)
    "check back not valid": ["ALTER TABLE nis2_incident.events DROP CONSTRAINT events_check2",
                             "UPDATE nis2_incident.events SET line = %(same_hash)s WHERE seq = 2",
                             "ALTER TABLE nis2_incident.events ADD CONSTRAINT events_check2 CHECK (encode(sha256("
                             "substring(line from 1 for octet_length(line) - 75) || '\\x7d'::bytea), 'hex') = hash) "
                             "NOT VALID"],
}


@pytest.mark.parametrize("how", sorted(TAMPERING))
def test_a_row_rewritten_by_sql_is_caught_by_the_next_warm_check_as_the_same_bytes_in_a_file_are(
        capsys, pg_url, pg_server, tmp_path, monkeypatch, how):
    _ledger(capsys, pg_url)
    before = _commands(capsys, pg_url)
    assert [r[0] for r in before] == [1, 0, 0]
    store = PgStore(pg_url)
    honest = store.read_bytes()
    assert store.fetched == 0 and store.proof == "tails"  # the next command takes the shortcut
    db = _db(pg_url)
    line = bytes(pg_server.sql("SELECT line FROM nis2_incident.events WHERE seq = 2", db=db)[0][0])
    forged = _title_resealed(line)
    same_hash = line.replace(b'"Ransomware"', b'"Ransomwar3"')
    assert same_hash != line and same_hash[-75:] == line[-75:]
    params = {"forged": forged, "forged_hash": forged[-66:-2].decode(), "same_hash": same_hash,
              "hash_key": line[:-75] + b',"hasH":"' + line[-66:]}
    pg_server.sql("ALTER TABLE nis2_incident.events DISABLE TRIGGER ALL", db=db)
    for statement in TAMPERING[how]:
        pg_server.sql(statement, db=db, params={k: v for k, v in params.items() if f"%({k})s" in statement})
    pg_server.sql("ALTER TABLE nis2_incident.events ENABLE TRIGGER ALL", db=db)
    after = _commands(capsys, pg_url)  # this machine: mirror and checkpoint of the rows as they were
    assert [r[0] for r in after] == [3, 3, 3], after
    assert all(err.count("\n") == 1 and err.startswith("error:") for _, _, err in after)
    # the same rows as a file: the file path refuses them too, with the same code
    back = _elsewhere(monkeypatch, tmp_path, "copy")
    tampered = PgStore(pg_url).read_bytes()
    back()
    assert tampered != honest and len(tampered) == len(honest) - len(line) + len(params["forged"] if how ==
                                                                             "resealed" else line)
    copy = tmp_path / "copy.jsonl"
    copy.write_bytes(tampered)
    assert [r[0] for r in _commands(capsys, str(copy))] == [3, 3, 3]
    # and it stays caught: the mirror now holds the server's rows, the checkpoint is not theirs
    store = PgStore(pg_url)
    assert store.read_bytes() == tampered and store.fetched == 0
    assert store.proof == ("tails" if how in ("resealed", "hash key") else "lines")
    assert [r[0] for r in _commands(capsys, pg_url)] == [3, 3, 3]


def test_a_mirror_is_used_only_with_the_sums_written_with_it(capsys, pg_url, tmp_path, monkeypatch):
    _ledger(capsys, pg_url)
    reference = _commands(capsys, pg_url)
    key = PgStore(pg_url).path.key
    lines, sums = mirror.location(key), mirror.location(key).with_suffix(".sums")
    original = lines.read_bytes()
    total = original.count(b"\n") - 1
    damages = {
        "sums removed": lambda: sums.unlink(),
        "sums emptied (a write cut short)": lambda: sums.write_bytes(b""),
        # a title edited in the mirror, the hashes and the sums kept: its last 75 bytes are the server's
        "lines edited": lambda: lines.write_bytes(original.replace(b'"Phishing"', b'"Phishinq"')),
        "lines cut": lambda: lines.write_bytes(original[:original.rindex(b"\n", 0, len(original) - 1) + 1]),
    }
    for name, damage in damages.items():
        PgStore(pg_url).read_bytes()  # a good mirror first
        damage()
        store = PgStore(pg_url)
        raw = store.read_bytes()
        assert store.fetched == total and store.proof is None, name  # not used: every line read again
        assert raw == original and lines.read_bytes() == original, name
        assert _commands(capsys, pg_url) == reference, name
