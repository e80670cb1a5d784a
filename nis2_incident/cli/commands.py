"""The commands (names are contract: README, Commands). Each parses its options, calls one use case, renders."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from .. import timeutil as tu
from ..errors import InputError, LedgerError
from ..ladder import default_ladder
from ..service import Service
from . import SETTINGS, ledger_path, resolve_now
from . import options
from .application import JsonOpt, LedgerOpt, LockOpt, NowOpt, app, with_options
from .core import (_facts, _has_offset_or_relative, _print_incident, _report_write, _say, _service,  # noqa: F401
                   _store, _within)


# --- helpers -----------------------------------------------------------------------------

# --- set-up ------------------------------------------------------------------------------

# The entity's roles (issue 17), declared once for `init` and `profile` (README: Roles). Each gates the
# regimes whose file names it; turning one on also enables its regimes (profile.ROLE_REGIMES).
from ..roles import ROLE_HELP as _ROLE_HELP  # noqa: E402

Ose = Annotated[Optional[bool], typer.Option("--ose/--no-ose", help=_ROLE_HELP["ose"], show_default=False)]
CriticalEntity = Annotated[Optional[bool], typer.Option("--critical-entity/--no-critical-entity", help=_ROLE_HELP["critical_entity"], show_default=False)]
FinancialEntity = Annotated[Optional[bool], typer.Option("--financial-entity/--no-financial-entity", help=_ROLE_HELP["financial_entity"], show_default=False)]
CraManufacturer = Annotated[Optional[bool], typer.Option("--cra-manufacturer/--no-cra-manufacturer", help=_ROLE_HELP["cra_manufacturer"], show_default=False)]
MdrManufacturer = Annotated[Optional[bool], typer.Option("--mdr-manufacturer/--no-mdr-manufacturer", help=_ROLE_HELP["mdr_manufacturer"], show_default=False)]
AiProvider = Annotated[Optional[bool], typer.Option("--ai-provider/--no-ai-provider", help=_ROLE_HELP["ai_provider"], show_default=False)]
GdprRole = Annotated[Optional[str], typer.Option("--gdpr-role", help="controller | processor | both (GDPR Art. 4(7)-(8); a processor notifies its controller, Art. 33(2): regime gdpr_processor). Default controller.", show_default=False)]
NotInForce = Annotated[Optional[str], typer.Option("--not-in-force", help="track | ignore: obligations of a rule not in force at aware-at (NIS 2 in France today) are computed and marked (track, the default), or given the state not_in_force and left out of `check` (ignore).", show_default=False)]


def _roles(ose, critical_entity, financial_entity, cra_manufacturer, mdr_manufacturer, ai_provider, gdpr_role,
           not_in_force) -> dict:
    """The role options as profile fields (None: not given)."""
    out = {"ose": ose, "critical_entity": critical_entity, "financial_entity": financial_entity,
           "cra_manufacturer": cra_manufacturer, "mdr_manufacturer": mdr_manufacturer, "ai_provider": ai_provider}
    if gdpr_role is not None:
        role = gdpr_role.strip().lower()
        if role not in ("controller", "processor", "both"):
            raise InputError(f"--gdpr-role {gdpr_role!r}; accepted: controller, processor, both")
        out["gdpr_role"] = role
    if not_in_force is not None:
        mode = not_in_force.strip().lower()
        if mode not in ("track", "ignore"):
            raise InputError(f"--not-in-force {not_in_force!r}; accepted: track (computed and marked, the "
                             "default) or ignore (state not_in_force, left out of check)")
        out["not_in_force"] = mode
    return out

@app.command("init")
def init_cmd(
    name: Annotated[str, typer.Option("--name", help="The reporting entity's name.")],
    category: Annotated[str, typer.Option("--category", help="essential | important (Directive (EU) 2022/2555 Art. 3; `classify` helps decide).")],
    timezone: Annotated[str, typer.Option("--timezone", help="IANA time zone used to read and show times.")] = "Europe/Paris",
    trust_service: Annotated[bool, typer.Option("--trust-service", help="The entity is a trust service provider (notification due at 24 h).")] = False,
    health_establishment: Annotated[bool, typer.Option("--health-establishment", help="A health establishment under CSP L.1111-8-2.")] = False,
    regime: Annotated[Optional[list[str]], typer.Option("--regime", help="Enable a regime (repeatable; replaces the default: nis2 and gdpr, plus csp with --health-establishment).", show_default=False)] = None,
    within: Annotated[str, typer.Option("--within", help="Default warning window of `check`.")] = "6h",
    target: Annotated[Optional[list[str]], typer.Option("--target", help="Own target for a stage without a legal hour count, STAGE=DURATION, e.g. csp.report=4h (repeatable).", show_default=False)] = None,
    regimes_dir: Annotated[Optional[str], typer.Option("--regimes-dir", help="A folder of regime files that add to or override the shipped ones.", show_default=False)] = None,
    reminder: Annotated[Optional[list[str]], typer.Option("--reminder", help="`check`'s reminder ladder for one period, PERIOD=STEP,STEP..., e.g. 24h=4h,2h,1h (repeatable; default 24h=4h,2h,1h 72h=12h,4h,1h 1month=7d,3d,1d).", show_default=False)] = None,
    reminder_every: Annotated[Optional[str], typer.Option("--reminder-every", help="Repeat `check`'s announcement this often while overdue or not filed (default 6h; 0 for once).", show_default=False)] = None,
    ose: Ose = None,
    critical_entity: CriticalEntity = None,
    financial_entity: FinancialEntity = None,
    cra_manufacturer: CraManufacturer = None,
    mdr_manufacturer: MdrManufacturer = None,
    ai_provider: AiProvider = None,
    gdpr_role: GdprRole = None,
    not_in_force: NotInForce = None,
    roles: Annotated[Optional[str], typer.Option("--roles", help="PostgreSQL ledger only: also create the roles PREFIX_reader, PREFIX_writer and PREFIX_owner and grant them (README, Team mode).", show_default=False)] = None,
    ledger: LedgerOpt = None,
    now: NowOpt = None,
    json_out: JsonOpt = False,
):
    """Create the ledger with the entity's profile. Regimes default to nis2 and gdpr, plus csp for a
    health establishment."""
    cat = category.strip().lower()
    if cat not in ("essential", "important"):
        raise InputError(f"--category {category!r}; accepted: essential, important (`classify` helps decide)")
    tu.zone(timezone)
    store = _store(ledger)
    if roles is not None:
        if getattr(store, "backend", None) != "postgresql":
            raise InputError(f"--roles is for a PostgreSQL ledger (--ledger postgresql://…); {store.path} is a file, "
                             "whose access is its file permissions")
        store.roles = roles
    given = (ose, critical_entity, financial_entity, cra_manufacturer, mdr_manufacturer, ai_provider, gdpr_role)
    if not json_out and all(v is None for v in given) and not _exists(store):
        from . import prompts

        if prompts.on_terminal():  # on a terminal, no role flag given: ask each role (README: Roles)
            asked = prompts.ask_roles()
            ose, critical_entity, financial_entity, cra_manufacturer, mdr_manufacturer, ai_provider = (
                asked[key] for key, _, _ in prompts.ROLE_QUESTIONS)
            gdpr_role = asked["gdpr_role"]
    service = Service(store, resolve_now(now, timezone), regimes_dir=SETTINGS.regimes)
    outcome = service.init(name=name.strip(), category=cat, timezone=timezone, trust_service=trust_service,
                           health_establishment=health_establishment, regimes=regime or None,
                           check_within=within, targets=_targets(target),
                           reminders=_reminders(reminder, default_ladder()), reminder_every=reminder_every,
                           regimes_dir=str(Path(regimes_dir).expanduser().resolve()) if regimes_dir else None,
                           **_roles(ose, critical_entity, financial_entity, cra_manufacturer, mdr_manufacturer,
                                    ai_provider, gdpr_role, not_in_force))
    if json_out:
        from ..render.jsonout import emit

        emit({"ledger": str(store.path), "profile": outcome.value.model_dump(), "head": outcome.head})
    _report_write(outcome, f"created ledger {store.path} for {name.strip()} ({cat}, {timezone})")


def _exists(store) -> bool:
    """A ledger file already there (init will refuse it): no questions first. A PostgreSQL ledger is
    asked about (whether its tables exist is known only once connected; init refuses then)."""
    if getattr(store, "backend", None) == "postgresql":
        return False
    try:
        return store.exists()
    except OSError:
        return False


def _targets(items: Optional[list[str]]) -> Optional[dict]:
    if not items:
        return None
    out = {}
    for item in items:
        stage, sep, duration = item.partition("=")
        if not sep or not stage.strip():
            raise InputError(f"--target {item!r}; accepted: STAGE=DURATION such as csp.report=4h")
        tu.parse_duration(duration)
        out[stage.strip().lower()] = duration.strip()
    return out


def _reminders(items: Optional[list[str]], current: dict) -> Optional[dict]:
    """`--reminder PERIOD=STEP,STEP...` (repeatable) applied over `current`: sets one period's ladder;
    `PERIOD=none` keeps the period with no steps; `PERIOD=` removes it (issue 5, see ladder.py)."""
    if not items:
        return None
    from ..ladder import parse_period, parse_step

    out = {k: list(v) for k, v in current.items()}
    for item in items:
        period, sep, steps = item.partition("=")
        if not sep or not period.strip():
            raise InputError(f"--reminder {item!r}; accepted: PERIOD=STEP,STEP... such as 24h=4h,2h,1h or "
                             "1month=7d,3d,1d or 72h=80%,95% (PERIOD=none for no steps, PERIOD= to remove)")
        key, length = period.strip().lower().replace(" ", ""), parse_period(period)
        for old in [k for k in out if parse_period(k) == length]:  # the same period under another spelling
            del out[old]
        if steps.strip().lower() == "none":
            out[key] = []
        elif steps.strip():
            out[key] = [s.strip().lower() for s in steps.split(",") if s.strip()]
            for step in out[key]:
                parse_step(step, length)
    return out


@app.command("profile")
def profile_cmd(
    name: Annotated[Optional[str], typer.Option("--name", help="The reporting entity's name.", show_default=False)] = None,
    category: Annotated[Optional[str], typer.Option("--category", help="essential | important.", show_default=False)] = None,
    trust_service: Annotated[Optional[bool], typer.Option("--trust-service/--no-trust-service", help="A trust service provider.", show_default=False)] = None,
    health_establishment: Annotated[Optional[bool], typer.Option("--health-establishment/--no-health-establishment", help="A health establishment under CSP L.1111-8-2.", show_default=False)] = None,
    regime: Annotated[Optional[list[str]], typer.Option("--regime", help="The enabled regimes (repeatable; replaces the list).", show_default=False)] = None,
    within: Annotated[Optional[str], typer.Option("--within", help="Default warning window of `check`.", show_default=False)] = None,
    target: Annotated[Optional[list[str]], typer.Option("--target", help="Own target STAGE=DURATION (repeatable; STAGE= removes one).", show_default=False)] = None,
    regimes_dir: Annotated[Optional[str], typer.Option("--regimes-dir", help="A folder of regime files ('' for none).", show_default=False)] = None,
    templates_dir: Annotated[Optional[str], typer.Option("--templates-dir", help="A folder of draft templates that override the shipped ones ('' for none).", show_default=False)] = None,
    alarm: Annotated[Optional[list[str]], typer.Option("--alarm", help="Calendar alarm before each due time in `export --format ics` (repeatable; replaces the list; default 2h and 30m).", show_default=False)] = None,
    dpo: Annotated[Optional[str], typer.Option("--dpo", help="The data protection officer's name and contact details, for GDPR drafts.", show_default=False)] = None,
    reminder: Annotated[Optional[list[str]], typer.Option("--reminder", help="`check`'s reminder ladder for one period, PERIOD=STEP,STEP..., e.g. 24h=4h,2h,1h (repeatable; PERIOD= removes one).", show_default=False)] = None,
    reminder_every: Annotated[Optional[str], typer.Option("--reminder-every", help="Repeat `check`'s announcement this often while overdue or not filed (0 for once).", show_default=False)] = None,
    ose: Ose = None,
    critical_entity: CriticalEntity = None,
    financial_entity: FinancialEntity = None,
    cra_manufacturer: CraManufacturer = None,
    mdr_manufacturer: MdrManufacturer = None,
    ai_provider: AiProvider = None,
    gdpr_role: GdprRole = None,
    not_in_force: NotInForce = None,
    ledger: LedgerOpt = None,
    now: NowOpt = None,
    lock_timeout: LockOpt = None,
    json_out: JsonOpt = False,
):
    """Show the entity's profile, or change it (each change is an event in the chain)."""
    service = _service(ledger, now, lock_timeout)
    if templates_dir and not Path(templates_dir).expanduser().is_dir():
        raise InputError(f"--templates-dir {templates_dir}: not a folder; accepted: a folder of draft templates")
    changes = {"templates_dir": (str(Path(templates_dir).expanduser().resolve()) if templates_dir else "")
               if templates_dir is not None else None,
               "alarms": [a.strip().lower() for a in alarm] if alarm else None,
               "dpo": dpo.strip() if dpo is not None else None}
    changes |= {"name": name, "category": category.strip().lower() if category else None,
               "trust_service": trust_service, "health_establishment": health_establishment,
               "regimes": [r.strip().lower() for r in regime] if regime else None, "check_within": within,
               "regimes_dir": (str(Path(regimes_dir).expanduser().resolve()) if regimes_dir else "")
               if regimes_dir is not None else None}
    if target:
        current = dict(service.state().profile.targets)
        for item in target:
            stage, sep, duration = item.partition("=")
            if not sep:
                raise InputError(f"--target {item!r}; accepted: STAGE=DURATION such as csp.report=4h, or STAGE= to remove")
            if duration.strip():
                current.update(_targets([item]))
            else:
                current.pop(stage.strip().lower(), None)
        changes["targets"] = current
    if reminder:
        changes["reminders"] = _reminders(reminder, service.state().profile.reminders)
    changes["reminder_every"] = reminder_every.strip().lower() if reminder_every is not None else None
    changes |= _roles(ose, critical_entity, financial_entity, cra_manufacturer, mdr_manufacturer, ai_provider,
                      gdpr_role, not_in_force)
    if any(v is not None for v in changes.values()):
        if changes["category"] and changes["category"] not in ("essential", "important"):
            raise InputError(f"--category {category!r}; accepted: essential, important")
        outcome = service.set_profile(**changes)
        profile = outcome.value
        _report_write(outcome, "profile updated")
    else:
        profile = service.state().profile
    if json_out:
        from ..render.jsonout import emit

        emit(profile.model_dump())
        return
    from ..render.safe import printable

    for key, value in profile.model_dump().items():
        typer.echo(printable(_field(key, _plain(value))))


