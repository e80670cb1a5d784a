"""The regime file format, validated with pydantic: what `parse_regime` checks a file against.

Imported only when a regime file is read (`regimes.parse_regime`); what the engine uses are the plain
classes of `regimes/__init__.py`, built from the validated data, so that a ledger read through its
checkpoint (issue 13) computes deadlines without importing pydantic.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

_START_KINDS = ("aware", "handled", "request")


def _check_start(value: str, stage_ids: set[str]) -> None:
    if value in _START_KINDS:
        return
    kind, _, ref = value.partition(":")
    if kind in ("filed", "due", "ongoing") and ref in stage_ids:
        return
    raise ValueError(
        f"unknown clock start {value!r}; accepted: aware, handled, request, filed:STAGE, ongoing:STAGE"
    )


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
    provisional: str | None = None
    hours: int | None = Field(default=None, ge=0)
    months: int | None = Field(default=None, ge=0)
    variants: list[Variant] = Field(default_factory=list)
    ongoing: Ongoing | None = None

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
    sources: list[str] = Field(default_factory=list)
    applies: When = Field(default_factory=When)
    stages: list[Stage] = Field(min_length=1)

    @model_validator(mode="after")
    def _references(self):
        if self.effective_from is not None:
            from datetime import datetime

            try:
                if datetime.fromisoformat(self.effective_from).tzinfo is None:
                    raise ValueError
            except ValueError:
                raise ValueError("effective_from must be an RFC 3339 time with offset, e.g. "
                                 "2027-01-01T00:00:00+01:00") from None
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
            if s.ongoing and s.ongoing.instead not in ids:
                raise ValueError(f"stages.{i}.ongoing.instead (stage {s.id}): names unknown stage {s.ongoing.instead!r}")
        return self

    def stage(self, stage_id: str) -> Stage | None:
        return next((s for s in self.stages if s.id == stage_id), None)
