"""NIS 2 scope and category: `classify.classify` and the `classify` command.

Law: Directive (EU) 2022/2555 Art. 2(1) (scope: Annex I/II types at least medium-sized), Art. 3(1)
(essential: Annex I above the medium ceilings; qualified trust service providers, designated and
critical entities whatever their size) and Art. 3(2) (important: the rest in scope); size under
Recommendation 2003/361/EC, Annex Art. 2 (medium: < 250 staff and turnover ≤ EUR 50 M or balance
sheet ≤ EUR 43 M; small: < 50 staff and turnover ≤ EUR 10 M or balance sheet ≤ EUR 10 M), without
its Art. 3(4) public-ownership rule. DOMAIN.md §3. The clock is fixed (`--now`) wherever a ledger is
written.
"""

from __future__ import annotations

import json
import tomllib
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from nis2_incident.classify import classify, parse_amount
from nis2_incident.cli import app
from nis2_incident.errors import InputError

runner = CliRunner()
M = Decimal(1_000_000)
EUR = Decimal(1)
NOW = "2026-03-28T09:00"


def ok(result):
    assert result.exit_code == 0, f"exit {result.exit_code}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    return result


def run(*args):
    return runner.invoke(app, list(args), catch_exceptions=False)


# --- size: Recommendation 2003/361/EC, Annex Art. 2 ------------------------------------------------

@pytest.mark.parametrize(("staff", "turnover", "balance", "size"), [
    # Art. 2(2) small: < 50 staff and (turnover ≤ 10 M or balance ≤ 10 M)
    (49, 10 * M, 10 * M, "small"),
    (49, 10 * M + EUR, 10 * M, "small"),           # balance still ≤ 10 M
    (49, 10 * M, 10 * M + EUR, "small"),           # turnover still ≤ 10 M
    (49, 60 * M, 5 * M, "small"),                  # one financial ceiling is enough
    (49, 10 * M + EUR, 10 * M + EUR, "medium"),    # both above 10 M: not small
    (50, 1 * M, 1 * M, "medium"),                  # 50 staff is not < 50
    # Art. 2(1) medium: < 250 staff and (turnover ≤ 50 M or balance ≤ 43 M)
    (249, 50 * M, 43 * M, "medium"),
    (249, 50 * M + EUR, 43 * M, "medium"),         # turnover above, balance not
    (249, 50 * M, 43 * M + EUR, "medium"),         # balance above, turnover not
    (249, 50 * M + EUR, 43 * M + EUR, "large"),    # both above
    (10, 50 * M + EUR, 43 * M + EUR, "large"),     # both above, whatever the headcount
    (250, 1 * M, 1 * M, "large"),                  # 250 staff is not < 250
])
def test_size_thresholds(staff, turnover, balance, size):
    """Rec. 2003/361/EC Annex Art. 2: 'large' only when staff ≥ 250 or BOTH turnover > 50 M and
    balance sheet > 43 M."""
    result = classify("healthcare_provider", staff, turnover, balance)
    assert result.size == size
    assert any("Rec. 2003/361" in r for r in result.reasons)


# --- category: Directive (EU) 2022/2555 Arts 2-3 ---------------------------------------------------

@pytest.mark.parametrize(("entity_type", "staff", "turnover", "balance", "in_scope", "category"), [
    # Annex I sector 5 (health): large -> essential (Art. 3(1)(a)); medium -> important (Art. 3(2))
    ("healthcare_provider", 250, 1 * M, 1 * M, True, "essential"),
    ("healthcare_provider", 249, 50 * M + EUR, 43 * M + EUR, True, "essential"),
    ("healthcare_provider", 249, 50 * M, 43 * M + EUR, True, "important"),
    ("healthcare_provider", 50, 1 * M, 1 * M, True, "important"),
    ("eu_reference_laboratory", 300, 1 * M, 1 * M, True, "essential"),
    ("pharma_manufacturer", 120, 20 * M, 20 * M, True, "important"),
    # small: out of scope (Art. 2(1))
    ("healthcare_provider", 49, 10 * M, 50 * M, False, None),
    # Annex II sector 5 (medical devices): important when medium or large (Art. 3(2))
    ("medical_devices", 100, 20 * M, 20 * M, True, "important"),
    ("medical_devices", 5000, 900 * M, 900 * M, True, "important"),
    ("medical_devices", 49, 5 * M, 5 * M, False, None),
    # Annex I: medical devices critical in a public health emergency (Reg. 2022/123 Art. 22)
    ("critical_medical_devices", 400, 80 * M, 60 * M, True, "essential"),
    # not an Annex I/II health type: out of scope whatever the size
    ("other", 5000, 900 * M, 900 * M, False, None),
])
def test_category(entity_type, staff, turnover, balance, in_scope, category):
    """Directive (EU) 2022/2555 Art. 2(1), 3(1)(a) and 3(2) (DOMAIN §3.1, §3.3)."""
    result = classify(entity_type, staff, turnover, balance)
    assert (result.in_scope, result.category) == (in_scope, category)