def _plain(value) -> str:
    """A profile value as people read it (not a Python repr): lists joined, ladders as PERIOD=STEPS."""
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(_plain(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}={','.join(map(str, v)) if isinstance(v, (list, tuple)) else (v if v else 'none')}"
                         if isinstance(v, (list, tuple)) else f"{k}={_plain(v)}" for k, v in value.items())
    return str(value)


def _field(key: str, value: str, indent: int | None = None) -> str:
    """`key: value`, wrapped to the terminal's width with the value's continuation lines under it."""
    import shutil
    import textwrap

    width = shutil.get_terminal_size((80, 24)).columns
    lead = f"{key}: "
    pad = " " * (len(lead) if indent is None else indent)
    return textwrap.fill(value, width=max(40, width), initial_indent=lead, subsequent_indent=pad,
                         break_long_words=False, break_on_hyphens=False) or lead.rstrip()


@app.command("paths")
def paths_cmd(ledger: LedgerOpt = None, now: NowOpt = None, json_out: JsonOpt = False):
    """Where the ledger and its lock file are, and how that was decided."""
    import os

    from . import ENV_LEDGER, default_ledger_path

    path = ledger_path(ledger)
    source = "--ledger" if (ledger or SETTINGS.ledger) else (f"${ENV_LEDGER}" if os.environ.get(ENV_LEDGER) else "default (platformdirs)")
    if hasattr(path, "conninfo"):  # PostgreSQL (issue 15): no files; the lock is the database's
        try:
            exists = _store(ledger).exists()
            problem = None
        except LedgerError as exc:  # the server is down: `paths` still says where the ledger is (exists unknown)
            exists, problem = None, exc.message
        data = {"ledger": str(path), "lock": "an advisory lock in the database (pg_locks)", "source": source,
                "exists": exists, "default": str(default_ledger_path())}
        if problem is not None:
            data["error"] = problem
    else:
        path = path.absolute()  # absolute, as typed (symlinks not followed): usable from anywhere
        data = {"ledger": str(path), "lock": str(path.with_name(path.name + ".lock")), "source": source,
                "exists": path.exists(), "default": str(default_ledger_path())}
    if json_out:
        from ..render.jsonout import emit

        emit(data)
        return
    from ..render.safe import printable

    for key, value in data.items():
        typer.echo(printable(f"{key}: {'unknown' if value is None else value}"))


