"""The reporting entity's profile: its one declaration (`FIELDS`) and a plain-Python validator of it.

Why two validators and one declaration. A profile is validated in two places: where it is made or
changed (`init`, `profile`: the pydantic model `profile.Profile`, whose errors and `--help` texts users
see) and every time the record is read (the `profile_set` events folded by `model.State.apply`, the
top-level profile of a document, `verify`). Importing pydantic and building the model costs about
100 ms of CPU, as much as the whole of a warm `check`; a read must not pay it (issue 13, row 10 of
benchmarks/README.md). So each field is declared once, here, as plain data (its kind, default,
constraint and check), and both are derived from it:

- `validate()` below reads `FIELDS` at run time (no pydantic);
- `profile.Profile` is built from the same `FIELDS` with `pydantic.create_model` (only imported by
  `init` and `profile`).

The choice of the direction: the other way round (the plain validator reading the pydantic model's
fields) would import pydantic at every read, or keep a second list of the fields in step by a test,
which is what this module exists to avoid. What a test must still prove is that the two *engines*
mean the same thing by one declaration: pydantic's lax coercions (a stored `"yes"` or `1` is a
true boolean), its error order (fields in declaration order, the items of a list or table in their
order, keys not declared last) and its messages, which `LedgerError`s quote. `tests/test_profile_schema.py`
generates valid and invalid profiles (hypothesis) and asserts that both accept the same ones, give equal
values (`Profile.model_validate(d).model_dump() == validate(d)`) and the same first error.

The domain is what a ledger can hold: JSON or TOML values (strings, numbers, booleans, null, lists,
tables with string keys; a TOML date or time is "not a string" to both). The checks are the modules
that own each value's syntax (`timeutil`, `ladder`); their `InputError` is reported as pydantic
reports a `ValueError` from a validator: "Value error, ...".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from . import ladder, timeutil
from .errors import InputError

_TRUE = frozenset({"1", "on", "t", "true", "y", "yes"})
_FALSE = frozenset({"0", "off", "f", "false", "n", "no"})
_INT64 = 2**63


@dataclass(frozen=True)
class FieldSpec:
    """One profile key. `kind`: text (str), flag (bool), choice (one of `choices`), texts (list of str),
    table (str -> str), ladder (str -> list of str). `check(value)` raises InputError (or ValueError)
    for a value of the right kind that is still wrong; `prefix` goes before its message."""

    name: str
    kind: str
    default: object = None
    factory: Callable[[], object] | None = None  # a fresh default (lists and tables)
    required: bool = False
    choices: tuple[str, ...] = ()
    min_length: int = 0
    check: Callable[[object], None] | None = None
    doc: str = ""

    def default_value(self):
        return self.factory() if self.factory is not None else self.default


def _durations(value: list[str]) -> None:
    for duration in value:
        _prefixed(timeutil.parse_duration, duration, "alarm: ")


def _targets(value: dict[str, str]) -> None:
    for stage, duration in value.items():
        if "." not in stage:
            raise ValueError(f"target {stage!r}: name a stage such as csp.report")
        _prefixed(timeutil.parse_duration, duration, f"target {stage}: ")


def _prefixed(check, value, prefix: str) -> None:
    try:
        check(value)
    except InputError as exc:
        raise ValueError(prefix + exc.message) from None


FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("name", "text", required=True, min_length=1),
    FieldSpec("category", "choice", required=True, choices=("essential", "important")),
    FieldSpec("timezone", "text", "Europe/Paris", check=timeutil.zone),
    FieldSpec("trust_service", "flag", False),
    FieldSpec("health_establishment", "flag", False),
    FieldSpec("regimes", "texts", factory=lambda: ["nis2"]),
    FieldSpec("check_within", "text", "6h", check=timeutil.parse_duration),
    FieldSpec("targets", "table", factory=dict, check=_targets,
              doc='the entity\'s own targets for stages without a legal hour count, e.g. {"csp.report": "4h"}'),
    FieldSpec("regimes_dir", "text", "", doc="a folder of regime files that add to or override the shipped ones"),
    FieldSpec("reminders", "ladder", factory=ladder.default_ladder, check=ladder.validate,
              doc="`check`'s reminder ladder (README: check; ladder.py): per period, the steps at which a "
                  "finding is announced, as a time before the due instant (4h) or a share of the period "
                  "elapsed (80%); then every `reminder_every` while overdue or while a without-undue-delay "
                  "report is not filed"),
    FieldSpec("reminder_every", "text", ladder.DEFAULT_EVERY, check=ladder.parse_every),
    FieldSpec("templates_dir", "text", "", doc="a folder of draft templates that override the shipped ones"),
    FieldSpec("alarms", "texts", factory=lambda: ["2h", "30m"], check=_durations,
              doc="calendar alarms before each due time"),
    FieldSpec("dpo", "text", "", doc="the data protection officer's name and contact details "
                                     "(GDPR Art. 33(3)(b), 34(2))"),
    # The entity's roles (issue 17): each gates the regimes whose file names it in `applies.profile`
    # (README: "Roles"). A profile stored before these keys existed reads them as their defaults.
    FieldSpec("ose", "flag", False, doc="operator of essential services designated by arrêté (NIS 1)"),
    FieldSpec("critical_entity", "flag", False, doc="critical entity under Directive (EU) 2022/2557 (CER)"),
    FieldSpec("financial_entity", "flag", False, doc="DORA financial entity (Regulation (EU) 2022/2554)"),
    FieldSpec("cra_manufacturer", "flag", False, doc="manufacturer of products with digital elements (CRA)"),
    FieldSpec("mdr_manufacturer", "flag", False, doc="medical-device manufacturer (Regulation (EU) 2017/745)"),
    FieldSpec("ai_provider", "flag", False, doc="provider of a high-risk AI system (Regulation (EU) 2024/1689)"),
    FieldSpec("gdpr_role", "choice", "controller", choices=("controller", "processor", "both"),
              doc="GDPR Art. 4(7)-(8); 33(2)"),
    # An obligation from a rule not in force at aware-at (NIS 2 in France today): `track` computes it as
    # usual, marked not in force; `ignore` gives it the state `not_in_force`, left out of `check`.
    FieldSpec("not_in_force", "choice", "track", choices=("track", "ignore")),
)
NAMES = frozenset(f.name for f in FIELDS)


class ProfileInvalid(ValueError):
    """What `validate` refused: `errors`, a list of (location, message) in pydantic's order."""

    def __init__(self, errors: list[tuple[tuple, str]]):
        super().__init__(errors[0][1])
        self.errors = errors

    @property
    def first(self) -> tuple[str, str]:
        """The first error as (dotted location, message), as `LedgerError`s quote it."""
        loc, msg = self.errors[0]
        return ".".join(str(p) for p in loc) or "profile", msg


