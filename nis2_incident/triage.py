"""Triage (issue 17, DOMAIN §9): for each regime the entity's roles allow, does it apply to this
incident, not apply, or is it undetermined, with the facts that decided and, for undetermined, the
questions that would settle it. Pure: (incident, profile, regimes) -> verdicts; no I/O, no clock.

The rules are the regimes' own conditions (`applies`, each stage's `when` and `waiver`), read here
three-valued: a fact not recorded yet (or `significance = undetermined`) is *unknown*, whatever the
condition accepts. The deadlines engine counts an unknown fact as applying where the regime says so
(`"unknown"` in its condition): triage says the same obligations rest on it. The questions are the
regimes' data (`[[questions]]`), so the text that asks is kept with the rule it settles.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .regimes import Regime

APPLIES, NOT, UNDETERMINED = "applies", "does_not_apply", "undetermined"


@dataclass
class Verdict:
    regime: str
    name: str
    verdict: str  # applies | does_not_apply | undetermined
    enabled: bool  # in the profile's regimes (else: allowed by a role, not computed; `profile --regime`)
    in_force: bool
    in_force_note: str | None
    decided: list[str] = field(default_factory=list)  # "fact = value" lines that decided
    reason: str | None = None  # why it does not apply
    questions: list[dict] = field(default_factory=list)  # {fact, text, text_fr, article, settles}

    def to_json(self) -> dict:
        return {"regime": self.regime, "name": self.name, "verdict": self.verdict, "enabled": self.enabled,
                "in_force": self.in_force, "in_force_note": self.in_force_note, "decided": list(self.decided),
                "reason": self.reason, "questions": [dict(q) for q in self.questions]}


def _word(value) -> str:
    return {True: "yes", False: "no", None: "unknown"}.get(value, str(value))


def _eval(cond: dict, obj) -> tuple[str, list[str], list[str], list[str]]:
    """(yes | no | unknown, facts unknown, facts failing, decided lines) of a condition."""
    unknown, failing, decided = [], [], []
    for key, expected in cond.items():
        actual = getattr(obj, key, None)
        options = expected if isinstance(expected, list) else [expected]
        if actual is None or actual == "undetermined":
            unknown.append(key)
            continue
        decided.append(f"{key} = {_word(actual)}")
        if actual not in [o for o in options if o != "unknown"]:
            failing.append(key)
    return ("no" if failing else "unknown" if unknown else "yes"), unknown, failing, decided


def allowed(regime: Regime, profile) -> bool:
    """Whether the entity's roles allow the regime: its profile conditions hold."""
    return _eval(regime.applies.profile, profile)[0] == "yes"


def triage_regime(inc, profile, regime: Regime, enabled: bool) -> Verdict:
    binds = regime.in_force_at(inc.aware_at)
    verdict = Verdict(regime.id, regime.name, UNDETERMINED, enabled, binds,
                      None if binds else regime.not_in_force_reason(inc.aware_at))
    status, unknown, failing, decided = _eval(regime.applies.incident, inc)
    verdict.decided = [f"profile: {line}" for line in _eval(regime.applies.profile, profile)[3]] + decided
    if status == "no":
        verdict.verdict, verdict.reason = NOT, regime.applies.otherwise
        return verdict
    open_facts = list(unknown)
    stage_yes, stage_open, reasons = False, False, []
    for stage in regime.stages:
        if stage.start == "request":
            continue  # only on the authority's request: it never decides whether the regime applies
        s_status, s_unknown, s_failing, s_decided = (_eval(stage.when.incident, inc) if stage.when
                                                     else ("yes", [], [], []))
        if stage.waiver is not None and getattr(inc, stage.waiver.fact, None) == stage.waiver.value:
            s_status = "no"
            s_decided = [*s_decided, f"{stage.waiver.fact} = {_word(stage.waiver.value)}"]
        verdict.decided += [d for d in s_decided if d not in verdict.decided]
        if s_status == "yes":
            stage_yes = True
        elif s_status == "unknown":
            stage_open = True
            open_facts += [f for f in s_unknown if f not in open_facts]
        elif stage.when is not None:
            reasons.append(stage.when.otherwise)
    if status == "yes" and stage_yes:
        verdict.verdict = APPLIES
    elif status == "yes" and not stage_open:
        verdict.verdict, verdict.reason = NOT, "; ".join(dict.fromkeys(reasons)) or None
    # the period's facts (variants: MDR 2/10/15 days, AI Act): asked too, marked as setting the period
    period_facts = [k for st in regime.stages for v in st.variants for k in v.incident
                    if getattr(inc, k, None) is None and k not in open_facts]
    asked = {q.fact: q for q in regime.questions}
    if verdict.verdict != NOT:
        for fact in [*open_facts, *dict.fromkeys(period_facts)]:
            q = asked.get(fact)
            verdict.questions.append({
                "fact": fact, "settles": "applicability" if fact in open_facts else "period",
                "text": q.text if q else f"Record {fact.replace('_', ' ')} (`update ID`).",
                "text_fr": q.text_fr if q else None, "article": q.article if q else regime.law})
    return verdict


def triage(inc, profile, regimes) -> list[Verdict]:
    """A verdict for every regime that is enabled or that the entity's roles allow (a regime without a
    role gate, such as nis2 or gdpr, only when enabled), in the profile's order, then the others."""
    version_at = getattr(regimes, "at", None)
    enabled = list(profile.regimes)
    ids = [*enabled, *(rid for rid in regimes if rid not in enabled)]
    out = []
    for rid in ids:
        regime = version_at(rid, inc.aware_at) if version_at else regimes.get(rid)
        if regime is None:
            continue
        is_enabled = rid in enabled
        if not allowed(regime, profile):
            if is_enabled:  # enabled, but the roles do not allow it: say so rather than leave it out
                binds = regime.in_force_at(inc.aware_at)
                out.append(Verdict(rid, regime.name, NOT, True, binds,
                                   None if binds else regime.not_in_force_reason(inc.aware_at),
                                   [f"profile: {d}" for d in _eval(regime.applies.profile, profile)[3]],
                                   regime.applies.otherwise))
            continue
        if not is_enabled and not regime.applies.profile:
            continue
        out.append(triage_regime(inc, profile, regime, is_enabled))
    return out
