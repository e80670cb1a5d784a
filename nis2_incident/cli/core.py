"""What the commands do, without Typer: the helpers every command uses, and the bodies of `check`,
`status`, `show`, `explain`, `list`, `verify` and `open`, which both the Typer app (`check.py`,
`commands.py`) and the Typer-free fast path (`fast.py`) run (the others: `outputs.py`, `writes.py`).
Nothing here imports Typer; Rich only where something is drawn for people.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Optional

from .. import timeutil as tu
from ..errors import InputError, LedgerError, Nis2IncidentError
from . import SETTINGS, ledger_path, resolve_now
from .exits import CHECK_FORMAT, say

if TYPE_CHECKING:
    from ..service import Outcome, Service

FORMATS = ("text", "nagios", "json", "syslog")


# --- helpers -----------------------------------------------------------------------------

def _store(ledger: Optional[str], lock_timeout: Optional[float] = None):
    from ..ledger import Store

    timeout = lock_timeout if lock_timeout is not None else SETTINGS.lock_timeout
    path = ledger_path(ledger)
    if not hasattr(path, "conninfo"):  # a file (not a PostgreSQL ledger, issue 15)
        check_ledger_path(path)
    return Store(path, lock_timeout=timeout)


def check_ledger_path(path: Path) -> None:
    """A path that cannot be a ledger is refused before anything is created (no lock file, no folder):
    a folder (`--ledger /tmp` left `/tmp.lock` behind), or a path under a file."""
    try:
        if path.is_dir():
            raise InputError(f"--ledger {path}: is a folder, not a ledger file; accepted: a file in it, e.g. "
                             f"{path / 'ledger.toml'}")
        for parent in path.parents:
            if parent.exists():
                if not parent.is_dir():
                    raise InputError(f"--ledger {path}: {parent} is a file, not a folder; accepted: a ledger "
                                     "path whose folders are folders")
                break
    except OSError:  # unreadable or too long: the store says why when it tries
        pass


def _service(ledger: Optional[str], now: Optional[str], lock_timeout: Optional[float] = None):
    import os

    from ..service import Service

    from . import ENV_NOW

    store = _store(ledger, lock_timeout)
    text = now or SETTINGS.now or os.environ.get(ENV_NOW)
    service = Service(store, tu.now_utc(), regimes_dir=SETTINGS.regimes)
    service.notify = lambda message: _say(f"note: {message}")  # "as of" a past --now (issue 12), advice
    if text and not _has_offset_or_relative(text):
        # An offset-less --now is read in the profile's zone: read the ledger once for it, and let
        # the command's own read take that state rather than read (and parse) the ledger again.
        state = service.state(as_of=False)  # only the zone: `state()` then folds as of the new `now`
        service.now = resolve_now(now, state.profile.timezone)
        if state.recorded_max is None or service.now >= state.recorded_max:
            service.keep(state)  # else read again "as of" that instant
    else:
        service.now = resolve_now(now, "Europe/Paris")
    return service


def _has_offset_or_relative(text: str) -> bool:
    t = text.strip().lower()
    return t == "now" or t.endswith("ago") or t[:1] in "+-" or t.startswith("in ") or t.endswith("z") or \
        (len(t) > 10 and ("+" in t[10:] or "-" in t[10:]))


_say = say  # every message of a command goes to stderr through the one writer


def echo(text: str) -> None:
    """One line of data on stdout, as `typer.echo` wrote it (the text, a newline, flushed) without
    loading Click; what it prints has had its control characters escaped (`render.safe.printable`),
    so Click's stripping of ANSI styles off a terminal had nothing to strip."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _report_write(outcome: Outcome, done: str) -> None:
    for w in outcome.warnings:
        _say(f"warning: {w}")
    _say(f"{done}\nhead: {outcome.head}")  # one write: a log never holds the line without its head


def _refuse_own_file(option: str, target, ledger: Path, allow_state: bool = False) -> None:
    """InputError when the file an option names is the ledger or one of its own files (by device and
    inode, through links; issue 14). `allow_state`: `check --state` may name the ledger's own state."""
    from ..alert_state import default_path
    from ..ledger import safefile

    if hasattr(ledger, "conninfo"):
        return  # a PostgreSQL ledger has no files to destroy (issue 15)
    allow = (default_path(ledger),) if allow_state else ()
    which = safefile.own_file(Path(target).expanduser(), ledger, allow)
    if which is not None:
        what = "the ledger itself" if which == ledger.name else f"the ledger's own file {which}"
        raise InputError(f"{option} {target}: is {what} ({ledger}), which this would destroy; accepted: another file")


