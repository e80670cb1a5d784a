"""Reporting rules as data: one TOML file per regime, validated here; the engine reads only this.

Clock starts a stage may name:
  aware          the incident's aware-at
  handled        the incident's handled-at (none yet: the stage waits for it)
  request        each authority request recorded with `request`, due at the date it set
  filed:STAGE    the first filing of STAGE of the same regime; with `provisional = "due:STAGE"`, the
                 due time of STAGE until it is filed
  ongoing:STAGE  due when STAGE would fall due, only if the incident is still being handled then
Periods: `hours` (elapsed, on instants), `months` (calendar, end-of-month clamped), or neither
(without undue delay: no due instant).
"""

from __future__ import annotations

import tomllib
from functools import lru_cache
from importlib import resources
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..errors import LedgerError

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


class Variant(BaseModel):
    model_config = ConfigDict(extra="forbid")
    profile: dict[str, bool | str] = Field(default_factory=dict)
    incident: dict[str, bool | str] = Field(default_factory=dict)
    hours: int | None = Field(default=None, ge=0)
    months: int | None = Field(default=None, ge=0)
    article: str


class Ongoing(BaseModel):
    model_config = ConfigDict(extra="forbid")
    instead: str
    start: Literal["handled"] = "handled"
    months: int = Field(ge=1)
    article: str


class Stage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    title_fr: str
    article: str
    start: str
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


class Applies(BaseModel):
    model_config = ConfigDict(extra="forbid")
    significance: list[str] | None = None
    otherwise: str = "the regime does not apply to this incident"


class Regime(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    law: str
    recipient: str
    channel: str
    applies: Applies = Field(default_factory=Applies)
    stages: list[Stage] = Field(min_length=1)

    @model_validator(mode="after")
    def _references(self):
        ids = {s.id for s in self.stages}
        if len(ids) != len(self.stages):
            raise ValueError("stage ids must be unique")
        for s in self.stages:
            _check_start(s.start, ids)
            if s.provisional:
                _check_start(s.provisional, ids)
            if s.ongoing and s.ongoing.instead not in ids:
                raise ValueError(f"stage {s.id}: ongoing.instead names unknown stage {s.ongoing.instead!r}")
        return self

    def stage(self, stage_id: str) -> Stage | None:
        return next((s for s in self.stages if s.id == stage_id), None)


def parse_regime(text: str, source: str) -> Regime:
    try:
        data = tomllib.loads(text)
        return Regime.model_validate(data)
    except tomllib.TOMLDecodeError as exc:
        raise LedgerError(f"regime file {source}: invalid TOML: {exc}") from None
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        raise LedgerError(f"regime file {source}: {loc}: {err['msg']}") from None


@lru_cache(maxsize=1)
def builtin() -> dict[str, Regime]:
    """The regimes shipped with the package, by id."""
    out: dict[str, Regime] = {}
    for entry in sorted(resources.files(__package__).iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".toml"):
            regime = parse_regime(entry.read_text(encoding="utf-8"), entry.name)
            out[regime.id] = regime
    return out


def all_stage_names(regimes: dict[str, Regime]) -> list[str]:
    return [f"{r.id}.{s.id}" for r in regimes.values() for s in r.stages]
