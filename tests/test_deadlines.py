"""The NIS 2 deadline engine, driven through `Service` on a real ledger, plus one pure `compute` test.

Law: Directive (EU) 2022/2555, Art. 23(4)(a)-(e) and its second subparagraph (trust service
providers); DOMAIN.md §1.1 and §8; SPEC §3. Every expected instant is written out by hand with its
Paris offset (CET +01:00, CEST +02:00; 2026 changes on 29 Mar and 25 Oct, 2027 on 28 Mar and 31 Oct).
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from nis2_incident import deadlines, regimes
from nis2_incident.errors import ClockNotStarted, InputError
from nis2_incident.model import Filing, Incident, Profile

from conftest import at

STAGES = ["nis2.early_warning", "nis2.notification", "nis2.intermediate", "nis2.final", "nis2.progress"]


def iso(text: str) -> datetime:
    """An exact instant, always written with its offset."""
    value = datetime.fromisoformat(text)
    assert value.tzinfo is not None
    return value


def obligations(svc, ident) -> dict[str, deadlines.Obligation]:
    _, view = svc.one(ident, explain=True)  # with the text of the arithmetic, as `explain` shows it
    return {ob.stage: ob for ob in view.obligations}


def open_at(svc, aware: str, now: str | None = None, **facts) -> str:
    """Open an incident aware at `aware` (Paris local time), with the clock at `now` (default: aware)."""
    svc.now = at(now or aware)
    return svc.open_incident("Ransomware on the PACS", aware, **facts).value.incident.id


# --- Art. 23(4)(a) early warning 24 h, (b) notification 72 h: elapsed hours (DOMAIN §8.2, §8.3) ----

@pytest.mark.parametrize(("aware", "early_warning", "notification"), [
    # ordinary winter week
    ("2026-01-05T09:00", "2026-01-06T09:00+01:00", "2026-01-08T09:00+01:00"),
    # March change: 28 Mar 10:00 CET + 24 h = 29 Mar 11:00 CEST, not 10:00
    ("2026-03-28T10:00", "2026-03-29T11:00+02:00", "2026-03-31T11:00+02:00"),
    # October change: 24 Oct 10:00 CEST + 24 h = 25 Oct 09:00 CET (10:00 would be 1 h late)
    ("2026-10-24T10:00", "2026-10-25T09:00+01:00", "2026-10-27T09:00+01:00"),
    # aware in the repeated hour, disambiguated by its offset (the first 02:30)
    ("2026-10-25T02:30+02:00", "2026-10-26T01:30+01:00", "2026-10-28T01:30+01:00"),
])
def test_early_warning_and_notification_count_elapsed_hours(make_service, aware, early_warning, notification):
    """Art. 23(4)(a) and (b): both clocks start at awareness (DOMAIN §1.1), in real hours (§8.2-8.3)."""
    svc = make_service()
    obs = obligations(svc, open_at(svc, aware, significance="significant"))
    assert [*obs] == STAGES
    ew, nt = obs["nis2.early_warning"], obs["nis2.notification"]
    assert ew.due == iso(early_warning) and ew.due.utcoffset().total_seconds() == 0
    assert nt.due == iso(notification)
    assert (ew.state, ew.due_kind, nt.state, nt.due_kind) == ("pending", "deadline", "pending", "deadline")
    assert ew.article == "Directive (EU) 2022/2555, Art. 23(4)(a)"
    assert nt.article == "Directive (EU) 2022/2555, Art. 23(4)(b)"
    assert ew.clock_start == nt.clock_start == at(aware)


def test_trust_service_provider_notification_is_due_at_24_hours(make_service):
    """Art. 23(4), second subparagraph: a TSP's notification is due within 24 h (DOMAIN §1.1, §8.7);
    the provisional final report then counts from that earlier due time (Art. 23(4)(d))."""
    svc = make_service(trust_service=True)
    obs = obligations(svc, open_at(svc, "2026-03-28T10:00", significance="significant"))
    nt = obs["nis2.notification"]
    assert nt.due == iso("2026-03-29T11:00+02:00")
    assert nt.article == "Directive (EU) 2022/2555, Art. 23(4), second subparagraph (trust service provider)"
    assert obs["nis2.early_warning"].due == iso("2026-03-29T11:00+02:00")
    assert obs["nis2.final"].due == iso("2026-04-29T11:00+02:00")


# --- Art. 23(4)(d) final report: one calendar month after the actual submission (DOMAIN §8.4, §8.5) --

def test_final_report_is_provisional_until_the_notification_is_filed_then_moves(make_service):
    """Art. 23(4)(d): the month runs from the notification's submission, not its deadline (DOMAIN §1.1);
    before it is filed only a provisional date from its due time is shown (§8.5)."""
    svc = make_service()
    ident = open_at(svc, "2027-01-29T10:00", significance="significant")
    final = obligations(svc, ident)["nis2.final"]
    # notification due 1 Feb 2027 10:00 -> provisional final 1 Mar 2027 10:00
    assert (final.due, final.due_kind, final.state) == (iso("2027-03-01T10:00+01:00"), "provisional", "pending")
    assert any("provisional" in c for c in final.choices)

    svc.now = at("2027-01-31T10:00")
    svc.submit(ident, "notification", at="2027-01-31T10:00")
    final = obligations(svc, ident)["nis2.final"]
    # filed 31 Jan 2027 10:00 -> 28 Feb 2027 10:00 (clamped; a Sunday, no extension: DOMAIN §8.4)
    assert (final.due, final.due_kind) == (iso("2027-02-28T10:00+01:00"), "deadline")
    assert final.clock_start == iso("2027-01-31T10:00+01:00")
    assert final.clock_start_label == "submission of nis2.notification"
    assert any("2027-03-01 23:59" in c for c in final.choices)  # the latest arguable date, as information


@pytest.mark.parametrize(("aware", "filed", "final_due"), [
    ("2028-01-30T09:00", "2028-01-31T09:00", "2028-02-29T09:00+01:00"),  # leap year clamp
    ("2026-03-30T08:00", "2026-03-31T08:00", "2026-04-30T08:00+02:00"),  # 31 Mar -> 30 Apr
    # filed 22 Oct 09:00 CEST -> 22 Nov 09:00 CET: the wall-clock time is kept across the change
    ("2026-10-20T10:00", "2026-10-22T09:00", "2026-11-22T09:00+01:00"),
    # filed late (due 1 Feb 10:00): the month still counts from the actual filing
    ("2027-01-29T10:00", "2027-02-03T16:00", "2027-03-03T16:00+01:00"),
])
def test_final_report_counts_from_the_actual_filing(make_service, aware, filed, final_due):
    """Art. 23(4)(d), DOMAIN §8.4: calendar month, end-of-month clamped, same wall-clock time."""
    svc = make_service()
    ident = open_at(svc, aware, now=filed, significance="significant")
    svc.submit(ident, "notification", at=filed)
    assert obligations(svc, ident)["nis2.final"].due == iso(final_due)


# --- states: pending -> overdue; filings met / late, judged at filing (SPEC §2, DOMAIN §8.8) --------

def test_pending_until_the_due_instant_then_overdue(make_service):
    """Art. 23(4)(a): 'at most 24 h' - still in time at the due instant itself."""
    svc = make_service()
    ident = open_at(svc, "2026-03-28T10:00", significance="significant")
    svc.now = iso("2026-03-29T11:00+02:00")
    assert obligations(svc, ident)["nis2.early_warning"].state == "pending"
    svc.now = iso("2026-03-29T11:00:01+02:00")
    assert obligations(svc, ident)["nis2.early_warning"].state == "overdue"
    assert obligations(svc, ident)["nis2.notification"].state == "pending"
    svc.now = iso("2026-03-31T11:00:01+02:00")
    assert obligations(svc, ident)["nis2.notification"].state == "overdue"


def test_on_time_and_late_filings_are_frozen(make_service):
    """Art. 23(4)(a)/(b); DOMAIN §8.8: a late report is still owed and recorded as late, for good."""
    svc = make_service()
    ident = open_at(svc, "2026-10-24T10:00", now="2026-10-27T12:00", significance="significant")
    # early warning due 25 Oct 09:00 CET: filed 09:00 on the dot is in time; notification due 27 Oct 09:00
    svc.submit(ident, "early_warning", at="2026-10-25T09:00")
    svc.submit(ident, "notification", at="2026-10-27T09:30", late_reason="portal down")
    obs = obligations(svc, ident)
    ew, nt = obs["nis2.early_warning"], obs["nis2.notification"]
    assert (ew.state, ew.filing.late, ew.filing.due) == ("met", False, iso("2026-10-25T09:00+01:00"))
    assert (nt.state, nt.filing.late, nt.filing.due) == ("late", True, iso("2026-10-27T09:00+01:00"))
    assert nt.filing.late_reason == "portal down"

    for later in ("2026-12-01T00:00", "2028-06-01T00:00"):
        svc.now = at(later)
        obs = obligations(svc, ident)
        assert obs["nis2.early_warning"].state == "met"
        assert obs["nis2.notification"].state == "late"


# --- Art. 23(4)(c) intermediate report: only on request (DOMAIN §8.6) ------------------------------

def test_intermediate_report_only_on_request(make_service):
    """Art. 23(4)(c): due at the date the CSIRT or authority set; no request, no obligation."""
    svc = make_service()
    ident = open_at(svc, "2026-05-04T09:00", now="2026-05-05T12:00", significance="significant")
    inter = obligations(svc, ident)["nis2.intermediate"]
    assert (inter.state, inter.due, inter.due_kind) == ("not_applicable", None, "none")
    assert "only if the authority requests it" in inter.note

    # a report sent before any request is refused (issue 12: its clock has not started)
    with pytest.raises(ClockNotStarted, match="no request of the authority is recorded by then"):
        svc.submit(ident, "intermediate", at="2026-05-04T11:00")
    svc.request(ident, due="2026-05-08T17:00", at="2026-05-05T10:00")
    inter = obligations(svc, ident)["nis2.intermediate"]
    assert (inter.state, inter.due, inter.instance) == ("pending", iso("2026-05-08T17:00+02:00"), 1)
    assert inter.clock_start == iso("2026-05-05T10:00+02:00")

    svc.now = iso("2026-05-08T17:00:01+02:00")
    assert obligations(svc, ident)["nis2.intermediate"].state == "overdue"
    svc.submit(ident, "intermediate", at="2026-05-08T16:00")
    inter = obligations(svc, ident)["nis2.intermediate"]
    assert (inter.state, inter.filing.at) == ("met", iso("2026-05-08T16:00+02:00"))


# --- Art. 23(4)(e) progress report when still ongoing (DOMAIN §8.6) --------------------------------

def test_ongoing_incident_gets_a_progress_report_and_a_later_final_report(make_service):
    """Art. 23(4)(e): still being handled when the final report falls due -> a progress report then,
    and the final report within one month of the handling of the incident."""
    svc = make_service()
    ident = open_at(svc, "2026-10-20T10:00", now="2026-10-22T09:00", significance="significant")
    svc.submit(ident, "notification", at="2026-10-22T09:00")
    obs = obligations(svc, ident)
    assert (obs["nis2.final"].due, obs["nis2.final"].due_kind) == (iso("2026-11-22T09:00+01:00"), "deadline")
    assert (obs["nis2.progress"].due_kind, obs["nis2.progress"].state) == ("conditional", "pending")

    svc.now = iso("2026-11-22T09:00+01:00")  # the final report falls due; handling not concluded
    obs = obligations(svc, ident)
    progress, final = obs["nis2.progress"], obs["nis2.final"]
    assert (progress.due, progress.due_kind, progress.state) == (iso("2026-11-22T09:00+01:00"), "deadline", "pending")
    assert (final.due, final.due_kind, final.state) == (None, "awaiting", "pending")
    assert final.article == "Directive (EU) 2022/2555, Art. 23(4)(e)"
    assert "handled" in final.note

    svc.now = at("2026-12-11T09:00")
    assert obligations(svc, ident)["nis2.progress"].state == "overdue"
    svc.conclude(ident, "handled", at="2026-12-10T15:00")
    obs = obligations(svc, ident)
    assert (obs["nis2.final"].due, obs["nis2.final"].due_kind) == (iso("2027-01-10T15:00+01:00"), "deadline")
    assert obs["nis2.final"].state == "pending"
    assert obs["nis2.progress"].state == "overdue"  # still owed (DOMAIN §8.8)


def test_handled_before_the_final_report_falls_due_means_no_progress_report(make_service):
    """Art. 23(4)(e) applies only 'where the incident is ongoing' at that time; otherwise (d) stands."""
    svc = make_service()
    ident = open_at(svc, "2026-10-20T10:00", now="2026-10-22T09:00", significance="significant")
    svc.submit(ident, "notification", at="2026-10-22T09:00")
    svc.now = at("2026-11-10T12:00")
    svc.conclude(ident, "handled", at="2026-11-10T12:00")
    svc.now = at("2026-12-01T00:00")
    obs = obligations(svc, ident)
    assert obs["nis2.progress"].state == "not_applicable"
    assert "handling concluded at 2026-11-10 12:00 +01:00" in obs["nis2.progress"].note
    assert (obs["nis2.final"].due, obs["nis2.final"].state) == (iso("2026-11-22T09:00+01:00"), "overdue")
    assert obs["nis2.final"].article == "Directive (EU) 2022/2555, Art. 23(4)(d)"


# --- Art. 23(3) significance (SPEC §2, §3) ---------------------------------------------------------

def test_not_significant_makes_every_nis2_obligation_not_applicable_with_the_rationale(make_service):
    """Art. 23(3): only significant incidents are reported; the written reason is shown (SPEC §3)."""
    svc = make_service()
    ident = open_at(svc, "2026-11-01T10:00", now="2026-12-01T10:00", significance="not_significant",
                    significance_rationale="no effect on care; one workstation re-imaged")
    obs = obligations(svc, ident)
    assert [*obs] == STAGES
    for ob in obs.values():
        assert (ob.state, ob.due) == ("not_applicable", None), ob.stage
        assert ob.note == ("the incident is recorded as not significant (Art. 23(3)): "
                           "no effect on care; one workstation re-imaged")


def test_not_significant_without_rationale_is_refused(make_service):
    svc = make_service()
    with pytest.raises(InputError, match="needs --rationale"):
        open_at(svc, "2026-11-01T10:00", significance="not_significant")


def test_undetermined_counts_as_significant(make_service):
    """Art. 23(3) + SPEC §2: until decided, the conservative reading (deadlines run) is taken."""
    svc = make_service()
    obs = obligations(svc, open_at(svc, "2026-01-05T09:00"))  # significance not given
    assert obs["nis2.early_warning"].due == iso("2026-01-06T09:00+01:00")
    assert obs["nis2.early_warning"].state == "pending"
    assert any("undetermined" in c for c in obs["nis2.early_warning"].choices)


# --- explain data (SPEC §3, DOMAIN §8.3) -----------------------------------------------------------

def test_explain_steps_show_the_clock_change(make_service):
    svc = make_service()
    ew = obligations(svc, open_at(svc, "2026-03-28T10:00", significance="significant"))["nis2.early_warning"]
    text = "\n".join(ew.steps)
    assert "rule: Directive (EU) 2022/2555, Art. 23(4)(a): 24 h elapsed from aware-at" in text
    assert "2026-03-28T09:00:00+00:00 + 24 h on the instant (UTC) = 2026-03-29T09:00:00+00:00" in text
    assert "2026-03-29 11:00 +02:00 CEST" in text
    assert "so 24 h ends at 11:00, not at the same wall-clock time 10:00" in text
    assert any("1182/71" in c for c in ew.choices)


def test_explain_steps_october(make_service):
    svc = make_service()
    ew = obligations(svc, open_at(svc, "2026-10-24T10:00", significance="significant"))["nis2.early_warning"]
    assert "so 24 h ends at 09:00, not at the same wall-clock time 10:00" in ew.steps[-1]


def test_explain_steps_without_a_clock_change_say_nothing_about_it(make_service):
    svc = make_service()
    ew = obligations(svc, open_at(svc, "2026-01-05T09:00", significance="significant"))["nis2.early_warning"]
    assert ew.steps[-1] == "shown in Europe/Paris: 2026-01-06 09:00 +01:00 CET"


# --- the pure function ---------------------------------------------------------------------------

def test_compute_is_pure_on_hand_built_records():
    """deadlines.compute(incident, profile, regimes, now) without a ledger or a clock: Art. 23(4)(a)-(e)."""
    utc = timezone.utc
    aware = datetime(2027, 3, 27, 9, 0, tzinfo=utc)  # 27 Mar 2027 10:00 CET, the day before the change
    inc = Incident(id="INC-2027-001", number=1, title="PACS", aware_at=aware, opened_seq=2,
                   significance="significant")
    inc.filings.append(Filing(seq=3, stage="nis2.notification", at=datetime(2027, 3, 29, 8, 0, tzinfo=utc)))
    profile = Profile(name="CHU Test", category="important")
    now = datetime(2027, 3, 28, 9, 0, tzinfo=utc)  # exactly 24 h after awareness

    obs = {ob.stage: ob for ob in deadlines.compute(inc, profile, regimes.builtin(), now)}
    assert [*obs] == STAGES
    assert obs["nis2.early_warning"].due == iso("2027-03-28T11:00+02:00")
    assert obs["nis2.early_warning"].state == "pending"  # at the due instant, not yet overdue
    assert obs["nis2.notification"].due == iso("2027-03-30T11:00+02:00")
    assert obs["nis2.notification"].state == "met"  # filing.late defaults to False
    # filed 29 Mar 2027 10:00 CEST -> final 29 Apr 2027 10:00 CEST
    assert (obs["nis2.final"].due, obs["nis2.final"].due_kind) == (iso("2027-04-29T10:00+02:00"), "deadline")
    # a progress report is owed only if the incident is still ongoing on 29 Apr (Art. 23(4)(e))
    progress = obs["nis2.progress"]
    assert (progress.due, progress.due_kind, progress.state) == (iso("2027-04-29T10:00+02:00"), "conditional", "pending")
    assert obs["nis2.intermediate"].state == "not_applicable"

    # the same records with a trust-service profile: notification at 24 h, already met
    tsp = Profile(name="CHU Test", category="important", trust_service=True)
    obs = {ob.stage: ob for ob in deadlines.compute(inc, tsp, regimes.builtin(), now)}
    assert obs["nis2.notification"].due == iso("2027-03-28T11:00+02:00")

    # a profile without the nis2 regime has no nis2 obligations
    assert deadlines.compute(inc, Profile(name="X", category="essential", regimes=[]), regimes.builtin(), now) == []


def test_obligations_without_their_explain_text_are_the_same_obligations():
    """`deadlines.compute(explain=False)` (every view but `explain`, issue 13's speed) gives the same
    states, instants, kinds, notes and filings as with the text of the arithmetic, which only it
    leaves out: checked on the shipped example record at moments across its history."""
    from pathlib import Path

    from nis2_incident import deadlines
    from nis2_incident.ledger import Store
    from nis2_incident.service import Service

    ledger = Path(__file__).resolve().parent.parent / "examples" / "ledger.jsonl"
    compared = 0
    for now in ("2026-02-02T18:00", "2026-03-21T12:00", "2026-03-29T03:30", "2026-03-30T20:00", "2027-01-01T00:00"):
        svc = Service(Store(ledger), at(now))
        state = svc.state(as_of=False)
        for inc in state.incidents.values():
            full = deadlines.compute(inc, state.profile, svc.regimes, svc.now, explain=True)
            lean = deadlines.compute(inc, state.profile, svc.regimes, svc.now, explain=False)
            assert len(full) == len(lean)
            for a, b in zip(full, lean):
                assert (a.stage, a.state, a.due, a.due_kind, a.note, a.clock_start, a.clock_start_label, a.target,
                        a.instance, a.filing, a.article) == (b.stage, b.state, b.due, b.due_kind, b.note,
                                                             b.clock_start, b.clock_start_label, b.target,
                                                             b.instance, b.filing, b.article)
                assert a.steps and not [s for s in b.steps if "on the instant" in s or "clock start:" in s]
                compared += 1
    assert compared > 50
