"""The bodies of the commands that record (`update`, `submit`, `request`, `handled`, `close`, `triage`,
`classify --apply`, `ledger migrate|pull|push`) and set up (`init`, `profile`), and of `paths` and
`report`, without Typer (issue 13 item 7): the fast path
(`fast.py`) and the Typer commands (`commands.py`) run them, with the options declared once in
`options.py` (UPDATE, SUBMIT, ..., INIT, PROFILE; the roles of both in ROLES).

What asks on a terminal (`init`'s roles, `triage`'s questions, `classify`'s figures) asks here, on both
ways in, exactly as before: the question is the same function (`prompts.py`, which loads Click's prompt
only when it asks), and what decides whether to ask (`prompts.on_terminal`, `prompts.stdin_is_tty`,
`sys.stdin.isatty()`) is read at the same point of the body. So nothing is left to the Typer app for a
terminal: leaving it there would need a second test of "is this a terminal" in the parser, which could
disagree with the body's.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

from .. import timeutil as tu
from ..errors import InputError, LedgerError
from . import SETTINGS, ledger_path, options, resolve_now
from .core import _MORE, _facts, _more_facts, _print_incident, _report_write, _say, _service, _store, echo


# --- recording -----------------------------------------------------------------------------

def update(ident: str, title: Optional[str] = None, aware: Optional[str] = None, ledger: Optional[str] = None,
           now: Optional[str] = None, lock_timeout: Optional[float] = None, json_out: bool = False,
           **facts) -> int:
    """`update`: amend an incident's facts (the parameters of `options.UPDATE`); every amendment is recorded."""
    service = _service(ledger, now, lock_timeout)
    more = _more_facts(*(facts.pop(name, None) for name in _MORE))
    given = _facts(**{k: facts.get(k) for k in ("detected", "significant", "undetermined", "rationale", "malicious",
                                                 "cross_border", "personal_data", "high_risk", "summary", "severity",
                                                 "impact", "ioc", "root_cause", "mitigations", "risk",
                                                 "risk_rationale", "serious", "serious_rationale")})
    given |= more
    outcome = service.update_incident(ident, title=title, aware_at=aware, **given)
    _print_incident(outcome.value, service, json_out)
    _report_write(outcome, f"updated {outcome.value.incident.id}")
    return 0


def submit(ident: str, stage: str, at: Optional[str] = None, reference: Optional[str] = None,
           channel: Optional[str] = None, late_reason: Optional[str] = None, draft: Optional[str] = None,
           force: bool = False, ledger: Optional[str] = None, now: Optional[str] = None,
           lock_timeout: Optional[float] = None, json_out: bool = False) -> int:
    """`submit`: record a filing of one stage, once its clock has started; lateness judged at filing."""
    from .outputs import file_sha256

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
        return 0
    verdict = "late" if filed.late else "on time"
    _report_write(outcome, f"recorded {filed.stage} for {view.incident.id}, filed "
                           f"{tu.display(filed.at, view.profile.timezone)} ({verdict})"
                           + (f"; draft sha256 {filed.draft_sha256}" if filed.draft_sha256 else ""))
    return 0


def request(ident: str, due: Optional[str] = None, at: Optional[str] = None, stage: str = "nis2.intermediate",
            ledger: Optional[str] = None, now: Optional[str] = None, lock_timeout: Optional[float] = None,
            json_out: bool = False) -> int:
    """`request`: the authority asked for an intermediate report, due at the date it set."""
    if not due:
        raise InputError("--due WHEN is required: the date the authority set, e.g. --due 2026-04-02T18:00 or --due +48h")
    service = _service(ledger, now, lock_timeout)
    outcome = service.request(ident, due, at=at, stage=stage)
    _print_incident(outcome.value, service, json_out)
    _report_write(outcome, f"recorded the authority's request for {outcome.value.incident.id}")
    return 0


def _conclude(kind: str, ident: str, at, ledger, now, lock_timeout, json_out) -> int:
    service = _service(ledger, now, lock_timeout)
    outcome = service.conclude(ident, kind, at=at)
    _print_incident(outcome.value, service, json_out)
    _report_write(outcome, f"recorded {outcome.value.incident.id} as {kind}")
    return 0


