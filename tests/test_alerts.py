"""`check`'s reminder ladder and output formats (SPEC §5, issue 5).

A simulated day (three and a half, in fact): `now` steps every 5 minutes across a 24 h early warning
and a 72 h notification, in-process through the service and `alerts` (fast), then a shorter stretch
through the CLI. Each ladder step is announced exactly once, an overdue obligation is announced again
at the configured interval, and the exit code follows the state 0 -> 1 -> 2 (and back to 0 when a
report is filed). Every output format is parsed: the Nagios perfdata grammar, JSON lines, syslog.

The reference incident: aware 28 Mar 2026 10:00 CET (09:00Z); early warning due 29 Mar 11:00 CEST
(09:00Z, 24 h later across the clock change), notification due 31 Mar 11:00 CEST (09:00Z, 72 h).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
from typer.testing import CliRunner

from nis2_incident import alerts, ladder
from nis2_incident import timeutil as tu
from nis2_incident.cli import app
from nis2_incident.errors import InputError, LedgerError
from nis2_incident.model import Profile, fold

runner = CliRunner()
UTC = timezone.utc
T0 = datetime(2026, 3, 28, 9, 0, tzinfo=UTC)  # aware-at, 10:00 CET
EW, NOTIF = "INC-2026-001 nis2.early_warning", "INC-2026-001 nis2.notification"
TICK = timedelta(minutes=5)
# Nagios plugin perfdata: 'label'=value[UOM];[warn];[crit];[min];[max], space-separated.
PERF_ITEM = re.compile(r"^(?:'[^'=]+'|[^'= ]+)=-?[0-9.]+(?:[a-zA-Z%]+)?(?:;(?:-?[0-9.:~@]*)){0,4}$")
NAGIOS_FIRST = re.compile(r"^NIS2-INCIDENT (OK|WARNING|CRITICAL|UNKNOWN) - ([^|]+?)(?: \| (.+))?$")
TEXT_LINE = re.compile(r"^(OVERDUE|DUE SOON|ASAP|PAST OWN TARGET|OWN TARGET SOON) (INC-\d{4}-\d{3}) "
                       r"([a-z0-9_]+\.[a-z0-9_]+) (?:due \d{4}-\d\d-\d\d \d\d:\d\d [+-]\d\d:\d\d \((?:in|overdue by) [^)]+\)"
                       r"|without undue delay, .+?) — (.+)$")


def h(hours: float, minutes: int = 0) -> datetime:
    return T0 + timedelta(hours=hours, minutes=minutes)


def perfdata(text: str) -> dict[str, int]:
    items = text.split(" ")
    for item in items:
        assert PERF_ITEM.match(item), item
    return {i.split("=")[0]: int(i.split("=")[1].split(";")[0]) for i in items}


# --- the ladder: parsing and choosing ------------------------------------------------------------

@pytest.mark.parametrize("text,length", [("24h", timedelta(hours=24)), ("72h", timedelta(hours=72)),
                                         ("5d", timedelta(days=5)), ("1month", ladder.MONTH),
                                         ("2 months", 2 * ladder.MONTH), ("1mo", ladder.MONTH)])
def test_periods_accepted(text, length):
    assert ladder.parse_period(text) == length


@pytest.mark.parametrize("text", ["", "0month", "week", "24", "-24h", "1 fortnight"])
def test_periods_refused(text):
    with pytest.raises(InputError, match="accepted: a duration such as 24h"):
        ladder.parse_period(text)


@pytest.mark.parametrize("text,period,step", [
    ("4h", None, ladder.Step(before=timedelta(hours=4))),
    ("1d", None, ladder.Step(before=timedelta(days=1))),
    ("80%", None, ladder.Step(share=0.8)),
    ("+20h", timedelta(hours=24), ladder.Step(before=timedelta(hours=4))),  # 20 h into a 24 h period
])
def test_steps_accepted(text, period, step):
    assert ladder.parse_step(text, period) == step


@pytest.mark.parametrize("text", ["0h", "100%", "0%", "soon", "+30h", "4 hours"])
def test_steps_refused(text):
    with pytest.raises(InputError):
        ladder.parse_step(text, timedelta(hours=24))


def test_the_ladder_is_chosen_by_the_obligations_period():
    ladders = ladder.Ladders(ladder.default_ladder(), "6h")
    steps = lambda d: [m.step for m in ladders.before(T0, T0 + d)]  # noqa: E731
    assert steps(timedelta(hours=24)) == ["4h-before", "2h-before", "1h-before"]
    assert steps(timedelta(hours=72)) == ["12h-before", "4h-before", "1h-before"]
    # an authority asking for an intermediate report within 5 days: the 72 h ladder fits
    assert steps(timedelta(days=5)) == ["12h-before", "4h-before", "1h-before"]
    # a final report one calendar month after the notification (28 to 31 days)
    assert steps(timedelta(days=28)) == steps(timedelta(days=31)) == ["7d-before", "3d-before", "1d-before"]
    # a period shorter than every ladder (an own target of 3 h): the shortest ladder, the 4 h step
    # moved to the clock start
    short = ladders.before(T0, T0 + timedelta(hours=3))
    assert [(m.at, m.step) for m in short] == [(T0, "4h-before"), (h(1), "2h-before"), (h(2), "1h-before")]
    # steps that land on the same instant count once
    assert [m.at for m in ladders.before(T0, T0 + timedelta(minutes=30))] == [T0]


def test_shares_and_repeats():
    ladders = ladder.Ladders({"24h": ["50%", "+22h"]}, "4h")
    assert [(m.at, m.step) for m in ladders.before(T0, h(24))] == [(h(12), "50%-elapsed"), (h(22), "2h-before")]
    assert ladders.repeat(h(24), h(23), "overdue") is None
    assert ladders.repeat(h(24), h(24), "overdue") == ladder.Mark(h(24), "overdue")
    assert ladders.repeat(h(24), h(33, 59), "overdue") == ladder.Mark(h(32), "overdue+8h")
    assert ladders.repeat(h(24), h(24 + 30), "overdue") == ladder.Mark(h(52), "overdue+1d4h")
    once = ladder.Ladders({}, "0")
    assert once.repeat(h(24), h(100), "overdue") == ladder.Mark(h(24), "overdue")


# --- the profile fields ------------------------------------------------------------------------

def test_profile_defaults_and_validation():
    p = Profile(name="X", category="essential")
    assert p.reminders == {"24h": ["4h", "2h", "1h"], "72h": ["12h", "4h", "1h"], "1month": ["7d", "3d", "1d"]}
    assert p.reminder_every == "6h"
    p.reminders["24h"].append("30m")  # defaults are not shared between profiles
    assert Profile(name="Y", category="essential").reminders["24h"] == ["4h", "2h", "1h"]
    for bad in ({"reminders": {"24h": ["30h"]}}, {"reminders": {"24h": ["4h"], "1d": ["2h"]}},
                {"reminders": {"fortnight": ["1d"]}}, {"reminders": {"24h": ["soon"]}}, {"reminder_every": "often"}):
        with pytest.raises(ValueError):
            Profile(name="X", category="essential", **bad)


def test_a_ledger_written_before_the_ladder_existed_still_loads_and_verifies(make_service, ledger_file):
    """Profiles without `reminders` (every ledger before issue 5) take the defaults; verify passes."""
    from nis2_incident.ledger import Ledger, Store, codec
    from nis2_incident.service import Service

    old = {"name": "CHU", "category": "essential", "timezone": "Europe/Paris", "trust_service": False,
           "health_establishment": False, "regimes": ["nis2"], "check_within": "6h"}
    led = Ledger(profile=dict(old))
    led.append({"type": "profile_set", "recorded_at": "2026-03-28T09:00:00+01:00", "data": dict(old)})
    ledger_file.write_bytes(codec.encode(led.to_data(), ledger_file))
    svc = Service(Store(ledger_file), h(1))
    assert svc.verify()["ok"] is True
    assert svc.state().profile.reminders == ladder.default_ladder()


def test_a_profile_event_with_a_bad_ladder_is_refused_naming_the_event():
    events = [{"seq": 1, "type": "profile_set", "recorded_at": "2026-03-28T09:00:00+01:00", "hash": "x",
               "data": {"name": "C", "category": "essential", "reminders": {"24h": ["25h"]}}}]
    with pytest.raises(LedgerError, match=r"event seq 1: profile\.reminders"):
        fold(events)


def test_profile_command_sets_the_ladder(ledger_file):
    def run(*args):
        return runner.invoke(app, [*args, "--ledger", str(ledger_file), "--now", "2026-03-28T09:00"],
                             catch_exceptions=False)

    assert run("init", "--name", "C", "--category", "essential", "--reminder", "24h=+20h,+22h,+23h").exit_code == 0
    r = run("profile", "--reminder", "72h=80%,95%", "--reminder", "1month=", "--reminder-every", "3h", "--json")
    assert r.exit_code == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["reminders"] == {"24h": ["+20h", "+22h", "+23h"], "72h": ["80%", "95%"]}
    assert data["reminder_every"] == "3h"
    bad = run("profile", "--reminder", "24h=2d")
    assert bad.exit_code == 2 and "falls before the clock starts" in bad.stderr
    assert run("verify").exit_code == 0


# --- the simulated days -------------------------------------------------------------------------

def simulate(svc, start, end, hooks=None, within=timedelta(hours=6)):
    """Step `now` every 5 minutes; keep the state as `check` would (through JSON, as in the file).
    Returns (announcements [(now, key, step)], exit-code transitions [(now, code)])."""
    hooks = hooks or {}
    announced: dict = {}
    said, codes = [], []
    now = start
    while now <= end:
        if now in hooks:
            hooks[now](now)
        svc.now = now
        _, views = svc.views()
        found = alerts.findings(views, now, within)
        code = alerts.exit_code(found)
        if not codes or codes[-1][1] != code:
            codes.append((now, code))
        new, keep = alerts.select_new(found, announced, now)
        announced = json.loads(json.dumps(keep))
        said += [(now, f.key, f.mark.step) for f in new]
        now += TICK
    return said, codes


def test_simulated_days_each_step_once_and_overdue_every_6h(make_service):
    svc = make_service("2026-03-28T09:00")
    svc.now = h(0, 30)
    svc.open_incident("Ransomware on the PACS", "2026-03-28T10:00")
    said, codes = simulate(svc, h(0, 30), h(80))

    assert said == [
        (h(20), EW, "4h-before"), (h(22), EW, "2h-before"), (h(23), EW, "1h-before"),
        (h(24, 5), EW, "overdue"),  # the first tick after the due instant
        (h(30), EW, "overdue+6h"), (h(36), EW, "overdue+12h"), (h(42), EW, "overdue+18h"), (h(48), EW, "overdue+1d"),
        (h(54), EW, "overdue+1d6h"), (h(60), EW, "overdue+1d12h"),
        (h(60), NOTIF, "12h-before"),
        (h(66), EW, "overdue+1d18h"),
        (h(68), NOTIF, "4h-before"), (h(71), NOTIF, "1h-before"),
        (h(72), EW, "overdue+2d"), (h(72, 5), NOTIF, "overdue"),
        (h(78), EW, "overdue+2d6h"), (h(78), NOTIF, "overdue+6h"),
    ]
    assert set(Counter((k, s) for _, k, s in said).values()) == {1}  # no step twice
    # 0 until the early warning enters the 6 h window, 1 until it is overdue, then 2
    assert codes == [(h(0, 30), 0), (h(18), 1), (h(24, 5), 2)]


def test_simulated_days_with_a_filing_and_a_configured_interval(make_service):
    """The early warning is filed at 23 h 30: its ladder stops, the exit code drops back to 0, the
    notification's ladder runs, and overdue repeats every 4 h as the profile says."""
    svc = make_service("2026-03-28T09:00", reminder_every="4h")
    svc.now = h(0, 30)
    svc.open_incident("Ransomware on the PACS", "2026-03-28T10:00")

    def file_early_warning(now):
        svc.now = now
        svc.submit("1", "nis2.early_warning", reference="CERTFR-1")

    said, codes = simulate(svc, h(0, 30), h(80), hooks={h(23, 30): file_early_warning})
    assert said == [
        (h(20), EW, "4h-before"), (h(22), EW, "2h-before"), (h(23), EW, "1h-before"),
        (h(60), NOTIF, "12h-before"), (h(68), NOTIF, "4h-before"), (h(71), NOTIF, "1h-before"),
        (h(72, 5), NOTIF, "overdue"), (h(76), NOTIF, "overdue+4h"), (h(80), NOTIF, "overdue+8h"),
    ]
    assert codes == [(h(0, 30), 0), (h(18), 1), (h(23, 30), 0), (h(60), 1), (h(72, 5), 2)]


