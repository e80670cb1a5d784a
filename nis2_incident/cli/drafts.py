"""`draft` (the text of a report) and `export` (JSON, CSV, iCalendar) as Typer commands: their options are
declared once in `options.py`, their bodies are in `outputs.py` (which the fast path runs too)."""

from __future__ import annotations

from . import options
from .application import app, with_options
from .outputs import _for_stdout, file_sha256  # noqa: F401  (commands.py uses them from here)


@app.command("draft")
@with_options(options.DRAFT)
def draft_cmd(**params):
    """The text of a report from the incident's facts, every missing fact marked; a follow-up says what
    changed since the previous filing to the same recipient."""
    from . import outputs

    outputs.draft(**params)


@app.command("export")
@with_options(options.EXPORT)
def export_cmd(**params):
    """The record as JSON (with a published schema), CSV, or an iCalendar feed of the open deadlines."""
    from . import outputs

    outputs.export(**params)
