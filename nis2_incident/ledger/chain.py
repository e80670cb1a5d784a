"""The hash chain: canonical form (RFC 8785), SHA-256, and verification naming the first bad event."""

from __future__ import annotations

import hashlib
import re

from ..errors import IntegrityError

GENESIS = "0" * 64


# What orjson (like Python's json) may write otherwise than RFC 8785: integers of 2^53 and more (RFC
# 8785 refuses them), characters above U+FFFF (4-byte UTF-8: RFC 8785 sorts keys by UTF-16 code
# units) and escaped lone surrogates. A value holding none of them is written identically by both
# (checked on every real event, tests/test_log.py); one that may hold any is left to rfc8785.
_FOUR_BYTE_LEADS = (b"\xf0", b"\xf1", b"\xf2", b"\xf3", b"\xf4")
_SAFE_INT = 2**53 - 1


# A number token of 16 digits or more (2^53 has 16), or with decimals or an exponent, in JSON text: a
# byte scan (compiled) decides whether the decoded value must be walked at all. A string holding such
# text (",1234567890123456") only costs the walk, which then finds no number.
_BIG_TOKEN = re.compile(rb"[:,\[]\s*-?\d{16}")
_ODD_TOKEN = re.compile(rb"[:,\[]\s*-?(?:\d{16}|\d+[.eE])")


def may_hold_odd_number(text: bytes) -> bool:
    """False when the JSON `text` holds no float and no integer of 2^53 or more (so `odd_number` of
    its value is None without walking it)."""
    return _ODD_TOKEN.search(text) is not None


def _unsure(text: bytes, body: dict) -> bool:
    return (b"\\u" in text or any(lead in text for lead in _FOUR_BYTE_LEADS)
            or (_BIG_TOKEN.search(text) is not None and _big_int(body)))


def _big_int(value) -> bool:
    return odd_number(value) == "integer"


def odd_number(value) -> str | None:
    """"float" if `value` holds a number with decimals, "integer" if it holds an integer of 2^53 or
    more, else None. Iterative (a recursion per value cost ten times more at 84,000 events)."""
    stack, found = [value], None
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is dict:
            stack.extend(item.values())
        elif kind is list:
            stack.extend(item)
        elif kind is float:
            return "float"
        elif kind is int and not -_SAFE_INT <= item <= _SAFE_INT:
            found = "integer"
    return found


def canonical(event: dict, fast: bool = False) -> bytes:
    """The RFC 8785 canonical JSON of the event without its `hash` key. `fast`: through orjson with
    sorted keys (compiled: about 100 times faster than rfc8785, which is pure Python) where it is known
    to write the same bytes, else rfc8785. orjson writes what Python's `json.dumps(sort_keys=True,
    separators=(",", ":"), ensure_ascii=False)` writes (checked on every event of the benchmark's
    10,000-incident ledger and by tests/test_log.py)."""
    body = {k: v for k, v in event.items() if k != "hash"} if "hash" in event else event
    if fast:
        import orjson

        try:
            text = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
        except (TypeError, ValueError, RecursionError):  # orjson.JSONEncodeError is a TypeError
            text = None
        if text is not None and not _unsure(text, body):
            return text
    import rfc8785  # here, not at the top: most reads never need it

    try:
        return rfc8785.dumps(body)
    except Exception as exc:  # rfc8785 raises its own errors for floats, huge ints, bad strings
        raise IntegrityError(f"event seq {event.get('seq')}: cannot be canonicalised: {exc}", event.get("seq")) from None


def event_hash(event: dict) -> str:
    """SHA-256 over the RFC 8785 canonical JSON of the event without its `hash` key."""
    return hashlib.sha256(canonical(event)).hexdigest()


def seal(event: dict, prev_event: dict | None) -> dict:
    """Give a new event its seq, prev and hash, after the previous event."""
    event["seq"] = (prev_event["seq"] + 1) if prev_event else 1
    event["prev"] = prev_event["hash"] if prev_event else GENESIS
    event["hash"] = event_hash(event)
    return event