def test_medium_healthcare_provider_reasons_say_important_and_same_reporting():
    """Art. 3(2): important; Art. 23 reporting duties are identical for both categories (DOMAIN §3.1)."""
    result = classify("healthcare_provider", 120, 30 * M, 25 * M)
    assert result.reasons[0].startswith("healthcare provider") and "Annex I" in result.reasons[0]
    assert "important (Art. 3(2))" in result.reasons[-1] and "Art. 23" in result.reasons[-1]


@pytest.mark.parametrize(("flag", "article"), [
    ("qualified_trust_service", "Art. 3(1)(b)"),
    ("critical_entity", "Art. 3(1)(f)"),
    ("designated", "Art. 3(1)(e)"),
])
@pytest.mark.parametrize("entity_type", ["other", "healthcare_provider"])
def test_size_independent_essential_entities(flag, article, entity_type):
    """Art. 3(1)(b), (e), (f): essential whatever the size - even a small one."""
    result = classify(entity_type, 10, 1 * M, 1 * M, **{flag: True})
    assert (result.size, result.in_scope, result.category) == ("small", True, "essential")
    assert article in result.reasons[0]


@pytest.mark.parametrize(("staff", "turnover", "balance", "size", "category"), [
    (120, 30 * M, 25 * M, "medium", "important"),
    (30, 5 * M, 5 * M, "small", None),
    (900, 60 * M, 50 * M, "large", "essential"),
])
def test_public_ownership_does_not_change_the_size(staff, turnover, balance, size, category):
    """Art. 2(1) of the Directive: Art. 3(4) of the Annex to Rec. 2003/361 does not apply, so a public
    hospital is not 'large' for being public (DOMAIN §3.1)."""
    private = classify("healthcare_provider", staff, turnover, balance)
    public = classify("healthcare_provider", staff, turnover, balance, public=True)
    assert (public.size, public.category) == (private.size, private.category) == (size, category)
    [extra] = [r for r in public.reasons if r not in private.reasons]
    assert extra.startswith("public ownership does not make the entity large") and "Art. 3(4)" in extra


@pytest.mark.parametrize(("args", "message"), [
    (("hospital", 300, 1 * M, 1 * M), "entity type 'hospital'"),
    (("healthcare_provider", -1, 1 * M, 1 * M), "negative"),
    (("healthcare_provider", 300, -1 * M, 1 * M), "negative"),
])
def test_bad_input_is_refused(args, message):
    with pytest.raises(InputError, match=message):
        classify(*args)


# --- amounts -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "euros"), [
    ("48M", 48_000_000),
    ("48m", 48_000_000),
    ("750k", 750_000),
    ("48 000 000", 48_000_000),
    ("48_000_000", 48_000_000),
    ("48000000", 48_000_000),
    ("48.5M", 48_500_000),
    ("48,5M", 48_500_000),
    ("48.5 M€", 48_500_000),
    ("43000001", 43_000_001),
])
def test_parse_amount(text, euros):
    assert parse_amount(text, "--turnover") == Decimal(euros)


@pytest.mark.parametrize("text", ["", "lots", "48MM", "M", "-5M", "1e6", "48.M", "48 G", "4,8,0"])
def test_parse_amount_refuses_garbage(text):
    with pytest.raises(InputError) as err:
        parse_amount(text, "--balance")
    assert err.value.message.startswith(f"--balance {text!r}; accepted: an amount in euros")