# --- recording -----------------------------------------------------------------------------

# The facts of `open` and `update`, declared once in options.py (FACTS).
from .application import typer_annotation as _annotation  # noqa: E402

_FACT = {o.param: _annotation(o) for o in options.FACTS}
Aware = _FACT["aware"]
Detected = _FACT["detected"]
Significant = _FACT["significant"]
Undetermined = _FACT["undetermined"]
Rationale = _FACT["rationale"]
Malicious = _FACT["malicious"]
CrossBorder = _FACT["cross_border"]
PersonalData = _FACT["personal_data"]
Risk = _FACT["risk"]
RiskRationale = _FACT["risk_rationale"]
Serious = _FACT["serious"]
SeriousRationale = _FACT["serious_rationale"]
HighRisk = _FACT["high_risk"]
Summary = _FACT["summary"]
Severity = _FACT["severity"]
Impact = _FACT["impact"]
Ioc = _FACT["ioc"]
RootCause = _FACT["root_cause"]
Mitigations = _FACT["mitigations"]
ServiceDisruption = _FACT["service_disruption"]
Major = _FACT["major"]
ClassifiedMajorAt = _FACT["classified_major_at"]
ExploitedVulnerability = _FACT["exploited_vulnerability"]
SevereIncident = _FACT["severe_incident"]
CorrectiveMeasureAt = _FACT["corrective_measure_at"]
PatientHarm = _FACT["patient_harm"]
PublicHealthThreat = _FACT["public_health_threat"]
Device = _FACT["device"]
AiSystem = _FACT["ai_system"]
Widespread = _FACT["widespread_infringement"]
# issue 17: the facts of the other regimes (README: "Every duty, and triage")