def handled(ident: str, at: Optional[str] = None, ledger: Optional[str] = None, now: Optional[str] = None,
            lock_timeout: Optional[float] = None, json_out: bool = False) -> int:
    """`handled`: handling of the incident concluded."""
    return _conclude("handled", ident, at, ledger, now, lock_timeout, json_out)


def close(ident: str, at: Optional[str] = None, ledger: Optional[str] = None, now: Optional[str] = None,
          lock_timeout: Optional[float] = None, json_out: bool = False) -> int:
    """`close`: close the incident (also records handling concluded, if not yet)."""
    return _conclude("closed", ident, at, ledger, now, lock_timeout, json_out)


# --- triage (issue 17) -----------------------------------------------------------------------

def triage(ident: str, ledger: Optional[str] = None, now: Optional[str] = None,
           lock_timeout: Optional[float] = None, json_out: bool = False) -> int:
    """`triage`: which regimes this incident triggers; on a terminal (without --json) it asks the questions
    that would settle them and records the answers as an amendment."""
    service = _service(ledger, now, lock_timeout)
    state, inc, verdicts = service.triage(ident)
    if not json_out:  # (prompts only when it may ask: `triage --json` loads no prompt)
        from . import prompts

        if prompts.stdin_is_tty() and any(v.questions for v in verdicts):
            _print_triage(inc, verdicts)
            answers = prompts.ask_triage(verdicts, service.now, state.profile.timezone)
            if answers:
                outcome = service.update_incident(inc.id, **answers)
                _report_write(outcome, f"recorded the triage answers for {inc.id} ({', '.join(sorted(answers))})")
                state, inc, verdicts = service.triage(inc.id)
                echo("")
    if json_out:
        from ..render.jsonout import emit

        emit({"id": inc.id, "title": inc.title, "regimes": [v.to_json() for v in verdicts]})
        return 0
    _print_triage(inc, verdicts)
    return 0


def _print_triage(inc, verdicts) -> None:
    import shutil
    import textwrap

    from ..render.safe import printable

    width = max(40, shutil.get_terminal_size((80, 24)).columns)
    words = {"applies": "applies", "does_not_apply": "does not apply", "undetermined": "undetermined"}
    echo(printable(f"{inc.id} — {inc.title}"))
    for v in verdicts:
        head = f"{v.regime} ({v.name}): {words[v.verdict]}"
        if not v.enabled:
            head += " — not enabled (enable it with `profile --regime`, listing every regime to keep)"
        if not v.in_force:
            head += f" — {v.in_force_note}"
        echo(textwrap.fill(printable(head), width=width, subsequent_indent="    ", break_long_words=False))
        lines = []
        if v.decided:
            lines.append("decided by: " + "; ".join(v.decided))
        if v.reason and v.verdict == "does_not_apply":
            lines.append("why: " + v.reason)
        for q in v.questions:
            lines.append(f"question ({q['fact']}, {q['settles']}): {q['text']} [{q['article']}]")
        for line in lines:
            echo(textwrap.fill(printable(line), width=width, initial_indent="  - ",
                               subsequent_indent="    ", break_long_words=False, break_on_hyphens=False))


# --- classify ----------------------------------------------------------------------------------

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


