"""Is the entity in scope of NIS 2, and essential or important? (Directive (EU) 2022/2555 Arts 2-3,
size thresholds of Recommendation 2003/361/EC). Pure: facts in, decision and reasons out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

from .errors import InputError

# Health-related entity types (Annex I sector 5 "Health"; Annex II sector 5 "Manufacturing").
ENTITY_TYPES: dict[str, tuple[str, str]] = {
    "healthcare_provider": ("I", "healthcare provider (Art. 3(g) Directive 2011/24/EU)"),
    "eu_reference_laboratory": ("I", "EU reference laboratory (Art. 15 Reg. (EU) 2022/2371)"),
    "pharma_rnd": ("I", "research and development of medicinal products (Art. 1(2) Dir. 2001/83/EC)"),
    "pharma_manufacturer": ("I", "manufacturer of basic pharmaceutical products and preparations (NACE C21)"),
    "critical_medical_devices": ("I", "manufacturer of medical devices critical in a public health emergency "
                                      "(Art. 22 Reg. (EU) 2022/123)"),
    "medical_devices": ("II", "manufacturer of medical devices or in-vitro diagnostics (Reg. (EU) 2017/745, "
                              "2017/746), not in Annex I"),
    "other": ("", "not a health-sector type of Annex I or II"),
}

# Recommendation 2003/361/EC, Annex Art. 2 (EUR).
MEDIUM_STAFF, MEDIUM_TURNOVER, MEDIUM_BALANCE = 250, Decimal(50_000_000), Decimal(43_000_000)
SMALL_STAFF, SMALL_TURNOVER, SMALL_BALANCE = 50, Decimal(10_000_000), Decimal(10_000_000)

_AMOUNT = re.compile(r"^\s*(\d+(?:[.,]\d+)?)\s*([kKmM]?)\s*(?:€|eur|EUR)?\s*$")


def parse_amount(text: str, what: str) -> Decimal:
    """`48000000`, `48M`, `48.5 M€`, `750k` -> euros."""
    cleaned = str(text) if text is not None else ""
    for sep in ("_", " ", "\u00a0", "\u202f"):  # French formatting groups digits with (narrow) no-break spaces
        cleaned = cleaned.replace(sep, "")
    m = _AMOUNT.match(cleaned)
    if not m:
        raise InputError(f"{what} {text!r}; accepted: an amount in euros such as 48000000, 48M or 750k")
    value = Decimal(m.group(1).replace(",", "."))
    return value * {"": 1, "k": 1_000, "m": 1_000_000}[m.group(2).lower()]


@dataclass
class Classification:
    entity_type: str
    size: str  # small | medium | large
    in_scope: bool
    category: str | None  # essential | important | None
    reasons: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"entity_type": self.entity_type, "size": self.size, "in_scope": self.in_scope,
                "category": self.category, "reasons": list(self.reasons)}


def size_class(staff: int, turnover: Decimal, balance: Decimal) -> tuple[str, list[str]]:
    """small / medium / large under Recommendation 2003/361/EC Annex Art. 2, with the reasons."""
    eur = lambda d: f"EUR {d / 1_000_000:g} M"  # noqa: E731
    if staff >= MEDIUM_STAFF:
        return "large", [f"{staff} staff ≥ {MEDIUM_STAFF}: above the medium-sized ceiling (Rec. 2003/361 Annex Art. 2(1))"]
    if turnover > MEDIUM_TURNOVER and balance > MEDIUM_BALANCE:
        return "large", [f"turnover {eur(turnover)} > EUR 50 M and balance sheet {eur(balance)} > EUR 43 M: both "
                         "exceed the medium-sized ceilings (Rec. 2003/361 Annex Art. 2(1))"]
    if staff < SMALL_STAFF and (turnover <= SMALL_TURNOVER or balance <= SMALL_BALANCE):
        which = "turnover" if turnover <= SMALL_TURNOVER else "balance sheet"
        return "small", [f"{staff} staff < {SMALL_STAFF} and {which} ≤ EUR 10 M: a small enterprise "
                         "(Rec. 2003/361 Annex Art. 2(2))"]
    why = (f"{staff} staff < {MEDIUM_STAFF}, turnover {eur(turnover)} and balance sheet {eur(balance)} do not both "
           "exceed EUR 50 M / EUR 43 M, and the enterprise is not small: medium-sized (Rec. 2003/361 Annex Art. 2)")
    return "medium", [why]


def classify(entity_type: str, staff: int, turnover: Decimal, balance: Decimal, *, public: bool = False,
             qualified_trust_service: bool = False, designated: bool = False,
             critical_entity: bool = False) -> Classification:
    if entity_type not in ENTITY_TYPES:
        raise InputError(f"entity type {entity_type!r}; accepted: {', '.join(ENTITY_TYPES)}")
    if staff < 0 or turnover < 0 or balance < 0:
        raise InputError("staff, turnover and balance sheet cannot be negative")
    annex, label = ENTITY_TYPES[entity_type]
    size, reasons = size_class(staff, turnover, balance)
    if public:
        reasons.append("public ownership does not make the entity large: Art. 3(4) of the Annex to Rec. "
                       "2003/361 does not apply for NIS 2 (Art. 2(1) of the Directive); size is counted as for "
                       "any enterprise")
    # Size-independent cases first (Art. 3(1)(b), (e), (f) and (g)).
    for flag, why in ((qualified_trust_service, "a qualified trust service provider is essential whatever its size "
                                                "(Art. 3(1)(b))"),
                      (critical_entity, "an entity identified as critical under Directive (EU) 2022/2557 is "
                                        "essential (Art. 3(1)(f))"),
                      (designated, "an entity designated by the Member State is essential (Art. 3(1)(e) and (g))")):
        if flag:
            return Classification(entity_type, size, True, "essential", [why, *reasons])
    if not annex:
        return Classification(entity_type, size, False, None,
                              [f"{label}: outside the health types of Annexes I and II (Art. 2(1))", *reasons])
    reasons.insert(0, f"{label}: Annex {annex}")
    if size == "small":
        reasons.append("below the medium-sized threshold: out of scope unless designated (Art. 2(1), 2(2))")
        return Classification(entity_type, size, False, None, reasons)
    if annex == "I" and size == "large":
        reasons.append("Annex I type above the medium-sized ceilings: essential (Art. 3(1)(a))")
        return Classification(entity_type, size, True, "essential", reasons)
    reasons.append(f"Annex {annex} type, {size}: important (Art. 3(2)); the reporting duties are the same "
                   "as for essential entities (Art. 23)")
    return Classification(entity_type, size, True, "important", reasons)