def test_simulated_stretch_through_the_cli(make_service, ledger_file):
    """`check --quiet` every 5 minutes from 17 h to 25 h: output exactly at each crossed step."""
    make_service("2026-03-28T09:00")
    ok = runner.invoke(app, ["open", "Ransomware on the PACS", "--aware", "2026-03-28T10:00",
                             "--ledger", str(ledger_file), "--now", "2026-03-28T10:30"])
    assert ok.exit_code == 0, ok.stderr
    printed, codes = [], []
    now = h(17)
    while now <= h(25):
        r = runner.invoke(app, ["check", "--quiet", "--ledger", str(ledger_file), "--now", tu.rfc3339(now)],
                          catch_exceptions=False)
        assert r.exit_code in (0, 1, 2), r.stderr
        if not codes or codes[-1][1] != r.exit_code:
            codes.append((now, r.exit_code))
        if r.stdout:
            lines = r.stdout.splitlines()
            assert TEXT_LINE.match(lines[0]) and NAGIOS_FIRST.match(lines[-1]), r.stdout
            printed.append((now, TEXT_LINE.match(lines[0]).group(1)))
        now += TICK
    assert printed == [(h(20), "DUE SOON"), (h(22), "DUE SOON"), (h(23), "DUE SOON"), (h(24, 5), "OVERDUE")]
    assert codes == [(h(17), 0), (h(18), 1), (h(24, 5), 2)]


