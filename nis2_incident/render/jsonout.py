"""The JSON contract (README: JSON output). Keys may be added, never removed or renamed.

Instants are RFC 3339 strings with the offset of the profile's zone.
"""

from __future__ import annotations

import json
import sys

import orjson

from .. import timeutil as tu
from ..deadlines import Obligation
from ..service import IncidentView

_ORJSON = orjson.OPT_INDENT_2 | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def stamper(tz: str):
    """`tu.rfc3339(instant, tz)`, remembered for each instant object it was given: a view repeats the
    same few instants (aware-at as several clocks' start, a due time as its target): at 10,000
    incidents, 600,000 calls for 110,000 instants. The memo holds each instant it names, so an id is
    never reused while it is there; use one per view."""
    memo: dict[int, tuple] = {}
    rfc3339 = tu.rfc3339

    def stamp(instant):
        if instant is None:
            return None
        hit = memo.get(id(instant))
        if hit is not None and hit[0] is instant:
            return hit[1]
        text = rfc3339(instant, tz)
        memo[id(instant)] = (instant, text)
        return text

    return stamp


def obligation(ob: Obligation, tz: str, stamp=None) -> dict:
    f = ob.filing
    if stamp is None:
        stamp = stamper(tz)
    return {
        "regime": ob.regime,
        "stage": ob.stage,
        "due": stamp(ob.due),
        "state": ob.state,
        "submitted_at": stamp(f.at) if f else None,
        "reference": f.reference if f else None,
        # additions beyond the contract's minimum
        "title": ob.title,
        "title_fr": ob.title_fr,
        "recipient": ob.recipient,
        "article": ob.article,
        "due_kind": ob.due_kind,
        "clock_start": stamp(ob.clock_start),
        "clock_start_label": ob.clock_start_label or None,
        "channel": f.channel if f else None,
        "late_reason": f.late_reason if f else None,
        "note": ob.note,
        "instance": ob.instance or None,
        "target": stamp(ob.target),
        "recipient_channel": ob.channel,
        # issue 17: false for a rule not in force at aware-at (NIS 2 in France today), with why
        "in_force": ob.in_force,
        "in_force_note": ob.in_force_note,
        "undetermined_facts": list(ob.undetermined),  # undecided facts it rests on (counted as applying)
        "unconfirmed": list(ob.unconfirmed),  # points of its rule not confirmed in the official text
    }


def incident(view: IncidentView, now=None, stamp=None) -> dict:
    inc, tz = view.incident, view.profile.timezone
    nxt = view.next_obligation
    if stamp is None:
        stamp = stamper(tz)
    return {
        "id": inc.id,
        "title": inc.title,
        "status": inc.status,
        "aware_at": stamp(inc.aware_at),
        "significance": inc.significance,
        "obligations": [obligation(o, tz, stamp) for o in view.obligations],
        # additions
        "significance_rationale": inc.significance_rationale,
        "detected_at": stamp(inc.detected_at),
        "handled_at": stamp(inc.handled_at),
        "closed_at": stamp(inc.closed_at),
        "summary": inc.summary,
        "malicious": inc.malicious,
        "cross_border": inc.cross_border,
        "personal_data": inc.personal_data,
        "high_risk": inc.high_risk,
        "severity": inc.severity,
        "impact": inc.impact,
        "iocs": list(inc.iocs),
        "root_cause": inc.root_cause,
        "mitigations": inc.mitigations,
        # issue 17: the facts of the other regimes
        "service_disruption": inc.service_disruption,
        "major": inc.major,
        "classified_major_at": stamp(inc.classified_major_at),
        "vulnerability_exploited": inc.vulnerability_exploited,
        "severe_incident": inc.severe_incident,
        "corrective_measure_at": stamp(inc.corrective_measure_at),
        "patient_harm": inc.patient_harm,
        "public_health_threat": inc.public_health_threat,
        "device_involved": inc.device_involved,
        "ai_system_involved": inc.ai_system_involved,
        "widespread_infringement": inc.widespread_infringement,
        "next_due": stamp(nxt.due) if nxt else None,
        "next_stage": nxt.stage if nxt else None,
    }


