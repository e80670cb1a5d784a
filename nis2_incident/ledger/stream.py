"""Reading a ledger one event at a time, so that memory does not grow with the decoded record (issue 8).

`codec.decode` turns the whole file into Python objects at once: at 10,000 incidents that is 100-150 MB
of dicts on top of the text, for commands (`verify`, the first read that builds the read cache, `list`)
that only need one event at a time to verify the chain and fold the incidents. `walk` splits the text
into its header (everything before the events) and one span per event, and decodes them one by one.

Written by hand because neither `tomllib` nor `json` can stream, and the streaming parsers on PyPI
(ijson and friends) cover JSON only and would be a second JSON parser whose accepted language differs
from the one `decode` uses. Here every piece is parsed by the very parser `decode` uses, and the split
is only trusted when it provably gives what a whole parse gives:

- TOML: the text is cut before each line that is exactly `[[events]]`. If every piece parses, no cut
  fell inside a string (the piece before it would end in an unterminated string), so each piece is a
  genuine array-of-tables header with its tables; the header piece must not define `events`, and each
  event piece must hold exactly one event and nothing else (no other key it could redefine).
- JSON: the top-level object is scanned with `json`'s own string scanner and `raw_decode`, each event
  decoded by the same decoder (duplicate keys, NaN and floats refused) as `decode`.

Anything else (an upgrade to run, a BOM, a comment on the `[[events]]` line, CRLF line ends, a nesting
too deep, a duplicate key, any error at all) raises `NotStreamable`, and the caller reads the ledger
the old way, whole, which gives the exact error message. So this module changes memory, never results
(tests/test_stream.py compares both ways on every ledger the tests write and on damaged ones).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Iterator

from . import codec, locate


class NotStreamable(Exception):
    """This text cannot be walked event by event: read it whole (`codec.decode`)."""


_TOML_CUT = b"\n[[events]]\n"
_WS = re.compile(r"[ \t\n\r]*")


class Walk:
    """A ledger's text split into its header (schema_version, profile, other tools' keys) and one
    span per event. `events()` decodes them in order; `event(i)` decodes one again.

    A TOML walk holds the ledger's bytes (cut at ASCII newlines, so each piece decodes as the whole
    would) and decodes a piece at a time; a JSON walk holds the text (`json` scans text, not bytes), so
    the caller can let the bytes go (`source` gives them back, equal to what was read)."""

    def __init__(self, path: Path, data: bytes | str, header: dict, spans: list[tuple[int, int]]):
        self.path, self.data, self.header, self.spans = path, data, header, spans
        self.toml = isinstance(data, bytes)
        self._decoder = None if self.toml else _json_decoder()

    @property
    def schema_version(self) -> int:
        return self.header["schema_version"]

    @property
    def profile(self) -> dict:
        return self.header["profile"]

    @property
    def extra(self) -> dict:
        return {k: v for k, v in self.header.items() if k not in ("schema_version", "profile")}

    def __len__(self) -> int:
        return len(self.spans)

    def source(self) -> bytes:
        """The ledger's bytes (the very object for TOML; re-encoded, byte-for-byte the same, for JSON)."""
        return self.data if self.toml else self.data.encode("utf-8")

    def event(self, index: int) -> dict:
        start, end = self.spans[index]
        try:
            if self.toml:
                import tomllib

                piece = tomllib.loads(self.data[start:end].decode("utf-8"))
                if piece.keys() != {"events"} or not isinstance(piece["events"], list) or len(piece["events"]) != 1:
                    raise NotStreamable
                ev = piece["events"][0]
            else:
                ev, stop = self._decoder.raw_decode(self.data, start)
                if stop != end:
                    raise NotStreamable
        except (ValueError, RecursionError):  # TOMLDecodeError, JSONDecodeError, UnicodeDecodeError
            raise NotStreamable from None
        if not isinstance(ev, dict) or locate.too_deep({"events": [ev]}) is not None:
            raise NotStreamable
        try:
            codec.check_event(ev, index, self.path)
        except Exception:
            raise NotStreamable from None
        return ev

    def events(self) -> Iterator[dict]:
        for index in range(len(self.spans)):
            yield self.event(index)

    def encoded(self) -> bool:
        """Is the text exactly what `codec.encode` writes for its data? (`codec.is_encoded`, one
        event at a time: `frame_encoded` and `event_encoded` of each event, which a caller walking
        the events anyway can ask as it goes)"""
        return self.frame_encoded() and all(self.event_encoded(i, ev) for i, ev in enumerate(self.events()))

    def frame_encoded(self) -> bool:
        """Everything but the events themselves is as `codec.encode` writes it: the header, what
        separates the events, the end."""
        data = {**self.extra, "schema_version": self.schema_version, "profile": self.profile}
        text, spans = self.data, self.spans
        if self.toml:
            import tomli_w

            # each piece but the last ends with the empty line before the next `[[events]]`
            return (bool(spans) and text[:spans[0][0]] == (tomli_w.dumps(data) + "\n").encode("utf-8")
                    and spans[-1][1] == len(text))
        empty = json.dumps({**data, "events": []}, ensure_ascii=False, indent=2) + "\n"
        if not spans:
            return text == empty
        if not empty.endswith("[]\n}\n") or text[:spans[0][0]] != empty[:-len("[]\n}\n")] + "[\n    ":
            return False
        return (all(text[end:spans[i + 1][0]] == ",\n    " for i, (_, end) in enumerate(spans[:-1]))
                and text[spans[-1][1]:] == codec.JSON_END.decode())

    def event_encoded(self, index: int, ev: dict) -> bool:
        """The text of event `index` (decoded as `ev`) is as `codec.encode` writes it."""
        start, end = self.spans[index]
        if self.toml:
            import tomli_w

            piece = (tomli_w.dumps({"events": [ev]}) + ("\n" if index < len(self.spans) - 1 else "")).encode("utf-8")
        else:
            piece = json.dumps(ev, ensure_ascii=False, indent=2).replace("\n", "\n    ")
        return self.data[start:end] == piece