# --- stages without a legal hour count, requests, moving deadlines -----------------------------

def _announce(svc, now, announced, within=timedelta(hours=6)):
    svc.now = now
    _, views = svc.views()
    found = alerts.findings(views, now, within)
    new, keep = alerts.select_new(found, announced, now)
    return found, [(f.key, f.kind, f.mark.step) for f in new], keep


def test_without_undue_delay_stage_is_a_finding_from_its_clock_start_until_filed(make_service):
    svc = make_service("2026-03-28T09:00", regimes=["csp"], health_establishment=True)
    svc.now = h(0, 10)
    svc.open_incident("Panne du DPI", "2026-03-28T10:00")
    key = "INC-2026-001 csp.report"
    found, said, st = _announce(svc, h(0, 10), {})
    assert said == [(key, "asap", "started")] and alerts.exit_code(found) == 1
    assert _announce(svc, h(5), st)[1] == []
    found, said, st = _announce(svc, h(6, 1), st)
    assert said == [(key, "asap", "started+6h")]
    svc.now = h(7)
    svc.submit("1", "csp.report")
    found, said, st = _announce(svc, h(7), st)
    assert found == [] and said == [] and st == {}


def test_own_target_gets_a_ladder_then_repeats_once_passed(make_service):
    svc = make_service("2026-03-28T09:00", regimes=["csp"], health_establishment=True, targets={"csp.report": "4h"})
    svc.now = h(0, 10)
    svc.open_incident("Panne du DPI", "2026-03-28T10:00")
    key, st, said = "INC-2026-001 csp.report", {}, []
    for minutes in range(10, 11 * 60, 5):
        _, new, st = _announce(svc, T0 + timedelta(minutes=minutes), st)
        said += [(T0 + timedelta(minutes=minutes), *n) for n in new]
    assert said == [
        (h(0, 10), key, "target_soon", "4h-before"),  # the 4 h step falls on the clock start
        (h(2), key, "target_soon", "2h-before"), (h(3), key, "target_soon", "1h-before"),
        (h(4, 5), key, "target_passed", "target-passed"), (h(10), key, "target_passed", "target-passed+6h"),
    ]


