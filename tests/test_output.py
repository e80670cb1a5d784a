"""Outputs written as they are made (issue 8, memory at 10,000 incidents): `list --json` and `export
--format json|csv` write an incident (and an event) at a time; the text must be exactly what writing
the whole value at once gives."""

from __future__ import annotations

import csv
import io
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ledgers import NOWS, build, runner

from nis2_incident.cli import app
from nis2_incident.ledger import codec
from nis2_incident.render.jsonout import Lazy, chunks

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.text(max_size=12))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(st.text(max_size=6), inner, max_size=4)),
                      max_leaves=20)


def has_lazy(value) -> bool:
    if isinstance(value, Lazy):
        return True
    if isinstance(value, dict):
        return any(has_lazy(v) for v in value.values())
    return isinstance(value, list) and any(has_lazy(v) for v in value)


def lazied(value, draw_flags):
    """`value` with some lists turned into Lazy generators, as the export builds them: a Lazy list's
    items are plain values (`chunks` dumps each with `json`)."""
    if isinstance(value, list):
        items = [lazied(v, draw_flags) for v in value]
        return Lazy(iter(items)) if next(draw_flags) and not has_lazy(items) else items
    if isinstance(value, dict):
        return {k: lazied(v, draw_flags) for k, v in value.items()}
    return value


@settings(max_examples=300, deadline=None)
@given(value=values, flags=st.lists(st.booleans(), min_size=64, max_size=64))
def test_chunks_write_what_json_dumps_writes(value, flags):
    cycle = iter(flags * 50)
    top = {"a": value, "lazy": Lazy(iter([value, {"x": [value]}])), "z": lazied(value, cycle)}
    expected = json.dumps({"a": value, "lazy": [value, {"x": [value]}], "z": value}, ensure_ascii=False, indent=2)
    assert "".join(chunks(top)) == expected
    assert "".join(chunks(Lazy(iter([])))) == "[]" and "".join(chunks({})) == "{}"


def run(ledger, *args):
    r = runner.invoke(app, ["--ledger", str(ledger), "--now", NOWS[3], *args])
    assert r.exit_code == 0, r.stderr
    return r.stdout, r.stderr


def export_layout(record: dict) -> str:
    """The JSON export's text: `json.dumps(indent=2)`'s, but for `events`, one compact event a line
    (each as stored: a log's line is the event's JSON)."""
    whole = json.dumps({**record, "events": []}, ensure_ascii=False, indent=2)
    assert list(record)[-1] == "events" and whole.endswith('\n  "events": []\n}')
    if not record["events"]:
        return whole + "\n"
    lines = ",\n".join("    " + json.dumps(ev, ensure_ascii=False, separators=(",", ":")) for ev in record["events"])
    return whole[:-len("[]\n}")] + "[\n" + lines + "\n  ]\n}\n"


@pytest.mark.parametrize("name", ["ledger.toml", "ledger.json", "ledger.jsonl"])
def test_list_json_and_the_exports_hold_every_incident_and_event(tmp_path, name):
    ledger = build(tmp_path / name)
    events = [json.loads(line) for line in ledger.read_bytes().splitlines()[1:]] if name.endswith(".jsonl") \
        else codec.decode(ledger.read_bytes(), ledger)["events"]
    listed = json.loads(run(ledger, "list", "--json")[0])
    shown = [json.loads(run(ledger, "show", str(n), "--json")[0]) for n in range(1, 8)]
    assert [i["id"] for i in listed] == [s["id"] for s in shown]
    assert all(set(i) <= set(s) and all(s[k] == i[k] for k in i) for i, s in zip(listed, shown, strict=True))

    out, err = run(ledger, "export", "--format", "json")
    record = json.loads(out)
    assert record["events"] == events and record["ledger"]["events"] == len(events)
    assert [i["id"] for i in record["incidents"]] == [s["id"] for s in shown]
    assert record["incidents"] == shown
    assert f"{len(shown)} incident(s), {len(events)} event(s)" in err
    assert out == export_layout(record)  # a whole dump's layout, the events one a line
    if name.endswith(".jsonl"):  # each event line is the log's line itself, and the value it decodes to
        stored = ledger.read_text("utf-8").splitlines()[1:]
        assert out.split('"events": [\n', 1)[1].splitlines()[:-2] == [
            f"    {line}," for line in stored[:-1]] + [f"    {stored[-1]}"]
        again, _ = run(ledger, "export", "--format", "json")  # through the checkpoint the first one kept
        assert again == out

    out, err = run(ledger, "export", "--format", "csv")
    rows = list(csv.reader(io.StringIO(out, newline="")))
    obligations = sum(len(s["obligations"]) for s in shown)
    assert len(rows) == 1 + obligations and f"{obligations} obligation(s)" in err

    target = tmp_path / "record.json"
    _, err = run(ledger, "export", "--format", "json", "--output", str(target))
    assert json.loads(target.read_text("utf-8"))["events"] == events and "wrote" in err


