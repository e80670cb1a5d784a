"""Generate a valid ledger (the chain verifies) with N incidents, K still open, for the benchmark.

    python benchmarks/generate.py --incidents 10000 --open 100 --seed 1 --out /tmp/l.toml [--format json]

Events are built with the project's own ledger code (Ledger.append seals each one into the chain) and
written once, by the store's own atomic write (`Store.create`), so a 10,000-incident ledger takes
seconds, not the hours that one process per event would. A closed incident has 7-10 events (opened,
amendments, the filings of every stage that applies, handled, closed); an open one has its amendments
and the filings whose time has come (4-8 events). `--format` sets the file name's extension, which is
what chooses the format. The same arguments give the same bytes. No read cache is written: the first
command that reads the ledger builds it (what the benchmark calls a cold run).
"""

from __future__ import annotations

import argparse
import random
from datetime import timedelta
from pathlib import Path

from nis2_incident import timeutil as tu
from nis2_incident.ledger import Ledger, Store
from nis2_incident.model import Profile

TZ = "Europe/Paris"
TITLES = ["Rançongiciel sur le PACS", "Compromission de messagerie", "Panne du DPI", "Fuite de données",
          "Accès VPN suspect", "Hameçonnage ciblé", "Déni de service du portail patient", "Malware sur un poste"]


def build(incidents: int, open_: int, seed: int, now) -> Ledger:
    rng = random.Random(seed)
    profile = Profile(name="CHU Bench", category="essential", timezone=TZ, health_establishment=True,
                      regimes=["nis2", "gdpr", "csp"])
    ledger = Ledger(profile=profile.model_dump())
    stamp = lambda t: tu.rfc3339(t, TZ)  # noqa: E731
    start = now - timedelta(days=3 * 365)
    span = (now - timedelta(days=2) - start).total_seconds()
    ledger.append({"type": "profile_set", "recorded_at": stamp(start), "data": profile.model_dump()})
    # The K open incidents are the most recent ones; the others are closed.
    for n in range(1, incidents + 1):
        is_open = n > incidents - open_
        aware = start + timedelta(seconds=span * n / incidents) if not is_open else now - timedelta(hours=rng.randint(1, 60))
        ident = f"INC-{tu.to_local(aware, TZ).year}-{n:05d}"
        t = aware + timedelta(minutes=rng.randint(5, 90))
        facts = {"title": rng.choice(TITLES), "aware_at": stamp(aware), "number": n,
                 "significance": rng.choice(["significant", "significant", "undetermined", "not_significant"]),
                 "malicious": rng.random() < 0.6, "personal_data": rng.random() < 0.4}
        if facts["significance"] == "not_significant":
            facts["significance_rationale"] = "Aucune perturbation ni perte (Art. 23(3))."
        ledger.append({"type": "opened", "recorded_at": stamp(t), "incident": ident, "data": facts})
        for _ in range(rng.randint(2, 4) if is_open else rng.randint(0, 2)):
            t += timedelta(minutes=rng.randint(10, 120 if is_open else 300))
            if t >= now:
                break
            ledger.append({"type": "amended", "recorded_at": stamp(t), "incident": ident,
                           "data": {"severity": rng.choice(["faible", "moyenne", "élevée"])}})
        filings = [("csp.report", 2, None), ("nis2.early_warning", 20, 24), ("nis2.notification", 60, 72),
                   ("nis2.final", 60 + 25 * 24, None)]
        if facts["personal_data"]:
            filings.insert(2, ("gdpr.notification", 48, 72))
        for stage, hours, due_hours in filings:
            at = aware + timedelta(hours=hours, minutes=rng.randint(0, 120))
            if at >= now:  # an open incident: only what has been filed by now
                break
            data = {"stage": stage, "at": stamp(at), "reference": f"REF-{n}-{stage}", "late": False}
            if due_hours:
                data["due"] = stamp(aware + timedelta(hours=due_hours))
            ledger.append({"type": "filed", "recorded_at": stamp(max(at, t)), "incident": ident, "data": data})
        if is_open:
            continue
        handled = aware + timedelta(days=rng.randint(3, 20))
        ledger.append({"type": "handled", "recorded_at": stamp(handled), "incident": ident,
                       "data": {"at": stamp(handled)}})
        closed = handled + timedelta(days=rng.randint(1, 10))
        ledger.append({"type": "closed", "recorded_at": stamp(closed), "incident": ident,
                       "data": {"at": stamp(closed)}})
    return ledger


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, required=True)
    parser.add_argument("--open", type=int, default=10, dest="open_")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--format", choices=("toml", "json"), default=None,
                        help="default: from the file name (.json is JSON)")
    parser.add_argument("--now", default="2026-11-29T03:00:00+01:00")
    args = parser.parse_args(argv)
    out = args.out
    if args.format == "json" and out.suffix.lower() != ".json":
        out = out.with_suffix(".json")
    elif args.format == "toml" and out.suffix.lower() == ".json":
        out = out.with_suffix(".toml")
    now = tu.parse_instant(args.now)
    ledger = build(args.incidents, min(args.open_, args.incidents), args.seed, now)
    for old in (out, out.with_name(out.name + ".cache")):  # a fresh ledger, and no read cache yet
        old.unlink(missing_ok=True)
    Store(out).create(ledger)
    print(f"wrote {out}: {args.incidents} incidents, {len(ledger.events)} events, head {ledger.head}")


if __name__ == "__main__":
    main()
