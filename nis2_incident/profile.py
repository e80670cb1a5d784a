"""The reporting entity's profile as a pydantic model, for where a profile is made or changed.

`Profile` is built from the one declaration of the profile's fields, `profile_schema.FIELDS` (see
that module for why): `init` and `profile` validate with it, and its errors are the ones users see.
A profile read back from the record (the `profile_set` events, a document's top-level profile, the
log's checkpoint) is validated by `profile_schema.validate` instead, which means the same without
importing pydantic (about 100 ms of CPU), and is held as a `model.StoredProfile` (the same attributes
and `model_dump()`). `from nis2_incident.model import Profile` still works (lazily).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, ConfigDict, Field, create_model

from .errors import InputError
from .profile_schema import FIELDS, FieldSpec
from .roles import ROLE_HELP, ROLE_REGIMES, role_regimes  # noqa: F401 (re-exported)

_TYPES = {"text": str, "flag": bool, "texts": list[str], "table": dict[str, str], "ladder": dict[str, list[str]]}


def _after(check):
    """`check` as a pydantic after-validator: its InputError becomes the ValueError pydantic reports."""

    def run(value):
        try:
            check(value)
        except InputError as exc:
            raise ValueError(exc.message) from None
        return value

    return AfterValidator(run)


def _field(spec: FieldSpec):
    kind = Literal[spec.choices] if spec.kind == "choice" else _TYPES[spec.kind]
    if spec.check is not None:
        kind = Annotated[kind, _after(spec.check)]
    extra = {"min_length": spec.min_length} if spec.min_length else {}
    # (no `description` from `spec.doc`: the exercise schema, built from this model, is shipped as it is)
    if spec.required:
        return kind, Field(..., **extra)
    if spec.factory is not None:
        return kind, Field(default_factory=spec.factory, **extra)
    return kind, Field(default=spec.default, **extra)


Profile = create_model(
    "Profile",
    __config__=ConfigDict(extra="forbid"),
    __doc__="The reporting entity. Set by `profile_set` events; the ledger's top-level `profile` is a view.",
    __module__=__name__,
    **{spec.name: _field(spec) for spec in FIELDS},
)