def test_authority_set_date_uses_the_ladder_that_fits_its_period(make_service):
    svc = make_service("2026-03-28T09:00")
    svc.now = h(1)
    svc.open_incident("Ransomware", "2026-03-28T10:00")
    svc.now = h(30)
    svc.submit("1", "nis2.early_warning")
    svc.submit("1", "nis2.notification")
    svc.request("1", "+5d", at="now")  # due 5 days after the request: the 72 h ladder
    key = "INC-2026-001 nis2.intermediate#1"
    st, said = {}, []
    for hours in range(30, 30 + 5 * 24 + 2):
        _, new, st = _announce(svc, h(hours), st)
        said += [(h(hours), k, s) for k, _, s in new if k == key]
    due = h(30 + 120)
    assert said == [(due - timedelta(hours=12), key, "12h-before"), (due - timedelta(hours=4), key, "4h-before"),
                    (due - timedelta(hours=1), key, "1h-before"), (due + timedelta(hours=1), key, "overdue")]


def test_a_moved_deadline_is_announced_again(make_service):
    svc = make_service("2026-03-28T09:00")
    svc.now = h(1)
    svc.open_incident("Ransomware", "2026-03-28T10:00")
    _, said, st = _announce(svc, h(22, 30), {})
    assert said == [(EW, "due_soon", "2h-before")]
    assert _announce(svc, h(22, 40), st)[1] == []
    svc.now = h(22, 45)
    svc.update_incident("1", aware_at="2026-03-28T11:00")  # the clock started an hour later
    _, said, st = _announce(svc, h(22, 50), st)
    assert said == [(EW, "due_soon", "4h-before")]  # the new due time, with its own latest step
    _, said, st = _announce(svc, h(22, 55), st)
    assert said == []
    assert _announce(svc, h(23, 0), st)[1] == [(EW, "due_soon", "2h-before")]


