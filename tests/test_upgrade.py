"""The upgrade path (SPEC §6 "schema_version"; issue 7, item 7).

tests/fixtures/ledger-v1.toml was written once by schema version 1 (tests/fixtures/make-ledger-v1.sh)
and is never regenerated: every later version must read it, verify it with the very same hashes, and
upgrade it through ledger/codec.py UPGRADES; a file newer than the code is refused. The fixture spans
the March 2026 clock change, three regimes, filings, a request, an amendment and a closed incident.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import at
from nis2_incident.cli import app
from nis2_incident.errors import LedgerError, Nis2IncidentError
from nis2_incident.ledger import Store, codec
from nis2_incident.service import Service

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "ledger-v1.toml"
FIXTURE_SHA256 = "d07368fb1342670ccec61b2cad0d4cf59bf7d8bec07d85700a7531f9291202bf"
HEAD = "10:093db4e5bf7664badf34b7088c2c9b20c0ae8376c77e753cfa2e283eff1a743d"
NOW = "2026-03-31T12:00"
runner = CliRunner()


def cli(path: Path, *args: str):
    return runner.invoke(app, ["--ledger", str(path), *args], catch_exceptions=False)


@pytest.fixture
def v1(tmp_path) -> Path:
    path = tmp_path / "ledger.toml"
    shutil.copy(FIXTURE, path)
    return path


def test_the_fixture_is_the_file_version_1_wrote():
    """Never regenerate it: a new fixture would prove nothing about old files."""
    raw = FIXTURE.read_bytes()
    assert hashlib.sha256(raw).hexdigest() == FIXTURE_SHA256
    assert raw.startswith(b"schema_version = 1\n")


def test_a_version_1_ledger_reads_and_verifies_with_its_hashes(v1):
    result = cli(v1, "verify", "--head", HEAD)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == ["ok: 10 events, 2 incidents, chain verified",
                                          "kept head seq 10 found; 0 event(s) added since", f"head: {HEAD}"]
    state = Service(Store(v1), at(NOW)).state()
    assert state.profile.name == "Centre Hospitalier Exemple" and state.profile.health_establishment
    one, two = state.incidents["INC-2026-001"], state.incidents["INC-2026-002"]
    assert [f.stage for f in one.filings] == ["nis2.early_warning", "csp.report", "gdpr.notification"]
    assert one.filings[2].late_reason == "Scope of the breach established only on 30 March"
    assert one.aware_at == at("2026-03-28T10:00") and one.significance == "significant"
    assert two.closed_at == at("2026-03-28T10:45")
    shown = cli(v1, "--now", NOW, "show", "INC-2026-001", "--json")
    assert shown.exit_code == 0, shown.stderr
    assert json.loads(shown.stdout)["id"] == "INC-2026-001"


def test_a_version_1_ledger_accepts_writes_and_keeps_its_events(v1):
    before = Store(v1).read().events
    result = cli(v1, "--now", NOW, "handled", "INC-2026-001", "--at", "2026-03-31T11:00")
    assert result.exit_code == 0, result.stderr
    after = Store(v1).read()
    assert after.schema_version == 1
    assert after.events[:10] == before
    assert cli(v1, "verify", "--head", HEAD).exit_code == 0


def test_a_version_1_ledger_converted_to_json_is_the_same_ledger(v1, tmp_path):
    import tomllib

    as_json = tmp_path / "ledger.json"
    as_json.write_bytes(codec.encode(tomllib.loads(v1.read_text("utf-8")), as_json))
    result = cli(as_json, "verify", "--head", HEAD)
    assert result.exit_code == 0, result.stderr


@pytest.mark.parametrize("version", [2, 99])
def test_a_newer_schema_version_is_refused_by_every_command(v1, version):
    v1.write_bytes(v1.read_bytes().replace(b"schema_version = 1\n", f"schema_version = {version}\n".encode(), 1))
    before = v1.read_bytes()
    for args in (["verify"], ["--now", NOW, "list"], ["--now", NOW, "open", "x", "--aware", "2026-03-31T10:00"],
                 ["--now", NOW, "init", "--name", "X", "--category", "essential"]):
        result = cli(v1, *args)
        assert result.exit_code in (3, 5), (args, result.stderr)  # init: a ledger exists (5), never replaced
        if result.exit_code == 3:
            assert result.stderr.strip() == (f"error: {v1}: schema_version {version} is newer than this "
                                             "nis2-incident understands (1); upgrade nis2-incident")
        assert v1.read_bytes() == before


def _to_v2(data: dict) -> dict:
    """A plausible version-2 step: a top-level key renamed; events untouched, as the rules say."""
    out = {k: v for k, v in data.items() if k != "schema_version"}
    out["schema_version"] = 2
    out["written_by"] = "nis2-incident"
    return out


def test_an_upgrade_step_is_applied_on_read_and_stored_by_the_next_write(v1, monkeypatch):
    monkeypatch.setattr(codec, "SCHEMA_VERSION", 2)
    monkeypatch.setattr(codec, "UPGRADES", {1: _to_v2})
    ledger = Store(v1).read()
    assert ledger.schema_version == 2 and ledger.extra == {"written_by": "nis2-incident"}
    assert ledger.head == HEAD  # the events and their hashes are those version 1 wrote
    assert v1.read_bytes() == FIXTURE.read_bytes()  # reading does not rewrite the file
    Service(Store(v1), at(NOW)).conclude("INC-2026-001", "handled", at="2026-03-31T11:00")
    assert v1.read_bytes().startswith(b'written_by = "nis2-incident"\nschema_version = 2\n')
    assert Service(Store(v1), at(NOW)).verify(head=HEAD)["events"] == 11
    monkeypatch.setattr(codec, "SCHEMA_VERSION", 1)  # the old program meets the upgraded file
    with pytest.raises(LedgerError, match="schema_version 2 is newer than this nis2-incident understands"):
        Store(v1).read()


def test_bug_a_gap_in_the_upgrade_chain_was_a_key_error(v1, monkeypatch):
    """`upgrade` indexed UPGRADES[version] blindly: a missing step was a KeyError (exit 70 with no
    words), and a step that forgot to bump the version looped forever. Both are now a clear error
    that calls itself a bug, and the file is untouched."""
    monkeypatch.setattr(codec, "SCHEMA_VERSION", 3)
    monkeypatch.setattr(codec, "UPGRADES", {1: _to_v2})
    with pytest.raises(Nis2IncidentError) as err:
        Store(v1).read()
    assert type(err.value) is Nis2IncidentError and err.value.exit_code == 70
    assert err.value.message == (f"{v1}: schema_version 2: this nis2-incident has no upgrade to version 3 "
                                 "(a bug: report it; the file is unchanged)")
    monkeypatch.setattr(codec, "UPGRADES", {1: lambda data: data, 2: _to_v2})
    with pytest.raises(Nis2IncidentError, match="the upgrade from schema_version 1 did not produce version 2"):
        Store(v1).read()
    assert v1.read_bytes() == FIXTURE.read_bytes()
