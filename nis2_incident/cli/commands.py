"""The Typer commands (names are contract: README, Commands), built from the declarations of
`options.py` (`with_options`), each running the one body that `fast.py` also runs without Typer
(`core.py`, `writes.py`; `check.py`, `drafts.py`, `ledger_cmd.py` and `exercise.py` hold the others). So `--help`, completion and
Click's usage errors come from here, and every option is declared once (issue 13 item 7)."""

from __future__ import annotations

from . import options
from .application import app, run_body as _run, with_options


# --- set-up ------------------------------------------------------------------------------

@app.command("init")
@with_options(options.INIT)
def init_cmd(**params):
    """Create the ledger with the entity's profile. Regimes default to nis2 and gdpr, plus csp for a
    health establishment."""
    _run("init", params)


@app.command("profile")
@with_options(options.PROFILE)
def profile_cmd(**params):
    """Show the entity's profile, or change it (each change is an event in the chain)."""
    _run("profile", params)


@app.command("paths")
@with_options(options.PATHS)
def paths_cmd(**params):
    """Where the ledger and its lock file are, and how that was decided."""
    _run("paths", params)


# --- recording -----------------------------------------------------------------------------

@app.command("open")
@with_options(options.OPEN)
def open_cmd(**params):
    """Record an incident; prints its id and its deadlines. On a terminal, without TITLE or --aware, it
    asks for the facts (never when stdin is not a terminal)."""
    _run("open", params)


@app.command("update")
@with_options(options.UPDATE)
def update_cmd(**params):
    """Amend an incident's facts; every amendment is recorded."""
    _run("update", params)


@app.command("submit")
@with_options(options.SUBMIT)
def submit_cmd(**params):
    """Record a filing of one stage, once its clock has started (refused before, exit 2); lateness is
    judged at filing and kept in the record."""
    _run("submit", params)


@app.command("request")
@with_options(options.REQUEST)
def request_cmd(**params):
    """Record that the authority asked for an intermediate report, due at the date it set."""
    _run("request", params)


@app.command("handled")
@with_options(options.HANDLED)
def handled_cmd(**params):
    """Record that handling of the incident concluded (moves the final report when it was ongoing)."""
    _run("handled", params)


@app.command("close")
@with_options(options.CLOSE)
def close_cmd(**params):
    """Close the incident (also records handling concluded, if not yet). Open obligations stay open."""
    _run("close", params)


# --- viewing -------------------------------------------------------------------------------

@app.command("list")
@with_options(options.LIST)
def list_cmd(**params):
    """Incidents with their next deadline and countdown."""
    _run("list", params)


@app.command("status")
@with_options(options.STATUS)
def status_cmd(**params):
    """The dashboard: every open obligation, most urgent first, with countdowns."""
    _run("status", params)


@app.command("show")
@with_options(options.SHOW)
def show_cmd(**params):
    """One incident: facts, obligations, filings and the timeline of recorded events."""
    _run("show", params)


@app.command("explain")
@with_options(options.EXPLAIN)
def explain_cmd(**params):
    """The arithmetic behind each deadline: rule, clock start, computation, conservative choices."""
    _run("explain", params)


@app.command("report")
@with_options(options.REPORT)
def report_cmd(**params):
    """The board briefing and evidence pack for a period: one self-contained HTML file (or Markdown, or
    JSON): headline figures, charts, late filings, what is still open, decisions not to report, evidence."""
    _run("report", params)


# --- cron and audit --------------------------------------------------------------------------

@app.command("verify")
@with_options(options.VERIFY)
def verify_cmd(**params):
    """Check the ledger's integrity: the hash chain, the profile, and optionally a kept head."""
    _run("verify", params)


@app.command("classify")
@with_options(options.CLASSIFY)
def classify_cmd(**params):
    """Is the entity in scope of NIS 2, and essential or important? (Arts 2-3; Rec. 2003/361 sizes)."""
    _run("classify", params)


# --- triage (issue 17) -------------------------------------------------------------------------

@app.command("triage")
@with_options(options.TRIAGE)
def triage_cmd(**params):
    """Which regimes this incident triggers, for the entity's roles: applies / does not apply /
    undetermined, with the facts that decided and the questions that would settle it. On a terminal
    (without --json) it asks them and records the answers as an amendment (`update`)."""
    _run("triage", params)