def _json_decoder() -> json.JSONDecoder:
    return json.JSONDecoder(object_pairs_hook=codec._no_duplicates, parse_constant=codec._no_constant,
                            parse_float=lambda s: codec._no_constant(f"the number {s[:20]}"))


def walk(raw: bytes, path: Path) -> Walk:
    """Split the ledger's bytes for `Walk`; NotStreamable when they cannot be (read them whole)."""
    if raw.startswith(b"\xef\xbb\xbf") or b"\r" in raw:
        raise NotStreamable
    try:
        walked = _walk_json(raw.decode("utf-8"), path) if codec.is_json(path) else _walk_toml(raw, path)
    except (ValueError, RecursionError, IndexError):  # includes UnicodeDecodeError
        raise NotStreamable from None
    header = walked.header
    if "events" in header or locate.too_deep(header) is not None:
        raise NotStreamable
    try:
        # the header's checks, as `decode` makes them; an older schema_version needs the upgrade chain,
        # which works on the whole data
        codec.check_shape({**header, "events": []}, path)
    except Exception:
        raise NotStreamable from None
    if header["schema_version"] != codec.SCHEMA_VERSION:
        raise NotStreamable
    return walked


def _walk_toml(raw: bytes, path: Path) -> Walk:
    import tomllib

    cuts = []
    at = raw.find(_TOML_CUT)
    while at != -1:
        cuts.append(at + 1)
        at = raw.find(_TOML_CUT, at + 1)
    if not cuts:
        raise NotStreamable  # no events (or not laid out one table after another): small, read it whole
    header = tomllib.loads(raw[:cuts[0]].decode("utf-8"))
    ends = cuts[1:] + [len(raw)]
    return Walk(path, raw, header, list(zip(cuts, ends, strict=True)))


def _walk_json(text: str, path: Path) -> Walk:
    """Scan the top-level object: every value but `events` decoded whole, `events` item by item
    (only their spans are kept)."""
    from json.decoder import scanstring

    decoder = _json_decoder()
    header: dict = {}
    spans: list[tuple[int, int]] = []
    seen_events = False
    i = _WS.match(text, 0).end()
    if text[i] != "{":
        raise NotStreamable
    i = _WS.match(text, i + 1).end()
    if text[i] != "}":
        while True:
            if text[i] != '"':
                raise NotStreamable
            key, i = scanstring(text, i + 1, True)
            if key in header or (key == "events" and seen_events):
                raise NotStreamable  # a duplicate key: `decode` refuses it with its place
            i = _WS.match(text, i).end()
            if text[i] != ":":
                raise NotStreamable
            i = _WS.match(text, i + 1).end()
            if key == "events":
                seen_events = True
                if text[i] != "[":
                    raise NotStreamable
                i = _WS.match(text, i + 1).end()
                if text[i] != "]":
                    while True:
                        _, end = decoder.raw_decode(text, i)  # checks it; decoded again when walked
                        spans.append((i, end))
                        i = _WS.match(text, end).end()
                        if text[i] == ",":
                            i = _WS.match(text, i + 1).end()
                            continue
                        if text[i] != "]":
                            raise NotStreamable
                        break
                i += 1
            else:
                header[key], i = decoder.raw_decode(text, i)
            i = _WS.match(text, i).end()
            if text[i] == ",":
                i = _WS.match(text, i + 1).end()
                continue
            if text[i] != "}":
                raise NotStreamable
            break
    if _WS.match(text, i + 1).end() != len(text) or not seen_events:
        raise NotStreamable
    return Walk(path, text, header, spans)