from .core import _more_facts  # noqa: E402,F401  (update uses it)


@app.command("open")
@with_options(options.OPEN)
def open_cmd(**params):
    """Record an incident; prints its id and its deadlines. On a terminal, without TITLE or --aware, it
    asks for the facts (never when stdin is not a terminal)."""
    from . import core

    core.open_command(**params)


@app.command("update")
def update_cmd(
    ident: Annotated[str, typer.Argument(metavar="ID", help="Incident id (or its number).")],
    title: Annotated[Optional[str], typer.Option("--title", help="A new title.", show_default=False)] = None,
    aware: Aware = None,
    detected: Detected = None,
    significant: Significant = None,
    undetermined: Undetermined = False,
    rationale: Rationale = None,
    malicious: Malicious = None,
    cross_border: CrossBorder = None,
    personal_data: PersonalData = None,
    high_risk: HighRisk = None,
    risk: Risk = None,
    risk_rationale: RiskRationale = None,
    serious: Serious = None,
    serious_rationale: SeriousRationale = None,
    summary: Summary = None,
    severity: Severity = None,
    impact: Impact = None,
    ioc: Ioc = None,
    root_cause: RootCause = None,
    mitigations: Mitigations = None,
    service_disruption: ServiceDisruption = None,
    major: Major = None,
    classified_major_at: ClassifiedMajorAt = None,
    exploited_vulnerability: ExploitedVulnerability = None,
    severe_incident: SevereIncident = None,
    corrective_measure_at: CorrectiveMeasureAt = None,
    patient_harm: PatientHarm = None,
    public_health_threat: PublicHealthThreat = None,
    device: Device = None,
    ai_system: AiSystem = None,
    widespread_infringement: Widespread = None,
    ledger: LedgerOpt = None,
    now: NowOpt = None,
    lock_timeout: LockOpt = None,
    json_out: JsonOpt = False,
):
    """Amend an incident's facts; every amendment is recorded."""
    service = _service(ledger, now, lock_timeout)
    facts = _facts(detected, significant, undetermined, rationale, malicious, cross_border, personal_data,
                   high_risk, summary, severity, impact, ioc, root_cause, mitigations, risk, risk_rationale,
                   serious, serious_rationale)
    facts |= _more_facts(service_disruption, major, classified_major_at, exploited_vulnerability, severe_incident,
                             corrective_measure_at, patient_harm, public_health_threat, device, ai_system,
                             widespread_infringement)
    outcome = service.update_incident(ident, title=title, aware_at=aware, **facts)
    _print_incident(outcome.value, service, json_out)
    _report_write(outcome, f"updated {outcome.value.incident.id}")