def test_an_interrupted_export_leaves_no_temporary_file(tmp_path):
    """Found by review: the export is made while its temporary file is open; an error or Ctrl-C then
    must not leave `.record.json.tmp-PID` behind, nor touch the previous file."""
    import pytest

    from nis2_incident.fileout import write_atomic

    target = tmp_path / "record.json"
    target.write_text("previous", "utf-8")

    def pieces():
        yield b"{"
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_atomic(target, pieces())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["record.json"]
    assert target.read_text("utf-8") == "previous"


_wide = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70),
                               st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x10FFFF), max_size=8),
                               st.sampled_from(["\x00\x1f\x7f\u2028\u2029\ufeff", "é\"\\/\U0001f513"])),
                     lambda inner: st.one_of(st.lists(inner, max_size=4),
                                             st.dictionaries(st.text(max_size=6), inner, max_size=4)),
                     max_leaves=20)


@settings(max_examples=400, deadline=None)
@given(value=_wide)
def test_dumps_writes_what_json_dumps_writes(value):
    """`dumps` (orjson where it writes the same text) gives `json.dumps(..., ensure_ascii=False,
    indent=2)` byte for byte on any string, any integer (beyond 64 bits too), any nesting."""
    from nis2_incident.render.jsonout import dumps

    assert dumps(value) == json.dumps(value, ensure_ascii=False, indent=2)


def test_dumps_refuses_what_json_refuses():
    import datetime

    import pytest

    from nis2_incident.render.jsonout import dumps

    for value in ({"at": datetime.datetime(2026, 1, 1)}, {1: "a"}, [object()]):
        try:
            expected = json.dumps(value, ensure_ascii=False, indent=2)
        except TypeError:
            with pytest.raises(TypeError):
                dumps(value)
        else:
            assert dumps(value) == expected


@settings(max_examples=300, deadline=None)
@given(items=st.lists(values, max_size=6), cut=st.integers(0, 6), flags=st.lists(st.booleans(), min_size=64, max_size=64))
def test_chunks_write_compact_runs_and_laid_out_texts_as_the_same_values(items, cut, flags):
    """A `Lazy` list's items given as runs of compact values (one a line, the export's events) give
    the same JSON value, one value a line; items given as `Indented` texts give `json.dumps`'s text."""
    from nis2_incident.render.jsonout import Indented, dumps, encoded, indented

    runs = [b"\n".join(json.dumps(v, ensure_ascii=False, separators=(",", ":")).encode() for v in part)
            for part in (items[:cut], items[cut:])]
    cycle = iter(flags * 50)
    top = {"a": lazied(items, cycle), "kept": Lazy(Indented(indented(dumps(v), 1).encode()) for v in items),
           "events": Lazy(iter(runs))}
    text = b"".join(encoded(chunks(top))).decode("utf-8")
    assert json.loads(text) == {"a": items, "kept": items, "events": items}
    whole = json.dumps({"a": items, "kept": items, "events": []}, ensure_ascii=False, indent=2)
    assert text.startswith(whole[:-len("[]\n}")])  # all but the events: json.dumps's text
    if items:
        assert text.endswith("[\n" + ",\n".join("    " + json.dumps(v, ensure_ascii=False, separators=(",", ":"))
                                                 for v in items) + "\n  ]\n}")


@settings(max_examples=300, deadline=None)
@given(value=_wide, level=st.integers(0, 3))
def test_an_item_dumped_for_its_place_is_its_text_re_indented(value, level):
    from nis2_incident.render.jsonout import dumps, dumps_item, indented

    assert dumps_item(value, level) == indented(dumps(value), level)
