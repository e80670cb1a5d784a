"""Tabletop exercises as files (README: Tabletop exercises): the file format, its loading, and its replay.

An exercise is a small TOML file: a start instant (T0), the entity's profile, one incident's facts,
the team's actions in order, and expectations at given times. `check_file` replays it through the
same use cases and the same storage code as the real commands (`Service` on a `LogStore`, a
JSON Lines log in a temporary folder deleted afterwards), at the exercise's own clock, and returns
what passed, what failed, and why. Nothing here reads the real clock, touches the user's ledger, or
imports Typer or Rich.

The format is versioned (`format = 1`) and defined by the pydantic models below; `json_schema()`
publishes it for editors (shipped as `exercise.schema.json` beside this module).
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Literal, Union

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, WithJsonSchema, model_validator

from . import timeutil as tu
from .errors import ExerciseError, Nis2IncidentError
from .model import Profile

FORMAT = 1
SCHEMA_FILE = Path(__file__).resolve().parent / "exercise.schema.json"
STATES = ("pending", "overdue", "met", "late", "not_applicable", "not_in_force")
# The incident facts that are times (T+... or RFC 3339), resolved against T0 wherever they appear.
TIME_FACTS = ("aware_at", "detected_at", "classified_major_at", "corrective_measure_at")
ACTION_KINDS = ("submit", "request", "update", "handled", "close")

# --- times -----------------------------------------------------------------------------------
# Relative to T0: `T0` (or `T`, `T+0`), `T+1h30m`, `T+3d`, `T-2h`; units d (24 h), h, m, s, on instants.
# Absolute: RFC 3339 with its offset, e.g. 2026-03-29T03:10:00+02:00 (or Z).

_DURATION = r"(?:0|(?=[0-9])(?:[0-9]+d)?(?:[0-9]+h)?(?:[0-9]+m)?(?:[0-9]+s)?)"
_RELATIVE = rf"T(?:0|[+-]{_DURATION})?"
_ABSOLUTE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?(?:Z|[+-][0-9]{2}:[0-9]{2})"
TIME_PATTERN = rf"^(?:{_RELATIVE}|{_ABSOLUTE})$"
INSTANT_PATTERN = rf"^{_ABSOLUTE}$"
_RELATIVE_RE = re.compile(rf"^T(?:0|(?P<sign>[+-])(?P<amount>{_DURATION}))?$", re.ASCII)
_ABSOLUTE_RE = re.compile(INSTANT_PATTERN, re.ASCII)
TIME_HELP = ("accepted: a time relative to T0 such as T+1h30m, T+3d, T-2h or T0, or an RFC 3339 time with "
             "offset such as 2026-03-29T03:10:00+02:00")
INSTANT_HELP = "accepted: an RFC 3339 time with offset such as 2026-03-28T23:40:00+01:00"


def _time_syntax(value: str) -> str:
    if not (_RELATIVE_RE.fullmatch(value) or _ABSOLUTE_RE.fullmatch(value)):
        raise ValueError(f"{_show(value)} is not a time; {TIME_HELP}")
    return value


def _instant_syntax(value: str) -> str:
    if not _ABSOLUTE_RE.fullmatch(value):
        raise ValueError(f"{_show(value)} is not an instant with offset; {INSTANT_HELP}")
    return value


def _due_syntax(value: str) -> str:
    return value if value == "none" else _time_syntax(value)


def _duration_syntax(value: str) -> str:
    from .errors import InputError

    try:
        tu.parse_duration(value)
    except InputError as exc:
        raise ValueError(exc.message) from None
    return value


_TIME_SCHEMA = {"type": "string", "pattern": TIME_PATTERN,
                "description": "Relative to T0 (T+1h30m, T+3d, T-2h, T0; d = 24 h elapsed) or RFC 3339 with offset.",
                "examples": ["T+1h30m", "T+3d", "T-2h", "2026-03-29T03:10:00+02:00"]}
Time = Annotated[str, AfterValidator(_time_syntax), WithJsonSchema(_TIME_SCHEMA)]
Instant = Annotated[str, AfterValidator(_instant_syntax),
                    WithJsonSchema({"type": "string", "pattern": INSTANT_PATTERN,
                                    "description": "RFC 3339 with offset.", "examples": ["2026-03-28T23:40:00+01:00"]})]
DueTime = Annotated[str, AfterValidator(_due_syntax),
                    WithJsonSchema({"anyOf": [_TIME_SCHEMA, {"const": "none", "description": "no due instant"}]})]
Duration = Annotated[str, AfterValidator(_duration_syntax),
                     WithJsonSchema({"type": "string", "pattern": r"^(?=[0-9])([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?$",
                                     "description": "A duration such as 6h, 30m, 1d, 1h30m."})]
StageName = Annotated[str, Field(min_length=1, description="A stage such as nis2.early_warning.")]
Text = Annotated[str, Field(min_length=1)]


# --- the format --------------------------------------------------------------------------------

class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class Meta(_Strict):
    """`[exercise]`: what the scenario is, for people and for CI reports."""

    name: Text = Field(description="A short name, shown in reports and JUnit test cases.")
    author: str | None = Field(default=None, description="Who wrote the scenario.")
    tags: list[str] = Field(default_factory=list, description="Free tags, e.g. ransomware, dst, gdpr.")
    description: str | None = Field(default=None, description="What the scenario teaches.")


class ExerciseProfile(Profile):
    """`[profile]`: the reporting entity, with the same keys as the ledger's profile (see `init`)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    regimes: list[str] | None = Field(
        default=None, description="Enabled regimes; default nis2 and gdpr, plus csp for a health establishment.")


