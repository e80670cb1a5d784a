"""Tabletop exercises as files (issue 6, SPEC §7): the format, `exercise check` and its reports, the
JSON Schema, the template, the timeline, the pre-commit hook, and the promise that an exercise never
touches the user's ledger.

Exercises run at their own clock (their T0), so nothing here reads the real clock.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from nis2_incident import exercise
from nis2_incident.cli import app
from nis2_incident.errors import ExerciseError
from nis2_incident.ledger import Store, chain
from nis2_incident.ledger.store import LogStore
from nis2_incident.model import FACT_FIELDS

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "exercises"
ALL_EXAMPLES = sorted(EXAMPLES.glob("*.toml"))
FAILING = [p for p in ALL_EXAMPLES if p.name.startswith("fail-")]
PASSING = [p for p in ALL_EXAMPLES if not p.name.startswith("fail-")]
runner = CliRunner()

BASE = """\
format = 1
t0 = "2026-03-28T10:00:00+01:00"

[exercise]
name = "Minimal"

[profile]
name = "CHU Test"
category = "essential"
regimes = ["nis2"]

[incident]
title = "Ransomware"
aware_at = "T0"

[[actions]]
do = "submit"
at = "T+2h"
stage = "nis2.early_warning"

[[actions]]
do = "submit"
at = "T+2d"
stage = "nis2.notification"

[[expect]]
at = "T+25h"
obligations = { "nis2.early_warning" = "met" }
due = { "nis2.notification" = "2026-03-31T11:00:00+02:00" }
"""


def cli(*args, env=None):
    return runner.invoke(app, ["exercise", *args], env=env, catch_exceptions=False)


def write(tmp_path: Path, text: str, name: str = "drill.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    hits = [i for i, line in enumerate(text.splitlines(), 1) if needle in line]
    return hits[occurrence - 1]


# --- the examples ------------------------------------------------------------------------------

def test_the_examples_are_there():
    """Six scenarios that pass and two that fail on purpose, at least (issue 6, item 5)."""
    assert len(PASSING) >= 6 and len(FAILING) >= 2
    names = " ".join(p.name for p in ALL_EXAMPLES)
    for topic in ("clock-change", "trust-service", "patient-data", "ongoing", "intermediate", "not-significant"):
        assert topic in names


def test_every_regime_has_an_exercise_example_that_states_its_stages():
    """Issue 17, "Done when": each regime has its exercise example. A passing example counts for a regime
    when one of its expectations states the state or the due instant of one of that regime's stages."""
    regimes = sorted(p.stem for p in (ROOT / "nis2_incident" / "regimes").glob("*.toml"))
    stated: dict[str, set[str]] = {}
    for path in PASSING:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        for e in data.get("expect", []):
            for key in [*e.get("obligations", {}), *e.get("due", {})]:
                if e.get("obligations", {}).get(key) not in ("not_in_force", "not_applicable"):
                    stated.setdefault(key.partition(".")[0], set()).add(path.name)
    missing = [r for r in regimes if r not in stated]
    assert not missing, f"no passing example states a stage of: {', '.join(missing)}"


# Each issue-17 example teaches its regime's clock: changing the fact it turns on makes it fail (an
# expectation no longer holds) or invalid (a filing the changed facts make impossible, as on the command line).
@pytest.mark.parametrize("name, old, new, message", [
    ("cer-critical-entity-flood.toml", "critical_entity = true", 'critical_entity = true\nnot_in_force = "ignore"',
     "cer.initial is not_in_force"),
    ("cra-exploited-vulnerability.toml", "device_involved = false", "device_involved = true",
     "the MDR applies instead of the CRA (Art. 2(2)(a))"),
    ("mdr-infusion-pump-serious-incident.toml", 'patient_harm = "serious"', 'patient_harm = "harm"',
     "mdr.report is due T+15d2h"),
    ("ai-act-emergency-triage-death.toml", 'patient_harm = "death"', 'patient_harm = "serious"',
     "ai_act.report is due T+15d"),
    ("gdpr-processor-informs-controller.toml", 'gdpr_role = "processor"', 'gdpr_role = "controller"',
     "the gdpr_processor regime is not enabled for this entity"),
])
def test_issue17_examples_fail_when_their_deciding_fact_changes(tmp_path, name, old, new, message):
    text = (EXAMPLES / name).read_text(encoding="utf-8")
    line = re.compile(rf"^{re.escape(old)}$", re.M)  # the key itself, not the comments that name it
    assert line.search(text)
    changed = write(tmp_path, line.sub(lambda _: new, text, count=1), name)
    result = cli("check", str(changed))
    assert result.exit_code in (1, 3), result.stdout + result.stderr
    assert message in result.stdout + result.stderr


@pytest.mark.parametrize("path", PASSING, ids=lambda p: p.name)
def test_passing_example_passes_through_the_cli(path):
    result = cli("check", str(path))
    assert result.exit_code == 0, result.stdout + result.stderr
    assert result.stdout.startswith("PASS")
    assert "exercises: 1 passed, 0 failed, 0 invalid" in result.stdout


@pytest.mark.parametrize("path", FAILING, ids=lambda p: p.name)
def test_failing_example_fails_through_the_cli(path):
    result = cli("check", str(path))
    assert result.exit_code == 1, result.stdout + result.stderr
    assert result.stdout.startswith("FAIL")
    assert "exercises: 0 passed, 1 failed, 0 invalid" in result.stdout
    # every failure names the file and a line, and gives its times with offsets
    failures = [line for line in result.stdout.splitlines() if line.startswith("  ")]
    assert failures
    for line in failures:
        assert re.match(rf"^  {re.escape(str(path))}:\d+: ", line), line
        assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d [+-]\d\d:\d\d", line), line


