"""One declaration of the profile, two validators (profile_schema.py): the plain one that every read
uses (the `profile_set` events, a document's top-level profile, `verify`) and the pydantic `Profile`
that `init` and `profile` use. They must accept the same profiles, give the same values and refuse
with the same errors, on anything a ledger can hold (JSON and TOML values)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from nis2_incident import profile_schema
from nis2_incident.errors import LedgerError
from nis2_incident.ledger import Ledger, Store
from nis2_incident.model import StoredProfile, fold
from nis2_incident.profile import Profile

json_scalar = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.integers(), st.floats(allow_nan=True),
                        st.sampled_from([0.0, 1.0, -0.0, 2.0]), st.text(max_size=8),
                        st.sampled_from(["yes", "No", "TRUE", "off", "t", "F", "1", "0", "y", " on", ""]))
json_value = st.recursive(json_scalar, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                               st.dictionaries(st.text(max_size=5), inner, max_size=3)),
                          max_leaves=6)
toml_time = st.just(datetime(2026, 1, 1, tzinfo=timezone.utc))  # TOML has dates: "not a string" to both
duration = st.sampled_from(["6h", "30m", "1d", "1h30m", "0", "0h", "soon", "", "99999999d", " 2h "])
step = st.sampled_from(["4h", "2h", "80%", "+20h", "25h", "120%", "x", "1d"])
period = st.sampled_from(["24h", "72h", "1month", "0h", "week", "5d"])
FIELD_VALUES = {
    "name": st.one_of(st.text(max_size=6), st.sampled_from(["", "CHU"])),
    "category": st.sampled_from(["essential", "important", "Essential", "", "other"]),
    "timezone": st.sampled_from(["Europe/Paris", "UTC", "America/Cayenne", "Mars/Olympus", "", "../etc", "europe/paris"]),
    "check_within": duration,
    "reminder_every": st.one_of(duration, st.sampled_from(["0", "6h"])),
    "alarms": st.lists(st.one_of(duration, json_scalar), max_size=3),
    "targets": st.dictionaries(st.sampled_from(["csp.report", "gdpr.notification", "nodot", "a.b"]),
                               st.one_of(duration, json_scalar), max_size=3),
    "reminders": st.dictionaries(period, st.one_of(st.lists(st.one_of(step, json_scalar), max_size=3), json_scalar),
                                 max_size=3),
    "regimes": st.lists(st.one_of(st.sampled_from(["nis2", "gdpr", "csp"]), json_scalar), max_size=3),
    "gdpr_role": st.sampled_from(["controller", "processor", "both", "Both", "none"]),
    "not_in_force": st.sampled_from(["track", "ignore", "skip"]),
}


def _value(spec):
    """A value for one field: mostly of its kind (valid or not), sometimes any JSON or TOML value."""
    own = FIELD_VALUES.get(spec.name, json_scalar)  # flags: any scalar (pydantic's lax booleans)
    return st.one_of(own, own, json_value, toml_time)


@st.composite
def profiles(draw):
    out = {}
    for spec in profile_schema.FIELDS:
        if draw(st.booleans()) or spec.required and draw(st.booleans()):
            out[spec.name] = draw(_value(spec))
    extra = draw(st.dictionaries(st.sampled_from(["extra", "Name", "dpo ", "zz"]), json_scalar, max_size=2))
    keys = list(out) + list(extra)
    order = draw(st.permutations(keys))  # the order the stored table lists them in
    merged = {**out, **extra}
    return {k: merged[k] for k in order}


def _both(data: dict):
    try:
        model = ("ok", Profile.model_validate(data).model_dump())
    except ValidationError as exc:
        model = ("refused", [(e["loc"], e["msg"]) for e in exc.errors()])
    try:
        plain = ("ok", profile_schema.validate(data))
    except profile_schema.ProfileInvalid as exc:
        plain = ("refused", exc.errors)
    return model, plain


@settings(deadline=None, max_examples=400)
@given(profiles())
def test_both_validators_accept_the_same_profiles_with_the_same_values_and_errors(data):
    model, plain = _both(data)
    assert plain == model
    if plain[0] == "ok":  # and in the declared order, as model_dump gives it (the checkpoint's JSON)
        assert list(plain[1]) == [f.name for f in profile_schema.FIELDS]


def test_the_generator_reaches_both_outcomes_and_each_kind_of_error():
    """(So the property above is not vacuous.) Fixed examples of each outcome, each checked both ways."""
    base = {"name": "CHU", "category": "essential"}
    cases = {
        "ok": base,
        "lax flag": {**base, "ose": "yes", "trust_service": 1, "critical_entity": 0.0},
        "missing": {"category": "essential"},
        "short": {**base, "name": ""},
        "choice": {**base, "gdpr_role": "Both"},
        "flag": {**base, "ose": 2},
        "flag type": {**base, "ose": None},
        "list item": {**base, "regimes": ["nis2", 3]},
        "table value": {**base, "reminders": {"24h": ["4h", 1]}},
        "check": {**base, "timezone": "Mars/Olympus"},
        "prefixed check": {**base, "alarms": ["soon"]},
        "own ValueError": {**base, "targets": {"nodot": "4h"}},
        "extra": {**base, "colour": "blue"},
        "toml date": {**base, "dpo": datetime(2026, 1, 1, tzinfo=timezone.utc)},
    }
    seen = {}
    for label, data in cases.items():
        model, plain = _both(data)
        assert plain == model, label
        seen[label] = plain
    assert seen["ok"][0] == "ok" and seen["lax flag"][1]["ose"] is True and seen["lax flag"][1]["critical_entity"] is False
    assert seen["missing"] == ("refused", [(("name",), "Field required")])
    assert seen["check"][1][0][1].startswith("Value error, unknown time zone 'Mars/Olympus'")
    assert seen["prefixed check"][1][0][1].startswith("Value error, alarm: invalid duration")
    assert seen["own ValueError"][1] == [(("targets",), "Value error, target 'nodot': name a stage such as csp.report")]
    assert seen["extra"][1] == [(("colour",), "Extra inputs are not permitted")]


def test_a_folded_profile_is_a_stored_profile_equal_to_what_pydantic_gives():
    data = {"name": "CHU", "category": "important", "regimes": ["nis2", "gdpr"], "financial_entity": "on"}
    state = fold([{"seq": 1, "type": "profile_set", "recorded_at": "2026-03-28T09:00:00+01:00", "hash": "x",
                   "data": data}])
    assert isinstance(state.profile, StoredProfile)
    assert state.profile.model_dump() == Profile.model_validate(data).model_dump()
    assert state.profile.financial_entity is True and state.profile.timezone == "Europe/Paris"


@pytest.mark.parametrize("data, message", [
    ({"name": "C", "category": "essential", "trust_service": "maybe"},
     "event seq 1: profile.trust_service: Input should be a valid boolean, unable to interpret input"),
    ({"name": "C", "category": "essential", "reminders": {"24h": ["4h", 7]}},
     "event seq 1: profile.reminders.24h.1: Input should be a valid string"),
    ({"category": "essential"}, "event seq 1: profile.name: Field required"),
])
def test_a_bad_stored_profile_is_refused_naming_the_event_and_the_key(data, message):
    with pytest.raises(LedgerError) as err:
        fold([{"seq": 1, "type": "profile_set", "recorded_at": "2026-03-28T09:00:00+01:00", "hash": "x", "data": data}])
    assert err.value.message == message


def _forged_log(tmp_path, profile: dict):
    """A log whose chain verifies (every line sealed) but whose profile another tool wrote."""
    ledger = Ledger(profile=None)
    ledger.append({"type": "profile_set", "recorded_at": "2026-03-28T12:00:00+01:00", "data": profile})
    path = tmp_path / "ledger.jsonl"
    path.write_bytes(Store(path).encode(ledger))
    return path


PROBE = "import sys, runpy; sys.argv = ['nis2-incident', *sys.argv[1:]]\n" \
        "from nis2_incident.cli import main\ntry:\n    main()\nfinally:\n" \
        "    sys.stderr.write('pydantic loaded: %s\\n' % ('pydantic' in sys.modules))\n"


def _cli(tmp_path, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("NIS2_INCIDENT")}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")  # no checkpoint yet: a cold read folds the profile_set
    return subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, env=env, timeout=60)


def test_through_the_cli_a_cold_read_and_verify_validate_the_profile_without_pydantic(tmp_path):
    good = _forged_log(tmp_path, {"name": "CHU", "category": "essential", "ose": "yes"})
    for args in (["check"], ["status", "--json"], ["verify"]):
        proc = _cli(tmp_path, "--ledger", str(good), "--now", "2026-03-28T13:00:00+01:00", *args)
        assert proc.returncode == 0, (args, proc.stderr)
        assert "pydantic loaded: False" in proc.stderr, args
    (tmp_path / "bad").mkdir()
    bad = _forged_log(tmp_path / "bad", {"name": "CHU", "category": "essential", "ose": "maybe"})
    proc = _cli(tmp_path, "--ledger", str(bad), "--now", "2026-03-28T13:00:00+01:00", "check")
    assert proc.returncode == LedgerError.exit_code
    first = proc.stderr.splitlines()[0]
    assert first.startswith("error: ") and \
        "event seq 1: profile.ose: Input should be a valid boolean, unable to interpret input" in first
    assert json.loads(bad.read_text(encoding="utf-8").splitlines()[1])["data"]["ose"] == "maybe"  # untouched