class Facts(_Strict):
    """Incident facts, with the ledger's names (see `open` / `update`)."""

    summary: str | None = Field(default=None, description="What happened, in a few lines.")
    detected_at: Time | None = Field(default=None, description="When it was first detected.")
    significance: Literal["significant", "not_significant", "undetermined"] | None = Field(
        default=None, description="Art. 23(3); undetermined counts as significant until decided.")
    significance_rationale: str | None = Field(default=None, description="Why it is not significant (required then).")
    malicious: bool | None = Field(default=None, description="Unlawful or malicious act suspected.")
    cross_border: bool | None = Field(default=None, description="Possible cross-border impact.")
    personal_data: bool | None = Field(default=None, description="Personal data involved (GDPR applies).")
    high_risk: bool | None = Field(default=None, description="High risk to the data subjects (GDPR Art. 34).")
    breach_risk: bool | None = Field(default=None, description="false: the breach is unlikely to result in a risk.")
    breach_risk_rationale: str | None = Field(default=None, description="Why it is unlikely to result in a risk.")
    serious: bool | None = Field(default=None, description="Serious under CSP D.1111-16-2 (unknown counts as serious).")
    serious_rationale: str | None = Field(default=None, description="Why it is not serious (required then).")
    severity: str | None = Field(default=None, description="Initial assessment of severity.")
    impact: str | None = Field(default=None, description="Initial assessment of impact.")
    iocs: list[str] | None = Field(default=None, description="Indicators of compromise.")
    root_cause: str | None = Field(default=None, description="Type of threat or root cause.")
    mitigations: str | None = Field(default=None, description="Mitigation applied and ongoing.")
    # issue 17: the facts of the other regimes (the same names as `open` / `update` record)
    service_disruption: bool | None = Field(default=None, description="NIS 1 / CER: significant disruption of the essential service.")
    major: bool | None = Field(default=None, description="DORA: classified as a major ICT-related incident.")
    classified_major_at: Time | None = Field(default=None, description="DORA: when it was classified major.")
    vulnerability_exploited: bool | None = Field(default=None, description="CRA: an actively exploited vulnerability in the product.")
    severe_incident: bool | None = Field(default=None, description="CRA: a severe incident affecting the product's security.")
    corrective_measure_at: Time | None = Field(default=None, description="CRA: when a corrective or mitigating measure became available.")
    patient_harm: Literal["none", "harm", "serious", "death"] | None = Field(
        default=None, description="Harm to a patient (EIGS, MDR, materiovigilance, AI Act).")
    public_health_threat: bool | None = Field(default=None, description="MDR: a serious public health threat (2 days).")
    device_involved: bool | None = Field(default=None, description="A medical device is involved (MDR, materiovigilance; not the CRA).")
    ai_system_involved: bool | None = Field(default=None, description="A high-risk AI system is involved (AI Act).")
    widespread_infringement: bool | None = Field(default=None, description="AI Act: widespread infringement or critical infrastructure (2 days).")


class IncidentSpec(Facts):
    """`[incident]`: the incident as first recorded, at its aware_at."""

    title: Text = Field(description="A short title.")
    aware_at: Time = Field(description="When the entity became aware: the clock start; the incident is recorded then.")


class _Action(_Strict):
    at: Time = Field(description="When the team did it (actions are listed in chronological order).")
    note: str | None = Field(default=None, description="What happens here, shown in the timeline.")


class Submit(_Action):
    """A filing of one stage, like `submit ID STAGE`."""

    do: Literal["submit"]
    stage: StageName
    channel: str | None = Field(default=None, description="How it was sent (portal, e-mail, phone...).")
    reference: str | None = Field(default=None, description="The authority's reference.")
    late_reason: str | None = Field(default=None, description="Why it is late (required for a late GDPR notification).")
    force: bool = Field(default=False, description="Record the filing even though the incident is closed, like `submit --force`.")


class RequestAction(_Action):
    """The authority asks for an intermediate report, like `request ID --due WHEN`."""

    do: Literal["request"]
    due: Time = Field(description="The date the authority set.")
    stage: StageName = "nis2.intermediate"


class Update(Facts, _Action):
    """An amendment of facts, like `update ID` (title, aware_at and every fact key)."""

    do: Literal["update"]
    title: str | None = Field(default=None, description="A new title.")
    aware_at: Time | None = Field(default=None, description="A corrected aware-at (the clock start).")


class Handled(_Action):
    """Handling concluded, like `handled ID`."""

    do: Literal["handled"]


class Close(_Action):
    """The incident is closed, like `close ID` (records handling concluded too, if not yet)."""

    do: Literal["close"]


Action = Annotated[Union[Submit, RequestAction, Update, Handled, Close], Field(discriminator="do")]
ACTION_MODELS = {"submit": Submit, "request": RequestAction, "update": Update, "handled": Handled, "close": Close}


class CheckExpect(_Strict):
    """What `check` must report at that time."""

    exit: Literal[0, 1, 2] | None = Field(
        default=None, description="check's exit code: 0 nothing due within the window, 1 due soon or a "
                                  "without-undue-delay report not filed, 2 overdue.")
    stages: list[StageName] | None = Field(default=None, description="Exactly the stages check reports ([] for none).")
    within: Duration | None = Field(default=None, description="The warning window (default: the profile's check_within).")
    announces: list[StageName] | None = Field(
        default=None, description="Exactly the stages check announces as new at that time ([] for none): cron is "
                                  "modelled as running check at each check expectation, in time order, so a "
                                  "reminder step is announced once, at the first check after it is crossed.")

    @model_validator(mode="after")
    def _something(self):
        if self.exit is None and self.stages is None and self.announces is None:
            raise ValueError("states nothing; give exit, stages, announces or a combination")
        return self


class Expect(_Strict):
    """`[[expect]]`: what must hold at a given time (after every action at or before it)."""

    at: Time = Field(description="When to look.")
    note: str | None = Field(default=None, description="Why this matters, shown in reports.")
    obligations: dict[str, Literal["pending", "overdue", "met", "late", "not_applicable", "not_in_force"]] = Field(
        default_factory=dict, description="Expected state of each stage (STAGE or STAGE#N for the Nth request).")
    due: dict[str, DueTime] = Field(default_factory=dict,
                                    description="Expected due instant of each stage, or \"none\".")
    check: CheckExpect | None = Field(default=None, description="What `check` must report at that time.")
    all_deadlines_met: bool | None = Field(
        default=None, description="true: no obligation is late or overdue then; false: at least one is.")

    @model_validator(mode="after")
    def _something(self):
        if not (self.obligations or self.due or self.check is not None or self.all_deadlines_met is not None):
            raise ValueError("states nothing; give obligations, due, check or all_deadlines_met")
        return self


class End(_Strict):
    """`[end]`: the fixed clock at which the scenario ends, and the default expectation."""

    at: Time | None = Field(default=None, description="Default: the last action or expectation.")
    all_deadlines_met: bool = Field(
        default=True, description="At the end no obligation is late or overdue, except stages an expectation "
                                  "states as late or overdue.")
    note: str | None = Field(default=None, description="Shown in reports.")


class Exercise(_Strict):
    """A tabletop exercise for nis2-incident (`exercise check`)."""

    format: Literal[1] = Field(description="The version of this format.")
    exercise: Meta = Field(description="What the scenario is: name, author, tags, description.")
    t0: Instant = Field(description="The start instant T0, RFC 3339 with offset.")
    profile: ExerciseProfile = Field(description="The reporting entity (the ledger profile's keys).")
    incident: IncidentSpec = Field(description="The incident as recorded at its aware_at.")
    actions: list[Action] = Field(default_factory=list, description="The team's actions, in chronological order.")
    expect: list[Expect] = Field(default_factory=list, description="Expectations at given times.")
    end: End = Field(default_factory=End, description="When the scenario ends, and the default expectation.")