@pytest.mark.parametrize("path", ALL_EXAMPLES, ids=lambda p: p.name)
def test_every_example_explains_what_it_teaches(path):
    text = path.read_text(encoding="utf-8")
    assert "What it teaches" in text
    if path.name.startswith("fail-"):
        assert "FAILS ON PURPOSE" in text


def test_weekend_example_reports_the_late_action_and_the_overdue_notification():
    path = EXAMPLES / "fail-early-warning-after-the-weekend.toml"
    text = path.read_text(encoding="utf-8")
    result = cli("check", str(path))
    out = result.stdout
    action_line = line_of(text, "[[actions]]")
    assert f"{path}:{action_line}: end at T+4d (2026-06-17 10:00 +02:00): missed deadline: nis2.early_warning " \
           "filed late at T+1d23h (2026-06-15 09:00 +02:00) by actions[0], due T+1d (2026-06-14 10:00 +02:00)" in out
    assert "nis2.notification is overdue since T+3d (2026-06-16 10:00 +02:00) and not filed" in out
    expect_line = line_of(text, "check = { exit = 0 }")
    assert f"{path}:{expect_line}: expect[0] at T+1d1h (2026-06-14 11:00 +02:00): check exits 2 " \
           "(reports: nis2.early_warning), expected 0" in out


def test_october_example_reports_the_wall_clock_trap():
    path = EXAMPLES / "fail-october-same-wall-clock.toml"
    out = cli("check", str(path)).stdout
    assert "nis2.early_warning is due T+1d (2026-10-25 09:00 +01:00), expected T+1d1h (2026-10-25 10:00 +01:00)" in out
    assert "filed late at T+1d30m (2026-10-25 09:30 +01:00) by actions[0]" in out


def test_march_example_checks_24h_across_the_clock_change(tmp_path):
    """The example asserts Monday 00:40 CEST; claiming the same wall-clock time (Sunday 23:40) fails."""
    text = (EXAMPLES / "ransomware-pacs-clock-change.toml").read_text(encoding="utf-8")
    assert '"nis2.early_warning" = "2026-03-30T00:40:00+02:00"' in text
    wrong = write(tmp_path, text.replace('"nis2.early_warning" = "2026-03-30T00:40:00+02:00"',
                                         '"nis2.early_warning" = "2026-03-29T23:40:00+02:00"'))
    result = cli("check", str(wrong))
    assert result.exit_code == 1
    assert "nis2.early_warning is due T+1d (2026-03-30 00:40 +02:00), expected T+23h (2026-03-29 23:40 +02:00)" \
        in result.stdout


def test_a_folder_checks_every_example_and_exits_1_for_the_failing_ones():
    result = cli("check", str(EXAMPLES))
    assert result.exit_code == 1
    assert f"exercises: {len(PASSING)} passed, {len(FAILING)} failed, 0 invalid" in result.stdout
    assert result.stdout.count("PASS ") == len(PASSING)


def test_a_glob_is_expanded(tmp_path):
    result = cli("check", str(EXAMPLES / "[!f]*.toml"))
    assert result.exit_code == 0
    assert f"exercises: {len(PASSING)} passed, 0 failed, 0 invalid" in result.stdout


def test_an_invalid_file_among_good_ones_gives_exit_3_and_the_others_are_still_checked(tmp_path):
    bad = write(tmp_path, BASE.replace("format = 1", "format = 2"))
    result = cli("check", str(PASSING[0]), str(bad))
    assert result.exit_code == 3
    assert "exercises: 1 passed, 0 failed, 1 invalid" in result.stdout
    assert f"error: {bad}:1: format: 2 is newer" in result.stderr


