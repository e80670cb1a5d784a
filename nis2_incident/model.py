"""The domain: the profile, the events, and the incidents derived by folding the events.

An event is a plain dict as stored in the ledger: `seq`, `type`, `recorded_at`, optional `incident`,
`data`, `prev`, `hash`. Everything else (incidents, filings, requests) is derived here, so the record
has one source of truth. Obligations are computed in `deadlines`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from . import ladder, timeutil
from .errors import InputError, LedgerError

SIGNIFICANCE = ("significant", "not_significant", "undetermined")
EVENT_TYPES = ("profile_set", "opened", "amended", "filed", "requested", "handled", "closed")

# Fields of an incident that `open` and `update` may set, with their kind.
FACT_FIELDS: dict[str, str] = {
    "title": "text",
    "summary": "text",
    "detected_at": "time",
    "aware_at": "time",
    "significance": "significance",
    "significance_rationale": "text",
    "malicious": "bool",
    "cross_border": "bool",
    "personal_data": "bool",
    "high_risk": "bool",
    "breach_risk": "bool",
    "breach_risk_rationale": "text",
    "serious": "bool",
    "serious_rationale": "text",
    "severity": "text",
    "impact": "text",
    "iocs": "list",
    "root_cause": "text",
    "mitigations": "text",
}


class Profile(BaseModel):
    """The reporting entity. Set by `profile_set` events; the ledger's top-level `profile` is a view."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    category: Literal["essential", "important"]
    timezone: str = "Europe/Paris"
    trust_service: bool = False
    health_establishment: bool = False
    regimes: list[str] = Field(default_factory=lambda: ["nis2"])
    check_within: str = "6h"
    # The entity's own targets for stages without a legal hour count, e.g. {"csp.report": "4h"}.
    targets: dict[str, str] = Field(default_factory=dict)
    regimes_dir: str = ""  # a folder of regime files that add to or override the shipped ones
    # `check`'s reminder ladder (SPEC §5; see ladder.py): per period, the steps at which a finding is
    # announced, as a time before the due instant ("4h") or a share of the period elapsed ("80%");
    # then every `reminder_every` while overdue or while a without-undue-delay report is not filed.
    reminders: dict[str, list[str]] = Field(default_factory=ladder.default_ladder)
    reminder_every: str = ladder.DEFAULT_EVERY
    templates_dir: str = ""  # a folder of draft templates that override the shipped ones
    alarms: list[str] = Field(default_factory=lambda: ["2h", "30m"])  # calendar alarms before each due time
    dpo: str = ""  # the data protection officer's name and contact details (GDPR Art. 33(3)(b), 34(2))

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            timeutil.zone(value)
        except InputError as exc:
            raise ValueError(exc.message) from None
        return value

    @field_validator("check_within")
    @classmethod
    def _duration(cls, value: str) -> str:
        try:
            timeutil.parse_duration(value)
        except InputError as exc:
            raise ValueError(exc.message) from None
        return value

    @field_validator("alarms")
    @classmethod
    def _alarms(cls, value: list[str]) -> list[str]:
        for duration in value:
            try:
                timeutil.parse_duration(duration)
            except InputError as exc:
                raise ValueError(f"alarm: {exc.message}") from None
        return value

    @field_validator("reminders")
    @classmethod
    def _reminders(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        try:
            ladder.validate(value)
        except InputError as exc:
            raise ValueError(exc.message) from None
        return value

    @field_validator("reminder_every")
    @classmethod
    def _every(cls, value: str) -> str:
        try:
            ladder.parse_every(value)
        except InputError as exc:
            raise ValueError(exc.message) from None
        return value

    @field_validator("targets")
    @classmethod
    def _targets(cls, value: dict[str, str]) -> dict[str, str]:
        for stage, duration in value.items():
            if "." not in stage:
                raise ValueError(f"target {stage!r}: name a stage such as csp.report")
            try:
                timeutil.parse_duration(duration)
            except InputError as exc:
                raise ValueError(f"target {stage}: {exc.message}") from None
        return value


@dataclass
class Filing:
    seq: int
    stage: str  # full name, e.g. "nis2.early_warning"
    at: datetime
    reference: str | None = None
    channel: str | None = None
    late_reason: str | None = None
    due: datetime | None = None  # the due instant when it was filed (lateness is frozen at filing)
    late: bool = False
    draft_sha256: str | None = None  # SHA-256 of the text that was filed (`submit --draft FILE`)


@dataclass
class Request:
    seq: int
    stage: str
    at: datetime
    due: datetime


@dataclass
class TimelineEntry:
    seq: int
    type: str
    recorded_at: datetime
    at: datetime | None
    text: str


@dataclass
class Incident:
    id: str
    number: int
    title: str
    aware_at: datetime
    opened_seq: int
    summary: str | None = None
    detected_at: datetime | None = None
    significance: str = "undetermined"
    significance_rationale: str | None = None
    malicious: bool | None = None
    cross_border: bool | None = None
    personal_data: bool | None = None
    high_risk: bool | None = None
    breach_risk: bool | None = None
    breach_risk_rationale: str | None = None
    serious: bool | None = None
    serious_rationale: str | None = None
    severity: str | None = None
    impact: str | None = None
    iocs: list[str] = field(default_factory=list)
    root_cause: str | None = None
    mitigations: str | None = None
    handled_at: datetime | None = None
    closed_at: datetime | None = None
    filings: list[Filing] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    timeline: list[TimelineEntry] = field(default_factory=list)

    @property
    def status(self) -> str:
        if self.closed_at is not None:
            return "closed"
        if self.handled_at is not None:
            return "handled"
        return "open"

    def filings_of(self, stage: str) -> list[Filing]:
        return sorted((f for f in self.filings if f.stage == stage), key=lambda f: (f.at, f.seq))

    def facts(self) -> dict:
        return {name: getattr(self, name) for name in FACT_FIELDS}


@dataclass
class State:
    """The ledger folded: the current profile and every incident, in opening order."""

    profile: Profile | None
    incidents: dict[str, Incident]
    head_seq: int
    head_hash: str

    def incident(self, ident: str) -> Incident:
        from .errors import NotFound

        key = ident.strip().upper()
        if key in self.incidents:
            return self.incidents[key]
        if key.isdigit():  # shorthand: the incident's number, e.g. `3` for INC-2026-003
            for inc in self.incidents.values():
                if inc.number == int(key):
                    return inc
        known = ", ".join(list(self.incidents)[-5:]) or "none yet"
        raise NotFound(f"unknown incident {ident!r}; accepted: an id such as {known} or its number (see `list`)")


# --- folding -------------------------------------------------------------------------------

def _time(value, seq: int, key: str) -> datetime:
    try:
        return timeutil.parse_instant(value)
    except ValueError as exc:
        raise LedgerError(f"event seq {seq}: {key}: {exc}") from None


def decode_fact(name: str, value, seq: int):
    kind = FACT_FIELDS.get(name)
    if kind is None:
        raise LedgerError(f"event seq {seq}: unknown incident field {name!r}")
    if kind == "time":
        return _time(value, seq, name)
    if kind == "bool" and not isinstance(value, bool):
        raise LedgerError(f"event seq {seq}: {name} must be true or false")
    if kind == "text" and not isinstance(value, str):
        raise LedgerError(f"event seq {seq}: {name} must be a string")
    if kind == "list" and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        raise LedgerError(f"event seq {seq}: {name} must be a list of strings")
    if kind == "significance" and value not in SIGNIFICANCE:
        raise LedgerError(f"event seq {seq}: significance must be one of {', '.join(SIGNIFICANCE)}")
    return value


def fold(events: list[dict]) -> State:
    """Derive the profile and incidents from the events. Raises LedgerError naming the bad event."""
    profile: Profile | None = None
    incidents: dict[str, Incident] = {}
    head_seq, head_hash = 0, ""
    for ev in events:
        seq, kind, data = ev["seq"], ev["type"], ev.get("data", {})
        head_seq, head_hash = seq, ev["hash"]
        if not isinstance(data, dict):
            raise LedgerError(f"event seq {seq}: data must be a table")
        recorded = _time(ev["recorded_at"], seq, "recorded_at")
        if kind == "profile_set":
            merged = {**(profile.model_dump() if profile else {}), **data}
            try:
                profile = Profile.model_validate(merged)
            except ValidationError as exc:
                first = exc.errors()[0]
                loc = ".".join(str(p) for p in first["loc"]) or "profile"
                raise LedgerError(f"event seq {seq}: profile.{loc}: {first['msg']}") from None
            except Exception as exc:  # InputError from a validator that pydantic did not wrap
                raise LedgerError(f"event seq {seq}: profile: {exc}") from None
            continue
        if profile is None:
            raise LedgerError(f"event seq {seq}: {kind} before the profile was set")
        ident = ev.get("incident")
        if kind == "opened":
            if not isinstance(ident, str) or ident in incidents:
                raise LedgerError(f"event seq {seq}: opened needs a new incident id, got {ident!r}")
            facts = {k: decode_fact(k, v, seq) for k, v in data.items() if k != "number"}
            if "title" not in facts or "aware_at" not in facts:
                raise LedgerError(f"event seq {seq}: opened needs title and aware_at")
            number = data.get("number", len(incidents) + 1)
            inc = Incident(id=ident, number=number, opened_seq=seq, **facts)
            incidents[ident] = inc
            inc.timeline.append(TimelineEntry(seq, kind, recorded, inc.aware_at, f"opened: {inc.title}"))
            continue
        inc = incidents.get(ident)  # type: ignore[arg-type]
        if inc is None:
            raise LedgerError(f"event seq {seq}: {kind} for unknown incident {ident!r}")
        if kind == "amended":
            for k, v in data.items():
                setattr(inc, k, decode_fact(k, v, seq))
            inc.timeline.append(TimelineEntry(seq, kind, recorded, None, "amended: " + ", ".join(sorted(data))))
        elif kind == "filed":
            filing = Filing(
                seq=seq,
                stage=str(data.get("stage")),
                at=_time(data.get("at"), seq, "at"),
                reference=data.get("reference"),
                channel=data.get("channel"),
                late_reason=data.get("late_reason"),
                due=_time(data["due"], seq, "due") if "due" in data else None,
                late=bool(data.get("late", False)),
                draft_sha256=data.get("draft_sha256"),
            )
            inc.filings.append(filing)
            ref = f" (ref. {filing.reference})" if filing.reference else ""
            inc.timeline.append(TimelineEntry(seq, kind, recorded, filing.at, f"filed {filing.stage}{ref}"))
        elif kind == "requested":
            req = Request(seq, str(data.get("stage")), _time(data.get("at"), seq, "at"), _time(data.get("due"), seq, "due"))
            inc.requests.append(req)
            inc.timeline.append(TimelineEntry(seq, kind, recorded, req.at, f"authority requested {req.stage}"))
        elif kind in ("handled", "closed"):
            at = _time(data.get("at"), seq, "at")
            setattr(inc, f"{kind}_at", at)
            inc.timeline.append(TimelineEntry(seq, kind, recorded, at, kind))
        else:
            raise LedgerError(f"event seq {seq}: unknown event type {kind!r}; known: {', '.join(EVENT_TYPES)}")
    return State(profile=profile, incidents=incidents, head_seq=head_seq, head_hash=head_hash)