@app.command("submit")
def submit_cmd(
    ident: Annotated[str, typer.Argument(metavar="ID", help="Incident id (or its number).")],
    stage: Annotated[str, typer.Argument(metavar="STAGE", help="e.g. nis2.early_warning, nis2.notification, nis2.final.")],
    at: Annotated[Optional[str], typer.Option("--at", help="When it was submitted (WHEN; default now).", show_default=False)] = None,
    reference: Annotated[Optional[str], typer.Option("--reference", help="The authority's reference.", show_default=False)] = None,
    channel: Annotated[Optional[str], typer.Option("--channel", help="How it was sent (portal, e-mail, phone...).", show_default=False)] = None,
    late_reason: Annotated[Optional[str], typer.Option("--late-reason", help="Why it is late, if it is.", show_default=False)] = None,
    draft: Annotated[Optional[str], typer.Option("--draft", help="The file of the text that was filed: its SHA-256 is kept in the record (draft_sha256).", show_default=False)] = None,
    force: Annotated[bool, typer.Option("--force", help="Record the filing even though the incident is closed (refused without it, exit 5).")] = False,
    ledger: LedgerOpt = None,
    now: NowOpt = None,
    lock_timeout: LockOpt = None,
    json_out: JsonOpt = False,
):
    """Record a filing of one stage, once its clock has started (refused before, exit 2); lateness is
    judged at filing and kept in the record."""
    from .drafts import file_sha256

    digest = file_sha256(draft) if draft is not None else None
    service = _service(ledger, now, lock_timeout)
    outcome = service.submit(ident, stage, at=at, reference=reference, channel=channel, late_reason=late_reason,
                             draft_sha256=digest, force=force)
    view = outcome.value
    last = view.incident.timeline[-1].seq
    filed = next((f for f in view.incident.filings if f.seq == last), None)
    _print_incident(view, service, json_out)
    if filed is None:  # the reasons for the delay of an earlier filing (issue 12)
        owed = next(f for f in view.incident.filings if f.reason_seq == last)
        _report_write(outcome, f"recorded the reasons for the delay of {owed.stage} for {view.incident.id}, "
                               f"filed {tu.display(owed.at, view.profile.timezone)}")
        return
    verdict = "late" if filed.late else "on time"
    _report_write(outcome, f"recorded {filed.stage} for {view.incident.id}, filed "
                           f"{tu.display(filed.at, view.profile.timezone)} ({verdict})"
                           + (f"; draft sha256 {filed.draft_sha256}" if filed.draft_sha256 else ""))


