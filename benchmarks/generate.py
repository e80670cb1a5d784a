"""Generate a valid ledger (the chain verifies) with N incidents, K still open, for the benchmark.

    python benchmarks/generate.py --incidents 10000 --open 100 --seed 1 --out /tmp/l.jsonl [--format toml|json]

Events are built with the project's own ledger code (Ledger.append seals each one into the chain) and
written once, by the store's own `Store.create` (the log's lines, or the whole TOML/JSON document), so
a 10,000-incident ledger takes seconds, not the hours that one process per event would. A closed
incident has 5-10 events (opened, amendments, the filings of every stage that applies, handled,
closed, with the `settled` mark `close` writes: `mark_closings`); an open one has its amendments and
the filings whose time has come. The file name's
extension chooses the format (`.jsonl`: the JSON Lines log, the default; `.toml`, `.json`:
documents); `--format` sets it. The same arguments give the same bytes, in every format. No
checkpoint is written: the first command that reads a log builds it in the user's cache folder
(`$XDG_CACHE_HOME/nis2-incident/checkpoints/`), which is what the benchmark calls a cold run.
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
FORMATS = ("jsonl", "toml", "json")
TITLES = ["Rançongiciel sur le PACS", "Compromission de messagerie", "Panne du DPI", "Fuite de données",
          "Accès VPN suspect", "Hameçonnage ciblé", "Déni de service du portail patient", "Malware sur un poste"]


def build(incidents: int, open_: int, seed: int, now) -> Ledger:
    """The ledger: a profile, then every incident's events in the order they were recorded (all
    incidents interleaved by `recorded_at`, as real use writes them; none after `now`)."""
    rng = random.Random(seed)
    profile = Profile(name="CHU Bench", category="essential", timezone=TZ, health_establishment=True,
                      regimes=["nis2", "gdpr", "csp"])
    ledger = Ledger(profile=profile.model_dump())
    stamp = lambda t: tu.rfc3339(t, TZ)  # noqa: E731
    start = now - timedelta(days=3 * 365)
    # closed incidents become aware from `start` to 40 days before `now`, so that even the last one
    # (final report up to 27.5 days, closing up to 30 days after awareness) was closed by `now`
    span = (now - timedelta(days=40) - start).total_seconds()
    latest = now - timedelta(minutes=1)
    ledger.append({"type": "profile_set", "recorded_at": stamp(start), "data": profile.model_dump()})
    pending: list[tuple] = []  # (recorded_at, order of generation, event), sorted before sealing

    def record(when, event: dict) -> None:
        pending.append((when, len(pending), {**event, "recorded_at": stamp(when)}))

    # The K open incidents are the most recent ones; the others are closed (and settled).
    for n in range(1, incidents + 1):
        is_open = n > incidents - open_
        aware = start + timedelta(seconds=span * n / incidents) if not is_open else now - timedelta(hours=rng.randint(1, 60))
        ident = f"INC-{tu.to_local(aware, TZ).year}-{n:05d}"
        t = min(aware + timedelta(minutes=rng.randint(5, 90)), latest)  # recorded times never go back
        facts = {"title": rng.choice(TITLES), "aware_at": stamp(aware), "number": n,
                 "significance": rng.choice(["significant", "significant", "undetermined", "not_significant"]),
                 "malicious": rng.random() < 0.6, "personal_data": rng.random() < 0.4}
        if facts["significance"] == "not_significant":
            facts["significance_rationale"] = "Aucune perturbation ni perte (Art. 23(3))."
        record(t, {"type": "opened", "incident": ident, "data": facts})
        for _ in range(rng.randint(2, 4) if is_open else rng.randint(0, 2)):
            t += timedelta(minutes=rng.randint(10, 120 if is_open else 300))
            if t >= now:
                break
            record(t, {"type": "amended", "incident": ident,
                       "data": {"severity": rng.choice(["faible", "moyenne", "élevée"])}})
        t = min(t, latest)
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
            t = max(at, t)
            record(t, {"type": "filed", "incident": ident, "data": data})
        if is_open:
            continue
        handled = aware + timedelta(days=rng.randint(3, 20))
        t = max(handled, t)
        record(t, {"type": "handled", "incident": ident, "data": {"at": stamp(handled)}})
        closed = max(handled + timedelta(days=rng.randint(1, 10)), t)
        record(closed, {"type": "closed", "incident": ident, "data": {"at": stamp(closed)}})
    events = [event for _, _, event in sorted(pending, key=lambda p: (p[0], p[1]))]
    mark_closings(events, profile.model_dump(), stamp(start))
    for event in events:
        ledger.append(event)
    return ledger


def mark_closings(events: list[dict], profile: dict, created: str) -> None:
    """Give each `closed` event the `settled` mark that `close` would have written (`Service.conclude`:
    every obligation met, late or not applicable at the closing), from the fold of the events so far.
    Every closed incident's `closed` event is its last here, so its final fold is its state then."""
    from nis2_incident import service
    from nis2_incident.model import State
    from nis2_incident.regimes import builtin

    state = State()
    state.apply({"seq": 1, "type": "profile_set", "recorded_at": created, "data": profile, "hash": ""})
    for seq, event in enumerate(events, start=2):
        state.apply({**event, "seq": seq, "hash": ""})
    regimes = builtin()
    mark = service.rules_mark(state.profile, regimes)
    for event in events:
        if event["type"] == "closed" and mark is not None:
            inc = state.incident(event["incident"])
            if service.settled_at(inc, state.profile, regimes, tu.parse_instant(event["recorded_at"])):
                event["data"] = {**event["data"], "settled": mark}


def with_format(out: Path, fmt: str | None) -> Path:
    """`out` with the extension of `fmt` (the extension is what chooses the format); without `fmt`,
    `out` as it is if its extension names a format, else with `.jsonl` (the default, the log)."""
    suffix = out.suffix.lower().lstrip(".")
    if fmt is None:
        return out if suffix in FORMATS else out.with_name(out.name + ".jsonl")
    return out if suffix == fmt else out.with_suffix("." + fmt)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, required=True)
    parser.add_argument("--open", type=int, default=10, dest="open_")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--format", choices=FORMATS, default=None,
                        help="jsonl (the log), toml or json (documents); default: from the file name's "
                             "extension, and jsonl if it is none of these")
    parser.add_argument("--now", default="2026-11-29T03:00:00+01:00")
    args = parser.parse_args(argv)
    out = with_format(args.out, args.format)
    now = tu.parse_instant(args.now)
    ledger = build(args.incidents, min(args.open_, args.incidents), args.seed, now)
    out.unlink(missing_ok=True)  # a fresh ledger (Store.create never overwrites one)
    Store(out).create(ledger)
    print(f"wrote {out}: {args.incidents} incidents, {len(ledger.events)} events, head {ledger.head}")


if __name__ == "__main__":
    main()
