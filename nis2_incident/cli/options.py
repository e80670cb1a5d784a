"""The options of the global callback, `check`, `status`, `show`, `explain`, `list` and `verify`, declared
once (issue 13 item 7).

Cron runs `check` every few minutes and people run `status`, `show` and `explain` at 03:00: importing
Typer and building its command costs about 40 ms, a third of a `check`. So these options are plain data here, with
no Typer: `application.py` turns each into the Typer parameter of the command's signature (`typer_
annotation`), and `fast.py` reads the same declarations to parse the argv shapes it fully understands
without Typer. Nothing is declared twice; the shared ones (`LEDGER`, `NOW`, `JSON`, `LOCK`) are also
the `--ledger`, `--now`, `--json` and `--lock-timeout` of every other command.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ENV_LEDGER = "NIS2_INCIDENT_LEDGER"
ENV_NOW = "NIS2_INCIDENT_NOW"


@dataclass(frozen=True)
class Opt:
    param: str  # the parameter of the command's body
    decls: tuple[str, ...]  # `--format`, `-f`; () for an argument
    help: str
    type: type = str  # str, float or bool
    default: Any = None
    flag: bool = False  # a bool flag, no value
    show_default: bool = False
    argument: bool = False  # a positional argument
    metavar: str | None = None
    required: bool = False  # an argument that must be given


LEDGER = Opt("ledger", ("--ledger",), f"Ledger file (else ${ENV_LEDGER}, else the per-user data file; see `paths`).")
NOW = Opt("now", ("--now",), f"Compute as of this instant (WHEN; else ${ENV_NOW}, else the clock).")
JSON = Opt("json_out", ("--json",), "Print only JSON on stdout.", bool, False, flag=True, show_default=True)
LOCK = Opt("lock_timeout", ("--lock-timeout",), "Seconds to wait for another writer (default 10).", float)

# Before the command name (the Typer app's callback); `--version` is Typer's alone (eager, prints, exits).
GLOBAL = (
    LEDGER, NOW, LOCK,
    Opt("debug", ("--debug",), "Show tracebacks for errors.", bool, False, flag=True, show_default=True),
    Opt("regimes", ("--regimes",), "A folder of regime files that add to or override the shipped ones (else "
                                   "the profile's regimes_dir)."),
)

CHECK = (
    Opt("within", ("--within",), "Warn about what is due within this duration (default from the profile, e.g. 6h)."),
    Opt("fmt", ("--format", "-f"), "text (one line a finding, then the Nagios summary), nagios (status line with "
                                   "perfdata first, then every current finding; no state), json (JSON lines), "
                                   "syslog (each finding to the local syslog).", default="text", show_default=True),
    Opt("all_", ("--all",), "Announce every current finding, new or not, and leave the state file as it is.",
        bool, False, flag=True, show_default=True),
    Opt("quiet", ("--quiet", "-q"), "Print nothing when there is nothing new to announce (errors are always "
                                    "printed).", bool, False, flag=True, show_default=True),
    Opt("dry_run", ("--dry-run",), "Announce what is new but do not record it in the state file.", bool, False,
        flag=True, show_default=True),
    Opt("state_path", ("--state",), "The file that remembers what was announced (default: "
                                    "<ledger>.check-state.json beside the ledger)."),
    LEDGER, NOW, JSON,
)

STATUS = (
    Opt("ident", (), "Only this incident.", argument=True, metavar="[ID]"),
    Opt("within", ("--within",), "Highlight what is due within this duration (default from the profile)."),
    Opt("watch", ("--watch",), "Live countdown, redrawn every second and re-read when the ledger changes; "
                               "Ctrl-C leaves (exit 0).", bool, False, flag=True, show_default=True),
    LEDGER, NOW, JSON,
)

IDENT = Opt("ident", (), "Incident id (or its number).", argument=True, metavar="ID", required=True)

SHOW = (IDENT, LEDGER, NOW, JSON)

EXPLAIN = (IDENT, Opt("stage", (), "Only this stage, e.g. nis2.final.", argument=True, metavar="[STAGE]"),
           LEDGER, NOW, JSON)

# `report` (issue 18): built by Typer only (not in COMMANDS, which `fast.py` parses without it)
REPORT = (
    Opt("period", ("--period",), "The period: a year (2026), a month (2026-11) or a quarter (2026-Q3), in the "
                                 "profile's zone (default: the quarter of --now)."),
    Opt("start", ("--from",), "Start of the period (WHEN, or a date: from its midnight); instead of --period."),
    Opt("end", ("--to",), "End of the period: a WHEN (excluded), or a date (to the end of that day); default --now."),
    Opt("fmt", ("--format", "-f"), "html (one self-contained file; print it for a PDF), markdown, or json (the "
                                   "same figures).", default="html", show_default=True),
    Opt("output", ("--output", "-o"), "Write to this file (atomically) instead of stdout."),
    Opt("lang", ("--lang",), "fr or en.", default="fr", show_default=True),
    Opt("exercises", ("--exercises",), "A folder of exercise files: the drills whose T0 is in the period, with "
                                       "the time from T0 to each filing and whether each passed."),
    LEDGER, NOW, JSON,
)

LIST = (LEDGER, NOW, JSON)

VERIFY = (Opt("head", ("--head",), "A head kept elsewhere (SEQ:HASH or HASH): prove nothing was cut from the end."),
          LEDGER, NOW, JSON)

COMMANDS = {"check": CHECK, "status": STATUS, "show": SHOW, "explain": EXPLAIN, "list": LIST, "verify": VERIFY}