@app.command("request")
def request_cmd(
    ident: Annotated[str, typer.Argument(metavar="ID", help="Incident id (or its number).")],
    due: Annotated[Optional[str], typer.Option("--due", help="The date the authority set (WHEN; relative forms count from --at).", show_default=False)] = None,
    at: Annotated[Optional[str], typer.Option("--at", help="When the authority asked (WHEN; default now).", show_default=False)] = None,
    stage: Annotated[str, typer.Option("--stage", help="The requested report.")] = "nis2.intermediate",
    ledger: LedgerOpt = None,
    now: NowOpt = None,
    lock_timeout: LockOpt = None,
    json_out: JsonOpt = False,
):
    """Record that the authority asked for an intermediate report, due at the date it set."""
    if not due:
        raise InputError("--due WHEN is required: the date the authority set, e.g. --due 2026-04-02T18:00 or --due +48h")
    service = _service(ledger, now, lock_timeout)
    outcome = service.request(ident, due, at=at, stage=stage)
    _print_incident(outcome.value, service, json_out)
    _report_write(outcome, f"recorded the authority's request for {outcome.value.incident.id}")


def _conclude(kind: str, ident: str, at, ledger, now, lock_timeout, json_out):
    service = _service(ledger, now, lock_timeout)
    outcome = service.conclude(ident, kind, at=at)
    _print_incident(outcome.value, service, json_out)
    _report_write(outcome, f"recorded {outcome.value.incident.id} as {kind}")


@app.command("handled")
def handled_cmd(
    ident: Annotated[str, typer.Argument(metavar="ID", help="Incident id (or its number).")],
    at: Annotated[Optional[str], typer.Option("--at", help="When handling concluded (WHEN; default now).", show_default=False)] = None,
    ledger: LedgerOpt = None,
    now: NowOpt = None,
    lock_timeout: LockOpt = None,
    json_out: JsonOpt = False,
):
    """Record that handling of the incident concluded (moves the final report when it was ongoing)."""
    _conclude("handled", ident, at, ledger, now, lock_timeout, json_out)


@app.command("close")
def close_cmd(
    ident: Annotated[str, typer.Argument(metavar="ID", help="Incident id (or its number).")],
    at: Annotated[Optional[str], typer.Option("--at", help="When it was closed (WHEN; default now).", show_default=False)] = None,
    ledger: LedgerOpt = None,
    now: NowOpt = None,
    lock_timeout: LockOpt = None,
    json_out: JsonOpt = False,
):
    """Close the incident (also records handling concluded, if not yet). Open obligations stay open."""
    _conclude("closed", ident, at, ledger, now, lock_timeout, json_out)


# --- viewing -------------------------------------------------------------------------------

@app.command("list")
@with_options(options.LIST)
def list_cmd(**params):
    """Incidents with their next deadline and countdown."""
    from . import core

    core.list_incidents(**params)


@app.command("status")
@with_options(options.STATUS)
def status_cmd(**params):
    """The dashboard: every open obligation, most urgent first, with countdowns."""
    from . import core

    code = core.status(**params)
    if code:
        raise typer.Exit(code)


@app.command("show")
@with_options(options.SHOW)
def show_cmd(**params):
    """One incident: facts, obligations, filings and the timeline of recorded events."""
    from . import core

    core.show(**params)