# --- the output formats ---------------------------------------------------------------------------

@pytest.fixture
def busy(make_service, ledger_file):
    """As of 31 Mar 06:00 CEST: the early warning overdue, the notification 5 h away, a CSP report
    past its own target, a GDPR data-subject communication without target."""
    svc = make_service("2026-03-28T09:00", regimes=["nis2", "gdpr", "csp"], health_establishment=True,
                       targets={"csp.report": "4h"})
    svc.now = h(0, 30)
    svc.open_incident("Rançongiciel sur le PACS", "2026-03-28T10:00", personal_data=True, high_risk=True)
    return ledger_file


def check(ledger, *args, now="2026-03-31T06:00"):
    return runner.invoke(app, ["check", *args, "--ledger", str(ledger), "--now", now], catch_exceptions=False)


def test_text_format_lines_and_summary(busy):
    r = check(busy)
    assert r.exit_code == 2
    *lines, last = r.stdout.splitlines()
    parsed = [TEXT_LINE.match(line).groups()[:3] for line in lines]
    # the one order of urgency (issue 16): past target and overdue by instant (the target, 28 Mar 14:00,
    # before the early warning's due time), then due now without undue delay, then due soon
    assert parsed == [("PAST OWN TARGET", "INC-2026-001", "csp.report"),
                      ("OVERDUE", "INC-2026-001", "nis2.early_warning"),
                      ("ASAP", "INC-2026-001", "gdpr.data_subjects"),
                      ("DUE SOON", "INC-2026-001", "gdpr.notification"),
                      ("DUE SOON", "INC-2026-001", "nis2.notification")]
    assert "due 2026-03-29 11:00 +02:00 (overdue by 1 d 19 h) — Rançongiciel sur le PACS" in lines[1]
    m = NAGIOS_FIRST.match(last)
    assert m.group(1) == "CRITICAL" and m.group(2) == "1 overdue, 2 due soon, 2 without undue delay (window 6h)"
    assert perfdata(m.group(3)) == {"overdue": 1, "due_soon": 2, "asap": 2, "open": 6}
    # a second run at the same time: nothing new, the summary alone, the same state
    again = check(busy)
    assert again.exit_code == 2 and again.stdout.splitlines() == [last]
    assert check(busy, "--quiet").stdout == ""


def test_nagios_format_status_first_then_every_finding_and_no_state(busy):
    for _ in range(2):  # the same every time: Nagios does its own notification logic
        r = check(busy, "--format", "nagios", "--quiet")
        assert r.exit_code == 2
        first, *rest = r.stdout.splitlines()
        m = NAGIOS_FIRST.match(first)
        assert m and m.group(1) == "CRITICAL"
        assert perfdata(m.group(3)) == {"overdue": 1, "due_soon": 2, "asap": 2, "open": 6}
        assert len(rest) == 5 and all(TEXT_LINE.match(line) for line in rest)
    assert not busy.with_name(busy.name + ".check-state.json").exists()
    early = check(busy, "--format", "nagios", now="2026-03-28T10:30")  # only the CSP report's own target is near
    assert early.exit_code == 1 and NAGIOS_FIRST.match(early.stdout.splitlines()[0]).group(1) == "WARNING"


