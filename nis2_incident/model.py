"""The domain: the profile, the events, and the incidents derived by folding the events.

An event is a plain dict as stored in the ledger: `seq`, `type`, `recorded_at`, optional `incident`,
`data`, `prev`, `hash`. Everything else (incidents, filings, requests) is derived here, so the record
has one source of truth. Obligations are computed in `deadlines`.
"""

from __future__ import annotations

import sys

import copy
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

from . import timeutil
from .errors import LedgerError


def __getattr__(name: str):
    """`Profile` (pydantic) lives in `profile.py` and is imported on first use only."""
    if name == "Profile":
        from .profile import Profile

        return Profile
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

SIGNIFICANCE = ("significant", "not_significant", "undetermined")
# Harm to a patient (issue 17): none; harm that is not serious; serious (a threat to life, a probable
# permanent deficit, an unanticipated serious deterioration: CSP R.1413-67, MDR Art. 87(5)); a death.
PATIENT_HARM = ("none", "harm", "serious", "death")
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
    # issue 17: the facts the other regimes turn on (README: "Every duty, and triage")
    "service_disruption": "bool",  # significant disruption of an essential service (NIS 1, CER)
    "major": "bool",  # DORA: classified as a major ICT-related incident
    "classified_major_at": "time",  # DORA: when it was classified major
    "vulnerability_exploited": "bool",  # CRA: an actively exploited vulnerability in the product
    "severe_incident": "bool",  # CRA: a severe incident affecting the product's security (Art. 14(5))
    "corrective_measure_at": "time",  # CRA: when a corrective or mitigating measure became available
    "patient_harm": "harm",  # EIGS, MDR, materiovigilance, AI Act
    "public_health_threat": "bool",  # MDR Art. 87(4)
    "device_involved": "bool",  # a medical device involved (MDR, materiovigilance; excludes the CRA)
    "ai_system_involved": "bool",  # a high-risk AI system involved (AI Act)
    "widespread_infringement": "bool",  # AI Act Art. 73(3)
}


@dataclass(slots=True)
class Filing:
    seq: int
    stage: str  # full name, e.g. "nis2.early_warning"
    at: datetime
    reference: str | None = None
    channel: str | None = None
    late_reason: str | None = None
    due: datetime | None = None  # the due instant when it was filed (what was judged then; issue 12)
    late: bool = False
    draft_sha256: str | None = None  # SHA-256 of the text that was filed (`submit --draft FILE`)
    reason_seq: int | None = None  # the event that recorded `late_reason` after the filing (issue 12)


@dataclass(slots=True)
class Request:
    seq: int
    stage: str
    at: datetime
    due: datetime


@dataclass(slots=True)
class TimelineEntry:
    seq: int
    type: str
    recorded_at: datetime
    at: datetime | None
    text: str


@dataclass(slots=True)
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
    service_disruption: bool | None = None
    major: bool | None = None
    classified_major_at: datetime | None = None
    vulnerability_exploited: bool | None = None
    severe_incident: bool | None = None
    corrective_measure_at: datetime | None = None
    patient_harm: str | None = None
    public_health_threat: bool | None = None
    device_involved: bool | None = None
    ai_system_involved: bool | None = None
    widespread_infringement: bool | None = None
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
        found = [f for f in self.filings if f.stage == stage]
        if len(found) > 1:  # (most stages have none or one: no sort, called for every stage of every view)
            found.sort(key=lambda f: (f.at, f.seq))
        return found

    def facts(self) -> dict:
        return {name: getattr(self, name) for name in FACT_FIELDS}


class StoredProfile:
    """A validated profile as folded from the record (`profile_schema.validate`) or kept in the log's
    checkpoint (issue 13): the same attributes and `model_dump()` as the `Profile` built from the same
    data, without importing pydantic."""

    __slots__ = ("_data",)

    def __init__(self, data: dict):
        object.__setattr__(self, "_data", data)

    def __getattr__(self, name: str):
        try:
            return object.__getattribute__(self, "_data")[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value) -> None:
        raise AttributeError("a stored profile is read-only; change the profile with a profile_set event")

    def model_dump(self) -> dict:
        return copy.deepcopy(object.__getattribute__(self, "_data"))

    def __repr__(self) -> str:
        return f"StoredProfile({object.__getattribute__(self, '_data')!r})"