@app.command("explain")
@with_options(options.EXPLAIN)
def explain_cmd(**params):
    """The arithmetic behind each deadline: rule, clock start, computation, conservative choices."""
    from . import core

    core.explain(**params)


@app.command("report")
@with_options(options.REPORT)
def report_cmd(period, start, end, fmt, output, lang, exercises, ledger, now, json_out):
    """The board briefing and evidence pack for a period: one self-contained HTML file (or Markdown, or
    JSON): headline figures, charts, late filings, what is still open, decisions not to report, evidence."""
    kind = (fmt or "").strip().lower()
    if json_out:
        if kind not in ("json", "html"):
            raise InputError(f"--json goes with --format json, not --format {fmt}; accepted: one of them")
        kind = "json"
    if kind == "pdf":
        raise InputError("--format pdf: no PDF is made without a browser; accepted: html, markdown, json "
                         "(print the HTML to PDF: it is laid out for A4, a page break between sections)")
    if kind not in ("html", "markdown", "json"):
        raise InputError(f"--format {fmt!r}; accepted: html, markdown, json")
    language = (lang or "").strip().lower()
    if language not in ("fr", "en"):
        raise InputError(f"--lang {lang!r}; accepted: fr, en")
    service = _service(ledger, now)
    data = service.report(period, start, end, language, exercises)
    if kind == "json":
        import json

        text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    else:
        from ..render import report as layout

        text = layout.html_document(data) if kind == "html" else layout.markdown_document(data)
    head = data["headline"]
    summary = (f"{data['period']['label']}: {head['incidents_opened']} incident(s), {head['obligations_due']} "
               f"obligation(s) due, {head['open_obligations']} still open")
    if output:
        from ..fileout import write_atomic

        path = write_atomic(output, text.encode("utf-8"), service.store.path)
        _say(f"wrote {path}: report {kind}, {summary}")
    else:
        from .drafts import _for_stdout

        sys.stdout.write(_for_stdout(text))
        sys.stdout.flush()
        _say(f"report {kind}: {summary}")


# --- cron and audit --------------------------------------------------------------------------

@app.command("verify")
@with_options(options.VERIFY)
def verify_cmd(**params):
    """Check the ledger's integrity: the hash chain, the profile, and optionally a kept head."""
    from . import core

    core.verify(**params)


def _work_units(text) -> "Decimal":
    """`--staff`: annual work units, a count that may have decimals (part-time and seasonal staff)."""
    from decimal import Decimal, InvalidOperation

    raw = str(text).strip().replace(",", ".").replace(" ", "").replace("\u202f", "")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite() or value < 0 or len(raw) > 12:
        raise InputError(f"--staff {text!r}; accepted: the staff headcount in annual work units, a number such "
                         "as 320 or 249.5")
    return value