def json_schema() -> dict:
    """The JSON Schema of the format, for editors (taplo, VS Code) and CI."""
    schema = Exercise.model_json_schema()

    def clean(node):
        """TOML has no null: an optional key is simply left out, so `X | None` is published as X."""
        if isinstance(node, dict):
            options = node.get("anyOf")
            if isinstance(options, list) and {"type": "null"} in options:
                rest = [o for o in options if o != {"type": "null"}]
                del node["anyOf"]
                if len(rest) == 1:
                    node.update({k: v for k, v in rest[0].items() if k not in node})
                else:
                    node["anyOf"] = rest
            if node.get("default", 0) is None:
                del node["default"]
            for value in node.values():
                clean(value)
        elif isinstance(node, list):
            for value in node:
                clean(value)

    clean(schema)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema,
            "title": f"nis2-incident exercise file, format {FORMAT}"}


# --- errors with the key and the line ------------------------------------------------------------

def _show(value, limit: int = 60) -> str:
    """A value for a message, short and safe (huge integers cannot always be turned into text)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**30:
        return "a huge integer"
    try:
        text = repr(value)
    except (ValueError, RecursionError):
        return f"a {type(value).__name__}"
    return text if len(text) <= limit else text[:limit - 1] + "…"


_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def key_text(loc: tuple) -> str:
    """('actions', 2, 'stage') -> actions[2].stage; keys with dots are quoted."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            text = part if _BARE.fullmatch(part) else json.dumps(part, ensure_ascii=False)
            out += ("." if out else "") + text
    return out or "(top level)"


class Locator:
    """Lines of keys in a TOML text (tomllib keeps no positions): headers `[t]`, `[[a]]` and `key =`."""

    _HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]#]+?)\s*\]\]?\s*(?:#.*)?$")

    def __init__(self, text: str):
        self.lines = text.splitlines()
        counts: dict[tuple, int] = {}
        self.blocks: list[tuple[tuple, int, int]] = []  # (path, first line, end line exclusive), 1-based
        starts: list[tuple[tuple, int]] = [((), 0)]
        for number, line in enumerate(self.lines, 1):
            m = self._HEADER.match(line)
            if not m:
                continue
            path = tuple(p.strip().strip("\"'") for p in self._split(m.group(2)))
            if m.group(1) == "[[":
                index = counts.get(path, 0)
                counts[path] = index + 1
                path = path + (index,)
            starts.append((path, number))
        for i, (path, first) in enumerate(starts):
            end = starts[i + 1][1] if i + 1 < len(starts) else len(self.lines) + 1
            self.blocks.append((path, first, end))

    @staticmethod
    def _split(dotted: str) -> list[str]:
        parts, cur, quote = [], "", None
        for ch in dotted:
            if quote:
                cur += ch
                if ch == quote:
                    quote = None
            elif ch in "\"'":
                quote = ch
                cur += ch
            elif ch == ".":
                parts.append(cur)
                cur = ""
            else:
                cur += ch
        parts.append(cur)
        return parts

    def line(self, loc: tuple) -> int | None:
        """The line of `loc` (e.g. ('actions', 2, 'stage')), or of the nearest enclosing table."""
        best = None
        for path, first, end in self.blocks:
            if len(path) <= len(loc) and tuple(loc[:len(path)]) == path:
                if best is None or len(path) > len(best[0]):
                    best = (path, first, end)
        if best is None:
            return None
        path, first, end = best
        found = first or None
        start = max(first, 1)
        for part in loc[len(path):]:
            if isinstance(part, int):
                continue
            pat = re.compile(r"^\s*(?:\"" + re.escape(part) + r"\"|'" + re.escape(part) + r"'|" + re.escape(part)
                             + r")\s*[.=]")
            hit = next((n for n in range(start, end) if n <= len(self.lines) and pat.match(self.lines[n - 1])), None)
            if hit is None:
                inline = re.compile(r"[{,]\s*(?:\"" + re.escape(part) + r"\"|" + re.escape(part) + r")\s*=")
                hit = next((n for n in range(start, end) if n <= len(self.lines) and inline.search(self.lines[n - 1])),
                           None)
            if hit is None:
                break
            found, start = hit, hit
        return found


def _pydantic_error(exc: ValidationError, raw: dict) -> tuple[tuple, str, int]:
    """The first validation error as (loc, why), the loc cleaned of pydantic's union tags."""
    errors = exc.errors()
    # an unknown key is most often a typo of a missing one: say that first
    errors.sort(key=lambda e: e["type"] != "extra_forbidden")
    err = errors[0]
    loc = list(err["loc"])
    if len(loc) >= 3 and loc[0] == "actions" and isinstance(loc[1], int) and loc[2] in ACTION_KINDS:
        del loc[2]
    loc = tuple(loc)
    kind, msg, value = err["type"], err["msg"], err.get("input")
    if kind == "extra_forbidden":
        parent = loc[:-1]
        accepted = _accepted_keys(parent, raw)
        why = f"unknown key; accepted: {', '.join(accepted)}" if accepted else "unknown key"
        if parent and loc[-1] in Exercise.model_fields:
            why += (f" ({loc[-1]} is a top-level key: in TOML it must come before the first [table], "
                    "or every key after a [table] header belongs to that table)")
    elif kind == "missing":
        why = "missing (required)"
    elif kind == "union_tag_not_found":
        loc = loc + ("do",)
        why = f"missing; accepted: {', '.join(ACTION_KINDS)}"
    elif kind == "union_tag_invalid":
        loc = loc + ("do",)
        why = f"{_show(err.get('ctx', {}).get('tag'))} is not an action; accepted: {', '.join(ACTION_KINDS)}"
    elif kind == "literal_error":
        why = f"{_show(value)}; accepted: {err.get('ctx', {}).get('expected', msg)}"
    elif kind in ("value_error", "assertion_error"):
        why = msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    elif kind.endswith("_type") or kind in ("model_attributes_type", "dict_type", "list_type"):
        expected = {"string_type": "text in quotes", "bool_type": "true or false", "int_type": "an integer",
                    "list_type": "a list [...]", "dict_type": "a table", "model_type": "a table",
                    "model_attributes_type": "a table"}.get(kind, msg.lower().removeprefix("input should be "))
        why = f"{_show(value)} ({_toml_type(value)}); accepted: {expected}"
    elif kind == "string_too_short":
        why = "empty; accepted: some text"
    else:
        why = msg
    return loc, why, len(errors) - 1


def _toml_type(value) -> str:
    return {bool: "a boolean", int: "an integer", float: "a float", str: "a string", list: "a list",
            dict: "a table"}.get(type(value), type(value).__name__)