def classify(entity_type: Optional[str] = None, staff: Optional[str] = None, turnover: Optional[str] = None,
             balance: Optional[str] = None, public: bool = False, qualified_trust_service: bool = False,
             designated: bool = False, critical_entity: bool = False, apply: bool = False,
             ledger: Optional[str] = None, now: Optional[str] = None, lock_timeout: Optional[float] = None,
             json_out: bool = False) -> int:
    """`classify`: is the entity in scope of NIS 2, and essential or important?"""
    from ..classify import ENTITY_TYPES, classify as decide, parse_amount

    asked = {"--type": entity_type, "--staff": staff, "--turnover": turnover, "--balance": balance}
    missing = [k for k, v in asked.items() if v is None]
    if missing and sys.stdin.isatty() and not json_out:
        from .prompts import prompt

        if entity_type is None:
            entity_type = prompt(f"Entity type ({', '.join(ENTITY_TYPES)})", default="healthcare_provider")
        if staff is None:
            staff = prompt("Staff headcount (annual work units, e.g. 249.5)")
        if turnover is None:
            turnover = prompt("Annual turnover in euros (e.g. 48M)")
        if balance is None:
            balance = prompt("Balance-sheet total in euros (e.g. 40M)")
    elif missing:
        raise InputError(f"missing {', '.join(missing)}; accepted: e.g. classify --type healthcare_provider "
                         "--staff 320 --turnover 48M --balance 40M")
    result = decide(entity_type.strip().lower(), _work_units(staff), parse_amount(turnover, "--turnover"),
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
        return 0
    import shutil
    import textwrap

    verdict = f"in scope: {result.category}" if result.in_scope else "out of scope"
    echo(f"{verdict} ({result.size} enterprise, {result.entity_type})")
    width = max(40, shutil.get_terminal_size((80, 24)).columns)
    for r in result.reasons:
        echo(textwrap.fill(r, width=width, initial_indent="  - ", subsequent_indent="    ",
                           break_long_words=False, break_on_hyphens=False))
    return 0


# --- set-up: init and profile ------------------------------------------------------------------

def _roles(params: dict) -> dict:
    """The role options (`options.ROLES`) as profile fields (None: not given), taken out of `params`."""
    out = {key: params.pop(key, None) for key in options.ROLE_PARAMS}
    gdpr_role, not_in_force = out.pop("gdpr_role"), out.pop("not_in_force")
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


_ASKED_ROLES = ("ose", "critical_entity", "financial_entity", "cra_manufacturer", "mdr_manufacturer", "ai_provider",
                "gdpr_role")


def init(name: str, category: str, timezone: str = "Europe/Paris", trust_service: bool = False,
         health_establishment: bool = False, regime: Optional[list[str]] = None, within: str = "6h",
         target: Optional[list[str]] = None, regimes_dir: Optional[str] = None,
         reminder: Optional[list[str]] = None, reminder_every: Optional[str] = None, roles: Optional[str] = None,
         ledger: Optional[str] = None, now: Optional[str] = None, json_out: bool = False, **role_options) -> int:
    """`init`: create the ledger with the entity's profile (the roles in `role_options`, options.ROLES)."""
    from ..ladder import default_ladder
    from ..service import Service

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
    if not json_out and all(role_options.get(k) is None for k in _ASKED_ROLES) and not _exists(store):
        from . import prompts

        if prompts.on_terminal():  # on a terminal, no role flag given: ask each role (README: Roles)
            asked = prompts.ask_roles()
            for key, _, _ in prompts.ROLE_QUESTIONS:
                role_options[key] = asked[key]
            role_options["gdpr_role"] = asked["gdpr_role"]
    service = Service(store, resolve_now(now, timezone), regimes_dir=SETTINGS.regimes)
    outcome = service.init(name=name.strip(), category=cat, timezone=timezone, trust_service=trust_service,
                           health_establishment=health_establishment, regimes=regime or None,
                           check_within=within, targets=_targets(target),
                           reminders=_reminders(reminder, default_ladder()), reminder_every=reminder_every,
                           regimes_dir=str(Path(regimes_dir).expanduser().resolve()) if regimes_dir else None,
                           **_roles(role_options))
    if json_out:
        from ..render.jsonout import emit

        emit({"ledger": str(store.path), "profile": outcome.value.model_dump(), "head": outcome.head})
    _report_write(outcome, f"created ledger {store.path} for {name.strip()} ({cat}, {timezone})")
    return 0


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


def profile(name: Optional[str] = None, category: Optional[str] = None, trust_service: Optional[bool] = None,
            health_establishment: Optional[bool] = None, regime: Optional[list[str]] = None,
            within: Optional[str] = None, target: Optional[list[str]] = None, regimes_dir: Optional[str] = None,
            templates_dir: Optional[str] = None, alarm: Optional[list[str]] = None, dpo: Optional[str] = None,
            reminder: Optional[list[str]] = None, reminder_every: Optional[str] = None,
            ledger: Optional[str] = None, now: Optional[str] = None, lock_timeout: Optional[float] = None,
            json_out: bool = False, **role_options) -> int:
    """`profile`: show the entity's profile, or change it (each change is an event in the chain)."""
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
    changes |= _roles(role_options)
    if any(v is not None for v in changes.values()):
        if changes["category"] and changes["category"] not in ("essential", "important"):
            raise InputError(f"--category {category!r}; accepted: essential, important")
        outcome = service.set_profile(**changes)
        shown = outcome.value
        _report_write(outcome, "profile updated")
    else:
        shown = service.state().profile
    if json_out:
        from ..render.jsonout import emit

        emit(shown.model_dump())
        return 0
    from ..render.safe import printable

    for key, value in shown.model_dump().items():
        echo(printable(_field(key, _plain(value))))
    return 0


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


# --- paths -------------------------------------------------------------------------------------

def paths(ledger: Optional[str] = None, now: Optional[str] = None, json_out: bool = False) -> int:
    """`paths`: where the ledger and its lock file are, and how that was decided."""
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
        return 0
    from ..render.safe import printable

    for key, value in data.items():
        echo(printable(f"{key}: {'unknown' if value is None else value}"))
    return 0


# --- report (issue 18) ---------------------------------------------------------------------------

def report(period: Optional[str] = None, start: Optional[str] = None, end: Optional[str] = None,
           fmt: str = "html", output: Optional[str] = None, lang: str = "fr", exercises: Optional[str] = None,
           ledger: Optional[str] = None, now: Optional[str] = None, json_out: bool = False) -> int:
    """`report`: the board briefing and evidence pack for a period."""
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

        written = write_atomic(output, text.encode("utf-8"), service.store.path)
        _say(f"wrote {written}: report {kind}, {summary}")
    else:
        from .outputs import _for_stdout

        sys.stdout.write(_for_stdout(text))
        sys.stdout.flush()
        _say(f"report {kind}: {summary}")
    return 0


# --- `ledger migrate`, `ledger pull`, `ledger push` (issues 13 and 15) -----------------------------

def _where(text: str):
    """A ledger named on the command line: a PostgreSQL connection string, else a file."""
    from . import server_target

    return server_target(text) or Path(text).expanduser()


def _kind(store) -> str:
    return getattr(store, "backend", store.kind)


def migrate(old: str, new: str, now: Optional[str] = None, json_out: bool = False) -> int:
    """`ledger migrate OLD NEW`: every event of OLD into a new ledger NEW, verified before and after."""
    from ..ledger import Store
    from ..service import Service

    source, target = _where(old), _where(new)
    if isinstance(source, Path) and isinstance(target, Path) and source.resolve() == target.resolve():
        raise InputError(f"{new}: the same file as {old}; accepted: a new file name, e.g. ledger.jsonl")
    if str(source) == str(target):
        raise InputError(f"{target}: the same ledger as {source}; accepted: another database or a file name")
    store = Store(target, lock_timeout=SETTINGS.lock_timeout)
    service = Service(Store(source, lock_timeout=SETTINGS.lock_timeout), tu.now_utc(), regimes_dir=SETTINGS.regimes)
    outcome = service.migrate(store)
    info = outcome.value
    if json_out:
        from ..render.jsonout import emit

        emit(info)
    _report_write(outcome, f"migrated {info['events']} event(s), {info['incidents']} incident(s): "
                           f"{info['from']} -> {info['to']} ({_kind(store)})")
    return 0


def pull(to: str, ledger: Optional[str] = None, now: Optional[str] = None, json_out: bool = False) -> int:
    """`ledger pull --to FILE.jsonl`: the shared record copied to a local log."""
    from .. import team

    service = _service(ledger, now)
    outcome = team.pull(service, Path(to).expanduser())
    info = outcome.value
    if json_out:
        from ..render.jsonout import emit

        emit(info)
    _report_write(outcome, f"pulled {info['copied']} event(s): {info['from']} -> {info['to']} "
                           f"({info['events']} in all)")
    return 0


def push(source: str, rebase: bool = False, ledger: Optional[str] = None, now: Optional[str] = None,
         json_out: bool = False) -> int:
    """`ledger push FILE.jsonl [--rebase]`: the events recorded offline appended to the shared record."""
    from .. import team

    service = _service(ledger, now)
    outcome = team.push(service, Path(source).expanduser(), rebase)
    info = outcome.value
    if json_out:
        from ..render.jsonout import emit

        emit(info)
    how = " (re-sealed after the record's head)" if info.get("rebased") else ""
    _report_write(outcome, f"pushed {info['pushed']} event(s){how}: {info['from']} -> {info['to']}")
    return 0