def test_json_format_and_the_json_alias(busy):
    r = check(busy, "--format", "json")
    assert r.exit_code == 2
    records = [json.loads(line) for line in r.stdout.splitlines()]
    assert [(x["kind"], x["stage"], x["step"], x["new"], x["msgid"]) for x in records] == [
        ("target_passed", "csp.report", "target-passed+2d12h", True, "NIS2INC-TARGET-PASSED"),
        ("overdue", "nis2.early_warning", "overdue+1d18h", True, "NIS2INC-OVERDUE"),
        ("asap", "gdpr.data_subjects", "started+2d18h", True, "NIS2INC-ASAP"),
        ("due_soon", "gdpr.notification", "12h-before", True, "NIS2INC-DUE-SOON"),
        ("due_soon", "nis2.notification", "12h-before", True, "NIS2INC-DUE-SOON"),
    ]
    assert records[1]["step_at"] == "2026-03-31T05:00:00+02:00" and records[1]["due"] == "2026-03-29T11:00:00+02:00"
    assert records[1]["seconds_left"] == -(43 * 3600)
    # nothing new: nothing at all; --all (with the old --json flag): everything, marked not new
    assert check(busy, "--format", "json").stdout == ""
    alias = check(busy, "--json", "--all")
    assert alias.exit_code == 2
    again = [json.loads(line) for line in alias.stdout.splitlines()]
    assert [x["stage"] for x in again] == [x["stage"] for x in records] and not any(x["new"] for x in again)
    assert check(busy, "--json", "--format", "json").exit_code == 2
    bad = check(busy, "--json", "--format", "nagios")
    assert bad.exit_code == 3 and "--json is --format json" in bad.stderr


def test_syslog_format_sends_each_new_finding_with_a_stable_message_id(busy, monkeypatch):
    import syslog

    sent, opened = [], []
    monkeypatch.setattr(syslog, "openlog", lambda *a, **k: opened.append(a))
    monkeypatch.setattr(syslog, "syslog", lambda prio, msg: sent.append((prio, msg)))
    monkeypatch.setattr(syslog, "closelog", lambda: opened.append("closed"))
    from nis2_incident.cli import core

    monkeypatch.setattr(core, "syslog_available", lambda: True)  # as if /dev/log listened
    r = check(busy, "--format", "syslog")
    assert r.exit_code == 2
    assert opened == [("nis2-incident", syslog.LOG_PID, syslog.LOG_USER), "closed"]
    assert [p for p, _ in sent] == [syslog.LOG_CRIT, syslog.LOG_CRIT, syslog.LOG_WARNING, syslog.LOG_WARNING,
                                    syslog.LOG_WARNING]
    msg = re.compile(r"^(NIS2INC-[A-Z-]+) step=(\S+) (.+)$")
    parsed = [msg.match(m).groups() for _, m in sent]
    assert [(mid, step) for mid, step, _ in parsed][:3] == [("NIS2INC-TARGET-PASSED", "target-passed+2d12h"),
                                                            ("NIS2INC-OVERDUE", "overdue+1d18h"),
                                                            ("NIS2INC-ASAP", "started+2d18h")]
    assert all(TEXT_LINE.match(text) for _, _, text in parsed)
    assert NAGIOS_FIRST.match(r.stdout.strip())  # the summary on stdout
    sent.clear()
    assert check(busy, "--format", "syslog", "--quiet").stdout == "" and sent == []  # nothing new
    busy.write_bytes(busy.read_bytes()[:-30])  # a broken ledger is sent every time
    for _ in range(2):
        r = check(busy, "--format", "syslog", "--quiet")
        assert r.exit_code == 3
    assert [(p, m.split(" ")[0]) for p, m in sent] == [(syslog.LOG_ERR, "NIS2INC-UNKNOWN")] * 2


def test_bad_format_is_unknown(busy):
    r = check(busy, "--format", "xml")
    assert r.exit_code == 3 and "accepted: text, nagios, json, syslog" in r.stderr