def _accepted_keys(parent: tuple, raw: dict) -> list[str]:
    names = tuple(p for p in parent if not isinstance(p, int))
    model = {(): Exercise, ("exercise",): Meta, ("profile",): ExerciseProfile, ("incident",): IncidentSpec,
             ("expect",): Expect, ("expect", "check"): CheckExpect, ("end",): End}.get(names)
    if names == ("actions",) and len(parent) == 2:
        try:
            model = ACTION_MODELS.get(raw["actions"][parent[1]].get("do"))
        except (KeyError, IndexError, TypeError, AttributeError):
            model = None
    return list(model.model_fields) if model is not None else []


# --- loading -----------------------------------------------------------------------------------

@dataclass
class Source:
    path: str
    text: str
    locator: Locator

    def line(self, loc: tuple) -> int | None:
        return self.locator.line(loc)

    def error(self, loc: tuple, why: str) -> ExerciseError:
        key = key_text(loc) if loc else None
        return ExerciseError(f"{key}: {why}" if key else why, self.path, self.line(loc) if loc else None, key)


def _plain(value, loc: tuple, src: Source):
    """TOML values -> plain data: offset date-times become RFC 3339 strings; local dates and times
    (no offset) are refused, since a time without its offset is ambiguous around clock changes."""
    if isinstance(value, dict):
        return {k: _plain(v, loc + (k,), src) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v, loc + (i,), src) for i, v in enumerate(value)]
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise src.error(loc, f"the TOML local date-time {value.isoformat()} has no offset; {TIME_HELP}")
        return value.isoformat()
    if isinstance(value, (date, time)):
        raise src.error(loc, f"the TOML {'date' if isinstance(value, date) else 'time'} {value.isoformat()} "
                             f"is not an instant; {TIME_HELP}")
    return value


def loads(text: str, path: str = "<exercise>") -> tuple[Exercise, Source]:
    """Parse and validate an exercise. Raises ExerciseError naming the file, the line and the key."""
    src = Source(path, text, Locator(text))
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        raise ExerciseError(f"invalid TOML: {exc}", path, int(m.group(1)) if m else None) from None
    except (ValueError, RecursionError) as exc:  # huge integers, deep nesting
        raise ExerciseError(f"invalid TOML: {str(exc)[:120]}", path) from None
    try:
        data = _plain(data, (), src)
    except RecursionError:
        raise ExerciseError("invalid exercise: nested too deeply", path) from None
    version = data.get("format")
    if "format" not in data:
        raise ExerciseError(f"format: missing; accepted: format = {FORMAT} at the top of the file (the version of "
                            "the exercise format)", path, 1, "format")
    if type(version) is not int or version != FORMAT:
        newer = type(version) is int and version > FORMAT
        why = (f"{_show(version)} is newer than this nis2-incident understands ({FORMAT}); upgrade nis2-incident"
               if newer else f"{_show(version)} is not a known version; accepted: {FORMAT}")
        raise src.error(("format",), why)
    try:
        exercise = Exercise.model_validate(data)
    except ValidationError as exc:
        loc, why, more = _pydantic_error(exc, data)
        if more:
            why += f" (and {more} more problem{'s' if more > 1 else ''})"
        raise src.error(loc, why) from None
    except RecursionError:
        raise ExerciseError("invalid exercise: nested too deeply", path) from None
    return exercise, src


def read(path: str | Path) -> tuple[Exercise, Source]:
    """Read and validate an exercise file."""
    name = str(path)
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise ExerciseError("no such file; accepted: exercise files (*.toml), folders of them, or globs",
                            name) from None
    except IsADirectoryError:
        raise ExerciseError("is a folder; give the folder to `exercise check` to check its *.toml files",
                            name) from None
    except OSError as exc:
        raise ExerciseError(f"cannot read: {exc.strerror or exc}", name) from None
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise ExerciseError(f"byte {exc.start}: not valid UTF-8; accepted: a TOML file in UTF-8", name, line) from None
    if not text.strip():
        raise ExerciseError("the file is empty; accepted: an exercise (`nis2-incident exercise new` writes one)",
                            name, 1)
    return loads(text, name)


def expand(items: list[str]) -> list[str]:
    """FILE... as given: files, folders (their *.toml, recursively) and globs, in a stable order.
    A folder or glob with nothing in it is kept as given, so the check reports it."""
    import glob

    out: list[str] = []
    for item in items:
        p = Path(item)
        if any(ch in item for ch in "*?[") and not p.exists():
            found = sorted(glob.glob(item, recursive=True))
            out.extend(found if found else [item])
        elif p.is_dir():
            found = sorted(str(f) for f in p.rglob("*.toml") if f.is_file())
            out.extend(found if found else [item])
        else:
            out.append(item)
    seen: set[str] = set()
    return [x for x in out if not (x in seen or seen.add(x))]


# --- results -----------------------------------------------------------------------------------

@dataclass
class Failure:
    message: str
    line: int | None
    kind: str = "expectation"  # expectation | missed_deadline
    stage: str | None = None
    expected: str | None = None
    actual: str | None = None


@dataclass
class Case:
    """One test case: one expectation, or the end of the scenario."""

    name: str
    kind: str  # expect | end
    index: int | None
    line: int | None
    at: datetime
    rel: str
    checks: int = 0
    note: str | None = None
    failures: list[Failure] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures


@dataclass
class Event:
    """One line of the scenario's timeline."""

    at: datetime
    rel: str
    kind: str  # start | detected | aware | action | deadline | expect | end
    text: str
    status: str | None = None  # ok | late | failed | met | overdue | pending ...
    line: int | None = None


@dataclass
class FileResult:
    path: str
    name: str | None = None
    tz: str = "Europe/Paris"
    t0: datetime | None = None
    cases: list[Case] = field(default_factory=list)
    error: ExerciseError | None = None
    notes: list[str] = field(default_factory=list)
    timeline: list[Event] = field(default_factory=list)
    head: str | None = None
    filings: list[dict] = field(default_factory=list)  # each submit's stage, at, due, late (for `report`)

    @property
    def status(self) -> str:
        if self.error is not None:
            return "invalid"
        return "pass" if all(c.passed for c in self.cases) else "fail"

    @property
    def failures(self) -> list[tuple[Case, Failure]]:
        return [(c, f) for c in self.cases for f in c.failures]


def exit_code(results: list[FileResult]) -> int:
    """0 every file passes, 1 one fails, 3 one is invalid (README: Tabletop exercises)."""
    if any(r.status == "invalid" for r in results):
        return 3
    return 1 if any(r.status == "fail" for r in results) else 0


# --- replay ------------------------------------------------------------------------------------

