"""`draft` reads only the incident it drafts (issue 13, benchmarks row 6): its view and its own events,
through the log's checkpoint when there is one (a settled incident from its own lines), instead of
the whole record and every incident's view. The draft must be byte for byte what drafting from the
whole ledger gives, with and without a checkpoint, for a settled and for a live incident."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import at, run_both_ways

from nis2_incident import checkpoint
from nis2_incident.drafts import render
from nis2_incident.ledger import Store
from nis2_incident.service import Service

NOW = "2026-04-20T12:00"


def svc(path: Path, now: str) -> Service:
    return Service(Store(path), at(now))


def build(path: Path) -> Path:
    """Two incidents whose events interleave with each other's and a third's; each amended after a
    filing to ANSSI, so a follow-up draft lists what changed since (from the incident's own events)."""
    svc(path, "2026-03-01T09:00").init(name="CHU Brouillon", category="essential", health_establishment=True,
                                      regimes=["nis2", "gdpr", "csp"])
    svc(path, "2026-03-02T10:30").open_incident("Rançongiciel", "2026-03-02T10:00", malicious=True)   # 1
    svc(path, "2026-03-02T11:00").open_incident("Panne", "2026-03-02T10:45")                          # 2
    svc(path, "2026-03-02T11:30").submit("1", "csp.report", reference="CSP-1")
    svc(path, "2026-03-02T12:00").open_incident("Messagerie", "2026-03-02T11:50")                     # 3
    svc(path, "2026-03-03T08:00").submit("1", "nis2.early_warning", reference="CERTFR-1")
    svc(path, "2026-03-03T09:00").update_incident("1", iocs=["198.51.100.7"], severity="high", summary="Chiffrement du PACS")
    svc(path, "2026-03-04T09:00").submit("1", "nis2.notification", reference="CERTFR-2")
    svc(path, "2026-03-04T10:00").update_incident("2", iocs=["evil.example"])
    svc(path, "2026-03-10T10:00").conclude("1", "handled")
    svc(path, "2026-03-20T10:00").submit("1", "nis2.final", reference="CERTFR-3")
    svc(path, "2026-03-20T11:00").update_incident("1", root_cause="Hameçonnage", mitigations="Comptes réinitialisés")
    svc(path, "2026-03-21T10:00").conclude("1", "closed")           # 1: closed, every obligation met: settled
    svc(path, "2026-04-19T08:00").open_incident("Déni de service", "2026-04-19T07:30")                # 4: live
    svc(path, "2026-04-19T09:00").submit("4", "nis2.early_warning", reference="CERTFR-4")
    svc(path, "2026-04-19T10:00").update_incident("3", severity="low")
    svc(path, "2026-04-19T11:00").update_incident("4", malicious=True, iocs=["203.0.113.9"], severity="medium")
    return path


def from_the_whole_ledger(path: Path, ident: str, stage: str, json_out: bool) -> str:
    """The draft as `draft` made it before: every event of the ledger, every view of the snapshot."""
    from nis2_incident.cli.outputs import _short_head

    service = svc(path, NOW)
    record, state, views = service.snapshot(ident)
    draft = render(views[0], service.resolve_stage(stage, state.profile), record.events, service.regimes,
                   service.now, head=_short_head(record.head))
    if not json_out:
        return draft.text
    return draft.changes


def settled_in_checkpoint(path: Path) -> dict:
    data = checkpoint.location(path).read_bytes()
    return json.loads(b"{" + data[len(b'{"seal":"') + 64 + 2:])["settled"]


@pytest.mark.parametrize("name", ["ledger.jsonl", "ledger.toml"])
@pytest.mark.parametrize("ident,stage", [("1", "nis2.final"), ("4", "nis2.notification")])
@pytest.mark.parametrize("way", ["main", "app"])
def test_a_draft_is_the_same_with_and_without_a_checkpoint(tmp_path, capsys, name, ident, stage, way):
    path = build(tmp_path / name)
    expected = from_the_whole_ledger(path, ident, stage, False)
    changes = from_the_whole_ledger(path, ident, stage, True)
    assert changes, "the follow-up lists what changed since the previous filing to ANSSI"
    argv = ["--ledger", str(path), "--now", NOW, "draft", ident, stage]
    outputs = []
    shutil.rmtree(checkpoint.folder(), ignore_errors=True)
    for run in ("no checkpoint", "its checkpoint"):
        code, out, err = run_both_ways(way, argv, capsys)
        assert code == 0, err
        assert f"{len(changes)} fact(s) changed since" in err
        outputs.append(out)
        code, out, err = run_both_ways(way, [*argv, "--json"], capsys)
        assert code == 0, err
        assert json.loads(out)["changes"] == [{k: c[k] for k in ("field", "label", "before", "after")}
                                              for c in changes]
        if name.endswith(".jsonl") and run == "no checkpoint":  # the first read kept one: 1 settled, 4 live
            assert "INC-2026-001" in settled_in_checkpoint(path)
            assert "INC-2026-004" not in settled_in_checkpoint(path)
    assert outputs == [expected, expected]


def test_own_events_are_the_lines_whose_incident_it_is():
    """`_own_events` finds an incident's lines by their text and keeps those whose own `incident` it is:
    not a line of another incident whose data holds the same text, not a longer id."""
    from nis2_incident.service import _own_events

    events = [{"data": {}, "incident": "INC-1", "seq": 1},
              {"data": {"note": {"incident": "INC-1"}}, "incident": "INC-2", "seq": 2},
              {"data": {}, "incident": "INC-10", "seq": 3},
              {"data": {"x": 1}, "incident": "INC-1", "seq": 4},
              {"data": {}, "incident": "Ïd \"q\"", "seq": 5}]
    raw = b'{"format":"x"}\n' + b"".join(json.dumps(e, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"
                                         for e in events)
    first = raw.index(b"\n") + 1
    assert [e["seq"] for e in _own_events(raw, first, len(raw), "INC-1")] == [1, 4]
    assert [e["seq"] for e in _own_events(raw, first, len(raw), "INC-2")] == [2]
    assert [e["seq"] for e in _own_events(raw, first, len(raw), 'Ïd "q"')] == [5]
    assert _own_events(raw, first, raw.index(b"\n", first) + 1, "INC-1") == [events[0]]  # within the range only
