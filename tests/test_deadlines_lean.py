"""`deadlines.compute(explain=False)` (every view but `explain`) against `explain=True` (issue 13,
item 6: the deadlines of every incident are computed on every cold read, so the lean path is made
cheaper; it must never give another obligation).

Without `explain`, an obligation carries no `steps` (the text of its arithmetic, which only `explain`
shows) and only the choices made without that text; everything else — state, due instant, kind,
target, note, filing, clock start, article, instance, in-force, undetermined facts — is the same.
Compared on the benchmark's generated ledger, every example ledger and the record of every exercise,
at moments across their history (the values themselves are held by tests/test_deadlines*.py,
test_regimes*.py, test_issue*.py and the exercises' own expectations).
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import at
from nis2_incident import deadlines, exercise
from nis2_incident import timeutil as tu
from nis2_incident.cli import app
from nis2_incident.ledger import Store
from nis2_incident.service import Service

ROOT = Path(__file__).resolve().parent.parent
EXERCISES = sorted((ROOT / "examples" / "exercises").glob("*.toml"))


def _same_obligations(path: Path, nows: list) -> int:
    compared = 0
    for now in nows:
        svc = Service(Store(path), now)
        state = svc.state(as_of=False)
        for inc in state.incidents.values():
            full = deadlines.compute(inc, state.profile, svc.regimes, svc.now, explain=True)
            lean = deadlines.compute(inc, state.profile, svc.regimes, svc.now, explain=False)
            assert [o.stage for o in full] == [o.stage for o in lean], inc.id
            for a, b in zip(full, lean):
                da, db = dataclasses.asdict(a), dataclasses.asdict(b)
                steps, choices = da.pop("steps"), [str(c) for c in a.choices]
                del da["choices"], db["choices"]
                assert db.pop("steps") == []  # made only for `explain`
                assert da == db, (inc.id, a.stage)
                assert steps  # explain always says how
                # the lean choices are explain's, in the same order, less those made with the text
                rest = iter(choices)
                assert all(any(c == d for d in rest) for c in map(str, b.choices)), (inc.id, a.stage)
                compared += 1
    return compared


def _moments(path: Path) -> list:
    """Instants across a ledger's history: each incident's aware-at and hours and months after it
    (before and after each deadline of every regime), and a year after the last event."""
    events = [json.loads(line) for line in path.read_bytes().splitlines()[1:]] if path.suffix == ".jsonl" else None
    if events is None:
        events = Store(path).read().events
    aware = sorted({tu.parse_instant(e["data"]["aware_at"]) for e in events if e["type"] == "opened"})
    last = max(tu.parse_instant(e["recorded_at"]) for e in events)
    moments = {last + timedelta(days=365)}
    for a in aware[:3]:
        moments |= {a + timedelta(hours=h) for h in (0, 23, 25, 71, 73, 24 * 31, 24 * 40)}
    return sorted(moments)


@pytest.mark.parametrize("name", ["ledger.jsonl", "ledger.json", "ledger.toml"])
def test_lean_obligations_are_explains_on_the_examples(name):
    path = ROOT / "examples" / name
    assert _same_obligations(path, _moments(path)) > 100


def test_lean_obligations_are_explains_on_a_generated_ledger(tmp_path):
    path = tmp_path / "big.jsonl"
    env = {**os.environ, "NIS2_INCIDENT_NOW": "2026-11-29T03:00:00+01:00"}
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "generate.py"), "--incidents", "300", "--open", "30",
                    "--out", str(path)], check=True, env=env, capture_output=True)
    nows = [at("2026-11-29T03:00"), at("2026-03-29T03:30"), at("2025-10-26T02:30+01:00"), at("2027-06-01T00:00")]
    assert _same_obligations(path, nows) > 4000


@pytest.mark.parametrize("path", EXERCISES, ids=lambda p: p.stem)
def test_lean_obligations_are_explains_on_every_exercise(path, tmp_path):
    ex, src = exercise.read(path)
    exercise._Replay(ex, src)._run(tmp_path)  # the exercise's own record, kept in tmp_path
    (ledger,) = tmp_path.glob("*.jsonl")
    assert _same_obligations(ledger, _moments(ledger)) > 0


def test_show_json_gives_explains_obligations():
    """Through the CLI: `show --json` (lean) and `explain --json` (with the text) give the same
    obligations, explain adding only its text and what was judged at filing."""
    runner = CliRunner()
    ledger = str(ROOT / "examples" / "ledger.jsonl")
    for now in ("2026-03-21T12:00", "2026-03-30T20:00", "2027-01-01T00:00"):
        listed = runner.invoke(app, ["--ledger", ledger, "--now", now, "list", "--json"])
        assert listed.exit_code == 0, listed.stderr
        for item in json.loads(listed.stdout):
            shown = runner.invoke(app, ["--ledger", ledger, "--now", now, "show", item["id"], "--json"])
            told = runner.invoke(app, ["--ledger", ledger, "--now", now, "explain", item["id"], "--json"])
            assert shown.exit_code == 0 and told.exit_code == 0, (shown.stderr, told.stderr)
            explained = json.loads(told.stdout)["obligations"]
            for ob in explained:
                assert ob.pop("steps") and "conservative_choices" in ob
                del ob["conservative_choices"], ob["judged_at_filing"]
            assert json.loads(shown.stdout)["obligations"] == explained