def test_real_process_checks_the_examples_with_junit(tmp_path):
    """Once through a real process, as CI runs it."""
    report = tmp_path / "junit.xml"
    env = {**os.environ, "NO_COLOR": "1", "TZ": "America/Los_Angeles"}
    proc = subprocess.run([sys.executable, "-m", "nis2_incident", "exercise", "check", str(EXAMPLES), "--junit",
                           str(report)], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"{len(PASSING)} passed, {len(FAILING)} failed" in proc.stdout
    root = ET.parse(report).getroot()
    assert root.tag == "testsuites" and int(root.get("failures")) >= len(FAILING)
    proc = subprocess.run([sys.executable, "-m", "nis2_incident", "exercise", "check", *map(str, PASSING)],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# --- invalid files: exit 3 with the file, the line and the key -----------------------------------

INVALID = [
    # (id, change to BASE, line of the fault (text to find), key, why)
    ("unknown top-level key", lambda t: t.replace("format = 1\n", "format = 1\nstart = \"T0\"\n"),
     'start = "T0"', "start", "unknown key; accepted: format, exercise, t0"),
    ("unknown key in an action", lambda t: t.replace('stage = "nis2.notification"', 'stag = "nis2.notification"'),
     'stag = "nis2.notification"', "actions[1].stag", "unknown key; accepted: at, note, do, stage"),
    ("unknown key in the profile", lambda t: t.replace('category = "essential"', 'category = "essential"\nsize = 3'),
     "size = 3", "profile.size", "unknown key"),
    ("top-level key after a table", lambda t: t.replace('name = "Minimal"', 'name = "Minimal"\nt0 = "T0"'),
     't0 = "T0"', "exercise.t0", "is a top-level key"),
    ("bad relative time", lambda t: t.replace('at = "T+2d"', 'at = "T+2x"'),
     'at = "T+2x"', "actions[1].at", "'T+2x' is not a time; accepted: a time relative to T0"),
    ("absolute time without offset", lambda t: t.replace('at = "T+2d"', 'at = "2026-03-30T10:00:00"'),
     'at = "2026-03-30T10:00:00"', "actions[1].at", "is not a time"),
    ("TOML local date-time", lambda t: t.replace('at = "T+2d"', "at = 2026-03-30T10:00:00"),
     "at = 2026-03-30T10:00:00", "actions[1].at", "has no offset"),
    ("offset not in force in the zone", lambda t: t.replace('at = "T+2d"', 'at = "2026-03-30T10:00:00+01:00"'),
     'at = "2026-03-30T10:00:00+01:00"', "actions[1].at", "where the offset is +02:00, not +01:00"),
    # issue 14: an offset with seconds (Monrovia's local mean time, until 1972) is shown with them; it said
    # "where the offset is -00:44, not -00:44"
    ("offset with seconds", lambda t: t.replace('t0 = "2026-03-28T10:00:00+01:00"', 't0 = "1971-06-01T12:00:00-00:44"')
     .replace('regimes = ["nis2"]', 'regimes = ["nis2"]\ntimezone = "Africa/Monrovia"'),
     't0 = "1971', "t0", "where the offset is -00:44:30, not -00:44;"),
    ("t0 without offset", lambda t: t.replace('t0 = "2026-03-28T10:00:00+01:00"', 't0 = "2026-03-28T10:00"'),
     't0 = "2026-03-28T10:00"', "t0", "is not an instant with offset"),
    ("actions out of order", lambda t: t.replace('at = "T+2d"', 'at = "T+1h"'),
     'at = "T+1h"', "actions[1].at", "is before the previous action (actions[0] at T+2h"),
    ("filing before aware-at", lambda t: t.replace('at = "T+2h"', 'at = "T-1h"'),
     'at = "T-1h"', "actions[0].at", "before the incident is recorded"),
    ("final report before the notification", lambda t: t.replace('stage = "nis2.notification"', 'stage = "nis2.final"'),
     'at = "T+2d"', "actions[1].at", "before its clock starts: its clock starts at the submission of nis2.notification"),
    ("intermediate report before any request",
     lambda t: t.replace('stage = "nis2.notification"', 'stage = "nis2.intermediate"'),
     'at = "T+2d"', "actions[1].at", "before its clock starts: no request of the authority is recorded"),
    ("wrong format version", lambda t: t.replace("format = 1", "format = 2"),
     "format = 2", "format", "2 is newer than this nis2-incident understands (1)"),
    ("format as text", lambda t: t.replace("format = 1", 'format = "1"'),
     'format = "1"', "format", "'1' is not a known version; accepted: 1"),
    ("format missing", lambda t: t.replace("format = 1\n", ""), None, "format", "missing"),
    ("unknown stage", lambda t: t.replace('stage = "nis2.notification"', 'stage = "nis2.notificaton"'),
     'stage = "nis2.notificaton"', "actions[1].stage", "unknown stage 'nis2.notificaton'; accepted: nis2.early_warning"),
    ("unknown state", lambda t: t.replace('"nis2.early_warning" = "met"', '"nis2.early_warning" = "done"'),
     '"nis2.early_warning" = "done"', 'expect[0].obligations."nis2.early_warning"', "'done'; accepted: 'pending'"),
    ("unknown action", lambda t: t.replace('do = "submit"\nat = "T+2d"', 'do = "file"\nat = "T+2d"'),
     'do = "file"', "actions[1].do", "'file' is not an action; accepted: submit, request, update, handled, close"),
    ("expectation before the incident", lambda t: t.replace('at = "T+25h"', 'at = "T-1h"'),
     'at = "T-1h"', "expect[0].at", "before the incident is recorded"),
    ("end before the last action", lambda t: t + '\n[end]\nat = "T+1d"\n', 'at = "T+1d"', "end.at",
     "is before the last action or expectation"),
    ("an expectation that states nothing", lambda t: t + '\n[[expect]]\nat = "T+3d"\n', None, "expect[1]",
     "states nothing"),
    ("a bool as text", lambda t: t.replace('aware_at = "T0"', 'aware_at = "T0"\nmalicious = "yes"'),
     'malicious = "yes"', "incident.malicious", "'yes' (a string); accepted: true or false"),
    ("not significant without rationale",
     lambda t: t.replace('aware_at = "T0"', 'aware_at = "T0"\nsignificance = "not_significant"'),
     "[incident]", "incident", "refused by nis2-incident: significance = \"not_significant\" needs significance_rationale"),
    ("an exercise that checks nothing",
     lambda t: t.split("[[expect]]")[0] + "[end]\nall_deadlines_met = false\n",
     "all_deadlines_met = false", "end.all_deadlines_met", "the exercise checks nothing"),
    ("time too far", lambda t: t.replace('at = "T+2d"', 'at = "T+40000d"'),
     'at = "T+40000d"', "actions[1].at", "is too long"),
    ("time out of range", lambda t: t.replace('t0 = "2026-03-28T10:00:00+01:00"', 't0 = "9999-12-31T23:00:00Z"'),
     't0 = "9999', "t0", "out of range; accepted: a time between the years 1970 and 2200 (UTC)"),
]


@pytest.mark.parametrize("case", INVALID, ids=[c[0] for c in INVALID])
def test_invalid_file_exits_3_with_file_line_and_key(tmp_path, case):
    name, change, needle, key, why = case
    text = change(BASE)
    assert text != BASE
    path = write(tmp_path, text)
    result = cli("check", str(path))
    assert result.exit_code == 3, result.stdout + result.stderr
    [error] = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    line = line_of(text, needle) if needle else None
    prefix = f"error: {path}:{line}: {key}: " if line else f"error: {path}:"
    assert error.startswith(prefix), error
    assert f"{key}: " in error and why in error, error
    assert "INVALID" in result.stdout and "0 passed, 0 failed, 1 invalid" in result.stdout


def test_late_gdpr_filing_without_reason_is_refused_with_the_action(tmp_path):
    text = BASE.replace('regimes = ["nis2"]', 'regimes = ["nis2", "gdpr"]').replace(
        'aware_at = "T0"', 'aware_at = "T0"\npersonal_data = true') + \
        '\n[[actions]]\ndo = "submit"\nat = "T+4d"\nstage = "gdpr.notification"\n'
    path = write(tmp_path, text)
    result = cli("check", str(path))
    assert result.exit_code == 3
    assert f"{path}:{line_of(text, '[[actions]]', 3)}: actions[2]: refused by nis2-incident: gdpr.notification is " \
           "late" in result.stderr
    assert 'late_reason = "..."' in result.stderr
    fixed = write(tmp_path, text + 'late_reason = "the carrier confirmed the loss on day 4"\n'
                               '\n[end]\nall_deadlines_met = false\n', "fixed.toml")
    assert cli("check", str(fixed)).exit_code == 0


def test_invalid_toml_names_the_line(tmp_path):
    path = write(tmp_path, BASE.replace('name = "Minimal"', 'name = "Minimal'))
    result = cli("check", str(path))
    assert result.exit_code == 3
    assert re.search(rf"error: {re.escape(str(path))}:\d+: invalid TOML: ", result.stderr), result.stderr


@pytest.mark.parametrize("raw, why", [
    (b"", "the file is empty"),
    (b"format = 1\nt0 = \"\xff\"\n", "not valid UTF-8"),
    (b"format = 1\nformat = 1\n", "invalid TOML"),
    (b"format = " + b"9" * 5000 + b"\n", "invalid TOML"),
    (b"a = " + b"[" * 5000 + b"]" * 5000 + b"\n", "invalid"),
    (b"format = nan\n", "nan is not a known version"),
    (b"[[actions]]\n" * 3 + b"format = 1\n", "format"),
])
def test_garbage_is_invalid_not_a_crash(tmp_path, raw, why):
    path = tmp_path / "garbage.toml"
    path.write_bytes(raw)
    result = cli("check", str(path))
    assert result.exit_code == 3
    assert result.stderr.startswith(f"error: {path}") and why in result.stderr, result.stderr


def test_missing_file_and_empty_folder_are_invalid(tmp_path):
    result = cli("check", str(tmp_path / "nope.toml"))
    assert result.exit_code == 3 and "nope.toml: no such file" in result.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    result = cli("check", str(empty))
    assert result.exit_code == 3 and "is a folder" in result.stderr


def test_bad_format_option_is_a_usage_error(tmp_path):
    result = cli("check", str(PASSING[0]), "--format", "xml")
    assert result.exit_code == 2 and "accepted: text, github" in result.stderr


# --- hypothesis: garbage never crashes the check ----------------------------------------------------

_DIR = Path(tempfile.mkdtemp(prefix="nis2-exercise-fuzz-"))
atexit.register(shutil.rmtree, _DIR, ignore_errors=True)


def _check_text(raw: bytes) -> exercise.FileResult:
    path = _DIR / "fuzz.toml"
    path.write_bytes(raw)
    result = exercise.check_file(path)  # raises nothing but a bug
    assert result.status in ("pass", "fail", "invalid")
    if result.status == "invalid":
        assert isinstance(result.error, ExerciseError)
        assert result.error.message.startswith(str(path))
        assert "\n" not in result.error.message
    return result


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_random_bytes_never_crash(raw):
    assert _check_text(raw).status == "invalid"


KEYS = st.sampled_from(["format", "t0", "exercise", "profile", "incident", "actions", "expect", "end", "at", "do",
                        "stage", "due", "name", "category", "title", "aware_at", "obligations", "check", "exit",
                        "stages", "timezone", "regimes", "significance", "nis2.early_warning"]) | st.text(max_size=6)
SCALARS = st.one_of(
    st.booleans(), st.integers(min_value=-(10**20), max_value=10**20), st.floats(allow_nan=True),
    st.text(max_size=12), st.datetimes(), st.dates(),
    st.sampled_from(["T0", "T+1h", "T-2h", "T+99999d", "2026-03-28T10:00:00+01:00", "0001-01-01T00:00:00Z",
                     "9999-12-31T23:59:59+14:00", "nis2.early_warning", "submit", "request", "update", "met",
                     "Europe/Paris", "Mars/Olympus", "essential", "significant"]),
)
VALUES = st.recursive(SCALARS, lambda kids: st.lists(kids, max_size=4) | st.dictionaries(KEYS, kids, max_size=4),
                      max_leaves=25)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(KEYS, VALUES, max_size=8))
def test_random_toml_structures_never_crash(doc):
    _check_text(tomli_w.dumps(doc).encode())


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, prefix + (i,))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_examples_never_crash(data):
    """A valid exercise with one value replaced by a random one: a pass, a fail or exit 3, never a crash."""
    source = data.draw(st.sampled_from(ALL_EXAMPLES + [None]))
    doc = tomllib.loads(source.read_text(encoding="utf-8") if source else BASE)
    path = data.draw(st.sampled_from([p for p in _paths(doc) if p]))
    parent = doc
    for part in path[:-1]:
        parent = parent[part]
    parent[path[-1]] = data.draw(VALUES)
    _check_text(tomli_w.dumps(doc).encode())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_examples_with_lines_deleted_duplicated_or_garbled_never_crash(data):
    source = data.draw(st.sampled_from(ALL_EXAMPLES))
    lines = source.read_text(encoding="utf-8").splitlines()
    for _ in range(data.draw(st.integers(min_value=1, max_value=4))):
        i = data.draw(st.integers(min_value=0, max_value=len(lines) - 1))
        how = data.draw(st.sampled_from(["delete", "duplicate", "garble", "move"]))
        if how == "delete":
            del lines[i]
        elif how == "duplicate":
            lines.insert(i, lines[i])
        elif how == "garble":
            lines[i] = data.draw(st.text(max_size=30))
        else:
            lines.insert(data.draw(st.integers(min_value=0, max_value=len(lines) - 1)), lines.pop(i))
        if not lines:
            break
    _check_text("\n".join(lines).encode("utf-8", "surrogatepass"))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=200))