def fmt_rel(delta: timedelta) -> str:
    """timedelta -> `T+1d2h30m`, `T-2h`, `T0`."""
    secs = int(delta.total_seconds())
    if secs == 0:
        return "T0"
    sign = "+" if secs > 0 else "-"
    secs = abs(secs)
    d, rem = divmod(secs, 86400)
    h, rem = divmod(rem, 3600)
    m, s = divmod(rem, 60)
    return "T" + sign + "".join(f"{v}{u}" for v, u in ((d, "d"), (h, "h"), (m, "m"), (s, "s")) if v)


_CLI_WORDS = (("--late-reason TEXT", 'late_reason = "..."'), ("--late-reason", "late_reason"),
              ("--not-significant", 'significance = "not_significant"'), ("--risk-rationale", "breach_risk_rationale"),
              ("--serious-rationale", "serious_rationale"), ("--rationale TEXT", "significance_rationale"),
              ("--no-risk", "breach_risk = false"), ("--not-serious", "serious = false"), ("--at ", "at "),
              ("--due ", "due "), ("--no-high-risk", "high_risk = false"), ("--high-risk", "high_risk = true"),
              ("--no-personal-data", "personal_data = false"), ("--personal-data", "personal_data = true"),
              ("--risk ", "breach_risk = true "), ("--force", "force = true"),
              ("--classified-major-at", "classified_major_at"), ("--not-major", "major = false"),
              ("--patient-harm", "patient_harm"))


def _file_words(message: str) -> str:
    """The service speaks in command options; an exercise file has keys."""
    import re

    message = re.sub(r"`submit \S+ (\S+) --late-reason TEXT`", r'a `submit` action of \1 with late_reason = "..."',
                     message)
    for option, key in _CLI_WORDS:
        message = message.replace(option, key)
    return message.replace("the same command with", "the same action with")