def _choice_message(choices: tuple[str, ...]) -> str:
    quoted = [repr(c) for c in choices]
    return "Input should be " + (quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}")


def _text(value, loc, errors, min_length: int = 0):
    if not isinstance(value, str):
        errors.append((loc, "Input should be a valid string"))
    elif len(value) < min_length:
        errors.append((loc, f"String should have at least {min_length} character{'s' if min_length > 1 else ''}"))
    return value


def _flag(value, loc, errors):
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer() and -_INT64 <= value < _INT64:
        value = int(value)  # pydantic reads an integral float as the integer (2.0: "unable to interpret")
    if isinstance(value, int):
        if value in (0, 1):
            return bool(value)
        errors.append((loc, "Input should be a valid boolean, unable to interpret input" if -_INT64 <= value < _INT64
                       else "Input should be a valid boolean"))
    elif isinstance(value, str):
        low = value.lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        errors.append((loc, "Input should be a valid boolean, unable to interpret input"))
    else:
        errors.append((loc, "Input should be a valid boolean"))
    return value


def _texts(value, loc, errors):
    if not isinstance(value, list):
        errors.append((loc, "Input should be a valid list"))
        return value
    for i, item in enumerate(value):
        _text(item, (*loc, i), errors)
    return list(value)


def _table(value, loc, errors, item):
    if not isinstance(value, dict):
        errors.append((loc, "Input should be a valid dictionary"))
        return value
    out = {}
    for key, val in value.items():
        if not isinstance(key, str):  # (never in a JSON or TOML table)
            errors.append(((*loc, key, "[key]"), "Input should be a valid string"))
        out[key] = item(val, (*loc, key), errors)
    return out


def _typed(spec: FieldSpec, value, errors: list):
    loc = (spec.name,)
    kind = spec.kind
    if kind == "text":
        return _text(value, loc, errors, spec.min_length)
    if kind == "flag":
        return _flag(value, loc, errors)
    if kind == "choice":
        if not (isinstance(value, str) and value in spec.choices):
            errors.append((loc, _choice_message(spec.choices)))
        return value
    if kind == "texts":
        return _texts(value, loc, errors)
    if kind == "table":
        return _table(value, loc, errors, lambda v, at, errs: _text(v, at, errs))
    if kind == "ladder":
        return _table(value, loc, errors, _texts)
    raise AssertionError(f"unknown field kind {kind!r}")


def validate(data: dict) -> dict:
    """The profile `data` validated: every declared key in declaration order, defaults filled in,
    booleans coerced as pydantic's lax mode does (what `Profile.model_validate(data).model_dump()`
    gives). ProfileInvalid otherwise; an exception other than InputError/ValueError from a check
    propagates, as it does through pydantic."""
    if not isinstance(data, dict):
        raise ProfileInvalid([((), "Input should be a valid dictionary or instance of Profile")])
    errors: list[tuple[tuple, str]] = []
    out: dict = {}
    for spec in FIELDS:
        if spec.name not in data:
            if spec.required:
                errors.append(((spec.name,), "Field required"))
            else:
                out[spec.name] = spec.default_value()
            continue
        mark = len(errors)
        value = _typed(spec, data[spec.name], errors)
        if len(errors) == mark and spec.check is not None:
            try:
                spec.check(value)
            except InputError as exc:
                errors.append(((spec.name,), "Value error, " + exc.message))
            except ValueError as exc:
                errors.append(((spec.name,), f"Value error, {exc}"))
        out[spec.name] = value
    errors.extend(((key,), "Extra inputs are not permitted") for key in data if key not in NAMES)
    if errors:
        raise ProfileInvalid(errors)
    return out
