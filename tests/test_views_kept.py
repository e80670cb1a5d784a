"""The texts of settled incidents kept in the views file (`Service.texts`), compressed with a preset
dictionary kept in the same file: a text is taken only when it decompresses whole with that
dictionary; otherwise it is made again, and the output is the same either way."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nis2_incident import checkpoint
from nis2_incident.cli import app
from ledgers import NOWS, build

runner = CliRunner()


def cli(ledger: Path, *args: str):
    return runner.invoke(app, ["--ledger", str(ledger), "--now", NOWS[3], *args], catch_exceptions=False)


def kept(path: Path, kind: str) -> tuple[str, dict]:
    """The views file's entries, as `load_views` reads them under the key they were saved with."""
    data = checkpoint.views_location(path, kind).read_bytes()
    head = json.loads(b"{" + data[len(b'{"seal":"') + 64 + 2:data.index(b"\n")])
    return head["key"], checkpoint.load_views(path, kind, head["key"])


KINDS = {"list": "list-json-indented", "export": "export-json-indented"}


@pytest.mark.parametrize("args", [["list", "--json"], ["export", "--format", "json"]])
@pytest.mark.parametrize("damage", ["no dictionary", "another dictionary", "cut short"])
def test_a_kept_text_is_taken_only_with_its_dictionary(tmp_path, args, damage):
    path = build(tmp_path / "ledger.jsonl")
    first = cli(path, *args)
    assert first.exit_code == 0
    kind = KINDS[args[0]]
    key, entries = kept(path, kind)
    assert entries[""][0] == "zdict" and len(entries) > 2  # the dictionary, then the settled incidents' texts
    assert cli(path, *args).stdout == first.stdout  # with the kept texts
    entries = {ident: (digest, bytes(packed)) for ident, (digest, packed) in entries.items()}
    if damage == "no dictionary":
        del entries[""]
    elif damage == "another dictionary":
        entries[""] = ("zdict", b'{"other": "words", "id": "INC-2026-999"}' * 50)
    else:
        entries = {ident: (digest, packed if not ident else packed[:len(packed) // 2])
                   for ident, (digest, packed) in entries.items()}
    checkpoint.save_views(path, kind, key, entries)  # sealed again: only the content is wrong
    again = cli(path, *args)
    assert again.exit_code == 0 and again.stdout == first.stdout
    shutil.rmtree(checkpoint.folder())
    assert cli(path, *args).stdout == first.stdout  # as without any derived file


@pytest.mark.parametrize("name", ["ledger.jsonl", "ledger.toml"])
def test_the_calendar_from_the_live_incidents_is_the_feed_of_every_incident(tmp_path, name):
    """`export --format ics` computes the views of the incidents that can still change with time only
    (through the log's checkpoint): the feed is the one made from every incident's view, with and
    without a checkpoint, and after a settled incident gets a new event (live again)."""
    from conftest import at

    from nis2_incident import exports
    from nis2_incident import timeutil as tu
    from nis2_incident.ledger import Store
    from nis2_incident.service import Service

    path = build(tmp_path / name)

    def whole() -> bytes:
        service = Service(Store(path), at(NOWS[3]))
        record, state, views = service.snapshot()
        profile = state.profile
        return exports.ics(views, record.events, profile.name, profile.timezone,
                           [tu.parse_duration(a) for a in profile.alarms], service.now, state.head_seq)

    expected = whole()
    assert b"BEGIN:VEVENT" in expected
    shutil.rmtree(checkpoint.folder(), ignore_errors=True)
    assert cli(path, "export", "--format", "ics").stdout_bytes == expected  # no checkpoint
    assert cli(path, "export", "--format", "ics").stdout_bytes == expected  # its checkpoint
    r = runner.invoke(app, ["--ledger", str(path), "--now", NOWS[3], "submit", "1", "nis2.final", "--force",
                            "--reference", "again"], catch_exceptions=False)  # settled incident 1: a new event
    assert r.exit_code == 0, r.stderr
    expected = whole()
    assert cli(path, "export", "--format", "ics").stdout_bytes == expected


@pytest.mark.parametrize("name", ["ledger.jsonl", "ledger.toml"])
def test_the_csv_with_kept_rows_is_the_csv_of_every_incident(tmp_path, name, monkeypatch):
    """`export --format csv` takes a settled incident's rows as kept (`Service.texts`): the same text as
    the rows of every incident's view, with and without a checkpoint, and the same count."""
    from conftest import at

    from nis2_incident import exports
    from nis2_incident import service as service_mod
    from nis2_incident.ledger import Store
    from nis2_incident.service import Service

    path = build(tmp_path / name)
    service = Service(Store(path), at(NOWS[3]))
    views = service.snapshot()[2]
    expected = exports.csv_text(views).encode("utf-8")
    count = f"{sum(len(v.obligations) for v in views)} obligation(s)"
    shutil.rmtree(checkpoint.folder(), ignore_errors=True)
    first = cli(path, "export", "--format", "csv")
    assert first.stdout_bytes == expected and count in first.stderr
    computed = []
    real = service_mod.Service.view
    monkeypatch.setattr(service_mod.Service, "view",
                        lambda self, state, inc, *a: computed.append(inc.id) or real(self, state, inc, *a))
    again = cli(path, "export", "--format", "csv")
    assert again.stdout_bytes == expected and count in again.stderr
    if name.endswith(".jsonl"):
        assert computed and "INC-2026-001" not in computed  # settled: its rows as kept


def test_list_and_export_keep_their_texts_apart(tmp_path, monkeypatch):
    """`list --json`, then `export`, then `list --json` again: each kind of text has its own views file,
    so the second `list --json` computes no settled incident's view (one shared file would have been
    made again for the export's texts in between)."""
    from nis2_incident import service as service_mod

    path = build(tmp_path / "ledger.jsonl")
    first = cli(path, "list", "--json")
    exported = cli(path, "export", "--format", "json")
    assert first.exit_code == 0 and exported.exit_code == 0
    assert all(checkpoint.views_location(path, kind).is_file() for kind in KINDS.values())
    computed = []
    real = service_mod.Service.view
    monkeypatch.setattr(service_mod.Service, "view",
                        lambda self, state, inc, *a: computed.append(inc.id) or real(self, state, inc, *a))
    assert cli(path, "list", "--json").stdout == first.stdout
    assert cli(path, "export", "--format", "json").stdout == exported.stdout
    settled = set(kept(path, KINDS["list"])[1]) - {""}
    assert settled and not settled & set(computed)


def test_a_settled_incident_folded_for_its_text_is_let_go_and_folded_again_when_asked(tmp_path):
    """Through the checkpoint, `texts` folds each settled incident whose text is not kept from its own
    lines, and lets it go once its text is made (so that 10,000 of them are not all held); asked for
    again, it is folded again from the same lines and is the same incident."""
    from nis2_incident.ledger import Store
    from nis2_incident.render.jsonout import dumps_item, incident
    from nis2_incident.service import Service
    from conftest import at

    path = build(tmp_path / "ledger.jsonl")
    assert cli(path, "status", "--json").exit_code == 0  # the checkpoint
    svc = Service(Store(path), at(NOWS[3]))
    state = svc.state()
    assert state.partial
    settled = [i for i in state.numbers if not state.holds(i)]
    assert settled
    texts = list(svc.texts(state, "list-json-indented", lambda v: dumps_item(incident(v), 0)))
    assert len(texts) == len(state.numbers)
    assert not any(state.holds(i) for i in settled)  # let go once their texts were made
    again = Service(Store(path), at(NOWS[3]))
    whole = again._read()[1]  # a whole read: every incident folded from every line
    for ident in settled:
        assert state.incident(ident) == whole.incident(ident)  # folded again, the same