def detail(view: IncidentView) -> dict:
    """`show --json`: the incident plus its filings and timeline."""
    tz = view.profile.timezone
    stamp = stamper(tz)
    out = incident(view, stamp=stamp)
    # `due` and `late`: as judged at filing; `late_now`: against the facts as they stand (issue 12), for
    # the filing that answers an obligation (null for a further filing)
    now_state = {o.filing.seq: o.state for o in view.obligations if o.filing is not None and o.state in ("met", "late")}
    out["filings"] = [
        {"seq": f.seq, "stage": f.stage, "at": stamp(f.at), "reference": f.reference,
         "channel": f.channel, "late_reason": f.late_reason, "due": stamp(f.due), "late": f.late,
         "draft_sha256": f.draft_sha256,
         "late_now": (now_state[f.seq] == "late") if f.seq in now_state else None}
        for f in view.incident.filings
    ]
    out["requests"] = [
        {"seq": r.seq, "stage": r.stage, "at": stamp(r.at), "due": stamp(r.due)}
        for r in view.incident.requests
    ]
    out["timeline"] = [
        {"seq": t.seq, "type": t.type, "recorded_at": stamp(t.recorded_at),
         "at": stamp(t.at), "text": t.text}
        for t in view.incident.timeline
    ]
    return out


def explanation(view: IncidentView, stage: str | None = None) -> dict:
    tz = view.profile.timezone
    out = {"id": view.incident.id, "timezone": tz, "obligations": []}
    for ob in view.obligations:
        if stage and ob.stage != stage:
            continue
        item = obligation(ob, tz)
        item["steps"] = list(ob.steps)
        item["conservative_choices"] = [str(c) for c in ob.choices]
        f = ob.filing  # what was judged when it was filed (issue 12: `state` follows the facts as they stand)
        item["judged_at_filing"] = {"due": tu.rfc3339(f.due, tz), "late": f.late} if f is not None else None
        out["obligations"].append(item)
    return out


def dumps(value) -> str:
    """`json.dumps(value, ensure_ascii=False, indent=2)`, through orjson (compiled) where it writes the
    same text: every string and integer within 64 bits, with keys in the same order (checked by
    tests/test_output.py). Python's `json` encodes in pure Python once `indent` is set, which was half
    of `list --json` at 10,000 incidents. What orjson refuses or would write otherwise (a date or a
    dataclass, which json refuses too; an integer beyond 64 bits, a non-string key, a lone surrogate)
    goes to `json`, so a value is written as before or refused as before. A float is written as
    orjson writes it (`1e-7` where json writes `1e-07`; the same number): the views hold none."""
    try:
        return orjson.dumps(value, option=_ORJSON).decode()
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return json.dumps(value, ensure_ascii=False, indent=2)


def emit(data) -> None:
    sys.stdout.write(dumps(data) + "\n")


class Dumped(str):
    """An item of a `Lazy` list given as the text `dumps` writes for it (a settled incident's view
    kept by the service, `Service.texts`)."""


class Indented(bytes):
    """An item of a `Lazy` list given as its UTF-8 text already laid out for its place: `dumps`'s
    text with each newline followed by the indentation `chunks` adds at that level (see `indented`).
    Written as it is: a settled incident's text kept that way by the service (`Service.texts`) is
    neither decoded, re-indented nor encoded again (at 10,000 incidents, 140 MB of text)."""


def indented(text: str, level: int) -> str:
    """`text` (as `dumps` writes it) laid out as an item of a `Lazy` list at `level` (see `Indented`)."""
    return text.replace("\n", "\n" + "  " * (level + 1))


