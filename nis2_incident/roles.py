"""The entity's roles (issue 17) and the regimes each enables by default. No pydantic here: the CLI
reads the help texts when it builds `init` and `profile`, and `check` must not import pydantic."""

from __future__ import annotations

# Each role, and the regimes `init` (and `profile` turning the role on) enables for it. The regimes'
# own files say when they apply (`applies.profile`); this only chooses what is enabled by default.
ROLE_REGIMES: dict[str, tuple[str, ...]] = {
    "ose": ("nis1",),
    "critical_entity": ("cer",),
    "financial_entity": ("dora",),
    "cra_manufacturer": ("cra",),
    "mdr_manufacturer": ("mdr",),
    "ai_provider": ("ai_act",),
}
ROLE_HELP: dict[str, str] = {
    "ose": "An operator of essential services designated by arrêté (NIS 1: loi n° 2018-133, décret n° 2018-384).",
    "critical_entity": "A critical entity identified under Directive (EU) 2022/2557 (CER).",
    "financial_entity": "A DORA financial entity, e.g. an insurer or mutuelle (Regulation (EU) 2022/2554).",
    "cra_manufacturer": "A manufacturer of products with digital elements (CRA, Regulation (EU) 2024/2847; not medical devices).",
    "mdr_manufacturer": "A medical-device manufacturer (MDR, Regulation (EU) 2017/745, Art. 87).",
    "ai_provider": "A provider of a high-risk AI system (AI Act, Regulation (EU) 2024/1689, Art. 73).",
}


def role_regimes(fields: dict) -> list[str]:
    """The regimes the roles set in `fields` enable (GDPR: a processor's duty to its controller)."""
    out = [r for role, regs in ROLE_REGIMES.items() if fields.get(role) for r in regs]
    if fields.get("gdpr_role") in ("processor", "both"):
        out.append("gdpr_processor")
    return out


# The profile keys added by issue 17, with their defaults. A profile is written to the ledger without
# those still at their default, so a ledger made without roles is byte for byte what it was before
# (examples, heads kept elsewhere); reading fills them in (`Profile`'s defaults).
ADDED_DEFAULTS: dict[str, object] = {**{role: False for role in ROLE_REGIMES}, "gdpr_role": "controller",
                                     "not_in_force": "track"}


def recorded(profile: dict) -> dict:
    """`profile` (a dump) as the ledger records it: issue 17's keys left out while at their default."""
    return {k: v for k, v in profile.items() if not (k in ADDED_DEFAULTS and v == ADDED_DEFAULTS[k])}
