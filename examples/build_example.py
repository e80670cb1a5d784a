"""Rebuild examples/ledger.jsonl (and the same record as ledger.toml and ledger.json) through the tool's own service layer.

    python examples/build_example.py

The scenario is a fictitious hospital around the March 2026 clock change; view it as of
2026-03-30 20:00 Paris time:  nis2-incident --ledger examples/ledger.jsonl --now 2026-03-30T20:00 status
"""

from __future__ import annotations

from pathlib import Path

from nis2_incident import timeutil as tu
from nis2_incident.ledger import Store
from nis2_incident.service import Service

HERE = Path(__file__).resolve().parent


def build(path: Path) -> None:
    path.unlink(missing_ok=True)
    svc = Service(Store(path), tu.parse_when("2026-01-05T09:00", tu.now_utc(), "Europe/Paris"))

    def at(when: str) -> Service:
        svc.now = tu.parse_when(when, svc.now, "Europe/Paris")
        return svc

    svc.init(name="CHU Exemple", category="essential", timezone="Europe/Paris", health_establishment=True,
             targets={"csp.report": "4h"})

    # 1. February: a handled and closed incident, every report on time.
    at("2026-02-02T16:00").open_incident(
        "Compromission d'un compte VPN", "2026-02-02T14:00", detected_at="2026-02-02T11:30",
        significance="significant", malicious=True, cross_border=False,
        summary="Connexions VPN anormales depuis un compte de prestataire.")
    at("2026-02-02T17:30").submit("1", "csp.report", at="2026-02-02T17:00", channel="portail de signalement")
    at("2026-02-03T10:00").submit("1", "nis2.early_warning", at="2026-02-03T09:10", reference="CERTFR-2026-ALE-0101",
                                  channel="CERT-FR")
    at("2026-02-04T11:00").submit("1", "nis2.notification", at="2026-02-04T10:00", reference="CERTFR-2026-NOT-0101",
                                  channel="CERT-FR")
    at("2026-02-20T18:00").conclude("1", "handled", at="2026-02-20T17:00")
    at("2026-03-03T12:00").submit("1", "nis2.final", at="2026-03-03T11:00", reference="CERTFR-2026-RF-0101",
                                  channel="CERT-FR")
    at("2026-03-03T12:05").conclude("1", "closed", at="2026-03-03T12:00")

    # 2. An incident the authority asked an intermediate report for.
    at("2026-03-20T12:00").open_incident(
        "Indisponibilité de la téléphonie", "2026-03-20T10:00", significance="significant", malicious=False)
    at("2026-03-20T13:00").submit("2", "csp.report", at="2026-03-20T12:30", channel="portail de signalement")
    at("2026-03-20T20:00").submit("2", "nis2.early_warning", at="2026-03-20T19:30", channel="CERT-FR")
    at("2026-03-22T10:00").submit("2", "nis2.notification", at="2026-03-22T09:00", reference="CERTFR-2026-NOT-0144")
    at("2026-03-25T15:00").request("2", due="2026-04-01T18:00", at="2026-03-25T14:30")

    # 3. Judged not significant, with the written rationale.
    at("2026-03-27T11:00").open_incident(
        "Hameçonnage ciblé sans compromission", "2026-03-27T09:00",
        significance="not_significant",
        significance_rationale="Aucun clic, aucun identifiant saisi; pas de perturbation ni de perte (Art. 23(3)).",
        serious=False, serious_rationale="Aucun effet sur les soins, les données ou le fonctionnement (D.1111-16-2).")

    # 4. Ransomware on the PACS the night of the clock change: health-code report and early warning filed,
    #    CNIL and ANSSI notifications due.
    at("2026-03-29T01:10").open_incident(
        "Rançongiciel sur le PACS", "2026-03-28T23:40", detected_at="2026-03-28T23:05",
        malicious=True, cross_border=False, severity="élevée", personal_data=True,
        impact="Imagerie indisponible; déprogrammation d'examens non urgents.",
        iocs=["185.220.101.7", "hash:4f9c…"])
    at("2026-03-29T03:00").submit("4", "csp.report", at="2026-03-29T02:50+02:00", channel="portail de signalement",
                                  reference="SIG-2026-03-0412")
    at("2026-03-29T21:20").submit("4", "nis2.early_warning", at="2026-03-29T21:15",
                                  reference="CERTFR-2026-ALE-0157", channel="CERT-FR (téléphone puis courriel)")

    # 5. An outage noticed on Sunday morning: nothing filed yet, the early warning is overdue.
    at("2026-03-29T08:30").open_incident(
        "Panne du dossier patient informatisé après mise à jour", "2026-03-29T08:00", significance="undetermined")


def clean(path: Path) -> None:
    """The lock file the writes left beside the ledger: it is not the example."""
    for side in (path.name + ".lock",):
        (path.parent / side).unlink(missing_ok=True)


if __name__ == "__main__":
    # tests/test_docs.py rebuilds them in a temporary folder and compares them with the shipped bytes:
    # the same record as a JSON Lines log (the default format) and as TOML and JSON documents
    for name in ("ledger.jsonl", "ledger.toml", "ledger.json"):
        build(HERE / name)
        clean(HERE / name)
        print(f"wrote {HERE / name}")