class State:
    """The ledger folded: the current profile and every incident, in opening order.

    `fold` gives a complete state. A log's checkpoint (`Service`, issue 13) gives a *partial* one: the
    incidents that can still change with time are folded, and every incident's id and number is known
    (`index`). Asking a partial state for something it does not hold (`incidents`, all of them, or
    `incident()` of an incident that is settled) calls `load_all`, a full read of the same ledger, so
    whoever needs everything gets everything: the checkpoint changes the speed, never the result.

    `as_of` ("as of", issue 12): events recorded after that instant are left out of the fold and
    counted in `left_out`, so a view at a past `--now` is what the record said then.
    """

    def __init__(self, profile=None, incidents: dict[str, Incident] | None = None, head_seq: int = 0,
                 head_hash: str = "", index: dict[str, int] | None = None,
                 load_all: Callable[[], "State"] | None = None, as_of: datetime | None = None):
        self.profile = profile
        self.head_seq, self.head_hash = head_seq, head_hash
        self.as_of, self.left_out = as_of, 0  # events recorded after `as_of` are left out, and counted
        self._loaded: dict[str, Incident] = incidents if incidents is not None else {}
        self._index = index  # {id: number} of every incident in opening order; None when complete
        self._load_all = load_all
        self._settled: set[str] = set()  # incidents known to be settled (see `live`)
        # incident id -> the `settled` mark of its `closed` event, while that event is its last one
        # (any later event of the incident removes it): what `Service._settled` may take instead of
        # computing the obligations, when the mark is that of the rules in force (issue 13)
        self.marks: dict[str, str] = {}
        self.source: str | None = None  # the ledger's path, for an error in an incident folded on demand
        self.recorded_max: datetime | None = None  # the latest `recorded_at` folded (issue 12, "as of")

    @property
    def partial(self) -> bool:
        return self._index is not None

    @property
    def incidents(self) -> dict[str, Incident]:
        """Every incident, in opening order (a partial state completes itself first)."""
        if self._index is not None:
            self._complete()
        return self._loaded

    @property
    def live(self) -> list[Incident]:
        """The incidents that can change with time: all but those known to be settled (closed, every
        obligation met, late or not applicable: `Service._settled`). A partial state holds no others."""
        return [inc for inc in self._loaded.values() if inc.id not in self._settled]

    def mark_settled(self, idents) -> None:
        self._settled = set(idents)

    @property
    def count(self) -> int:
        return len(self._index) if self._index is not None else len(self._loaded)

    @property
    def numbers(self) -> dict[str, int]:
        """Every incident's id and number, in opening order (without reading a partial state whole)."""
        if self._index is not None:
            return dict(self._index)
        return {ident: inc.number for ident, inc in self._loaded.items()}

    def known(self, ident: str) -> bool:
        return ident in (self._index if self._index is not None else self._loaded)

    def _fetch(self, key: str) -> bool:
        """Load one settled incident that a partial state does not hold, from its own events
        (`load_one`, given by whoever built the state; the head stays the state's). False when there
        is no such way (then the whole ledger is read)."""
        load_one = getattr(self, "_load_one", None)
        events = load_one(key) if load_one is not None else None
        if not events:
            return False
        head = (self.head_seq, self.head_hash, self.recorded_max)
        self._fetching = key  # its `opened` event names an incident the index already knows
        try:
            for ev in events:
                self.apply_at(ev, number=self._index.get(key) if ev.get("type") == "opened" else None)
            if key not in self._loaded:  # lines of an incident without its `opened` line
                raise LedgerError(f"{self.source + ': ' if self.source else ''}incident {key}: its events do "
                                  "not begin with an `opened` event")
        finally:
            self._fetching = None
            self.head_seq, self.head_hash, self.recorded_max = head
        self._settled.add(key)
        return True

    def holds(self, ident: str) -> bool:
        """Whether the incident is folded and held (a partial state holds only some)."""
        return ident in self._loaded

    def release(self, ident: str) -> None:
        """Let go of a settled incident a partial state folded on demand (`_fetch`); asked again, it is
        folded again from its own events. A whole state, or a live incident, keeps what it holds."""
        if self._index is not None and ident in self._settled and ident in self._loaded:
            del self._loaded[ident]

    def _complete(self) -> None:
        if self._load_all is None:
            raise RuntimeError("a partial state without a way to read the whole ledger")
        full = self._load_all()
        self._loaded, self._index = full.incidents, None
        if (full.head_seq, full.head_hash) != (self.head_seq, self.head_hash):
            # the ledger was written since the cache was read: this is now the newer ledger, whole
            self.profile, self.head_seq, self.head_hash = full.profile, full.head_seq, full.head_hash
            self._settled = set()
        self.recorded_max = full.recorded_max

    def incident(self, ident: str) -> Incident:
        from .errors import NotFound

        # an id as the ledger holds it, else as a person types it (any case, spaces around)
        exact = ident in self._loaded or (self._index is not None and ident in self._index)
        key = ident if exact else ident.strip().upper()
        if key in self._loaded:
            return self._loaded[key]
        if self._index is None:
            order = ((i, inc.number) for i, inc in self._loaded.items())
        elif key in self._index:  # settled, not loaded: its own events, else the whole ledger
            if not self._fetch(key):
                self._complete()
            return self._loaded[key]
        else:
            order = iter(self._index.items())
        if key.isdigit():  # shorthand: the incident's number, e.g. `3` for INC-2026-003
            for found, number in order:
                if number == int(key):
                    if found not in self._loaded and not self._fetch(found):
                        self._complete()
                    return self._loaded[found]
        known = ", ".join(list(self._index if self._index is not None else self._loaded)[-5:]) or "none yet"
        raise NotFound(f"unknown incident {ident!r}; accepted: an id such as {known} or its number (see `list`)")

    def apply_at(self, ev: dict, number: int | None = None) -> None:
        """`apply` of an event read from `source` (a partial fold: the live incidents' lines, those
        after the checkpoint, a settled incident's own): an error names the ledger and the line, as
        the whole read's does (event seq N is line N + 1)."""
        try:
            self.apply(ev, number)
        except LedgerError as exc:
            where = f"{self.source}: line {ev['seq'] + 1}: " if self.source and isinstance(ev.get("seq"), int) else ""
            raise type(exc)(where + exc.message) from None

    def apply(self, ev: dict, number: int | None = None) -> None:
        """Fold one more event (the body of `fold`). Raises LedgerError naming the bad event. `number`:
        the incident's number for an `opened` event that does not carry one (a partial fold, where
        the position in the ledger is not known)."""
        seq, kind, data = ev["seq"], sys.intern(ev["type"]), ev.get("data", {})
        recorded = _time(ev["recorded_at"], seq, "recorded_at")
        if self.as_of is not None and recorded > self.as_of:
            self.left_out += 1  # recorded after the instant this state is "as of" (issue 12)
            return
        self.head_seq, self.head_hash = seq, ev["hash"]
        if not isinstance(data, dict):
            raise LedgerError(f"event seq {seq}: data must be a table")
        if self.recorded_max is None or recorded > self.recorded_max:
            self.recorded_max = recorded
        if kind == "profile_set":
            if "incident" in ev:  # (no writer makes one; the whole read and the survey must read alike)
                raise LedgerError(f"event seq {seq}: a profile_set event names no incident, got {ev['incident']!r}")
            # validated without pydantic (profile_schema: the same declaration as `Profile`, ~100 ms less)
            from .profile_schema import ProfileInvalid, validate

            profile = self.profile
            merged = {**(profile.model_dump() if profile else {}), **data}
            try:
                self.profile = StoredProfile(validate(merged))
            except ProfileInvalid as exc:
                loc, msg = exc.first
                raise LedgerError(f"event seq {seq}: profile.{loc}: {msg}") from None
            except Exception as exc:  # an error from a check that is not a ValueError (as through pydantic)
                raise LedgerError(f"event seq {seq}: profile: {exc}") from None
            return
        if self.profile is None:
            raise LedgerError(f"event seq {seq}: {kind} before the profile was set")
        ident = ev.get("incident")
        incidents = self._loaded
        if kind == "opened":
            if not isinstance(ident, str) or (self.known(ident) and ident != getattr(self, "_fetching", None)):
                raise LedgerError(f"event seq {seq}: opened needs a new incident id, got {ident!r}")
            facts = {k: decode_fact(k, v, seq) for k, v in data.items() if k != "number"}
            if "title" not in facts or "aware_at" not in facts:
                raise LedgerError(f"event seq {seq}: opened needs title and aware_at")
            number = data.get("number", number if number is not None else self.count + 1)
            inc = Incident(id=ident, number=number, opened_seq=seq, **facts)
            incidents[ident] = inc
            if self._index is not None:
                self._index[ident] = number
            inc.timeline.append(TimelineEntry(seq, kind, recorded, inc.aware_at, f"opened: {inc.title}"))
            return
        inc = incidents.get(ident)  # type: ignore[arg-type]
        if inc is None and self._index is not None and ident in self._index:
            # an event of a settled incident: fold its own events first (else the whole ledger)
            if not self._fetch(ident):
                self._complete()
            self._settled.discard(ident)  # it changes: live again until shown settled
            inc = self._loaded.get(ident)
        if inc is None:
            raise LedgerError(f"event seq {seq}: {kind} for unknown incident {ident!r}")
        mark = data.get("settled") if kind == "closed" else None
        if type(mark) is str:
            self.marks[ident] = mark
        elif ident in self.marks:
            del self.marks[ident]  # a later event: the incident may change again (live until shown settled)
        if kind == "amended":
            for k, v in data.items():
                setattr(inc, k, decode_fact(k, v, seq))
            inc.timeline.append(TimelineEntry(seq, kind, recorded, None, "amended: " + ", ".join(sorted(data))))
        elif kind == "filed" and "reason_for" in data:
            # the reasons for the delay of an earlier filing, recorded once it became late (issue 12:
            # an amended aware-at); the filing itself is unchanged
            target = next((f for f in inc.filings if f.seq == data["reason_for"]), None)
            if target is None or not isinstance(data.get("late_reason"), str):
                raise LedgerError(f"event seq {seq}: reason_for names no filing of {inc.id} or has no late_reason")
            target.late_reason, target.reason_seq = data["late_reason"], seq
            inc.timeline.append(TimelineEntry(seq, kind, recorded, target.at,
                                              f"reasons for the delay of {target.stage} recorded"))
        elif kind == "filed":
            filing = Filing(
                seq=seq,
                stage=sys.intern(str(data.get("stage"))),
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
    if kind == "harm" and value not in PATIENT_HARM:
        raise LedgerError(f"event seq {seq}: {name} must be one of {', '.join(PATIENT_HARM)}")
    return value


def fold(events: list[dict], as_of: datetime | None = None) -> State:
    """Derive the profile and incidents from the events (those recorded at or before `as_of`, if
    given). Raises LedgerError naming the bad event."""
    state = State(as_of=as_of)
    for ev in events:
        state.apply(ev)
    return state


def fold_live(profile, events: list[dict], index: dict[str, int], head_seq: int, head_hash: str,
              load_all: Callable[[], State], recorded_max: datetime | None = None, source: str | None = None) -> State:
    """A partial state (see `State`): `events` are every event of the incidents kept live, in ledger
    order, folded on the stored `profile`; `index` is every incident's id and number."""
    state = State(profile=profile)
    state.source = source
    for ev in events:
        state.apply_at(ev, number=index.get(ev.get("incident")) if ev.get("type") == "opened" else None)
    state.head_seq, state.head_hash = head_seq, head_hash
    state.recorded_max = recorded_max
    state._index, state._load_all = dict(index), load_all
    return state
