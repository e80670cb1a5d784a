"""The reporting entity's profile, validated (pydantic).

Kept apart from `model.py` so that reading a log through its checkpoint (issue 13) never imports
pydantic (60 ms): the checkpoint holds the profile as this model dumped it, and `model.StoredProfile` gives
it back with the same attributes. `from nis2_incident.model import Profile` still works (lazily).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from . import ladder, timeutil
from .errors import InputError
from .roles import ROLE_HELP, ROLE_REGIMES, role_regimes  # noqa: F401 (re-exported)


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
    # `check`'s reminder ladder (README: check; see ladder.py): per period, the steps at which a finding is
    # announced, as a time before the due instant ("4h") or a share of the period elapsed ("80%");
    # then every `reminder_every` while overdue or while a without-undue-delay report is not filed.
    reminders: dict[str, list[str]] = Field(default_factory=ladder.default_ladder)
    reminder_every: str = ladder.DEFAULT_EVERY
    templates_dir: str = ""  # a folder of draft templates that override the shipped ones
    alarms: list[str] = Field(default_factory=lambda: ["2h", "30m"])  # calendar alarms before each due time
    dpo: str = ""  # the data protection officer's name and contact details (GDPR Art. 33(3)(b), 34(2))
    # The entity's roles (issue 17): each gates the regimes whose file names it in `applies.profile`
    # (README: "Roles"). A profile stored before these keys existed reads them as their defaults.
    ose: bool = False  # operator of essential services designated by arrêté (NIS 1, loi n° 2018-133)
    critical_entity: bool = False  # identified as critical under Directive (EU) 2022/2557 (CER)
    financial_entity: bool = False  # DORA financial entity, e.g. an insurer or mutuelle (Reg. (EU) 2022/2554)
    cra_manufacturer: bool = False  # manufacturer of products with digital elements (Reg. (EU) 2024/2847)
    mdr_manufacturer: bool = False  # medical-device manufacturer (Reg. (EU) 2017/745)
    ai_provider: bool = False  # provider of a high-risk AI system (Reg. (EU) 2024/1689)
    gdpr_role: Literal["controller", "processor", "both"] = "controller"  # GDPR Art. 4(7)-(8); 33(2)
    # An obligation from a rule not in force at aware-at (NIS 2 in France today): `track` computes it as
    # usual, marked not in force; `ignore` gives it the state `not_in_force`, left out of `check`.
    not_in_force: Literal["track", "ignore"] = "track"

    # Each check is the module that owns the value's syntax; its InputError becomes pydantic's ValueError.

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return _checked(timeutil.zone, value)

    @field_validator("check_within")
    @classmethod
    def _duration(cls, value: str) -> str:
        return _checked(timeutil.parse_duration, value)

    @field_validator("alarms")
    @classmethod
    def _alarms(cls, value: list[str]) -> list[str]:
        for duration in value:
            _checked(timeutil.parse_duration, duration, "alarm: ")
        return value

    @field_validator("reminders")
    @classmethod
    def _reminders(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        return _checked(ladder.validate, value)

    @field_validator("reminder_every")
    @classmethod
    def _every(cls, value: str) -> str:
        return _checked(ladder.parse_every, value)

    @field_validator("targets")
    @classmethod
    def _targets(cls, value: dict[str, str]) -> dict[str, str]:
        for stage, duration in value.items():
            if "." not in stage:
                raise ValueError(f"target {stage!r}: name a stage such as csp.report")
            _checked(timeutil.parse_duration, duration, f"target {stage}: ")
        return value


def _checked(check, value, prefix: str = ""):
    """`value` if `check(value)` accepts it; its InputError as the ValueError pydantic reports."""
    try:
        check(value)
    except InputError as exc:
        raise ValueError(prefix + exc.message) from None
    return value
