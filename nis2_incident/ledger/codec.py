"""Ledger document formats: TOML (`*.toml`) and JSON (`*.json`), holding the same data.

Top-level keys: `schema_version`, `profile` (the current view), `events` (the hash-chained list).
Values are strings, integers, booleans, lists and tables only: no floats, no TOML dates, no nulls,
so both formats round-trip to the same canonical JSON and the same hashes.

A document is read whole and written whole (`store.DocumentStore`); the JSON Lines log
(`log.py`, the default) is the format that appends.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from ..errors import LedgerError, Nis2IncidentError

SCHEMA_VERSION = 1
EVENT_KEYS = {"seq", "type", "recorded_at", "prev", "hash"}


def is_json(path: Path) -> bool:
    return path.suffix.lower() == ".json"


def no_duplicates(pairs):
    out = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def no_constant(name):
    raise ValueError(f"{name} is not allowed")


def decode(raw: bytes, path: Path) -> dict:
    """Bytes -> data, or LedgerError naming the file and the place of the problem."""
    if not raw.strip():
        raise LedgerError(f"{path}: the ledger is empty ({len(raw)} bytes); it is never treated as a new ledger. "
                          "Restore it from a backup or move it away and run `init`")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise LedgerError(f"{path}: byte {exc.start} (line {line}): not valid UTF-8{_wide_bom(raw)}") from None
    text = text.removeprefix("\ufeff")
    import tomllib

    from . import locate

    try:
        if is_json(path):
            data = json.loads(text, object_pairs_hook=no_duplicates, parse_constant=no_constant,
                              parse_float=lambda s: no_constant(f"the number {s[:20]} (no decimals)"))
        else:
            data = tomllib.loads(text)
    except json.JSONDecodeError as exc:
        raise LedgerError(f"{path}: line {exc.lineno}, column {exc.colno}: invalid JSON: {exc.msg}") from None
    except tomllib.TOMLDecodeError as exc:
        raise LedgerError(f"{path}: invalid TOML: {exc}") from None
    except (ValueError, RecursionError) as exc:  # duplicate keys, NaN, floats, huge integers, deep nesting
        raise LedgerError(f"{path}: {locate.describe(text, exc, is_json(path))}") from None
    deep = locate.too_deep(data)
    if deep is not None:
        raise LedgerError(f"{path}: {locate.describe_depth(text, is_json(path), deep)}")
    return check_shape(data, path)


def _wide_bom(raw: bytes) -> str:
    for bom, name in ((b"\xff\xfe\x00\x00", "UTF-32"), (b"\x00\x00\xfe\xff", "UTF-32"),
                      (b"\xff\xfe", "UTF-16"), (b"\xfe\xff", "UTF-16")):
        if raw.startswith(bom):
            return f" (the file starts with a {name} byte order mark: save it as UTF-8)"
    return ""


def check_shape(data, path: Path) -> dict:
    if not isinstance(data, dict):
        raise LedgerError(f"{path}: the top level must be a table with schema_version, profile and events")
    version = data.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise LedgerError(f"{path}: schema_version: missing or not an integer; this is not a nis2-incident ledger")
    if version > SCHEMA_VERSION:
        raise LedgerError(
            f"{path}: schema_version {version} is newer than this nis2-incident understands "
            f"({SCHEMA_VERSION}); upgrade nis2-incident"
        )
    data = upgrade(data, path)
    if not isinstance(data.get("profile"), dict):
        raise LedgerError(f"{path}: profile: missing or not a table")
    events = data.get("events", [])
    if not isinstance(events, list):
        raise LedgerError(f"{path}: events: must be a list of tables")
    for index, ev in enumerate(events):
        check_event(ev, index, path)
    data["events"] = events
    return data


def check_event(ev, index: int, path: Path) -> None:
    """The shape every stored event has (what the fold and the chain rely on)."""
    if not isinstance(ev, dict):
        raise LedgerError(f"{path}: events[{index}]: must be a table")
    missing = EVENT_KEYS - ev.keys()
    if missing:
        raise LedgerError(f"{path}: events[{index}]: missing key(s) {', '.join(sorted(missing))}")
    if not isinstance(ev["seq"], int) or isinstance(ev["seq"], bool):
        raise LedgerError(f"{path}: events[{index}]: seq must be an integer")
    for key in ("type", "recorded_at", "prev", "hash"):
        if not isinstance(ev[key], str):
            raise LedgerError(f"{path}: events[{index}] (seq {ev['seq']}): {key} must be a string")
    if "incident" in ev and not isinstance(ev["incident"], str):
        raise LedgerError(f"{path}: events[{index}] (seq {ev['seq']}): incident must be a string")


# The upgrade chain. UPGRADES[n] is a function that takes the data of a version-n ledger (as decoded)
# and returns the data of version n+1 with `schema_version` = n+1; `upgrade` applies the steps in
# order when an older file is read, and the next write stores the upgraded form. Rules for a step:
#   - it never changes a stored event (seq, prev, hash and the hashed content stay byte-for-byte the
#     same, or the chain breaks); new meanings of old events belong in the fold (model.py);
#   - it may reshape the top level (rename, add or drop keys of the current view, e.g. `profile`);
#   - it is pure (no I/O) and total on every valid ledger of version n.
# Version 1 is the first; the chain is empty until version 2 exists. tests/fixtures/ledger-v1.toml is
# a version-1 ledger kept forever: every later version must read, verify and upgrade it.
UPGRADES: dict[int, Callable[[dict], dict]] = {}


def upgrade(data: dict, path: Path) -> dict:
    version = data["schema_version"]
    if version < 1:
        raise LedgerError(f"{path}: schema_version {version} is not a known version (accepted: 1..{SCHEMA_VERSION})")
    while version < SCHEMA_VERSION:
        step = UPGRADES.get(version)
        if step is None:
            raise Nis2IncidentError(f"{path}: schema_version {version}: this nis2-incident has no upgrade to "
                                    f"version {version + 1} (a bug: report it; the file is unchanged)")
        data = step(data)
        if data.get("schema_version") != version + 1:
            raise Nis2IncidentError(f"{path}: the upgrade from schema_version {version} did not produce "
                                    f"version {version + 1} (a bug: report it; the file is unchanged)")
        version += 1
    return data


def encode(data: dict, path: Path) -> bytes:
    if is_json(path):
        return (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    import tomli_w

    return tomli_w.dumps(data).encode("utf-8")
