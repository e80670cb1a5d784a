"""User text on a terminal: control characters escaped, never sent raw (issue 14).

A title, a summary, a reference or a reason is typed by a user (or by whoever could write the
ledger); sent raw to a terminal, `\r` or `ESC[2K` erases the `OVERDUE` line before it, `ESC]...`
retitles the window, a newline forges a line of `check`'s output, and U+202E reverses what follows.
`printable` turns each such character into a visible escape (`\r`, `\x1b`, `\u202e`) and leaves every
other character as it is, so the text stays readable and nothing in it acts on the terminal. JSON
output keeps the text exactly as recorded (JSON escapes control characters itself), and so do files.

Pure and small, without Rich: `alerts.text_line` (check's text, nagios and syslog lines), the CLI's
messages and the Rich consoles (`render/views.py`) all use it.
"""

from __future__ import annotations

import re

# C0 controls (tab and newline where allowed), DEL, C1 controls, and the invisible characters that
# reorder or break what a terminal shows (bidirectional overrides and isolates, line/paragraph
# separators, marks).
_UNSAFE_ONE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_UNSAFE_MULTI_LINE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\r": "\\r", "\n": "\\n", "\t": "\\t"}


def _escape(match: re.Match) -> str:
    ch = match.group()
    if ch in _NAMED:
        return _NAMED[ch]
    code = ord(ch)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def printable(text: str, newlines: bool = False) -> str:
    """`text` with every control character escaped (`\\r`, `\\x1b`, `\\u202e`); `newlines`: keep
    newlines and tabs (a multi-line view, a draft), else escape them too (one line: check, a message)."""
    pattern = _UNSAFE_MULTI_LINE if newlines else _UNSAFE_ONE_LINE
    if not isinstance(text, str) or pattern.search(text) is None:
        return text
    return pattern.sub(_escape, text)
