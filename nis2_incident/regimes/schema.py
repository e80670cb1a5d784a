"""The regime file format, validated with pydantic: what `parse_regime` checks a file against.

Imported only when a regime file is read (`regimes.parse_regime`); what the engine uses are the plain
classes of `regimes/__init__.py`, built from the validated data, so that a ledger read through its
checkpoint (issue 13) computes deadlines without importing pydantic.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

_START_KINDS = ("aware", "handled", "request")
# Incident facts that are instants and may start a clock (`fact:NAME`, issue 17).
TIME_FACTS = ("classified_major_at", "corrective_measure_at")


def _check_start(value: str, stage_ids: set[str]) -> None:
    if value in _START_KINDS:
        return
    kind, _, ref = value.partition(":")
    if kind in ("filed", "due", "ongoing") and ref in stage_ids:
        return
    if kind == "fact" and ref in TIME_FACTS:
        return
    raise ValueError(
        f"unknown clock start {value!r}; accepted: aware, handled, request, filed:STAGE, ongoing:STAGE, "
        f"fact:{'|'.join(TIME_FACTS)}"
    )


def _check_instant(value: str | None, key: str) -> None:
    if value is None:
        return
    from datetime import datetime

    try:
        if datetime.fromisoformat(value).tzinfo is None:
            raise ValueError
    except ValueError:
        raise ValueError(f"{key} must be an RFC 3339 time with offset, e.g. "
                         "2027-01-01T00:00:00+01:00") from None


Scalar = bool | str
# A condition maps a profile or incident fact to the value it must have, or to a list of accepted
# values; "unknown" stands for a fact not recorded yet (None).
Condition = dict[str, Scalar | list[Scalar]]


class Variant(BaseModel):
    model_config = ConfigDict(extra="forbid")
    profile: Condition = Field(default_factory=dict)
    incident: Condition = Field(default_factory=dict)
    hours: int | None = Field(default=None, ge=0)
    months: int | None = Field(default=None, ge=0)
    article: str
    article_fr: str | None = None  # the same, in French, for French drafts


class Ongoing(BaseModel):
    model_config = ConfigDict(extra="forbid")
    instead: str
    start: Literal["handled"] = "handled"
    months: int = Field(ge=1)
    article: str
    article_fr: str | None = None


class Earlier(BaseModel):
    """A second clock for the same stage: the stage is due at the earlier of the two (DORA: 4 h from
    classification, and at most 24 h from awareness)."""

    model_config = ConfigDict(extra="forbid")
    start: str
    hours: int | None = Field(default=None, ge=0)
    months: int | None = Field(default=None, ge=0)
    article: str


class Question(BaseModel):
    """What `triage` asks to settle an undetermined fact of this regime."""

    model_config = ConfigDict(extra="forbid")
    fact: str
    text: str
    text_fr: str | None = None
    article: str


class When(BaseModel):
    """Applicability: every listed profile and incident fact must match; else `otherwise` says why not."""

    model_config = ConfigDict(extra="forbid")
    profile: Condition = Field(default_factory=dict)
    incident: Condition = Field(default_factory=dict)
    otherwise: str = "does not apply to this incident"


class Waiver(BaseModel):
    """A recorded decision that makes a stage not applicable, e.g. GDPR Art. 33(1) 'unlikely to result in
    a risk': the incident fact `fact` set to `value`, with its written rationale in `rationale`."""

    model_config = ConfigDict(extra="forbid")
    fact: str
    value: Scalar = False
    rationale: str
    article: str
    text: str
    article_fr: str | None = None


class Stage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    title_fr: str
    article: str
    start: str
    recipient: str | None = None  # when it differs from the regime's (e.g. the data subjects)
    channel: str | None = None
    # French drafts contain no English: each text a draft quotes has its French form (issue 16)
    article_fr: str | None = None
    recipient_fr: str | None = None
    channel_fr: str | None = None
    when: When | None = None
    waiver: Waiver | None = None
    late_reason_required: bool = False
    content: list[str] = Field(default_factory=list)  # what the report must contain (for drafts)
    content_fr: list[str] = Field(default_factory=list)  # the same, in French (else drafts.CONTENT_FR)
    provisional: str | None = None
    hours: int | None = Field(default=None, ge=0)
    months: int | None = Field(default=None, ge=0)
    variants: list[Variant] = Field(default_factory=list)
    ongoing: Ongoing | None = None
    or_earlier: Earlier | None = None  # a second clock: the stage is due at the earlier of the two
    # "noon_next_working_day": a due time on a Saturday, Sunday or French public holiday may be met by
    # 12:00 on the next working day (DORA RTS 2025/301 Art. 5(4)); shown as information, the strict
    # time stays the deadline (README: Conservative choices)
    weekend_rule: Literal["noon_next_working_day"] | None = None
    unconfirmed: list[str] = Field(default_factory=list)  # points of this stage not confirmed in the text

    @model_validator(mode="after")
    def _one_period(self):
        if self.hours is not None and self.months is not None:
            raise ValueError("a stage has hours or months, not both")
        return self


class Regime(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    law: str
    recipient: str
    channel: str
    law_fr: str | None = None
    recipient_fr: str | None = None
    channel_fr: str | None = None
    language: str = "fr"
    effective_from: str | None = None  # RFC 3339; the version in force at the incident's aware-at applies
    effective_until: str | None = None  # RFC 3339; from this instant on, the rule no longer applies
    # false: the rule is not in force (yet) in France whatever the date, e.g. a directive not transposed;
    # `in_force_note` says why (shown by status, show and explain)
    in_force: bool = True
    in_force_note: str | None = None
    in_force_note_fr: str | None = None
    unconfirmed: list[str] = Field(default_factory=list)  # points not confirmed in the official text
    questions: list[Question] = Field(default_factory=list)  # what `triage` asks for each undetermined fact
    sources: list[str] = Field(default_factory=list)
    applies: When = Field(default_factory=When)
    stages: list[Stage] = Field(min_length=1)

    @model_validator(mode="after")
    def _references(self):
        _check_instant(self.effective_from, "effective_from")
        _check_instant(self.effective_until, "effective_until")
        ids = {s.id for s in self.stages}
        if len(ids) != len(self.stages):
            raise ValueError("stage ids must be unique")
        for i, s in enumerate(self.stages):
            try:
                _check_start(s.start, ids)
            except ValueError as exc:
                raise ValueError(f"stages.{i}.start (stage {s.id}): {exc}") from None
            if s.provisional:
                try:
                    _check_start(s.provisional, ids)
                except ValueError as exc:
                    raise ValueError(f"stages.{i}.provisional (stage {s.id}): {exc}") from None
            if s.or_earlier:
                try:
                    _check_start(s.or_earlier.start, ids)
                except ValueError as exc:
                    raise ValueError(f"stages.{i}.or_earlier.start (stage {s.id}): {exc}") from None
            if s.ongoing and s.ongoing.instead not in ids:
                raise ValueError(f"stages.{i}.ongoing.instead (stage {s.id}): names unknown stage {s.ongoing.instead!r}")
        return self

    def stage(self, stage_id: str) -> Stage | None:
        return next((s for s in self.stages if s.id == stage_id), None)
