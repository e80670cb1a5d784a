"""The bodies of `draft` (the text of a report) and `export` (JSON, CSV, iCalendar, the ledger as a
document), without Typer: the fast path (`fast.py`) and the Typer commands (`drafts.py`) run them, with
the options declared once in `options.py`. Jinja2 and icalendar are loaded inside them, so `check` from
cron never imports them."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

from .. import timeutil as tu
from ..errors import InputError
from .core import _say, _service


def _short_head(head: str) -> str:
    seq, _, digest = head.partition(":")
    return f"{seq}:{digest[:12]}" if digest else head


def draft(ident: str, stage: str, lang: str = "fr", fmt: str = "text", output: Optional[str] = None,
          templates: Optional[str] = None, ledger: Optional[str] = None, now: Optional[str] = None,
          json_out: bool = False) -> int:
    """The text of a report from the incident's facts, every missing fact marked; a follow-up says what
    changed since the previous filing to the same recipient."""
    from ..drafts import check_options, pick_obligation, render

    lang, fmt = check_options(lang, fmt)
    service = _service(ledger, now)
    state, view, events, head = service.dossier(ident)  # this incident only: its view and its events
    inc = view.incident
    name = service.resolve_stage(stage, state.profile)
    ob = pick_obligation(view, name)
    folder = templates or state.profile.templates_dir or None
    draft = render(view, name, events, service.regimes, service.now, lang=lang, fmt=fmt,
                   templates_dir=folder, head=_short_head(head))
    if ob.state == "not_applicable":
        _say(f"warning: {name} is not applicable to {inc.id} ({ob.note}); drafted anyway")
    elif ob.filing is not None:
        _say(f"warning: {name} was already filed at {tu.display(ob.filing.at, state.profile.timezone)}; "
             "this is a further filing")
    if output:
        from ..fileout import write_atomic

        path = write_atomic(output, draft.text.encode("utf-8"), service.store.path)
    if json_out:
        from ..render.jsonout import emit

        prev = draft.previous
        emit({"incident": inc.id, "stage": draft.stage, "lang": draft.lang, "format": draft.format,
              "template": draft.template, "text": draft.text, "missing": draft.missing,
              "missing_count": len(draft.missing), "sha256": draft.sha256, "output": str(path) if output else None,
              "previous_filing": None if prev is None else {
                  "seq": prev.seq, "stage": prev.stage, "at": tu.rfc3339(prev.at, state.profile.timezone),
                  "reference": prev.reference},
              "changes": [{k: c[k] for k in ("field", "label", "before", "after")} for c in draft.changes]})
    elif not output:
        sys.stdout.write(_for_stdout(draft.text))
        sys.stdout.flush()
    if draft.missing:
        marker = "[À COMPLÉTER : …]" if lang == "fr" else "[TO BE COMPLETED: …]"
        _say(f"{len(draft.missing)} missing fact(s), marked {marker} in the draft: {'; '.join(draft.missing)}")
    else:
        _say("no missing fact: every fact this report needs is recorded")
    if draft.previous is not None:
        _say(f"follow-up of {draft.previous.stage} filed {tu.display(draft.previous.at, state.profile.timezone)}: "
             f"{len(draft.changes)} fact(s) changed since")
    if output:
        _say(f"wrote {path} (sha256 {draft.sha256}); after filing it: "
             f"nis2-incident submit {inc.id} {draft.stage} --draft {path}")
    return 0


def export(fmt: str = "json", output: Optional[str] = None, alarm: Optional[list[str]] = None, schema: bool = False,
           ledger: Optional[str] = None, now: Optional[str] = None, json_out: bool = False) -> int:
    """The record as JSON (with a published schema), CSV, or an iCalendar feed of the open deadlines."""
    import json

    from .. import exports

    if schema:
        sys.stdout.write(json.dumps(exports.schema(), ensure_ascii=False, indent=2) + "\n")
        return 0
    kind = (fmt or "").strip().lower()
    if json_out:
        if kind not in ("json", ""):
            raise InputError(f"--json goes with --format json, not --format {fmt}; accepted: one of them")
        kind = "json"
    if kind not in exports.FORMATS:
        raise InputError(f"--format {fmt!r}; accepted: {', '.join(exports.FORMATS)}")
    if alarm and kind != "ics":
        raise InputError("--alarm is for --format ics; accepted: export --format ics --alarm 2h --alarm 30m")
    service = _service(ledger, now)
    # JSON and CSV are written as they are made, an incident (and an event) at a time: at 10,000
    # incidents, holding every view and the whole text took over a gigabyte
    if kind == "json":
        import itertools

        from ..render.jsonout import Indented, chunks, detail, dumps_item, encoded

        state, events, event_count, schema_version, head = service.record()
        profile, tz = state.profile, state.profile.timezone
        # each incident's text laid out for its place in `incidents` (a list at level 1), as kept
        incidents = (Indented(text) for text in service.texts(
            state, "export-json-indented", lambda v: dumps_item(detail(v), 1), encoded=True))
        data = exports.record(incidents, events(), event_count, profile.model_dump(), service.now,
                              tz, str(service.store.path), schema_version, head)
        pieces = encoded(itertools.chain(chunks(data), ("\n",)))
        summary = f"{state.count} incident(s), {event_count} event(s)"

        def count():
            return summary
    elif kind == "csv":
        tally = {"rows": 0}
        state = service.state()

        def rows():  # a settled incident's rows as kept (`Service.texts`), after their number
            yield exports.csv_header()
            for text in service.texts(state, "csv-rows", exports.csv_counted):
                number, _, body = text.partition("\n")
                tally["rows"] += int(number)
                yield body

        pieces = rows()

        def count():  # known once written
            return f"{tally['rows']} obligation(s)"
    elif kind in ("toml", "jsonl"):
        text, head, event_count = service.document(Path(f"ledger.{kind}"))
        pieces = (text.decode("utf-8"),)
        summary = f"the ledger as a {'TOML document' if kind == 'toml' else 'JSON Lines log'}, {event_count} event(s), head {head}"

        def count():
            return summary
    else:
        state, views, first_hash = service.calendar()  # the live incidents' views: settled ones owe nothing
        profile, tz = state.profile, state.profile.timezone
        alarms = [tu.parse_duration(a) for a in (alarm or profile.alarms)]
        pieces = (exports.ics(views, first_hash, profile.name, tz, alarms, service.now,
                              state.head_seq).decode("utf-8"),)
        summary = f"{len(exports.calendar_items(views))} event(s), alarms " + \
            (", ".join(tu.human_duration(a) for a in alarms) or "none") + " before"

        def count():
            return summary
    if output:
        from ..fileout import write_atomic

        path = write_atomic(output, (piece if type(piece) is bytes else piece.encode("utf-8") for piece in pieces),
                            service.store.path)
        _say(f"wrote {path}: {kind}, {count()}")
    else:
        _write_out(pieces)
        _say(f"exported {kind}: {count()}")
    return 0


def _write_out(pieces) -> None:
    """Pieces of text (`str`, or UTF-8 `bytes`) to stdout as `_for_stdout` says: bytes go to its
    binary buffer as they are, unless stdout is a terminal (then escaped as text) or has no buffer."""
    out = sys.stdout
    buffer = None if out.isatty() else getattr(out, "buffer", None)
    if buffer is not None:
        out.flush()
    for piece in pieces:
        if type(piece) is bytes:
            if buffer is not None:
                buffer.write(piece)
                continue
            piece = piece.decode("utf-8")
        if buffer is not None:
            buffer.write(piece.encode("utf-8"))
        else:
            out.write(_for_stdout(piece))
    if buffer is not None:
        buffer.flush()
    out.flush()


def _for_stdout(text: str) -> str:
    """A draft or an export as it is into a pipe or a file; on a terminal, its control characters
    escaped (newlines kept), so a title cannot act on the terminal (issue 14)."""
    if sys.stdout.isatty():
        from ..render.safe import printable

        return printable(text, newlines=True)
    return text


def file_sha256(path: str) -> str:
    """SHA-256 of a file's bytes, for `submit --draft FILE`; refused (exit 2) before anything is written."""
    import hashlib

    target = Path(path).expanduser()
    try:
        data = target.read_bytes()
    except FileNotFoundError:
        raise InputError(f"--draft {path}: no such file; accepted: the file of the text that was filed "
                         "(e.g. written by `draft ID STAGE --output FILE`)") from None
    except IsADirectoryError:
        raise InputError(f"--draft {path}: is a folder; accepted: a file") from None
    except OSError as exc:
        raise InputError(f"--draft {path}: cannot read ({exc.strerror}); accepted: a readable file") from None
    if not data.strip():
        raise InputError(f"--draft {path}: the file is empty; accepted: the text that was filed")
    return hashlib.sha256(data).hexdigest()