def _within(service: Service, profile, within: Optional[str]):
    return tu.parse_duration(within or profile.check_within)


def _facts(detected, significant, undetermined, rationale, malicious, cross_border, personal_data, high_risk,
           summary, severity, impact, ioc, root_cause, mitigations, risk=None, risk_rationale=None,
           serious=None, serious_rationale=None) -> dict:
    if undetermined and significant is not None:
        raise InputError("--undetermined goes with neither --significant nor --not-significant; choose one")
    significance = "undetermined" if undetermined else (
        None if significant is None else ("significant" if significant else "not_significant"))
    return {"detected_at": detected, "significance": significance, "significance_rationale": rationale,
            "malicious": malicious, "cross_border": cross_border, "personal_data": personal_data,
            "high_risk": high_risk, "summary": summary, "severity": severity, "impact": impact,
            "iocs": ioc or None, "root_cause": root_cause, "mitigations": mitigations,
            "breach_risk": risk, "breach_risk_rationale": risk_rationale, "serious": serious,
            "serious_rationale": serious_rationale}


def _print_incident(view, service, json_out: bool, within=None) -> None:
    if json_out:
        from ..render.jsonout import emit, incident

        emit(incident(view))
        return
    from ..render.views import deadlines_table, out_console

    console = out_console()
    console.print(f"{view.incident.id}  {view.incident.title}", markup=False)
    within = within or tu.parse_duration(view.profile.check_within)
    console.print(deadlines_table([view], service.now, within, include_closed_states=True, show_incident=False))



# --- check ---------------------------------------------------------------------------------

_stderr = say

# Where the local syslog listens (Linux, macOS, the BSDs): without one, `syslog.syslog` loses every
# message silently.
SYSLOG_SOCKETS = ("/dev/log", "/var/run/syslog", "/var/run/log")


def syslog_available() -> bool:
    import stat

    for path in SYSLOG_SOCKETS:
        try:
            if stat.S_ISSOCK(os.stat(path).st_mode):
                return True
        except OSError:
            continue
    return False


def _syslog(records: list[tuple[int, str]]) -> None:
    """Send (level, message) pairs to the local syslog (facility user, ident nis2-incident)."""
    import syslog

    from .. import alerts

    priority = {alerts.WARNING: syslog.LOG_WARNING, alerts.CRITICAL: syslog.LOG_CRIT, alerts.UNKNOWN: syslog.LOG_ERR}
    syslog.openlog("nis2-incident", syslog.LOG_PID, syslog.LOG_USER)
    try:
        for level, message in records:
            syslog.syslog(priority.get(level, syslog.LOG_NOTICE), message)
    finally:
        syslog.closelog()