def test_random_bytes_through_the_cli_exit_3(raw):
    path = _DIR / "fuzz-cli.toml"
    path.write_bytes(raw)
    result = cli("check", str(path))
    assert result.exit_code == 3
    assert result.stderr.startswith("error: ")


# --- reports: JUnit XML, GitHub annotations, JSON ----------------------------------------------------

def test_junit_xml_has_the_testsuite_testcase_failure_shape(tmp_path):
    report = tmp_path / "junit.xml"
    bad = write(tmp_path, BASE.replace("format = 1", "format = 7"), "broken.toml")
    result = cli("check", str(EXAMPLES), str(bad), "--junit", str(report))
    assert result.exit_code == 3
    root = ET.parse(report).getroot()
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert len(suites) == len(ALL_EXAMPLES) + 1
    total = 0
    for suite in suites:
        cases = suite.findall("testcase")
        assert int(suite.get("tests")) == len(cases) >= 1
        assert int(suite.get("failures")) == sum(1 for c in cases if c.find("failure") is not None)
        assert int(suite.get("errors")) == sum(1 for c in cases if c.find("error") is not None)
        for case in cases:
            assert case.get("name") and case.get("classname") and case.get("time") is not None
        total += len(cases)
        name = suite.get("name")
        if name == str(bad):
            assert cases[0].find("error").get("message").startswith("format: 7 is newer")
            continue
        doc = tomllib.loads(Path(name).read_text(encoding="utf-8"))
        # one test case per expectation, plus the end of the scenario ("all deadlines met")
        assert len(cases) == len(doc.get("expect", [])) + 1
        failed = [c for c in cases if c.find("failure") is not None]
        assert bool(failed) == Path(name).name.startswith("fail-")
        for c in failed:
            f = c.find("failure")
            assert f.get("message") and f.text and str(name) in f.text
    assert int(root.get("tests")) == total


