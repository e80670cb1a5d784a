"""A ledger with incidents in every situation, shared by tests (not a test module itself)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from conftest import at
from nis2_incident.ledger import Store
from nis2_incident.service import Service

runner = CliRunner()
NOWS = ["2026-03-01T12:00", "2026-03-03T09:00", "2026-03-29T03:30", "2026-04-10T12:00", "2027-06-01T12:00"]
# the clock before most incidents, during them, across the March change, after, a year later


def svc(path: Path, now: str) -> Service:
    return Service(Store(path), at(now))


def build(path: Path) -> Path:
    """Incidents in every situation: settled (closed, all met; all not applicable; one late), closed
    with obligations still open, handled, open with a request, open and recent."""
    svc(path, "2026-03-01T09:00").init(name="CHU Cache", category="essential", health_establishment=True,
                                      regimes=["nis2", "gdpr", "csp"], targets={"csp.report": "4h"})
    s = svc(path, "2026-03-02T10:30")
    s.open_incident("Rançongiciel sur le PACS « urgent »", "2026-03-02T10:00", personal_data=True, malicious=True,
                    iocs=["198.51.100.7", "evil.example", "a\\b \"quoted\"", "x" * 60, "y" * 60])
    for stage, when in (("csp.report", "2026-03-02T11:00"), ("nis2.early_warning", "2026-03-03T08:00"),
                        ("nis2.notification", "2026-03-04T09:00"), ("gdpr.notification", "2026-03-04T09:30")):
        svc(path, when).submit("1", stage, reference=f"REF-{stage}", channel="portail")
    svc(path, "2026-03-10T10:00").conclude("1", "handled")
    svc(path, "2026-03-20T10:00").submit("1", "nis2.final", reference="REF-final")
    svc(path, "2026-03-21T10:00").conclude("1", "closed")                       # 1: settled, all met
    svc(path, "2026-03-02T12:00").open_incident("Messagerie compromise", "2026-03-02T11:00")
    svc(path, "2026-03-02T13:00").conclude("2", "closed")                       # 2: closed, overdue later
    svc(path, "2026-03-05T09:00").open_incident(
        "Panne réseau\nsans gravité", "2026-03-05T08:00", significance="not_significant",
        significance_rationale="Aucune perturbation",
        serious=False, serious_rationale="Pas de risque pour les patients", summary="ligne 1\nligne 2\ttab")
    svc(path, "2026-03-05T10:00").conclude("3", "closed")                       # 3: settled, not applicable
    svc(path, "2026-03-06T09:00").open_incident("Accès VPN suspect", "2026-03-06T08:00")
    svc(path, "2026-03-06T12:00").request("4", "+5d")                           # 4: open, a request
    svc(path, "2026-03-07T09:00").open_incident("Hameçonnage", "2026-03-07T08:00", personal_data=True)
    svc(path, "2026-03-07T10:00").submit("5", "csp.report")
    svc(path, "2026-03-08T09:00").conclude("5", "handled")                      # 5: handled
    svc(path, "2026-03-09T09:00").open_incident("Fuite de données 🔓", "2026-03-09T08:00", personal_data=True)
    for stage, when in (("csp.report", "2026-03-09T09:30"), ("nis2.early_warning", "2026-03-09T20:00"),
                        ("nis2.notification", "2026-03-11T09:00")):
        svc(path, when).submit("6", stage)
    svc(path, "2026-03-14T09:00").submit("6", "gdpr.notification", late_reason="Attente de l'analyse")
    svc(path, "2026-03-25T09:00").submit("6", "nis2.final")
    svc(path, "2026-03-26T09:00").conclude("6", "closed")                       # 6: settled, one late
    svc(path, "2026-03-28T09:00").open_incident("Déni de service", "2026-03-28T08:30")  # 7: recent
    return path
