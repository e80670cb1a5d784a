"""The options of the global callback and of every command (`ledger` and `exercise` sub-commands
included), declared once (issue 13 item 7): `COMMANDS`, one table per command.

Importing Typer and building a command costs about 100 ms, as much as a whole `check`. So these
options are plain data here, with no Typer: `application.py` turns each into the Typer parameter of
the command's signature (`typer_annotation`, `with_options`), and `fast.py` reads the same
declarations to parse the argv shapes it fully understands without Typer. Nothing is declared twice;
the shared ones (`LEDGER`, `NOW`, `JSON`, `LOCK`, `IDENT`, the incident facts `FACTS` of `open` and
`update`, the roles `ROLES` of `init` and `profile`) are used by every command that takes them.
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

# `report` (issue 18)
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

# --- recording (the on-call writes) -------------------------------------------------------------

UPDATE = (IDENT, Opt("title", ("--title",), "A new title."), *FACTS, LEDGER, NOW, LOCK, JSON)

SUBMIT = (
    IDENT,
    Opt("stage", (), "e.g. nis2.early_warning, nis2.notification, nis2.final.", argument=True, metavar="STAGE",
        required=True),
    Opt("at", ("--at",), "When it was submitted (WHEN; default now)."),
    Opt("reference", ("--reference",), "The authority's reference."),
    Opt("channel", ("--channel",), "How it was sent (portal, e-mail, phone...)."),
    Opt("late_reason", ("--late-reason",), "Why it is late, if it is."),
    Opt("draft", ("--draft",), "The file of the text that was filed: its SHA-256 is kept in the record "
                               "(draft_sha256)."),
    Opt("force", ("--force",), "Record the filing even though the incident is closed (refused without it, exit 5).",
        bool, False, flag=True, show_default=True),
    LEDGER, NOW, LOCK, JSON,
)

REQUEST = (
    IDENT,
    Opt("due", ("--due",), "The date the authority set (WHEN; relative forms count from --at)."),
    Opt("at", ("--at",), "When the authority asked (WHEN; default now)."),
    Opt("stage", ("--stage",), "The requested report.", default="nis2.intermediate", show_default=True),
    LEDGER, NOW, LOCK, JSON,
)

HANDLED = (IDENT, Opt("at", ("--at",), "When handling concluded (WHEN; default now)."), LEDGER, NOW, LOCK, JSON)

CLOSE = (IDENT, Opt("at", ("--at",), "When it was closed (WHEN; default now)."), LEDGER, NOW, LOCK, JSON)

TRIAGE = (IDENT, LEDGER, NOW, LOCK, JSON)

CLASSIFY = (
    Opt("entity_type", ("--type",), "healthcare_provider, eu_reference_laboratory, pharma_rnd, pharma_manufacturer, "
                                    "critical_medical_devices, medical_devices or other."),
    Opt("staff", ("--staff",), "Staff headcount in annual work units (AWU), decimals allowed: 249.5."),
    Opt("turnover", ("--turnover",), "Annual turnover in euros (48000000, 48M, 750k)."),
    Opt("balance", ("--balance",), "Annual balance-sheet total in euros."),
    Opt("public", ("--public",), "Publicly owned (does not make it large).", bool, False, flag=True,
        show_default=True),
    Opt("qualified_trust_service", ("--qualified-trust-service",), "A qualified trust service provider.", bool,
        False, flag=True, show_default=True),
    Opt("designated", ("--designated",), "Designated by the Member State.", bool, False, flag=True,
        show_default=True),
    Opt("critical_entity", ("--critical-entity",), "Identified as critical under Directive (EU) 2022/2557.", bool,
        False, flag=True, show_default=True),
    Opt("apply", ("--apply",), "Write the resulting category to the ledger's profile.", bool, False, flag=True,
        show_default=True),
    LEDGER, NOW, LOCK, JSON,
)

PATHS = (LEDGER, NOW, JSON)

# --- set-up: `init` and `profile` ----------------------------------------------------------------

# The entity's roles (issue 17), declared once for `init` and `profile` (README: Roles). Each gates the
# regimes whose file names it; turning one on also enables its regimes (profile.ROLE_REGIMES).
from ..roles import ROLE_HELP as _ROLE_HELP  # noqa: E402  (plain data, no pydantic)

ROLES = (
    *(Opt(key, (f"--{key.replace('_', '-')}",), _ROLE_HELP[key], bool, off=(f"--no-{key.replace('_', '-')}",))
      for key in ("ose", "critical_entity", "financial_entity", "cra_manufacturer", "mdr_manufacturer",
                  "ai_provider")),
    Opt("gdpr_role", ("--gdpr-role",), "controller | processor | both (GDPR Art. 4(7)-(8); a processor notifies its "
                                       "controller, Art. 33(2): regime gdpr_processor). Default controller."),
    Opt("not_in_force", ("--not-in-force",), "track | ignore: obligations of a rule not in force at aware-at (NIS 2 "
                                             "in France today) are computed and marked (track, the default), or "
                                             "given the state not_in_force and left out of `check` (ignore)."),
)
ROLE_PARAMS = tuple(o.param for o in ROLES)

_REMINDER = "`check`'s reminder ladder for one period, PERIOD=STEP,STEP..., e.g. 24h=4h,2h,1h (repeatable; "
_REMINDER_EVERY = "Repeat `check`'s announcement this often while overdue or not filed"

INIT = (
    Opt("name", ("--name",), "The reporting entity's name.", required=True, show_default=True),
    Opt("category", ("--category",), "essential | important (Directive (EU) 2022/2555 Art. 3; `classify` helps "
                                     "decide).", required=True, show_default=True),
    Opt("timezone", ("--timezone",), "IANA time zone used to read and show times.", default="Europe/Paris",
        show_default=True),
    Opt("trust_service", ("--trust-service",), "The entity is a trust service provider (notification due at 24 h).",
        bool, False, flag=True, show_default=True),
    Opt("health_establishment", ("--health-establishment",), "A health establishment under CSP L.1111-8-2.", bool,
        False, flag=True, show_default=True),
    Opt("regime", ("--regime",), "Enable a regime (repeatable; replaces the default: nis2 and gdpr, plus csp with "
                                 "--health-establishment).", multiple=True),
    Opt("within", ("--within",), "Default warning window of `check`.", default="6h", show_default=True),
    Opt("target", ("--target",), "Own target for a stage without a legal hour count, STAGE=DURATION, e.g. "
                                 "csp.report=4h (repeatable).", multiple=True),
    Opt("regimes_dir", ("--regimes-dir",), "A folder of regime files that add to or override the shipped ones."),
    Opt("reminder", ("--reminder",), _REMINDER + "default 24h=4h,2h,1h 72h=12h,4h,1h 1month=7d,3d,1d).",
        multiple=True),
    Opt("reminder_every", ("--reminder-every",), _REMINDER_EVERY + " (default 6h; 0 for once)."),
    *ROLES,
    Opt("roles", ("--roles",), "PostgreSQL ledger only: also create the roles PREFIX_reader, PREFIX_writer and "
                               "PREFIX_owner and grant them (README, Team mode)."),
    LEDGER, NOW, JSON,
)

PROFILE = (
    Opt("name", ("--name",), "The reporting entity's name."),
    Opt("category", ("--category",), "essential | important."),
    Opt("trust_service", ("--trust-service",), "A trust service provider.", bool, off=("--no-trust-service",)),
    Opt("health_establishment", ("--health-establishment",), "A health establishment under CSP L.1111-8-2.", bool,
        off=("--no-health-establishment",)),
    Opt("regime", ("--regime",), "The enabled regimes (repeatable; replaces the list).", multiple=True),
    Opt("within", ("--within",), "Default warning window of `check`."),
    Opt("target", ("--target",), "Own target STAGE=DURATION (repeatable; STAGE= removes one).", multiple=True),
    Opt("regimes_dir", ("--regimes-dir",), "A folder of regime files ('' for none)."),
    Opt("templates_dir", ("--templates-dir",), "A folder of draft templates that override the shipped ones ('' for "
                                               "none)."),
    Opt("alarm", ("--alarm",), "Calendar alarm before each due time in `export --format ics` (repeatable; replaces "
                               "the list; default 2h and 30m).", multiple=True),
    Opt("dpo", ("--dpo",), "The data protection officer's name and contact details, for GDPR drafts."),
    Opt("reminder", ("--reminder",), _REMINDER + "PERIOD= removes one).", multiple=True),
    Opt("reminder_every", ("--reminder-every",), _REMINDER_EVERY + " (0 for once)."),
    *ROLES,
    LEDGER, NOW, LOCK, JSON,
)

# --- `ledger` sub-commands (`cli/ledger_cmd.py` builds them; keyed "ledger NAME" below) ---------

LEDGER_MIGRATE = (
    Opt("old", (), "The ledger to read (.jsonl log, .toml or .json document, or a postgresql:// connection "
                   "string).", argument=True, required=True),
    Opt("new", (), "The ledger to create, in the format its name says (.jsonl, .toml, .json, or an empty "
                   "PostgreSQL database); never overwritten.", argument=True, required=True),
    NOW, JSON,
)

LEDGER_PULL = (
    Opt("to", ("--to",), "The local copy (a .jsonl log): created, or brought up to date; never given up if it holds "
                         "events the record does not.", required=True),
    LEDGER, NOW, JSON,
)

LEDGER_PUSH = (
    Opt("source", (), "The local copy made by `ledger pull`, with the events recorded in it offline.",
        argument=True, required=True),
    Opt("rebase", ("--rebase",), "If the record moved since the pull, re-seal the offline events after its head "
                                 "(each keeps its original seq, hash and time under `offline`).", bool, False,
        flag=True, show_default=True),
    LEDGER, NOW, JSON,
)

# --- `exercise` sub-commands (`cli/exercise.py` builds them; keyed "exercise NAME" below) -------------

# Exercises replay on a ledger of their own at their own clock: `--ledger` and `--now` are accepted and unused.
UNUSED_LEDGER = Opt("ledger", ("--ledger",), "Accepted like on every command and never read or written: exercises "
                                             "run on a ledger of its own, in a temporary folder.")
UNUSED_NOW = Opt("now", ("--now",), "Accepted like on every command and not used: an exercise runs at its own clock "
                                    "(its T0, actions and expectations).")

EXERCISE_CHECK = (
    Opt("files", (), "Exercise files, folders (their *.toml, recursively) or globs.", argument=True, metavar="FILE",
        required=True, multiple=True),
    Opt("junit", ("--junit",), "Also write a JUnit XML report to this file (one test case per expectation)."),
    Opt("fmt", ("--format",), "text (default), or github for GitHub Actions workflow annotations.", default="text",
        show_default=True),
    JSON, UNUSED_LEDGER, UNUSED_NOW,
)

EXERCISE_SCHEMA = ()

EXERCISE_NEW = (Opt("file", (), "Where to write the template (default: stdout).", argument=True, metavar="[FILE]"),)

EXERCISE_TIMELINE = (Opt("file", (), "An exercise file.", argument=True, metavar="FILE", required=True),
                     JSON, UNUSED_LEDGER, UNUSED_NOW)

# Every command `fast.py` runs without Typer, and the Typer app builds from the same declarations.
COMMANDS = {"check": CHECK, "status": STATUS, "show": SHOW, "explain": EXPLAIN, "list": LIST, "verify": VERIFY,
            "open": OPEN, "draft": DRAFT, "export": EXPORT, "update": UPDATE, "submit": SUBMIT,
            "request": REQUEST, "handled": HANDLED, "close": CLOSE, "triage": TRIAGE, "classify": CLASSIFY,
            "paths": PATHS, "report": REPORT, "init": INIT, "profile": PROFILE,
            "ledger migrate": LEDGER_MIGRATE, "ledger pull": LEDGER_PULL, "ledger push": LEDGER_PUSH,
            "exercise check": EXERCISE_CHECK, "exercise schema": EXERCISE_SCHEMA, "exercise new": EXERCISE_NEW,
            "exercise timeline": EXERCISE_TIMELINE}