def test_junit_testcase_points_at_the_expectation_line(tmp_path):
    report = tmp_path / "junit.xml"
    path = EXAMPLES / "fail-october-same-wall-clock.toml"
    cli("check", str(path), "--junit", str(report))
    text = path.read_text(encoding="utf-8")
    [case] = [c for c in ET.parse(report).getroot().iter("testcase") if c.get("name").startswith("expect[0]")]
    assert case.get("line") == str(line_of(text, "[[expect]]"))
    assert case.get("file") == str(path)


def test_github_annotations(tmp_path):
    path = EXAMPLES / "fail-early-warning-after-the-weekend.toml"
    bad = write(tmp_path, BASE.replace('at = "T+2d"', 'at = "T+1h"'))
    result = cli("check", str(path), str(bad), "--format", "github")
    assert result.exit_code == 3
    lines = result.stdout.splitlines()
    errors = [l for l in lines if l.startswith("::error ")]
    assert len(errors) == 4
    for l in errors:
        assert re.match(r"^::error file=[^,:]+,line=\d+,title=[^:]+::\S", l), l
    assert any("title=missed deadline::" in l and "nis2.early_warning filed late" in l for l in errors)
    bad_line = line_of(bad.read_text(), 'at = "T+1h"')
    assert any(f"file={bad},line={bad_line},title=invalid exercise::actions[1].at:" in l for l in errors)
    assert lines[-1] == "exercises: 0 passed, 1 failed, 1 invalid"


def test_github_annotation_escapes_newlines_and_percent():
    from nis2_incident.render.exercise import _escape_data, _escape_property

    assert _escape_data("50%\nnext") == "50%25%0Anext"
    assert _escape_property("a:b,c") == "a%3Ab%2Cc"


