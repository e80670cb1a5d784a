"""The options of the global callback, `check`, `status`, `show`, `explain`, `list`, `verify`, `open` (and
the facts `update` shares with it), `draft` and `export`, declared once (issue 13 item 7).

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
    off: tuple[str, ...] = ()  # a tri-state flag's other spelling (`--not-significant`): sets False; neither: None
    multiple: bool = False  # repeatable: a list of the values given


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

# The facts of an incident, for `open` and `update` (and the names of their parameters).
FACTS = (
    Opt("aware", ("--aware",), "When you became aware (the clock start). WHEN."),
    Opt("detected", ("--detected",), "When it was first detected. WHEN."),
    Opt("significant", ("--significant",), "Significance decided (Art. 23(3)); not significant needs --rationale. Default: undetermined, counted as significant.", bool, off=("--not-significant",)),
    Opt("undetermined", ("--undetermined",), "Set significance back to undetermined.", bool, False, flag=True, show_default=True),
    Opt("rationale", ("--rationale",), "Why the incident is not significant."),
    Opt("malicious", ("--malicious",), "Unlawful or malicious act suspected.", bool, off=("--not-malicious",)),
    Opt("cross_border", ("--cross-border",), "Possible cross-border impact.", bool, off=("--no-cross-border",)),
    Opt("personal_data", ("--personal-data",), "Personal data involved.", bool, off=("--no-personal-data",)),
    Opt("high_risk", ("--high-risk",), "High risk to data subjects.", bool, off=("--no-high-risk",)),
    Opt("risk", ("--risk",), "GDPR: the breach is likely (or, --no-risk, unlikely) to result in a risk; --no-risk needs --risk-rationale.", bool, off=("--no-risk",)),
    Opt("risk_rationale", ("--risk-rationale",), "Why the breach is unlikely to result in a risk (GDPR Art. 33(1), 33(5))."),
    Opt("serious", ("--serious",), "Serious under CSP D.1111-16-2 (default undetermined, counted as serious); --not-serious needs --serious-rationale.", bool, off=("--not-serious",)),
    Opt("serious_rationale", ("--serious-rationale",), "Why the incident is not serious under CSP D.1111-16-2."),
    Opt("summary", ("--summary",), "What happened, in a few lines."),
    Opt("severity", ("--severity",), "Initial assessment of severity."),
    Opt("impact", ("--impact",), "Initial assessment of impact."),
    Opt("ioc", ("--ioc",), "Indicator of compromise (repeatable).", multiple=True),
    Opt("root_cause", ("--root-cause",), "Type of threat or likely root cause."),
    Opt("mitigations", ("--mitigations",), "Mitigation applied and ongoing."),
    Opt("service_disruption", ("--service-disruption",), "NIS 1 / CER: significant disruption (or potential) of the essential service.", bool, off=("--no-service-disruption",)),
    Opt("major", ("--major",), "DORA: classified as a major ICT-related incident (Art. 18).", bool, off=("--not-major",)),
    Opt("classified_major_at", ("--classified-major-at",), "DORA: when it was classified major (WHEN; the initial notification is due 4 h later, at most 24 h after aware-at)."),
    Opt("exploited_vulnerability", ("--exploited-vulnerability",), "CRA: an actively exploited vulnerability in the product (Art. 14(1)).", bool, off=("--no-exploited-vulnerability",)),
    Opt("severe_incident", ("--severe-incident",), "CRA: a severe incident affecting the product's security (Art. 14(3), 14(5)).", bool, off=("--no-severe-incident",)),
    Opt("corrective_measure_at", ("--corrective-measure-at",), "CRA: when a corrective or mitigating measure became available (WHEN; the vulnerability's final report is due 14 days later)."),
    Opt("patient_harm", ("--patient-harm",), "none | harm | serious | death: harm to a patient (serious: threat to life, probable permanent deficit, unanticipated serious deterioration). EIGS, MDR, materiovigilance, AI Act."),
    Opt("public_health_threat", ("--public-health-threat",), "MDR: a serious public health threat (Art. 87(4): 2 days).", bool, off=("--no-public-health-threat",)),
    Opt("device", ("--device",), "A medical device is involved (MDR, materiovigilance; the CRA then does not apply).", bool, off=("--no-device",)),
    Opt("ai_system", ("--ai-system",), "A high-risk AI system is involved (AI Act Art. 73).", bool, off=("--no-ai-system",)),
    Opt("widespread_infringement", ("--widespread-infringement",), "AI Act: a widespread infringement or a serious disruption of critical infrastructure (Art. 73(3): 2 days).", bool, off=("--no-widespread-infringement",)),
)

OPEN = (Opt("title", (), "A short title, e.g. 'Ransomware on the PACS' (on a terminal, asked for when left out).",
            argument=True, metavar="TITLE"),
        *FACTS, LEDGER, NOW, LOCK, JSON)

LIST = (LEDGER, NOW, JSON)

VERIFY = (Opt("head", ("--head",), "A head kept elsewhere (SEQ:HASH or HASH): prove nothing was cut from the end."),
          LEDGER, NOW, JSON)

DRAFT = (
    Opt("ident", (), "Incident id (or its number).", argument=True, metavar="ID", required=True),
    Opt("stage", (), "e.g. nis2.early_warning, nis2.notification, gdpr.notification, gdpr.data_subjects, csp.report.",
        argument=True, metavar="STAGE", required=True),
    Opt("lang", ("--lang",), "Language of the draft: fr or en.", default="fr", show_default=True),
    Opt("fmt", ("--format",), "text (to paste into a portal or an e-mail) or markdown.", default="text",
        show_default=True),
    Opt("output", ("--output", "-o"), "Write the draft to this file (atomically) instead of stdout."),
    Opt("templates", ("--templates",), "A folder of templates that override the shipped ones (else the profile's "
                                       "templates_dir)."),
    LEDGER, NOW, JSON,
)

EXPORT = (
    Opt("fmt", ("--format",), "json (the whole record, versioned; also a JSON ledger document), csv (one row per "
                              "obligation), ics (calendar of open deadlines with alarms), toml or jsonl (the ledger "
                              "itself as a TOML document or a JSON Lines log, same hashes).", default="json",
        show_default=True),
    Opt("output", ("--output", "-o"), "Write to this file (atomically) instead of stdout."),
    Opt("alarm", ("--alarm",), "ics: an alarm this long before each due time, e.g. 2h, 30m (repeatable; default the "
                               "profile's alarms, 2h and 30m).", multiple=True),
    Opt("schema", ("--schema",), "Print the JSON Schema of the JSON export and exit.", bool, False, flag=True),
    LEDGER, NOW, JSON,
)

COMMANDS = {"check": CHECK, "status": STATUS, "show": SHOW, "explain": EXPLAIN, "list": LIST, "verify": VERIFY,
            "open": OPEN, "draft": DRAFT, "export": EXPORT}