# --- the command -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("args", "expected"), [
    (["--staff", "249", "--turnover", "50000001", "--balance", "43000001"], ("large", True, "essential")),
    (["--staff", "249", "--turnover", "50M", "--balance", "43000001"], ("medium", True, "important")),
    (["--staff", "49", "--turnover", "10M", "--balance", "10000001"], ("small", False, None)),
    (["--staff", "49", "--turnover", "10000001", "--balance", "10.5M"], ("medium", True, "important")),
])
def test_classify_json(args, expected):
    r = ok(run("classify", "--type", "healthcare_provider", *args, "--json"))
    data = json.loads(r.stdout)
    assert set(data) == {"entity_type", "size", "in_scope", "category", "reasons"}
    assert (data["size"], data["in_scope"], data["category"]) == expected
    assert data["entity_type"] == "healthcare_provider" and data["reasons"]


def test_classify_text_and_public_flag():
    r = ok(run("classify", "--type", "healthcare_provider", "--staff", "180", "--turnover", "48M",
               "--balance", "40M", "--public"))
    lines = r.stdout.splitlines()
    assert lines[0] == "in scope: important (medium enterprise, healthcare_provider)"
    assert any(ln.startswith("  - public ownership does not make the entity large") for ln in lines[1:])


def test_qualified_trust_service_flag_on_the_command_line():
    data = json.loads(ok(run("classify", "--type", "other", "--staff", "8", "--turnover", "900k",
                             "--balance", "400k", "--qualified-trust-service", "--json")).stdout)
    assert (data["size"], data["in_scope"], data["category"]) == ("small", True, "essential")


@pytest.mark.parametrize(("given", "missing"), [
    ([], "--type, --staff, --turnover, --balance"),
    (["--type", "healthcare_provider", "--staff", "300"], "--turnover, --balance"),
    (["--turnover", "48M", "--balance", "40M"], "--type, --staff"),
])
def test_missing_options_without_a_terminal_exit_2_naming_them(given, missing):
    """With stdin not a TTY (CliRunner's stdin is not one) nothing is prompted."""
    r = run("classify", *given)
    assert r.exit_code == 2
    assert r.stdout == ""
    assert r.stderr.startswith(f"error: missing {missing};")


def test_bad_amount_on_the_command_line_exits_2():
    r = run("classify", "--type", "healthcare_provider", "--staff", "300", "--turnover", "lots", "--balance", "40M")
    assert r.exit_code == 2 and r.stderr.startswith("error: --turnover 'lots'")


# --- --apply: the category through a profile_set event ---------------------------------------------

@pytest.fixture
def ledger(ledger_file):
    ok(run("init", "--name", "CHU Test", "--category", "important", "--ledger", str(ledger_file), "--now", NOW))
    return ledger_file


def test_apply_writes_the_category_through_a_profile_event(ledger):
    r = ok(run("classify", "--type", "healthcare_provider", "--staff", "320", "--turnover", "48M",
               "--balance", "40M", "--apply", "--ledger", str(ledger), "--now", "2026-03-28T09:30"))
    assert "profile category: essential" in r.stderr
    events = tomllib.loads(ledger.read_text())["events"]
    assert [e["type"] for e in events] == ["profile_set", "profile_set"]
    assert events[-1]["data"] == {"category": "essential"}
    assert events[-1]["recorded_at"] == "2026-03-28T09:30:00+01:00"
    # as of 09:30, when it was recorded (as of NOW, 09:00, the profile was still the first one: issue 12)
    profile = json.loads(ok(run("profile", "--json", "--ledger", str(ledger), "--now", "2026-03-28T09:30")).stdout)
    assert profile["category"] == "essential"
    before = json.loads(ok(run("profile", "--json", "--ledger", str(ledger), "--now", NOW)).stdout)
    assert before["category"] != "essential"
    assert "ok: 2 events" in ok(run("verify", "--ledger", str(ledger))).stdout


def test_apply_with_an_out_of_scope_result_leaves_the_ledger_unchanged(ledger):
    before = ledger.read_bytes()
    r = run("classify", "--type", "healthcare_provider", "--staff", "20", "--turnover", "2M", "--balance", "2M",
            "--apply", "--ledger", str(ledger), "--now", "2026-03-28T09:30")
    assert r.exit_code == 2
    assert "out of scope" in r.stderr and "unchanged" in r.stderr
    assert ledger.read_bytes() == before


def test_apply_with_the_same_category_writes_nothing(ledger):
    before = ledger.read_bytes()
    r = ok(run("classify", "--type", "medical_devices", "--staff", "320", "--turnover", "48M", "--balance", "40M",
               "--apply", "--ledger", str(ledger), "--now", "2026-03-28T09:30"))
    assert "no change" in r.stderr
    assert ledger.read_bytes() == before
