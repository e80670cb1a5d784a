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
from pathlib import Path
from functools import lru_cache
from importlib import resources
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..errors import InputError


class RegimeError(InputError):
    """A regime file is invalid: names the file, the key and why (exit 2)."""

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


class Ongoing(BaseModel):
    model_config = ConfigDict(extra="forbid")
    instead: str
    start: Literal["handled"] = "handled"
    months: int = Field(ge=1)
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


class Stage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    title_fr: str
    article: str
    start: str
    recipient: str | None = None  # when it differs from the regime's (e.g. the data subjects)
    channel: str | None = None
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


class RegimeSet(dict):
    """Regimes by id (the newest version of each), with every version kept for effective dates."""

    def __init__(self, versions: dict[str, list[Regime]]):
        super().__init__({rid: vs[-1] for rid, vs in versions.items()})
        self.versions = versions

    def in_force(self, regime_id: str, instant) -> Regime | None:
        """The version whose effective_from is the latest at or before `instant`."""
        from ..timeutil import parse_instant

        chosen = None
        for version in self.versions.get(regime_id, []):
            if version.effective_from is None or parse_instant(version.effective_from) <= instant:
                chosen = version
        return chosen


def _sort_key(regime: Regime):
    from ..timeutil import parse_instant

    return parse_instant(regime.effective_from).timestamp() if regime.effective_from else float("-inf")


def parse_regime(text: str, source: str) -> Regime:
    try:
        data = tomllib.loads(text)
        return Regime.model_validate(data)
    except tomllib.TOMLDecodeError as exc:
        raise RegimeError(f"regime file {source}: invalid TOML: {exc}") from None
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        where = f"{loc}: " if loc else ""
        raise RegimeError(f"regime file {source}: {where}{err['msg'].removeprefix('Value error, ')}") from None


def _add_version(versions: dict[str, list[Regime]], regime: Regime) -> None:
    """A file with the id and effective date of a known version replaces it; another date adds a version."""
    same = [v for v in versions.get(regime.id, []) if v.effective_from == regime.effective_from]
    kept = [v for v in versions.get(regime.id, []) if v not in same]
    versions[regime.id] = sorted([*kept, regime], key=_sort_key)


@lru_cache(maxsize=1)
def _builtin_versions() -> tuple[tuple[str, tuple[Regime, ...]], ...]:
    versions: dict[str, list[Regime]] = {}
    for entry in sorted(resources.files(__package__).iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".toml"):
            _add_version(versions, parse_regime(entry.read_text(encoding="utf-8"), entry.name))
    return tuple((k, tuple(v)) for k, v in versions.items())


def builtin() -> RegimeSet:
    """The regimes shipped with the package."""
    return RegimeSet({k: list(v) for k, v in _builtin_versions()})


def load(user_dir: str | Path | None = None) -> RegimeSet:
    """The shipped regimes, plus or overridden by the `*.toml` files of a user folder."""
    versions = {k: list(v) for k, v in _builtin_versions()}
    if user_dir:
        folder = Path(user_dir).expanduser()
        if not folder.is_dir():
            raise RegimeError(f"regimes folder {folder}: not a folder; accepted: a folder of regime .toml files")
        for path in sorted(folder.glob("*.toml")):
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise RegimeError(f"regime file {path}: cannot read: {exc}") from None
            _add_version(versions, parse_regime(text, str(path)))
    return RegimeSet(versions)


def all_stage_names(regimes: dict[str, Regime]) -> list[str]:
    return [f"{r.id}.{s.id}" for r in regimes.values() for s in r.stages]


def target_stage_names(regimes: dict[str, Regime]) -> list[str]:
    """Stages without a legal hour count (no hours, no months, not set by a request): the ones an
    entity may give its own target."""
    return [f"{r.id}.{s.id}" for r in regimes.values() for s in r.stages
            if s.hours is None and s.months is None and s.start == "aware"]