class _Replay:
    def __init__(self, exercise: Exercise, src: Source):
        self.ex, self.src = exercise, src
        self.tz = exercise.profile.timezone
        self.t0 = self._absolute(exercise.t0, ("t0",))
        self.result = FileResult(src.path, exercise.exercise.name, self.tz, self.t0)
        self.seq_action: dict[int, int] = {}  # ledger event seq -> index of the action that recorded it
        self.announced: dict = {}  # check's announce-once state, carried from one check expectation to the next

    # times
    def _absolute(self, text: str, loc: tuple) -> datetime:
        try:
            value = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise self.src.error(loc, f"{_show(text)} is not a valid date and time; {INSTANT_HELP}") from None
        if value.tzinfo is None:
            raise self.src.error(loc, f"{_show(text)} has no offset; {INSTANT_HELP}")
        if not tu.in_range(value):  # the one rule of timeutil (issue 14)
            raise self.src.error(loc, f"{text} is out of range; {tu.RANGE_HELP}")
        instant = value.astimezone(tu.UTC)
        local = tu.to_local(instant, self.tz).utcoffset()
        if value.utcoffset() not in (timedelta(0), local):
            raise self.src.error(loc, f"{text} is {tu.display(instant, self.tz)} in {self.tz}, where the offset is "
                                      f"{tu.fmt_offset(local)}, not {tu.fmt_offset(value.utcoffset())}; accepted: the "
                                      f"offset in force in {self.tz} at that instant, or Z")
        return instant

    def time(self, text: str, loc: tuple) -> datetime:
        m = _RELATIVE_RE.fullmatch(text)
        if m is None:
            return self._absolute(text, loc)
        amount = m.group("amount")
        if not amount or amount == "0":
            return self.t0
        try:
            delta = tu.parse_duration(amount)
        except Nis2IncidentError as exc:
            raise self.src.error(loc, f"{text}: {exc.message}") from None
        instant = self.t0 + delta if m.group("sign") == "+" else self.t0 - delta
        if not tu.in_range(instant):
            raise self.src.error(loc, f"{text} is {tu.rfc3339(instant)}, out of range; {tu.RANGE_HELP}")
        return instant

    def show(self, instant: datetime) -> str:
        return f"{fmt_rel(instant - self.t0)} ({tu.display(instant, self.tz)})"

    def rel(self, instant: datetime) -> str:
        return fmt_rel(instant - self.t0)

    def event(self, at: datetime, kind: str, text: str, status: str | None = None, line: int | None = None) -> None:
        self.result.timeline.append(Event(at, self.rel(at), kind, text, status, line))

    # the replay
    def run(self) -> FileResult:
        import tempfile

        with tempfile.TemporaryDirectory(prefix="nis2-incident-exercise-") as folder:
            return self._run(Path(folder))

    def _run(self, folder: Path) -> FileResult:
        from .ledger import Store
        from .service import Service

        ex = self.ex
        inc = ex.incident
        aware = self.time(inc.aware_at, ("incident", "aware_at"))
        detected = self.time(inc.detected_at, ("incident", "detected_at")) if inc.detected_at else None
        # recorded at aware_at (or at detected_at, in the odd case that it was detected after awareness)
        opened = max(aware, detected) if detected is not None else aware
        actions = [(i, a, self.time(a.at, ("actions", i, "at"))) for i, a in enumerate(ex.actions)]
        previous = None
        for i, a, when in actions:
            if when < opened:
                raise self.src.error(("actions", i, "at"), f"{self.show(when)} is before the incident is recorded "
                                                           f"({self.show(opened)}, its aware_at)")
            if previous is not None and when < previous[1]:
                raise self.src.error(("actions", i, "at"), f"{self.show(when)} is before the previous action "
                                                           f"(actions[{previous[0]}] at {self.show(previous[1])}); "
                                                           "accepted: actions in chronological order")
            previous = (i, when)
        expects = [(i, e, self.time(e.at, ("expect", i, "at"))) for i, e in enumerate(ex.expect)]
        for i, e, when in expects:
            if when < opened:
                raise self.src.error(("expect", i, "at"), f"{self.show(when)} is before the incident is recorded "
                                                          f"({self.show(opened)}, its aware_at); nothing to look at yet")
        if not expects and not ex.end.all_deadlines_met:
            raise self.src.error(("end", "all_deadlines_met"), "the exercise checks nothing; accepted: [[expect]] "
                                                               "entries, or all_deadlines_met = true (the default)")
        last = max([opened] + [w for _, _, w in actions] + [w for _, _, w in expects])
        end = self.time(ex.end.at, ("end", "at")) if ex.end.at else last
        if end < last:
            raise self.src.error(("end", "at"), f"{self.show(end)} is before the last action or expectation "
                                                f"({self.show(last)}); accepted: a time at or after it")
        # resolve every other time now, so a bad one is reported before anything runs
        for i, a, _ in actions:
            if isinstance(a, RequestAction):
                self.time(a.due, ("actions", i, "due"))
            if isinstance(a, Update):
                for key in TIME_FACTS:
                    if getattr(a, key):
                        self.time(getattr(a, key), ("actions", i, key))
        for i, e, _ in expects:
            for stage, text in e.due.items():
                if text != "none":
                    self.time(text, ("expect", i, "due", stage))

        start = min(self.t0, aware, *(w for _, _, w in actions))
        name = Path(self.src.path).stem or "exercise"
        self.svc = svc = Service(Store(folder / f"{name}.jsonl"), start)
        self.event(self.t0, "start", "T0: the exercise starts")

        profile = ex.profile.model_dump(exclude_unset=True)
        if profile.get("regimes_dir"):
            profile["regimes_dir"] = str((Path(self.src.path).parent / profile["regimes_dir"]).resolve())
        self._call(("profile",), lambda: svc.init(**profile))

        svc.now = opened
        facts = {k: v for k, v in inc.model_dump(exclude={"title", "aware_at"}).items() if v is not None}
        if detected is not None:
            facts["detected_at"] = tu.rfc3339(detected, self.tz)
        for key in TIME_FACTS[2:]:  # the other time facts of the incident as first recorded
            if key in facts:
                facts[key] = tu.rfc3339(self.time(facts[key], ("incident", key)), self.tz)
        outcome = self._call(("incident",), lambda: svc.open_incident(inc.title, tu.rfc3339(aware, self.tz), **facts))
        self.ident = outcome.value.incident.id
        self._note(("incident",), outcome.warnings)
        self.head_seq = _seq(outcome.head)
        for seq in range(2, self.head_seq + 1):
            self.seq_action[seq] = -1  # the opening (and anything it recorded)
        if detected is not None:
            self.event(detected, "detected", "detected")
        self.event(aware, "aware", f"aware (the clock starts); recorded as {self.ident}: {inc.title}",
                   line=self.src.line(("incident",)))
        self._check_stage_names(actions, expects)

        pending = sorted(expects, key=lambda t: (t[2], t[0]))
        for i, a, when in actions:
            while pending and pending[0][2] < when:
                self._expect(*pending.pop(0))
            self._act(i, a, when)
        while pending:
            self._expect(*pending.pop(0))
        self._end(end)
        self.result.head = svc.verify()["head"]  # the replay's log verifies like any ledger
        self.result.timeline.sort(key=lambda e: (e.at, ["start", "detected", "aware", "action", "deadline",
                                                       "expect", "end"].index(e.kind)))
        return self.result

    def _call(self, loc: tuple, fn, at_loc: tuple | None = None):
        from .errors import ClockNotStarted

        try:
            return fn()
        except ExerciseError:
            raise
        except ClockNotStarted as exc:
            raise self.src.error(at_loc or loc, f"refused by nis2-incident: {_file_words(exc.message)}") from None
        except Nis2IncidentError as exc:
            raise self.src.error(loc, f"refused by nis2-incident: {_file_words(exc.message)}") from None

    def _note(self, loc: tuple, warnings: list[str]) -> None:
        line = self.src.line(loc)
        for w in warnings:
            self.result.notes.append(f"{self.src.path}:{line}: {key_text(loc)}: {_file_words(w)}")

    def _stage(self, name: str, loc: tuple) -> tuple[str, int | None]:
        base, sep, number = name.partition("#")
        if sep and not (number.isdigit() and 0 < int(number) < 10000):
            raise self.src.error(loc, f"{_show(name)}: after # comes the request's number (1, 2, ...); "
                                      "accepted: STAGE or STAGE#N such as nis2.intermediate#2")
        profile = self.svc.state().profile
        try:
            full = self.svc.resolve_stage(base, profile)
        except Nis2IncidentError as exc:
            raise self.src.error(loc, exc.message) from None
        return full, int(number) if sep else None

    def _check_stage_names(self, actions, expects) -> None:
        for i, a, _ in actions:
            if isinstance(a, (Submit, RequestAction)):
                self._stage(a.stage, ("actions", i, "stage"))
        for i, e, _ in expects:
            for key in e.obligations:
                self._stage(key, ("expect", i, "obligations", key))
            for key in e.due:
                self._stage(key, ("expect", i, "due", key))
            for stage in (e.check.stages or []) if e.check else []:
                self._stage(stage, ("expect", i, "check", "stages"))
            for stage in (e.check.announces or []) if e.check else []:
                self._stage(stage, ("expect", i, "check", "announces"))

    def _act(self, i: int, a, when: datetime) -> None:
        svc, loc, stamp = self.svc, ("actions", i), tu.rfc3339(when, self.tz)
        line = self.src.line(loc)
        svc.now = when
        if isinstance(a, Submit):
            stage, _ = self._stage(a.stage, loc + ("stage",))
            # a filing before its clock starts is refused by the service (the one rule, `Service.submit`):
            # reported at the action's `at`, the time that is wrong
            outcome = self._call(loc, lambda: svc.submit(self.ident, stage, at=stamp, reference=a.reference,
                                                         channel=a.channel, late_reason=a.late_reason,
                                                         force=a.force),
                                 at_loc=loc + ("at",))
            last = outcome.value.incident.timeline[-1].seq
            filing = next((f for f in outcome.value.incident.filings if f.seq == last), None)
            sent = ", ".join(x for x in (a.channel, f"ref. {a.reference}" if a.reference else None) if x)
            if filing is None:  # the reasons for the delay of a filing an update made late (issue 12)
                filing = next(f for f in outcome.value.incident.filings if f.reason_seq == last)
                verdict, status = f"reasons for the delay of the filing at {self.show(filing.at)} recorded", None
            elif filing.due is None:
                verdict, status = "filed", "ok"
            elif filing.late:
                verdict, status = f"LATE: due {self.show(filing.due)}", "late"
            else:
                verdict, status = f"on time (due {self.show(filing.due)})", "ok"
            if filing.seq == last:  # a filing (not the reasons for an earlier one's delay): for `report`
                self.result.filings.append({"stage": stage, "at": filing.at, "due": filing.due, "late": filing.late})
            text = f"submit {stage}" + (f" ({sent})" if sent else "") + f" — {verdict}"
            if filing.late and a.late_reason and filing.reason_seq is None:
                text += f"; reason: {a.late_reason}"
        elif isinstance(a, RequestAction):
            stage, _ = self._stage(a.stage, loc + ("stage",))
            due = self.time(a.due, loc + ("due",))
            outcome = self._call(loc, lambda: svc.request(self.ident, tu.rfc3339(due, self.tz), at=stamp, stage=stage))
            text, status = f"the authority requests {stage}, due {self.show(due)}", None
        elif isinstance(a, Update):
            changes = {k: v for k, v in a.model_dump(exclude={"do", "at", "note"}).items() if v is not None}
            for key in TIME_FACTS:
                if key in changes:
                    changes[key] = tu.rfc3339(self.time(changes[key], loc + (key,)), self.tz)
            outcome = self._call(loc, lambda: svc.update_incident(self.ident, **changes))
            shown = ", ".join(f"{k} = {_show(v, 40)}" for k, v in changes.items())
            text, status = f"update: {shown}", None
        else:
            kind = "handled" if isinstance(a, Handled) else "closed"
            outcome = self._call(loc, lambda: svc.conclude(self.ident, kind, at=stamp))
            text, status = ("handling concluded" if kind == "handled" else "incident closed"), None
        self._note(loc, outcome.warnings)
        after = _seq(outcome.head)
        for seq in range(self.head_seq + 1, after + 1):
            self.seq_action[seq] = i  # the events this action recorded
        self.head_seq = after
        if a.note:
            text += f" — {a.note}"
        self.event(when, "action", f"actions[{i}] {text}", status, line)

    def _views(self, when: datetime):
        self.svc.now = when
        state, views = self.svc.views()
        [view] = [v for v in views if v.incident.id == self.ident]
        return views, view

    def _obligation(self, view, stage: str, number: int | None):
        same = [o for o in view.obligations if o.stage == stage]
        if number is None:
            return same[0] if same else None
        return next((o for o in same if (o.instance or 1) == number), None)

    def _describe(self, ob) -> str:
        parts = []
        if ob.filing is not None:
            parts.append(f"filed {self.show(ob.filing.at)}")
        if ob.due is not None:
            parts.append(f"due {self.show(ob.due)}")
        elif ob.note:
            parts.append(ob.note)
        return f" ({'; '.join(parts)})" if parts else ""

    def _expect(self, i: int, e: Expect, when: datetime) -> None:
        from . import alerts

        loc = ("expect", i)
        line = self.src.line(loc)
        case = Case(f"expect[{i}] at {self.rel(when)}", "expect", i, line, when, self.rel(when), note=e.note)
        views, view = self._views(when)
        head = f"expect[{i}] at {self.show(when)}"
        for key, want in e.obligations.items():
            case.checks += 1
            stage, number = self._stage(key, loc + ("obligations", key))
            ob = self._obligation(view, stage, number)
            actual = ob.state if ob is not None else "absent"
            if actual != want:
                detail = self._describe(ob) if ob is not None else " (no such obligation)"
                case.failures.append(Failure(f"{head}: {key} is {actual}{detail}, expected {want}",
                                             self.src.line(loc + ("obligations", key)), stage=stage,
                                             expected=want, actual=actual))
        for key, text in e.due.items():
            case.checks += 1
            stage, number = self._stage(key, loc + ("due", key))
            ob = self._obligation(view, stage, number)
            want = None if text == "none" else self.time(text, loc + ("due", key))
            actual = ob.due if ob is not None else None
            if actual != want:
                got = self.show(actual) if actual else "none"
                exp = self.show(want) if want else "none"
                case.failures.append(Failure(f"{head}: {key} is due {got}, expected {exp}",
                                             self.src.line(loc + ("due", key)), stage=stage,
                                             expected=tu.rfc3339(want, self.tz) if want else "none",
                                             actual=tu.rfc3339(actual, self.tz) if actual else "none"))
        if e.check is not None:
            within = tu.parse_duration(e.check.within or view.profile.check_within)
            found = alerts.findings(views, when, within)
            code = alerts.exit_code(found)
            reported = sorted({f.obligation.stage for f in found})
            listed = ", ".join(reported) or "nothing"
            new, self.announced = alerts.select_new(found, self.announced, when)
            if e.check.announces is not None:
                case.checks += 1
                said = sorted({f.obligation.stage for f in new})
                want = sorted({self._stage(s, loc + ("check", "announces"))[0] for s in e.check.announces})
                if want != said:
                    case.failures.append(Failure(f"{head}: check announces {', '.join(said) or 'nothing'}, expected "
                                                 f"{', '.join(want) or 'nothing'}",
                                                 self.src.line(loc + ("check", "announces")),
                                                 expected=", ".join(want), actual=", ".join(said)))
            if e.check.exit is not None:
                case.checks += 1
                if code != e.check.exit:
                    case.failures.append(Failure(f"{head}: check exits {code} (reports: {listed}), expected "
                                                 f"{e.check.exit}", self.src.line(loc + ("check", "exit")),
                                                 expected=str(e.check.exit), actual=str(code)))
            if e.check.stages is not None:
                case.checks += 1
                want = sorted({self._stage(s, loc + ("check", "stages"))[0] for s in e.check.stages})
                if want != reported:
                    case.failures.append(Failure(f"{head}: check reports {listed}, expected "
                                                 f"{', '.join(want) or 'nothing'}",
                                                 self.src.line(loc + ("check", "stages")),
                                                 expected=", ".join(want), actual=", ".join(reported)))
        if e.all_deadlines_met is not None:
            case.checks += 1
            missed = [o for o in view.obligations if o.state in ("late", "overdue")]
            if e.all_deadlines_met:
                for ob in missed:
                    case.failures.append(self._missed(ob, when, head, self.src.line(loc + ("all_deadlines_met",))))
            elif not missed:
                case.failures.append(Failure(f"{head}: every deadline is met, expected at least one late or overdue",
                                             self.src.line(loc + ("all_deadlines_met",)),
                                             expected="a missed deadline", actual="none"))
        self.result.cases.append(case)
        status = "ok" if case.passed else "failed"
        summary = "; ".join(f"{k} {v}" for k, v in e.obligations.items())
        if e.check is not None:
            summary += ("; " if summary else "") + "check " + " ".join(
                x for x in (f"exit {e.check.exit}" if e.check.exit is not None else "",
                            f"reports {', '.join(e.check.stages) or 'nothing'}" if e.check.stages is not None else "",
                            f"announces {', '.join(e.check.announces) or 'nothing'}"
                            if e.check.announces is not None else "") if x)
        if e.due:
            summary += ("; " if summary else "") + "; ".join(f"{k} due {v}" for k, v in e.due.items())
        if e.all_deadlines_met is not None:
            summary += ("; " if summary else "") + ("all deadlines met" if e.all_deadlines_met else "a deadline missed")
        self.event(when, "expect", f"expect[{i}] {summary} — {'pass' if case.passed else 'FAIL'}", status, line)

    def _missed(self, ob, when: datetime, head: str, line: int | None) -> Failure:
        label = ob.stage + (f"#{ob.instance}" if ob.instance > 1 else "")
        if ob.state == "late" and ob.filing is not None:
            index = self.seq_action.get(ob.filing.seq)
            by = f" by actions[{index}]" if index is not None and index >= 0 else ""
            act_line = self.src.line(("actions", index)) if index is not None and index >= 0 else None
            due = ob.filing.due or ob.due
            text = (f"{head}: missed deadline: {label} filed late at {self.show(ob.filing.at)}{by}, due "
                    f"{self.show(due) if due else 'earlier'}")
            return Failure(text, act_line or line, "missed_deadline", ob.stage, "met", "late")
        return Failure(f"{head}: missed deadline: {label} is overdue since {self.show(ob.due)} and not filed",
                       line, "missed_deadline", ob.stage, "met", "overdue")

    def _end(self, end: datetime) -> None:
        views, view = self._views(end)
        line = self.src.line(("end",)) or self.src.line(("incident",))
        for ob in view.obligations:
            if ob.due is not None:
                word = {"met": "met", "late": "LATE", "overdue": "OVERDUE", "pending": "pending",
                        "not_applicable": "not applicable", "not_in_force": "not in force (ignored)"}[ob.state]
                if ob.due_kind == "conditional":
                    word = "only if still being handled then"
                label = ob.stage + (f"#{ob.instance}" if ob.instance > 1 else "")
                self.event(ob.due, "deadline", f"deadline {label} ({ob.recipient}) — {word}",
                           ob.state if ob.state in ("late", "overdue") else None)
        if not self.ex.end.all_deadlines_met:
            self.event(end, "end", "end (no default expectation: all_deadlines_met = false)", None, line)
            return
        exempt = {self._stage(k, ("expect", i, "obligations", k))[0]
                  for i, e in enumerate(self.ex.expect) for k, v in e.obligations.items() if v in ("late", "overdue")}
        case = Case(f"end at {self.rel(end)}: all deadlines met", "end", None, line, end, self.rel(end), checks=1,
                    note=self.ex.end.note)
        head = f"end at {self.show(end)}"
        for ob in view.obligations:
            if ob.state in ("late", "overdue") and ob.stage not in exempt:
                case.failures.append(self._missed(ob, end, head, line))
        self.result.cases.append(case)
        verdict = "all deadlines met" if case.passed else f"{len(case.failures)} missed deadline(s)"
        self.event(end, "end", f"end — {verdict}", "ok" if case.passed else "failed", line)