def check(within: Optional[str] = None, fmt: str = "text", all_: bool = False, quiet: bool = False,
          dry_run: bool = False, state_path: Optional[str] = None, ledger: Optional[str] = None,
          now: Optional[str] = None, json_out: bool = False) -> int:
    """`check`: the exit code (0 ok, 1 due soon or past a reminder step, 2 overdue, 3 unknown)."""
    from .. import alerts

    chosen = (fmt or "").strip().lower()
    # From here on, a failure is reported as UNKNOWN in this format (exits.finish): exit 3 every time,
    # whatever the state file says: a broken record is never old news.
    CHECK_FORMAT["format"] = "json" if json_out else (chosen if chosen in FORMATS else "text")
    if chosen not in FORMATS:
        raise InputError(f"--format {fmt!r}; accepted: {', '.join(FORMATS)}")
    if json_out and chosen not in ("text", "json"):
        raise InputError(f"--json is --format json; it cannot go with --format {chosen}")
    if json_out:
        chosen = "json"
    if chosen == "syslog" and not syslog_available():
        # Nothing would reach syslog: say so, show the findings here, and record none as announced.
        say(f"warning: no local syslog socket ({', '.join(SYSLOG_SOCKETS)}); the findings are printed "
            "here instead and not recorded as announced")
        chosen, dry_run = "text", True
        CHECK_FORMAT["format"] = "text"
    if state_path is not None:
        _refuse_own_file("--state", state_path, ledger_path(ledger), allow_state=True)
    service = _service(ledger, now)
    state, views = service.views(live_only=True)  # settled incidents have no finding, at any `now`
    window = _within(service, state.profile, within)

    clock = service.now
    found = alerts.findings(views, clock, window)
    code = alerts.exit_code(found)
    open_count = sum(len(v.open_obligations) for v in views)
    summary = alerts.summary_line(found, window, open_count)

    if chosen == "nagios":
        # A Nagios-family scheduler wants the current state every time and does its own notification
        # logic: the status line (with perfdata) first, then every current finding as long output.
        lines = [summary] + [alerts.text_line(f, clock, window) for f in found]
        sys.stdout.write("\n".join(lines) + "\n")
        return code

    def emit(announce: list, fresh: set) -> None:
        """Print (or send) the announced findings and the summary; nothing at all under --quiet when
        nothing is new (--all: when there is no finding)."""
        if quiet and not (announce if all_ else fresh):
            return
        if chosen == "json":
            for f in announce:
                sys.stdout.write(json.dumps(alerts.json_record(f, clock, f.key in fresh), ensure_ascii=False) + "\n")
            sys.stdout.flush()
            return
        if chosen == "syslog":
            if announce:
                _syslog([(f.level, alerts.syslog_message(f, clock, window)) for f in announce])
        else:
            for f in announce:
                sys.stdout.write(alerts.text_line(f, clock, window) + "\n")
        sys.stdout.write(summary + "\n")
        sys.stdout.flush()

    from ..alert_state import StateFile, default_path

    store_path = service.store.path
    server = hasattr(store_path, "conninfo")  # PostgreSQL (issue 15): the state is in the user's state folder
    state_file = StateFile(Path(state_path).expanduser() if state_path else default_path(store_path),
                           lock_timeout=SETTINGS.lock_timeout, like=None if server else store_path)
    if all_:
        announced, warning = state_file.load()  # read only: to tell which findings are new
        if warning:
            _stderr(f"warning: {warning}")
        new, _ = alerts.select_new(found, announced, clock)
        emit(found, {f.key for f in new})
        return code

    new = None
    try:
        with state_file.locked():
            announced, warning = state_file.load()
            if warning:
                _stderr(f"warning: {warning}")
            new, keep = alerts.select_new(found, announced, clock)
            emit(new, {f.key for f in new})  # announce first: a crash before saving repeats, never loses
            if not dry_run and keep != announced:
                state_file.save(keep, store_path if server else store_path.resolve(), tu.rfc3339(clock))
                for notice in state_file.notices:
                    _stderr(f"warning: {notice}")
    except Nis2IncidentError as exc:
        # The state could not be locked or written: say so, and announce rather than stay silent.
        if SETTINGS.debug:
            import traceback

            sys.stderr.write(traceback.format_exc())
        _stderr(f"warning: {exc.message}")
        if new is None:
            new, _ = alerts.select_new(found, {}, clock)
            emit(new, {f.key for f in new})
    return code


# --- status and open -----------------------------------------------------------------------

def status(ident: Optional[str] = None, within: Optional[str] = None, watch: bool = False,
           ledger: Optional[str] = None, now: Optional[str] = None, json_out: bool = False) -> int:
    if watch and json_out:
        raise InputError("--watch draws the live dashboard; --json prints one snapshot; accepted: one of them")
    service = _service(ledger, now)
    if watch:
        from .watch import run

        return run(ident, within, service)
    if ident:
        state, view = service.one(ident)
        views = [view]
    else:
        state, views = service.views(live_only=True)  # settled incidents have nothing open to show
    if json_out:
        from ..render.jsonout import emit, incident

        emit([incident(v) for v in views if v.incident.status != "closed" or v.open_obligations])
        return 0
    from ..render.views import out_console, status as dashboard

    window = _within(service, state.profile, within)
    out_console().print(dashboard(views, service.now, window, state.profile.name, state.profile.timezone))
    return 0


def show(ident: str, ledger: Optional[str] = None, now: Optional[str] = None, json_out: bool = False) -> int:
    """`show`: one incident: facts, obligations, filings and the timeline of recorded events."""
    service = _service(ledger, now)
    state, view = service.one(ident)
    if json_out:
        from ..render.jsonout import detail, emit

        emit(detail(view))
        return 0
    from ..render.views import incident_detail, out_console

    out_console().print(incident_detail(view, service.now, tu.parse_duration(state.profile.check_within)))
    return 0


def explain(ident: str, stage: Optional[str] = None, ledger: Optional[str] = None, now: Optional[str] = None,
            json_out: bool = False) -> int:
    """`explain`: the arithmetic behind each deadline."""
    service = _service(ledger, now)
    state, view = service.one(ident, explain=True)  # with the text of the arithmetic
    name = service.resolve_stage(stage, state.profile) if stage else None
    if json_out:
        from ..render.jsonout import emit, explanation as as_json

        emit(as_json(view, name))
        return 0
    from ..render.views import explanation as as_text, out_console

    out_console().print(as_text(view, name))
    return 0


