"""Where in a ledger's text is the problem the parser refused without saying where?

`json` reports syntax errors with a line and column, and `tomllib` with its "(at line, column)", but
the checks added on top (duplicate JSON keys, NaN and floats, integers longer than Python converts,
nesting deep enough to exhaust the recursion limit) arrive as a bare ValueError or RecursionError.
Only on that error path, a tokenizer scans the text for the first such problem and returns it with its
line and column, so the user can open the file at the right place.

Nesting is also bounded when the parsers cope: a ledger nests six levels, and a value nested a few
hundred levels deep in another tool's key parsed, verified, and then crashed the TOML writer with a
RecursionError (exit 70) on the next write. `too_deep` refuses it at read time, so what reads can be
written.
"""

from __future__ import annotations

import json
import re
import sys

MAX_DEPTH = 32  # a ledger nests six levels (top, events, event, data, a list, ...); room for other tools

_JSON_TOKEN = re.compile(r"""
    (?P<string>"(?:[^"\\]|\\.)*"?)
  | (?P<constant>-?Infinity|NaN)
  | (?P<number>-?[0-9]+(?P<fraction>\.[0-9]*)?(?P<exponent>[eE][+-]?[0-9]+)?)
  | (?P<open>[{\[])
  | (?P<close>[}\]])
  | (?P<comma>,)
  | [^"{}\[\],\-0-9NI]+ | .
""", re.S | re.X)

_TOML_TOKEN = re.compile(r"""
    (?P<string>\"\"\".*?(?:\"\"\"|\Z)|'''.*?(?:'''|\Z)|"(?:[^"\\\n]|\\.)*"?|'[^'\n]*'?)
  | (?P<comment>\#[^\n]*)
  | (?P<number>(?<![A-Za-z0-9_.:-])[+-]?[0-9][0-9_]*)
  | (?P<open>[{\[])
  | (?P<close>[}\]])
  | [^"'\#{}\[\]+\-0-9]+ | .
""", re.S | re.X)


def describe(text: str, exc: BaseException, is_json: bool) -> str:
    """'line L, column C: invalid ledger: WHAT' for the first problem of the kind `exc` signals."""
    if isinstance(exc, RecursionError):
        kinds = {"depth"}
    elif str(exc).startswith("duplicate key"):
        kinds = {"duplicate"}
    else:
        kinds = {"constant", "float", "integer"}
    found = _scan_json(text, kinds) if is_json else _scan_toml(text, kinds, MAX_DEPTH - 1)
    if found is None:  # not expected; the parser's own words are still better than nothing
        return f"invalid ledger: {str(exc)[:200]}"
    offset, what = found
    if isinstance(exc, RecursionError):
        what += " (maximum recursion depth exceeded)"
    return f"{_line_column(text, offset)}: invalid ledger: {what}"


def _line_column(text: str, offset: int) -> str:
    return f"line {text.count(chr(10), 0, offset) + 1}, column {offset - text.rfind(chr(10), 0, offset)}"


def too_deep(data) -> tuple | None:
    """The path (keys and indexes) to the first container nested deeper than MAX_DEPTH, or None.
    Iterative, so it cannot itself run out of stack."""
    stack = [(data, 1, ())]
    while stack:
        node, depth, path = stack.pop()
        if isinstance(node, dict):
            children = node.items()
        elif isinstance(node, list):
            children = enumerate(node)
        else:
            continue
        if depth > MAX_DEPTH:
            return path
        stack.extend((value, depth + 1, path + (key,)) for key, value in children
                     if isinstance(value, (dict, list)))
    return None


def describe_depth(text: str, is_json: bool, path: tuple) -> str:
    """'line L, column C: invalid ledger: nested more than N levels deep (under KEY)'."""
    under = "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if i else str(p)) for i, p in enumerate(path[:4]))
    under += "…" if len(path) > 4 else ""
    what = f"invalid ledger: nested more than {MAX_DEPTH} levels deep (under {under})"
    # in TOML the top-level table has no bracket: one bracket fewer for the same depth
    found = (_scan_json(text, {"depth"}) if is_json else _scan_toml(text, {"depth"}, MAX_DEPTH - 1))
    return f"{_line_column(text, found[0])}: {what}" if found else what


def _digits_limit() -> int:
    getter = getattr(sys, "get_int_max_str_digits", None)
    return getter() if getter else 0


def _too_long(digits: str) -> str | None:
    limit, count = _digits_limit(), len(digits.lstrip("+-").replace("_", ""))
    if limit and count > limit:
        return f"an integer of {count} digits: Exceeds the limit ({limit} digits); a ledger's integers are small"
    return None


def _scan_json(text: str, kinds: set[str]):
    stack: list[list | None] = []  # per open container: [keys seen, expecting a key] for objects
    for m in _JSON_TOKEN.finditer(text):
        kind, start = m.lastgroup, m.start()
        if kind == "string":
            top = stack[-1] if stack else None
            if top is not None and top[1]:
                top[1] = False
                try:
                    key = json.loads(m.group())
                except ValueError:
                    key = m.group()
                if "duplicate" in kinds and key in top[0]:
                    return start, f"duplicate key {key!r}"
                top[0].add(key)
        elif kind == "open":
            stack.append([set(), True] if m.group() == "{" else None)
            if "depth" in kinds and len(stack) > MAX_DEPTH:
                return start, f"nested more than {MAX_DEPTH} levels deep"
        elif kind == "close":
            if stack:
                stack.pop()
        elif kind == "comma":
            if stack and stack[-1] is not None:
                stack[-1][1] = True
        elif kind == "constant" and "constant" in kinds:
            return start, f"{m.group()} is not allowed"
        elif kind == "number":
            if "float" in kinds and (m.group("fraction") or m.group("exponent")):
                return start, f"the number {m.group()[:20]} (no decimals) is not allowed"
            if "integer" in kinds and (message := _too_long(m.group())):
                return start, message
    return None


def _scan_toml(text: str, kinds: set[str], limit: int = MAX_DEPTH):
    depth = 0
    for m in _TOML_TOKEN.finditer(text):
        kind, start = m.lastgroup, m.start()
        if kind == "open":
            depth += 1
            if "depth" in kinds and depth > limit:
                return start, f"nested more than {MAX_DEPTH} levels deep"
        elif kind == "close":
            depth = max(depth - 1, 0)
        elif kind == "number" and "integer" in kinds and (message := _too_long(m.group())):
            return start, message
    return None