class Verifier:
    """The chain checked one event at a time, in order."""

    def __init__(self):
        self.count, self.prev_hash = 0, GENESIS

    def add(self, ev: dict) -> None:
        """Raise IntegrityError naming the event if it does not extend the chain."""
        expected_seq = self.count + 1
        seq = ev.get("seq")
        if seq != expected_seq:
            raise IntegrityError(
                f"event #{expected_seq} has seq {seq}: an event was removed, duplicated or moved at seq {expected_seq}",
                expected_seq,
            )
        if ev.get("prev") != self.prev_hash:
            raise IntegrityError(
                f"event seq {seq}: prev does not match the hash of event seq {seq - 1}: "
                f"the chain is broken at seq {seq}",
                seq,
            )
        actual = event_hash(ev)
        if ev.get("hash") != actual:
            raise IntegrityError(f"event seq {seq}: hash does not match its content: event seq {seq} was altered", seq)
        self.count, self.prev_hash = expected_seq, actual


def verify(events: list[dict]) -> None:
    """Recompute the chain; raise IntegrityError naming the first event that does not match."""
    verifier = Verifier()
    for ev in events:
        verifier.add(ev)


def parse_head(text: str) -> tuple[int | None, str]:
    """`SEQ:HASH` or `HASH` (at least 12 hex digits) as printed by write commands."""
    seq_text, sep, hash_text = text.strip().partition(":")
    if not sep:
        seq_text, hash_text = "", seq_text
    hash_text = hash_text.lower()
    if len(hash_text) < 12 or len(hash_text) > 64 or any(c not in "0123456789abcdef" for c in hash_text):
        from ..errors import InputError

        raise InputError(
            f"invalid head {text!r}; accepted: SEQ:HASH or HASH as printed after each write "
            "(a SHA-256 hex digest, at least its first 12 digits)"
        )
    if seq_text and not seq_text.isdigit():
        from ..errors import InputError

        raise InputError(f"invalid head {text!r}; accepted: SEQ:HASH, e.g. 12:3fa1c0…")
    return (int(seq_text) if seq_text else None), hash_text


def check_head(events: list, head: str) -> str:
    """Prove that the kept head is still in the chain (nothing cut from the end, nothing rewritten
    up to it). `events`: the verified chain's events, or just their hashes, in order (event seq N is
    at N - 1). Returns a sentence for the user; raises IntegrityError otherwise."""
    hashes = [ev if isinstance(ev, str) else ev["hash"] for ev in events]
    count = len(hashes)
    seq, digest = parse_head(head)
    if seq == 0:  # the empty ledger, which every chain extends (not events[-1])
        if not GENESIS.startswith(digest):
            from ..errors import InputError

            raise InputError(f"invalid head {head!r}: seq 0 is the empty ledger, whose hash is {GENESIS[:12]}…; "
                             "accepted: SEQ:HASH as printed after each write")
        return f"kept head seq 0 found; {count} event(s) added since"
    if seq is not None:
        if seq > count:
            raise IntegrityError(
                f"kept head is seq {seq} but the ledger ends at seq {count}: the head is not from this "
                f"ledger (another file, or a typo in SEQ), or events {count + 1}..{seq} were removed from "
                "the end; check where the head was kept and which file --ledger names",
                count + 1,
            )
        if not hashes[seq - 1].startswith(digest):
            raise IntegrityError(
                f"event seq {seq} does not match the kept head: the chain was rewritten at or before seq {seq}",
                seq,
            )
        return f"kept head seq {seq} found; {count - seq} event(s) added since"
    for found, value in enumerate(hashes, start=1):
        if value.startswith(digest):
            return f"kept head found at seq {found}; {count - found} event(s) added since"
    raise IntegrityError(
        f"kept head {digest[:12]}… is not in the chain: events were removed from the end or rewritten "
        f"(the ledger ends at seq {count})",
        None,
    )