def dumps_item(value, level: int) -> str:
    """`indented(dumps(value), level)` in one pass: `value` dumped inside `level + 1` lists, which
    indent it as its place does, and taken out of them (about a third cheaper at 10,000 incidents)."""
    depth = level + 1
    text = dumps(_nest(value, depth))
    head = "".join("[\n" + "  " * (k + 1) for k in range(depth))
    tail = "".join("\n" + "  " * (depth - 1 - k) + "]" for k in range(depth))
    return text[len(head):len(text) - len(tail)]


def _nest(value, depth: int):
    for _ in range(depth):
        value = [value]
    return value


class Lazy:
    """A list written item by item (`chunks`): at 10,000 incidents, `list --json` and the JSON export
    would otherwise hold every item and the whole text at once (hundreds of MB). Its items are plain
    JSON values (each is dumped by `dumps`), `Dumped` texts, or `bytes`: a run of compact JSON values,
    one a line, in UTF-8 (a stretch of a log's verified lines, `Service.record`), each written as one
    item on a line of its own, as it is (no value is decoded or encoded again)."""

    def __init__(self, items):
        self.items = items


def chunks(value, level: int = 0):
    """The text of `json.dumps(value, ensure_ascii=False, indent=2)`, in pieces, where `value` (or a
    table in it) may hold `Lazy` lists. Written by hand because `json` only streams through
    `JSONEncoder.iterencode`, which needs the whole list; JSON escapes the newlines in strings, so
    re-indenting an item's text line by line is exact (tests/test_output.py compares with json). A
    `Lazy` item given as `bytes` (compact values, one a line) is written compact, one value a line:
    the same JSON value as `json.dumps` writes, other whitespace (the export's `events`). Items given
    as `bytes` or `Indented` are yielded as `bytes` pieces (the others as `str`; see `encoded`)."""
    pad = "  " * level
    if isinstance(value, Lazy):
        empty = True
        between = None
        for item in value.items:
            kind = type(item)
            if kind is bytes or kind is Indented:  # written as bytes, as they are
                if kind is bytes:  # compact values, one a line: JSON has no raw newline within a value
                    if not item:
                        continue
                    between = between or (",\n" + pad + "  ").encode()
                    item = item.replace(b"\n", between)
                yield (("[\n" if empty else ",\n") + pad + "  ").encode() + item
            else:
                text = (item if kind is Dumped else dumps(item)).replace("\n", "\n" + pad + "  ")
                yield ("[\n" if empty else ",\n") + pad + "  " + text
            empty = False
        yield "[]" if empty else "\n" + pad + "]"
    elif isinstance(value, dict) and value and any(isinstance(v, (Lazy, dict, list)) for v in value.values()):
        for i, (key, item) in enumerate(value.items()):
            yield ("{\n" if i == 0 else ",\n") + pad + "  " + json.dumps(key, ensure_ascii=False) + ": "
            yield from chunks(item, level + 1)
        yield "\n" + pad + "}"
    elif isinstance(value, list) and value and any(isinstance(v, (Lazy, dict, list)) for v in value):
        for i, item in enumerate(value):
            yield ("[\n" if i == 0 else ",\n") + pad + "  "
            yield from chunks(item, level + 1)
        yield "\n" + pad + "]"
    else:
        yield dumps(value).replace("\n", "\n" + pad)


def encoded(pieces):
    """`chunks`'s pieces as UTF-8 bytes."""
    for piece in pieces:
        yield piece if type(piece) is bytes else piece.encode("utf-8")


def emit_chunks(value) -> None:
    """`emit` for a value holding `Lazy` lists: the same text, written as it is made (pieces made as
    bytes go to stdout's binary buffer as they are, where it has one)."""
    out = sys.stdout
    buffer = getattr(out, "buffer", None)
    if buffer is not None:
        out.flush()
        for piece in encoded(chunks(value)):
            buffer.write(piece)
        buffer.write(b"\n")
        buffer.flush()
        return
    write = out.write
    for piece in chunks(value):
        write(piece if type(piece) is str else piece.decode("utf-8"))
    write("\n")