@app.command("classify")
def classify_cmd(
    entity_type: Annotated[Optional[str], typer.Option("--type", help="healthcare_provider, eu_reference_laboratory, pharma_rnd, pharma_manufacturer, critical_medical_devices, medical_devices or other.", show_default=False)] = None,
    staff: Annotated[Optional[str], typer.Option("--staff", help="Staff headcount in annual work units (AWU), decimals allowed: 249.5.", show_default=False)] = None,
    turnover: Annotated[Optional[str], typer.Option("--turnover", help="Annual turnover in euros (48000000, 48M, 750k).", show_default=False)] = None,
    balance: Annotated[Optional[str], typer.Option("--balance", help="Annual balance-sheet total in euros.", show_default=False)] = None,
    public: Annotated[bool, typer.Option("--public", help="Publicly owned (does not make it large).")] = False,
    qualified_trust_service: Annotated[bool, typer.Option("--qualified-trust-service", help="A qualified trust service provider.")] = False,
    designated: Annotated[bool, typer.Option("--designated", help="Designated by the Member State.")] = False,
    critical_entity: Annotated[bool, typer.Option("--critical-entity", help="Identified as critical under Directive (EU) 2022/2557.")] = False,
    apply: Annotated[bool, typer.Option("--apply", help="Write the resulting category to the ledger's profile.")] = False,
    ledger: LedgerOpt = None,
    now: NowOpt = None,
    lock_timeout: LockOpt = None,
    json_out: JsonOpt = False,
):
    """Is the entity in scope of NIS 2, and essential or important? (Arts 2-3; Rec. 2003/361 sizes)."""
    from ..classify import ENTITY_TYPES, classify, parse_amount

    asked = {"--type": entity_type, "--staff": staff, "--turnover": turnover, "--balance": balance}
    missing = [k for k, v in asked.items() if v is None]
    if missing and sys.stdin.isatty() and not json_out:
        if entity_type is None:
            entity_type = typer.prompt(f"Entity type ({', '.join(ENTITY_TYPES)})", default="healthcare_provider")
        if staff is None:
            staff = typer.prompt("Staff headcount (annual work units, e.g. 249.5)")
        if turnover is None:
            turnover = typer.prompt("Annual turnover in euros (e.g. 48M)")
        if balance is None:
            balance = typer.prompt("Balance-sheet total in euros (e.g. 40M)")
    elif missing:
        raise InputError(f"missing {', '.join(missing)}; accepted: e.g. classify --type healthcare_provider "
                         "--staff 320 --turnover 48M --balance 40M")
    result = classify(entity_type.strip().lower(), _work_units(staff), parse_amount(turnover, "--turnover"),
                      parse_amount(balance, "--balance"), public=public,
                      qualified_trust_service=qualified_trust_service, designated=designated,
                      critical_entity=critical_entity)
    if apply:
        if not result.in_scope:
            raise InputError("--apply needs an in-scope result; this entity is out of scope, the profile is unchanged")
        service = _service(ledger, now, lock_timeout)
        outcome = service.set_profile(category=result.category)
        for w in outcome.warnings:
            _say(f"warning: {w}")
        _say(f"profile category: {result.category}")
        _say(f"head: {outcome.head}")
    if json_out:
        from ..render.jsonout import emit

        emit(result.to_json())
        return
    import shutil
    import textwrap

    verdict = f"in scope: {result.category}" if result.in_scope else "out of scope"
    typer.echo(f"{verdict} ({result.size} enterprise, {result.entity_type})")
    width = max(40, shutil.get_terminal_size((80, 24)).columns)
    for r in result.reasons:
        typer.echo(textwrap.fill(r, width=width, initial_indent="  - ", subsequent_indent="    ",
                                 break_long_words=False, break_on_hyphens=False))


# --- triage (issue 17) -------------------------------------------------------------------------

@app.command("triage")
def triage_cmd(
    ident: Annotated[str, typer.Argument(metavar="ID", help="Incident id (or its number).")],
    ledger: LedgerOpt = None,
    now: NowOpt = None,
    lock_timeout: LockOpt = None,
    json_out: JsonOpt = False,
):
    """Which regimes this incident triggers, for the entity's roles: applies / does not apply /
    undetermined, with the facts that decided and the questions that would settle it. On a terminal
    (without --json) it asks them and records the answers as an amendment (`update`)."""
    from .prompts import ask_triage, stdin_is_tty

    service = _service(ledger, now, lock_timeout)
    state, inc, verdicts = service.triage(ident)
    if stdin_is_tty() and not json_out and any(v.questions for v in verdicts):
        _print_triage(inc, verdicts)
        answers = ask_triage(verdicts, service.now, state.profile.timezone)
        if answers:
            outcome = service.update_incident(inc.id, **answers)
            _report_write(outcome, f"recorded the triage answers for {inc.id} ({', '.join(sorted(answers))})")
            state, inc, verdicts = service.triage(inc.id)
            typer.echo("")
    if json_out:
        from ..render.jsonout import emit

        emit({"id": inc.id, "title": inc.title, "regimes": [v.to_json() for v in verdicts]})
        return
    _print_triage(inc, verdicts)


def _print_triage(inc, verdicts) -> None:
    import shutil
    import textwrap

    from ..render.safe import printable

    width = max(40, shutil.get_terminal_size((80, 24)).columns)
    words = {"applies": "applies", "does_not_apply": "does not apply", "undetermined": "undetermined"}
    typer.echo(printable(f"{inc.id} — {inc.title}"))
    for v in verdicts:
        head = f"{v.regime} ({v.name}): {words[v.verdict]}"
        if not v.enabled:
            head += f" — not enabled (enable it with `profile --regime`, listing every regime to keep)"
        if not v.in_force:
            head += f" — {v.in_force_note}"
        typer.echo(textwrap.fill(printable(head), width=width, subsequent_indent="    ", break_long_words=False))
        lines = []
        if v.decided:
            lines.append("decided by: " + "; ".join(v.decided))
        if v.reason and v.verdict == "does_not_apply":
            lines.append("why: " + v.reason)
        for q in v.questions:
            lines.append(f"question ({q['fact']}, {q['settles']}): {q['text']} [{q['article']}]")
        for line in lines:
            typer.echo(textwrap.fill(printable(line), width=width, initial_indent="  - ",
                                     subsequent_indent="    ", break_long_words=False, break_on_hyphens=False))