def _seq(head: str) -> int:
    return int(head.split(":", 1)[0])


def replay(exercise: Exercise, src: Source) -> FileResult:
    """Replay a validated exercise. Raises ExerciseError for a scenario that cannot be replayed."""
    return _Replay(exercise, src).run()


def check_file(path: str | Path) -> FileResult:
    """Read, validate and replay one file. Never raises the project's errors: an invalid file is a
    result with `error` set (exit 3)."""
    try:
        exercise, src = read(path)
        return replay(exercise, src)
    except ExerciseError as exc:
        return FileResult(str(path), error=exc)
    except Nis2IncidentError as exc:  # any other refusal while replaying: still the file's fault
        return FileResult(str(path), error=ExerciseError(exc.message, str(path)))


def check(items: list[str]) -> list[FileResult]:
    return [check_file(p) for p in expand(items)]


# --- the template ---------------------------------------------------------------------------------

TEMPLATE = '''\
# A tabletop exercise for nis2-incident: replayed by `nis2-incident exercise check FILE` at its own
# clock, on a ledger of its own in a temporary folder (your ledger is never touched). Format reference: the README's
# "Tabletop exercises" section; `nis2-incident exercise schema` prints the JSON Schema, so editors
# (taplo, VS Code's Even Better TOML) can check this file as you type: save it as
# exercise.schema.json and put `#:schema ./exercise.schema.json` as the first line.
format = 1

# T0: the start of the scenario, RFC 3339 with its offset. Every other time is either relative to T0
# (T+1h30m, T+3d, T-2h, T0; d is 24 hours elapsed) or absolute with its offset. Top-level keys such
# as this one come before the first [table].
t0 = "2026-03-28T23:40:00+01:00"

[exercise]
name = "Ransomware on the PACS"
author = "RSSI, CH Exemple"
tags = ["ransomware", "template"]
description = "What this scenario teaches, in a sentence or two."

# The reporting entity: the same keys as the ledger's profile (see `nis2-incident init --help`).
[profile]
name = "CH Exemple"
category = "essential"          # essential | important (`nis2-incident classify` helps decide)
timezone = "Europe/Paris"
health_establishment = true     # adds csp.report (CSP L.1111-8-2)
# trust_service = false         # true: the NIS 2 notification is due at 24 h, not 72 h
# regimes = ["nis2", "gdpr", "csp"]
# check_within = "6h"
# targets = { "csp.report" = "4h" }

# The incident as recorded at aware_at (the clock start); the keys of `open`.
[incident]
title = "Rançongiciel sur le PACS"
aware_at = "T0"
detected_at = "T-35m"
malicious = true
personal_data = true            # adds gdpr.notification (CNIL, 72 h)
# significance = "undetermined" # significant | not_significant (+ significance_rationale) | undetermined
# high_risk = true              # adds gdpr.data_subjects (patient letters, without undue delay)

# The team's actions, in chronological order: submit, request, update, handled, close.
[[actions]]
do = "submit"
at = "T+3h10m"
stage = "csp.report"
channel = "portail de signalement"

[[actions]]
do = "submit"
at = "T+20h"
stage = "nis2.early_warning"
channel = "CERT-FR"
reference = "CERTFR-2026-ALE-0157"

# [[actions]]
# do = "request"                # the authority asks for an intermediate report
# at = "T+2d"
# due = "T+5d"
#
# [[actions]]
# do = "update"                 # any incident key: significance, personal_data, high_risk...
# at = "T+6h"
# high_risk = true
#
# [[actions]]
# do = "handled"                # or "close"
# at = "T+10d"

[[actions]]
do = "submit"
at = "T+60h"
stage = "gdpr.notification"
channel = "CNIL téléservice"

[[actions]]
do = "submit"
at = "T+70h"
stage = "nis2.notification"
channel = "CERT-FR"

# What must hold at a given time (after every action at or before it).
[[expect]]
at = "T+23h"
note = "An hour before the early warning's deadline, check warns about the notifications."
obligations = { "nis2.early_warning" = "met", "csp.report" = "met", "nis2.notification" = "pending" }
check = { exit = 0, stages = [] }

[[expect]]
at = "T+3d"
due = { "nis2.notification" = "T+3d" }
obligations = { "nis2.notification" = "met", "gdpr.notification" = "met" }

# The end of the scenario: by default, no obligation may then be late or overdue.
[end]
at = "T+4d"
# all_deadlines_met = true
'''
