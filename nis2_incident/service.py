"""Use cases: read the ledger, fold it, compute obligations; or append one event under the lock.

Every function takes `now`; none reads the clock. Input times arrive as the user typed them and are
parsed here, in the profile's zone read under the lock, so the CLI and the exercise replay share one
path. Errors are raised before anything is appended, so a refused command writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from . import deadlines
from . import timeutil as tu
from .deadlines import Obligation
from .errors import InputError, IntegrityError, NotFound, StateError
from .ledger import Ledger, Store
from .ledger import chain
from .model import FACT_FIELDS, SIGNIFICANCE, Incident, Profile, State, fold
from .regimes import Regime, builtin
from .regimes import load as load_regimes


@dataclass
class IncidentView:
    incident: Incident
    obligations: list[Obligation]
    profile: Profile

    @property
    def open_obligations(self) -> list[Obligation]:
        """Pending and overdue obligations, most urgent first. A progress report that is only
        conditional is left out: the final report due at the same instant stands for it."""
        return sorted((o for o in self.obligations if o.is_open and o.due_kind != "conditional"),
                      key=deadlines.sort_key)

    @property
    def next_obligation(self) -> Obligation | None:
        ranked = self.open_obligations
        return ranked[0] if ranked else None


@dataclass
class Outcome:
    """What a write returns: the result, the new head, and warnings for stderr."""

    value: object
    head: str
    warnings: list[str] = field(default_factory=list)


def folded(ledger: Ledger, source: str = "ledger") -> State:
    """Fold the events and check that the top-level profile is the one the events set."""
    from pydantic import ValidationError

    state = fold(ledger.events)
    expected = state.profile.model_dump() if state.profile else {}
    try:
        # compared as validated profiles, so fields added later with their defaults still match
        top = Profile.model_validate(ledger.profile).model_dump() if state.profile else ledger.profile
    except ValidationError:
        top = ledger.profile
    if top != expected:
        keys = sorted(k for k in set(top) | set(expected) if top.get(k) != expected.get(k))
        raise IntegrityError(
            f"{source}: the top-level profile does not match the profile set by the events "
            f"(differs in: {', '.join(keys) or 'shape'}); it was edited outside nis2-incident", None)
    return state


class Service:
    def __init__(self, store: Store, now: datetime, regimes: dict[str, Regime] | None = None,
                 regimes_dir: str | None = None):
        self.store = store
        self.now = now
        self._regimes = regimes
        self.regimes_dir = regimes_dir  # --regimes; else the profile's regimes_dir

    @property
    def regimes(self) -> dict[str, Regime]:
        return self._regimes if self._regimes is not None else builtin()

    def _bind(self, state: State) -> State:
        """Load the user's regime files once the profile is known."""
        if self._regimes is None and state.profile is not None:
            folder = self.regimes_dir or state.profile.regimes_dir
            self._regimes = load_regimes(folder) if folder else builtin()
        return state

    # --- reading -------------------------------------------------------------------------

    def state(self) -> State:
        ledger = self.store.read()
        state = folded(ledger, str(self.store.path))
        if state.profile is None:
            raise IntegrityError(f"{self.store.path}: the ledger has no profile event", None)
        return self._bind(state)

    def view(self, state: State, inc: Incident) -> IncidentView:
        return IncidentView(inc, deadlines.compute(inc, state.profile, self.regimes, self.now), state.profile)

    def views(self) -> tuple[State, list[IncidentView]]:
        state = self.state()
        return state, [self.view(state, inc) for inc in state.incidents.values()]

    def one(self, ident: str) -> tuple[State, IncidentView]:
        state = self.state()
        return state, self.view(state, state.incident(ident))

    def snapshot(self) -> tuple[Ledger, State, list[IncidentView]]:
        """One read of the ledger: the file's content (events, head), its fold, and every incident's
        obligations. For exports and drafts, which need the events as well as the derived record."""
        ledger = self.store.read()
        state = folded(ledger, str(self.store.path))
        if state.profile is None:
            raise IntegrityError(f"{self.store.path}: the ledger has no profile event", None)
        self._bind(state)
        return ledger, state, [self.view(state, inc) for inc in state.incidents.values()]

    def verify(self, head: str | None = None) -> dict:
        ledger = self.store.read()  # parses and verifies the chain
        state = folded(ledger, str(self.store.path))
        result = {"ok": True, "events": len(ledger.events), "incidents": len(state.incidents),
                  "head": ledger.head, "head_check": None}
        if head is not None:
            try:
                result["head_check"] = chain.check_head(ledger.events, head)
            except IntegrityError as exc:
                raise IntegrityError(f"{self.store.path}: {exc.message}", exc.seq) from None
        return result

    # --- writing -------------------------------------------------------------------------

    def _write(self, change) -> Outcome:
        warnings: list[str] = []

        def apply(ledger: Ledger):
            state = folded(ledger, str(self.store.path))
            if state.profile is None:
                raise IntegrityError(f"{self.store.path}: the ledger has no profile event", None)
            return change(ledger, self._bind(state), warnings)

        value, ledger = self.store.update(apply)
        return Outcome(value, ledger.head, warnings + self._store_notices())

    def _store_notices(self) -> list[str]:
        """What the store asks to tell the user after a write (a stale temporary file removed, a
        network file system); stores without a file (exercises) have none."""
        return list(getattr(self.store, "notices", []))

    def _event(self, ledger: Ledger, state: State, type_: str, data: dict, incident: str | None = None) -> dict:
        for key, value in data.items():
            for text in value if isinstance(value, list) else [value]:
                if isinstance(text, str):
                    try:
                        text.encode("utf-8")
                    except UnicodeEncodeError:
                        raise InputError(f"{key.replace('_', '-')}: not valid UTF-8 text; accepted: text in "
                                         "UTF-8 (check the terminal's encoding)") from None
        return ledger.append({"type": type_, "recorded_at": self._stamp(self.now, state.profile),
                              "incident": incident, "data": data})

    @staticmethod
    def _stamp(instant: datetime, profile: Profile) -> str:
        return tu.rfc3339(instant, profile.timezone)

    def init(self, **fields) -> Outcome:
        from pydantic import ValidationError

        fields = {k: v for k, v in fields.items() if v is not None}
        if "regimes" not in fields:  # every regime whose facts the profile can decide
            fields["regimes"] = ["nis2", "gdpr"] + (["csp"] if fields.get("health_establishment") else [])
        if fields.get("regimes_dir") and self._regimes is None:
            self._regimes = load_regimes(fields["regimes_dir"])
        self._check_targets(fields.get("targets", {}))
        try:
            profile = Profile.model_validate(fields)
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = ".".join(str(p) for p in err["loc"])
            raise InputError(f"profile {loc}: {err['msg'].removeprefix('Value error, ')}") from None
        unknown = [r for r in profile.regimes if r not in self.regimes]
        if unknown:
            raise InputError(f"unknown regime(s) {', '.join(unknown)}; accepted: {', '.join(self.regimes)}")
        ledger = Ledger(profile=profile.model_dump())
        ledger.append({"type": "profile_set", "recorded_at": self._stamp(self.now, profile),
                       "data": profile.model_dump()})
        self.store.create(ledger)
        return Outcome(profile, ledger.head, self._store_notices())

    def _check_targets(self, targets: dict) -> None:
        from .regimes import target_stage_names

        accepted = target_stage_names(self.regimes)
        for stage in targets:
            if stage not in accepted:
                raise InputError(f"--target {stage}: own targets are for stages without a legal hour count; "
                                 f"accepted: {', '.join(accepted)}")

    def set_profile(self, **changes) -> Outcome:
        """Change profile fields through a `profile_set` event, so the chain covers the profile."""
        from pydantic import ValidationError

        def change(ledger: Ledger, state: State, warnings: list[str]):
            current = state.profile.model_dump()
            changed = {k: v for k, v in changes.items() if v is not None and current.get(k) != v}
            if "targets" in changed:
                self._check_targets(changed["targets"])
            try:
                profile = Profile.model_validate({**current, **changed})
            except ValidationError as exc:
                err = exc.errors()[0]
                loc = ".".join(str(p) for p in err["loc"])
                raise InputError(f"profile {loc}: {err['msg'].removeprefix('Value error, ')}") from None
            if not changed:
                warnings.append("no change: the profile already says so; nothing was written")
                return profile
            self._event(ledger, state, "profile_set", changed)
            ledger.profile = profile.model_dump()
            return profile

        return self._write(change)

    def _parse_time(self, text: str, profile: Profile, what: str, not_after_now: bool = True) -> datetime:
        try:
            instant = tu.parse_when(text, self.now, profile.timezone)
        except InputError as exc:
            raise InputError(f"{what}: {exc.message}") from None
        if not_after_now and instant > self.now:
            raise InputError(
                f"{what} {tu.display(instant, profile.timezone)} is in the future "
                f"(now is {tu.display(self.now, profile.timezone)}); accepted: a time at or before now"
            )
        return instant

    def _facts(self, raw: dict, profile: Profile) -> dict:
        """Validate and normalise user-given facts to their stored form."""
        out: dict = {}
        for name, value in raw.items():
            if value is None:
                continue
            kind = FACT_FIELDS[name]
            if kind == "time":
                out[name] = self._stamp(self._parse_time(value, profile, name.replace("_at", "-at")), profile)
            elif kind == "text":
                text = str(value).strip()
                if not text:
                    raise InputError(f"{name.replace('_', '-')} is empty; accepted: some text")
                out[name] = text
            elif kind == "significance":
                if value not in SIGNIFICANCE:
                    raise InputError(f"significance {value!r}; accepted: {', '.join(SIGNIFICANCE)}")
                out[name] = value
            elif kind == "list":
                out[name] = [str(v).strip() for v in value if str(v).strip()]
            else:
                out[name] = bool(value)
        return out

    def _check_facts(self, facts: dict, profile: Profile, warnings: list[str]) -> None:
        """Rules over the merged facts (stored form)."""
        if facts.get("significance") == "not_significant" and not facts.get("significance_rationale"):
            raise InputError("--not-significant needs --rationale TEXT: the written reason it is not significant "
                             "(kept in the record, shown for the obligations it makes not applicable)")
        if facts.get("breach_risk") is False and not facts.get("breach_risk_rationale"):
            raise InputError("--no-risk needs --risk-rationale TEXT: why the breach is unlikely to result in a risk "
                             "(GDPR Art. 33(1); the decision is documented under Art. 33(5))")
        if facts.get("serious") is False and not facts.get("serious_rationale"):
            raise InputError("--not-serious needs --serious-rationale TEXT: why the incident is not serious under "
                             "CSP D.1111-16-2")
        aware = tu.parse_instant(facts["aware_at"])
        detected = facts.get("detected_at")
        if detected and tu.parse_instant(detected) > aware:
            warnings.append(f"detected-at {tu.display(tu.parse_instant(detected), profile.timezone)} is after "
                            f"aware-at; awareness usually follows detection (recorded as given)")

    def open_incident(self, title: str, aware: str, **facts) -> Outcome:
        def change(ledger: Ledger, state: State, warnings: list[str]):
            if not title or not title.strip():
                raise InputError("the title is empty; accepted: a short title such as 'Ransomware on the PACS'")
            given = self._facts({"title": title, "aware_at": aware, **facts}, state.profile)
            given.setdefault("significance", "undetermined")
            self._check_facts(given, state.profile, warnings)
            number = len(state.incidents) + 1
            year = tu.to_local(self.now, state.profile.timezone).year
            ident = f"INC-{year}-{number:03d}"
            while ident in state.incidents:  # ids stay unique even if numbering was disturbed
                number += 1
                ident = f"INC-{year}-{number:03d}"
            self._event(ledger, state, "opened", {**given, "number": number}, ident)
            new = fold(ledger.events)
            return self.view(new, new.incidents[ident])

        return self._write(change)

    def update_incident(self, ident: str, **facts) -> Outcome:
        def change(ledger: Ledger, state: State, warnings: list[str]):
            inc = state.incident(ident)
            given = self._facts(facts, state.profile)
            if not given:
                raise InputError("nothing to update; give at least one option (see `update --help`)")
            current = {k: _stored(v, state.profile) for k, v in inc.facts().items()}
            changed = {k: v for k, v in given.items() if current.get(k) != v}
            if changed:
                merged = {k: v for k, v in {**current, **changed}.items() if v is not None}
                self._check_facts(merged, state.profile, warnings)
                if "aware_at" in changed:
                    new_aware = tu.parse_instant(changed["aware_at"])
                    early = [f.stage for f in inc.filings if f.at < new_aware]
                    if early:
                        warnings.append(f"filings recorded before the new aware-at: {', '.join(early)}")
                self._event(ledger, state, "amended", changed, inc.id)
            else:
                warnings.append("no change: every value given is already recorded; nothing was written")
            new = fold(ledger.events)
            return self.view(new, new.incidents[inc.id])

        return self._write(change)

    def resolve_stage(self, stage: str, profile: Profile) -> str:
        enabled = {rid: r for rid, r in self.regimes.items() if rid in profile.regimes}
        names = [f"{r.id}.{s.id}" for r in enabled.values() for s in r.stages]
        key = (stage or "").strip().lower().replace("-", "_")
        if key in names:
            return key
        short = [n for n in names if n.split(".", 1)[1] == key]
        if len(short) == 1:
            return short[0]
        raise NotFound(f"unknown stage {stage!r}; accepted: {', '.join(names)}")

    def submit(self, ident: str, stage: str, at: str | None = None, reference: str | None = None,
               channel: str | None = None, late_reason: str | None = None,
               draft_sha256: str | None = None) -> Outcome:
        if draft_sha256 is not None and not (len(draft_sha256) == 64 and
                                             all(c in "0123456789abcdef" for c in draft_sha256)):
            raise InputError(f"draft SHA-256 {draft_sha256!r:.70}; accepted: 64 lowercase hexadecimal digits")

        def change(ledger: Ledger, state: State, warnings: list[str]):
            inc = state.incident(ident)
            name = self.resolve_stage(stage, state.profile)
            tz = state.profile.timezone
            when = self._parse_time(at or "now", state.profile, "--at")
            if when < inc.aware_at:
                raise InputError(
                    f"--at {tu.display(when, tz)} is before the clock start (aware-at "
                    f"{tu.display(inc.aware_at, tz)}); accepted: a time at or after aware-at"
                )
            # Lateness is frozen at filing: compare with the due time as computed at the filing instant.
            obligations = deadlines.compute(inc, state.profile, self.regimes, when)
            same = [o for o in obligations if o.stage == name]
            target = next((o for o in same if o.filing is None and o.state != "not_applicable"), None)
            if target is None and same:
                target = same[0]
                if target.state == "not_applicable":
                    warnings.append(f"{name} is not applicable ({target.note}); the filing is recorded anyway")
                elif target.filing is not None:
                    warnings.append(f"{name} was already filed at {tu.display(target.filing.at, tz)}; "
                                    "recorded as a further filing")
            if name.endswith(".intermediate") and not inc.requests:
                warnings.append("no request from the authority is recorded for this report (see `request`)")
            due = target.due if target is not None and target.state != "not_applicable" else None
            if target is not None and target.filing is not None:
                due = None  # a further filing does not change the first one's lateness
            late = due is not None and when > due
            if late and not late_reason and target is not None and target.late_reason_required:
                raise InputError(f"{name} is late (due {tu.display(due, tz)}): {target.article} requires the reasons "
                                 "for the delay; accepted: the same command with --late-reason TEXT")
            if late and not late_reason:
                warnings.append(f"filed late (due {tu.display(due, tz)}) without --late-reason; the reason for "
                                "the delay belongs in the record (the authority may ask for it)")
            data = {"stage": name, "at": self._stamp(when, state.profile), "reference": reference,
                    "channel": channel, "late_reason": late_reason,
                    "due": self._stamp(due, state.profile) if due else None, "late": late,
                    "draft_sha256": draft_sha256}
            self._event(ledger, state, "filed", data, inc.id)
            new = fold(ledger.events)
            return self.view(new, new.incidents[inc.id])

        return self._write(change)

    def request(self, ident: str, due: str, at: str | None = None, stage: str = "nis2.intermediate") -> Outcome:
        def change(ledger: Ledger, state: State, warnings: list[str]):
            inc = state.incident(ident)
            name = self.resolve_stage(stage, state.profile)
            regime_id, stage_id = name.split(".", 1)
            if self.regimes[regime_id].stage(stage_id).start != "request":
                accepted = [f"{r.id}.{s.id}" for r in self.regimes.values() for s in r.stages if s.start == "request"]
                raise InputError(f"{name} is not requested by the authority; accepted: {', '.join(accepted)}")
            tz = state.profile.timezone
            when = self._parse_time(at or "now", state.profile, "--at")
            if when < inc.aware_at:
                raise InputError(f"--at {tu.display(when, tz)} is before aware-at {tu.display(inc.aware_at, tz)}; "
                                 "accepted: a time at or after aware-at")
            try:
                due_at = tu.parse_when(due, when, tz)
            except InputError as exc:
                raise InputError(f"--due: {exc.message} (relative forms count from --at)") from None
            if due_at <= when:
                raise InputError(f"--due {tu.display(due_at, tz)} is not after the request ({tu.display(when, tz)}); "
                                 "accepted: the date the authority set, after its request")
            self._event(ledger, state, "requested",
                        {"stage": name, "at": self._stamp(when, state.profile), "due": self._stamp(due_at, state.profile)},
                        inc.id)
            new = fold(ledger.events)
            return self.view(new, new.incidents[inc.id])

        return self._write(change)

    def conclude(self, ident: str, kind: str, at: str | None = None) -> Outcome:
        """`handled` (handling concluded) or `closed` (closing also records handling if not yet)."""
        def change(ledger: Ledger, state: State, warnings: list[str]):
            inc = state.incident(ident)
            tz = state.profile.timezone
            when = self._parse_time(at or "now", state.profile, "--at")
            if when < inc.aware_at:
                raise InputError(f"--at {tu.display(when, tz)} is before aware-at {tu.display(inc.aware_at, tz)}; "
                                 "accepted: a time at or after aware-at")
            if inc.closed_at is not None:
                raise StateError(f"{inc.id} was closed at {tu.display(inc.closed_at, tz)}; nothing to record")
            if kind == "handled" and inc.handled_at is not None:
                warnings.append(f"handled-at was {tu.display(inc.handled_at, tz)}; now {tu.display(when, tz)}")
            stamp = {"at": self._stamp(when, state.profile)}
            if kind == "closed" and inc.handled_at is None:
                self._event(ledger, state, "handled", stamp, inc.id)
            self._event(ledger, state, kind, stamp, inc.id)
            new = fold(ledger.events)
            view = self.view(new, new.incidents[inc.id])
            if kind == "closed" and view.open_obligations:
                warnings.append("closed with obligations still open: "
                                + ", ".join(o.stage for o in view.open_obligations))
            return view

        return self._write(change)


def _stored(value, profile: Profile):
    if isinstance(value, datetime):
        return tu.rfc3339(value, profile.timezone)
    return value