def _more_facts(service_disruption, major, classified_major_at, exploited_vulnerability, severe_incident,
                corrective_measure_at, patient_harm, public_health_threat, device, ai_system, widespread) -> dict:
    """The facts of issue 17's options, with the ledger's names (None: not given)."""
    return {"service_disruption": service_disruption, "major": major, "classified_major_at": classified_major_at,
            "vulnerability_exploited": exploited_vulnerability, "severe_incident": severe_incident,
            "corrective_measure_at": corrective_measure_at, "patient_harm": patient_harm,
            "public_health_threat": public_health_threat, "device_involved": device,
            "ai_system_involved": ai_system, "widespread_infringement": widespread}


_MORE = ("service_disruption", "major", "classified_major_at", "exploited_vulnerability", "severe_incident",
         "corrective_measure_at", "patient_harm", "public_health_threat", "device", "ai_system",
         "widespread_infringement")


def open_command(**params) -> int:
    """`open` with the parameters of `options.OPEN` (both ways in)."""
    more = _more_facts(*(params.pop(name, None) for name in _MORE))
    return open_incident(**params, more=more)


def open_incident(title: Optional[str] = None, aware: Optional[str] = None, detected: Optional[str] = None,
                  significant: Optional[bool] = None, undetermined: bool = False, rationale: Optional[str] = None,
                  malicious: Optional[bool] = None, cross_border: Optional[bool] = None,
                  personal_data: Optional[bool] = None, high_risk: Optional[bool] = None,
                  risk: Optional[bool] = None, risk_rationale: Optional[str] = None, serious: Optional[bool] = None,
                  serious_rationale: Optional[str] = None, summary: Optional[str] = None,
                  severity: Optional[str] = None, impact: Optional[str] = None, ioc: Optional[list[str]] = None,
                  root_cause: Optional[str] = None, mitigations: Optional[str] = None,
                  ledger: Optional[str] = None, now: Optional[str] = None, lock_timeout: Optional[float] = None,
                  json_out: bool = False, more: Optional[dict] = None) -> int:
    facts = _facts(detected, significant, undetermined, rationale, malicious, cross_border, personal_data,
                   high_risk, summary, severity, impact, ioc, root_cause, mitigations, risk, risk_rationale,
                   serious, serious_rationale)
    facts |= more or {}  # issue 17's facts (_more_facts)
    if title is None or not aware:
        from .prompts import open_interactively

        service, title, aware, facts = open_interactively(title, aware or None, facts,
                                                          lambda: _service(ledger, now, lock_timeout))
    else:
        service = _service(ledger, now, lock_timeout)
    outcome = service.open_incident(title, aware, **facts)
    view = outcome.value
    _print_incident(view, service, json_out)
    _report_write(outcome, f"recorded {view.incident.id}")
    return 0


def list_incidents(ledger: Optional[str] = None, now: Optional[str] = None, json_out: bool = False) -> int:
    """`list`: incidents with their next deadline and countdown."""
    service = _service(ledger, now)
    state = service.state()
    if json_out:
        from ..render.jsonout import Indented, Lazy, dumps_item, emit_chunks, incident

        # one at a time (at 10,000 incidents, all at once is hundreds of MB); settled ones as kept, laid
        # out for their place in the list and written as they are kept
        emit_chunks(Lazy(Indented(text) for text in service.texts(
            state, "list-json-indented", lambda v: dumps_item(incident(v), 0), encoded=True)))
        return 0
    from ..render.views import incident_list, out_console

    out_console().print(incident_list(service.each_view(state), service.now))
    return 0


def verify(head: Optional[str] = None, ledger: Optional[str] = None, now: Optional[str] = None,
           json_out: bool = False) -> int:
    """`verify`: the hash chain, the profile, and optionally a kept head (always from the ledger's bytes)."""
    from ..service import Service

    service = Service(_store(ledger), tu.now_utc())
    try:
        result = service.verify(head)
    except LedgerError as exc:
        if json_out:
            from ..render.jsonout import emit

            emit({"ok": False, "error": exc.message, "first_bad_seq": getattr(exc, "seq", None)})
        raise
    if json_out:
        from ..render.jsonout import emit

        emit(result)
        return 0
    lines = [f"ok: {result['events']} events, {result['incidents']} incidents, chain verified"]
    if result["head_check"]:
        lines.append(result["head_check"])
    lines.append(f"head: {result['head']}")
    sys.stdout.write("\n".join(lines) + "\n")
    return 0