def test_json_report():
    result = cli("check", str(EXAMPLES / "fail-october-same-wall-clock.toml"), str(PASSING[0]), "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["exit"] == 1 and data["passed"] == 1 and data["failed"] == 1 and data["invalid"] == 0
    failing = data["files"][0]
    assert failing["status"] == "fail" and failing["t0"] == "2026-10-24T10:00:00+02:00"
    [expect] = [c for c in failing["cases"] if c["kind"] == "expect"]
    assert expect["at"] == "2026-10-24T11:00:00+02:00" and expect["t"] == "T+1h" and not expect["passed"]
    [f] = expect["failures"]
    assert f["expected"] == "2026-10-25T10:00:00+01:00" and f["actual"] == "2026-10-25T09:00:00+01:00"
    assert data["files"][1]["status"] == "pass"


def test_json_report_of_an_invalid_file(tmp_path):
    bad = write(tmp_path, BASE.replace('stage = "nis2.notification"', 'stag = "x"'))
    data = json.loads(cli("check", str(bad), "--json").stdout)
    assert data["exit"] == 3
    err = data["files"][0]["error"]
    assert err["key"] == "actions[1].stag" and err["line"] == line_of(bad.read_text(), 'stag = "x"')


# --- expectations ------------------------------------------------------------------------------------

def test_base_passes_and_each_kind_of_expectation_can_fail(tmp_path):
    assert cli("check", str(write(tmp_path, BASE))).exit_code == 0
    wrong = {
        "state": BASE.replace('"nis2.early_warning" = "met"', '"nis2.early_warning" = "late"'),
        "due": BASE.replace("2026-03-31T11:00:00+02:00", "2026-03-31T10:00:00+02:00"),
        "check exit": BASE + '\n[[expect]]\nat = "T+3h"\ncheck = { exit = 1 }\n',
        "check stages": BASE + '\n[[expect]]\nat = "T+1h"\ncheck = { stages = ["nis2.notification"] }\n',
        "all met": BASE + '\n[[expect]]\nat = "T+30h"\nall_deadlines_met = false\n',
        "end": BASE.replace('at = "T+2d"', 'at = "T+3d1h"'),
    }
    for name, text in wrong.items():
        result = cli("check", str(write(tmp_path, text, f"{name.replace(' ', '-')}.toml")))
        assert result.exit_code == 1, (name, result.stdout, result.stderr)


def test_check_expectation_uses_the_alerts_of_check(tmp_path):
    """At T+1h nothing is due within 6h (exit 0); at T+20h the early warning is due within 6h (exit 1).
    At T+19h it is due within 6h but not within 1h, and no step of the reminder ladder (4h, 2h, 1h
    before a 24 h deadline by default) is crossed yet: exit 0 with `within = "1h"`."""
    text = BASE.replace('at = "T+2h"', 'at = "T+22h"') + (
        '\n[[expect]]\nat = "T+1h"\ncheck = { exit = 0, stages = [] }\n'
        '\n[[expect]]\nat = "T+20h"\ncheck = { exit = 1, stages = ["nis2.early_warning"] }\n'
        '\n[[expect]]\nat = "T+19h"\ncheck = { exit = 1, stages = ["nis2.early_warning"] }\n'
        '\n[[expect]]\nat = "T+19h"\ncheck = { exit = 0, stages = [], within = "1h" }\n')
    result = cli("check", str(write(tmp_path, text)))
    assert result.exit_code == 0, result.stdout


def test_expected_late_stage_is_exempt_from_the_end_only_for_that_stage(tmp_path):
    late = BASE.replace('at = "T+2h"', 'at = "T+25h"').replace('"nis2.early_warning" = "met"',
                                                                '"nis2.early_warning" = "late"')
    assert cli("check", str(write(tmp_path, late))).exit_code == 0
    both = late.replace('at = "T+2d"', 'at = "T+4d"').replace('at = "T+25h"\nobligations', 'at = "T+26h"\nobligations')
    result = cli("check", str(write(tmp_path, both, "both.toml")))
    assert result.exit_code == 1
    assert "nis2.notification filed late" in result.stdout and "nis2.early_warning filed late" not in result.stdout


def test_request_instances(tmp_path):
    text = BASE + ('\n[[actions]]\ndo = "request"\nat = "T+3d"\ndue = "T+5d"\n'
                   '\n[[actions]]\ndo = "request"\nat = "T+4d"\ndue = "T+9d"\n'
                   '\n[[actions]]\ndo = "submit"\nat = "T+4d1h"\nstage = "nis2.intermediate"\n'
                   '\n[[expect]]\nat = "T+6d"\nobligations = { "nis2.intermediate" = "met", '
                   '"nis2.intermediate#2" = "pending" }\ndue = { "nis2.intermediate#2" = "T+9d" }\n')
    assert cli("check", str(write(tmp_path, text))).exit_code == 0
    missing = text.replace('"nis2.intermediate#2" = "pending"', '"nis2.intermediate#3" = "pending"')
    result = cli("check", str(write(tmp_path, missing, "missing.toml")))
    assert result.exit_code == 1 and "nis2.intermediate#3 is absent (no such obligation)" in result.stdout


def test_update_moves_the_clock_and_absolute_times_in_utc_are_accepted(tmp_path):
    text = BASE.replace('at = "T+25h"', 'at = "2026-03-29T10:00:00Z"') + (
        '\n[[actions]]\ndo = "update"\nat = "T+2d1h"\nsignificance = "not_significant"\n'
        'significance_rationale = "no disruption"\n'
        '\n[[expect]]\nat = "T+2d2h"\nobligations = { "nis2.final" = "not_applicable" }\n')
    assert cli("check", str(write(tmp_path, text))).exit_code == 0


# --- the replay's ledger ---------------------------------------------------------------------------

def test_the_replay_writes_through_the_log_store_and_both_formats_seal_the_same_chain(tmp_path, monkeypatch):
    """Exercises run the production storage code (issue 13): the replay's ledger is a JSON Lines log
    in a temporary folder, written by `LogStore.write`; and the same use cases on a log and on a
    document give the same events and hashes, which verify."""
    from nis2_incident import timeutil as tu
    from nis2_incident.service import Service

    def run(store):
        t = tu.parse_instant("2026-03-28T09:00:00+00:00")
        svc = Service(store, t)
        svc.init(name="CHU Test", category="essential", regimes=["nis2"])
        svc.now = tu.parse_instant("2026-03-28T10:00:00+00:00")
        svc.open_incident("Ransomware", "2026-03-28T10:00:00+01:00", malicious=True)
        svc.now = tu.parse_instant("2026-03-28T20:00:00+00:00")
        svc.submit("1", "nis2.early_warning", at="2026-03-28T20:00:00+00:00", reference="R-1")
        return store.read().events, svc.verify()["head"]

    # the replay's own ledger is a JSON Lines log, written by the production store
    written = []
    real = LogStore.write
    monkeypatch.setattr(LogStore, "write", lambda self, ledger, events: written.append(len(events)) or real(self, ledger, events))
    result = exercise.check_file(Path(__file__).resolve().parent.parent / "examples" / "exercises" / "ransomware-pacs-clock-change.toml")
    assert result.status == "pass" and written and sum(written) >= 4
    file_events, file_head = run(Store(tmp_path / "ledger.jsonl"))
    doc_events, doc_head = run(Store(tmp_path / "ledger.toml"))
    assert file_events == doc_events and file_head == doc_head
    chain.verify(file_events)
def test_the_users_ledger_is_untouched(tmp_path):
    """`exercise check` with --ledger or $NIS2_INCIDENT_LEDGER never reads, locks or writes that file."""
    ledger = tmp_path / "ledger.toml"
    ok = runner.invoke(app, ["--ledger", str(ledger), "--now", "2026-03-28T09:00", "init", "--name", "CHU",
                             "--category", "essential"], catch_exceptions=False)
    assert ok.exit_code == 0
    ok = runner.invoke(app, ["--ledger", str(ledger), "--now", "2026-03-28T10:30", "open", "Real incident",
                             "--aware", "2026-03-28T10:00"], catch_exceptions=False)
    assert ok.exit_code == 0
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in tmp_path.iterdir()}
    runs = [
        runner.invoke(app, ["--ledger", str(ledger), "exercise", "check", str(EXAMPLES)], catch_exceptions=False),
        runner.invoke(app, ["exercise", "check", str(EXAMPLES), "--ledger", str(ledger), "--now", "now"],
                      catch_exceptions=False),
        runner.invoke(app, ["exercise", "check", str(EXAMPLES)], env={"NIS2_INCIDENT_LEDGER": str(ledger)},
                      catch_exceptions=False),
        runner.invoke(app, ["exercise", "timeline", str(PASSING[0])], env={"NIS2_INCIDENT_LEDGER": str(ledger)},
                      catch_exceptions=False),
    ]
    assert [r.exit_code for r in runs] == [1, 1, 1, 0]
    after = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in tmp_path.iterdir()}
    assert after == before


# --- schema, template, timeline ------------------------------------------------------------------

def test_shipped_schema_matches_the_models():
    shipped = json.loads(exercise.SCHEMA_FILE.read_text(encoding="utf-8"))
    assert shipped == exercise.json_schema(), "regenerate: nis2-incident exercise schema > nis2_incident/exercise.schema.json"
    result = cli("schema")
    assert result.exit_code == 0 and json.loads(result.stdout) == shipped


def _validator():
    import jsonschema

    schema = json.loads(exercise.SCHEMA_FILE.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.parametrize("path", ALL_EXAMPLES, ids=lambda p: p.name)
def test_schema_validates_every_example(path):
    errors = list(_validator().iter_errors(tomllib.loads(path.read_text(encoding="utf-8"))))
    assert not errors, [e.message for e in errors]


@pytest.mark.parametrize("change", [
    lambda d: d.update(start="T0"),
    lambda d: d.update(format=2),
    lambda d: d["actions"][0].update(at="T+2x"),
    lambda d: d["actions"][0].update(do="file"),
    lambda d: d["actions"][0].pop("stage"),
    lambda d: d["expect"][0]["obligations"].update({"nis2.final": "done"}),
    lambda d: d["incident"].update(malicious="yes"),
    lambda d: d.update(t0="T0"),
    lambda d: d["profile"].update(colour="red"),
], ids=["unknown key", "version", "bad time", "unknown action", "missing stage", "unknown state", "bool as text",
        "relative t0", "unknown profile key"])
def test_schema_rejects_a_broken_exercise(change):
    doc = tomllib.loads(BASE)
    assert not list(_validator().iter_errors(doc))
    change(doc)
    assert list(_validator().iter_errors(doc))


def test_schema_documents_every_key():
    schema = exercise.json_schema()
    for name in ("Submit", "RequestAction", "Update", "Expect", "CheckExpect", "End", "Meta", "IncidentSpec"):
        for key, prop in schema["$defs"][name]["properties"].items():
            if key != "do":
                assert prop.get("description"), f"{name}.{key} has no description"


def test_fact_keys_are_the_ledgers():
    assert set(exercise.Facts.model_fields) | {"title", "aware_at"} == set(FACT_FIELDS)


def test_new_writes_a_template_that_passes(tmp_path):
    result = cli("new")
    assert result.exit_code == 0 and result.stdout.startswith("# A tabletop exercise")
    target = tmp_path / "drill.toml"
    assert cli("new", str(target)).exit_code == 0
    assert target.read_text(encoding="utf-8") == result.stdout
    assert cli("check", str(target)).exit_code == 0
    again = cli("new", str(target))
    assert again.exit_code == 5 and "never overwritten" in again.stderr
    assert list(_validator().iter_errors(tomllib.loads(result.stdout))) == []


def test_timeline_fits_80_columns_with_offsets():
    path = EXAMPLES / "ransomware-pacs-clock-change.toml"
    result = cli("timeline", str(path), env={"COLUMNS": "80"})
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert max(len(l) for l in lines) <= 80
    out = " ".join(result.stdout.split())
    assert "2026-03-28 23:40 +01:00" in out and "2026-03-30 00:40 +02:00" in out
    assert "deadline nis2.early_warning" in out and "PASS" in out


def test_timeline_json_and_invalid_file(tmp_path):
    data = json.loads(cli("timeline", str(EXAMPLES / "intermediate-report-requested.toml"), "--json").stdout)
    assert data["t0"] == "2026-09-14T07:30:00+02:00"
    kinds = {e["kind"] for e in data["events"]}
    assert {"start", "aware", "action", "deadline", "expect", "end"} <= kinds
    assert all(re.search(r"[+-]\d\d:\d\d$", e["at"]) for e in data["events"])
    from datetime import datetime

    instants = [datetime.fromisoformat(e["at"]) for e in data["events"]]
    assert instants == sorted(instants)
    bad = write(tmp_path, BASE.replace("format = 1", "format = 0"))
    result = cli("timeline", str(bad))
    assert result.exit_code == 3 and result.stderr.startswith(f"error: {bad}:1: format:")


# --- the pre-commit hook -------------------------------------------------------------------------

def test_pre_commit_hook_runs_exercise_check_on_exercise_files():
    text = (ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8")
    fields = dict(re.findall(r"^\s*-?\s*(id|entry|language|files|pass_filenames):\s*(.+?)\s*$", text, re.M))
    assert fields["id"] == "nis2-incident-exercise-check"
    assert fields["entry"] == "nis2-incident exercise check"
    assert fields["language"] == "python" and fields["pass_filenames"] == "true"
    files = re.compile(fields["files"])
    assert files.search("examples/exercises/ransomware-pacs-clock-change.toml")
    assert files.search("exercises/drill.toml")
    assert not files.search("nis2_incident/regimes/nis2.toml")
    assert not files.search("examples/ledger.toml")


# --- the locator ---------------------------------------------------------------------------------

def test_locator_finds_array_tables_keys_and_inline_keys():
    loc = exercise.Locator(BASE)
    assert loc.line(("actions", 1)) == line_of(BASE, "[[actions]]", 2)
    assert loc.line(("actions", 1, "stage")) == line_of(BASE, 'stage = "nis2.notification"')
    assert loc.line(("expect", 0, "due", "nis2.notification")) == line_of(BASE, "due = {")
    assert loc.line(("t0",)) == 2
    assert loc.line(("profile", "category")) == line_of(BASE, "category =")
    assert exercise.key_text(("expect", 0, "obligations", "nis2.final")) == 'expect[0].obligations."nis2.final"'


# --- the documentation -------------------------------------------------------------------------

def test_readme_documents_every_key_of_the_format():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Tabletop exercises (`exercise`)", 1)[1].split("\n### ", 1)[0]
    models = (exercise.Exercise, exercise.Meta, exercise.IncidentSpec, exercise.Submit, exercise.RequestAction,
              exercise.Update, exercise.Handled, exercise.Close, exercise.Expect, exercise.CheckExpect, exercise.End)
    for model in models:
        for key in model.model_fields:
            forms = (f"`{key}", f"`[{key}]`", f"`[[{key}]]`")
            assert any(f in section for f in forms), f"{model.__name__}.{key} is not documented in the README"
    for kind in exercise.ACTION_KINDS:
        assert f'`do = "{kind}"' in section
    for required in ("name", "category", "timezone", "trust_service", "health_establishment", "regimes"):
        assert f"`{required}`" in section
    assert ".pre-commit-hooks.yaml" in section and "--junit" in section and "--format github" in section


def test_the_replay_imports_neither_typer_nor_rich():
    """House rule: nothing below cli/ imports Typer, nothing below cli/ and render/ imports Rich."""
    code = ("import sys, nis2_incident.exercise as x\n"
            f"assert x.check_file({str(PASSING[0])!r}).status == 'pass'\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('typer', 'rich', 'click')))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_check_announces_each_ladder_step_once_across_check_expectations(tmp_path):
    """SPEC §7: expectations say what `check` must announce. Cron is modelled as running check at each
    check expectation: the early warning's 4 h step (crossed at T+20h) is announced at the first check
    after it, and not again at the next one."""
    text = """format = 1
t0 = "2026-01-05T10:00:00+01:00"
[exercise]
name = "ladder"
[profile]
name = "CH"
category = "essential"
regimes = ["nis2"]
[incident]
title = "Outage"
aware_at = "T0"
significance = "significant"
[[expect]]
at = "T+19h"
check = { exit = 1, announces = [] }
[[expect]]
at = "T+20h10m"
check = { exit = 1, announces = ["nis2.early_warning"] }
[[expect]]
at = "T+20h40m"
check = { exit = 1, announces = [] }
[[expect]]
at = "T+22h5m"
check = { announces = ["nis2.early_warning"] }
"""
    path = tmp_path / "ladder.toml"
    path.write_text(text, encoding="utf-8")
    from typer.testing import CliRunner

    from nis2_incident.cli import app

    result = CliRunner().invoke(app, ["exercise", "check", str(path)], catch_exceptions=False)
    assert result.exit_code == 0, result.stdout + result.stderr
    wrong = text.replace('at = "T+20h40m"\ncheck = { exit = 1, announces = [] }',
                         'at = "T+20h40m"\ncheck = { exit = 1, announces = ["nis2.early_warning"] }')
    path.write_text(wrong, encoding="utf-8")
    result = CliRunner().invoke(app, ["exercise", "check", str(path)], catch_exceptions=False)
    assert result.exit_code == 1
    assert "check announces nothing, expected nis2.early_warning" in result.stdout
