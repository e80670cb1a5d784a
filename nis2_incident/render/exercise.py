"""Reports of `exercise check` (text, GitHub workflow annotations, JSON, JUnit XML) and the Rich
timeline of `exercise timeline`. Rich is imported only by the timeline."""

from __future__ import annotations

from pathlib import Path

from .. import timeutil as tu
from ..exercise import FileResult, exit_code


def _counts(results: list[FileResult]) -> dict[str, int]:
    return {s: sum(1 for r in results if r.status == s) for s in ("pass", "fail", "invalid")}


def summary_line(results: list[FileResult]) -> str:
    c = _counts(results)
    return f"exercises: {c['pass']} passed, {c['fail']} failed, {c['invalid']} invalid"


def text_lines(results: list[FileResult]) -> list[str]:
    """One line a file, then one indented line a failure; the summary line last."""
    out: list[str] = []
    for r in results:
        if r.status == "invalid":
            out.append(f"INVALID {r.error.message}")
            continue
        cases = len(r.cases)
        failed = sum(1 for c in r.cases if not c.passed)
        if r.status == "pass":
            out.append(f"PASS    {r.path} — {r.name} ({cases} test case{'s' if cases != 1 else ''})")
            continue
        out.append(f"FAIL    {r.path} — {r.name}: {failed} of {cases} test case{'s' if cases != 1 else ''} failed")
        for _case, f in r.failures:
            where = f"{r.path}:{f.line}" if f.line else r.path
            out.append(f"  {where}: {f.message}")
    out.append(summary_line(results))
    return out


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github_lines(results: list[FileResult]) -> list[str]:
    """GitHub Actions workflow commands: `::error file=F,line=N,title=T::message`, then the summary."""
    out: list[str] = []
    for r in results:
        if r.status == "invalid":
            e = r.error
            props = f"file={_escape_property(e.file or r.path)}"
            if e.line:
                props += f",line={e.line}"
            out.append(f"::error {props},title={_escape_property('invalid exercise')}::{_escape_data(e.reason)}")
            continue
        for case, f in r.failures:
            props = f"file={_escape_property(r.path)}" + (f",line={f.line}" if f.line else "")
            title = "missed deadline" if f.kind == "missed_deadline" else f"{case.name} failed"
            out.append(f"::error {props},title={_escape_property(title)}::{_escape_data(f.message)}")
    out.append(summary_line(results))
    return out


def _case_json(case, tz: str) -> dict:
    return {
        "name": case.name, "kind": case.kind, "index": case.index, "line": case.line,
        "at": tu.rfc3339(case.at, tz), "t": case.rel, "passed": case.passed, "checks": case.checks,
        "note": case.note,
        "failures": [{"message": f.message, "line": f.line, "kind": f.kind, "stage": f.stage,
                      "expected": f.expected, "actual": f.actual} for f in case.failures],
    }


def as_json(results: list[FileResult]) -> dict:
    c = _counts(results)
    files = []
    for r in results:
        err = None
        if r.error is not None:
            err = {"message": r.error.reason, "line": r.error.line, "key": r.error.key}
        files.append({
            "file": r.path, "name": r.name, "status": r.status, "error": err,
            "t0": tu.rfc3339(r.t0, r.tz) if r.t0 else None, "timezone": r.tz if r.error is None else None,
            "cases": [_case_json(case, r.tz) for case in r.cases],
            "notes": list(r.notes), "head": r.head,
        })
    return {"exit": exit_code(results), "passed": c["pass"], "failed": c["fail"], "invalid": c["invalid"],
            "files": files}


def junit_xml(results: list[FileResult]) -> bytes:
    """JUnit XML: <testsuites> with one <testsuite> a file and one <testcase> an expectation (and one
    for the end of the scenario); a failed one has a <failure>, an invalid file one <error>."""
    import xml.etree.ElementTree as ET

    root = ET.Element("testsuites", name="nis2-incident exercises")
    total = failures = errors = 0
    for r in results:
        stem = Path(r.path).stem
        suite = ET.SubElement(root, "testsuite", name=r.path, time="0")
        if r.name:
            props = ET.SubElement(suite, "properties")
            ET.SubElement(props, "property", name="exercise", value=r.name)
            if r.t0 is not None:
                ET.SubElement(props, "property", name="t0", value=tu.rfc3339(r.t0, r.tz))
        s_fail = s_err = 0
        if r.error is not None:
            case = ET.SubElement(suite, "testcase", name="load and replay", classname=f"exercise.{stem}",
                                 file=r.path, time="0")
            if r.error.line:
                case.set("line", str(r.error.line))
            err = ET.SubElement(case, "error", message=r.error.reason, type="ExerciseError")
            err.text = r.error.message
            s_err = 1
            n = 1
        else:
            n = len(r.cases)
            for c in r.cases:
                case = ET.SubElement(suite, "testcase", name=c.name, classname=f"exercise.{stem}", file=r.path,
                                     time="0")
                if c.line:
                    case.set("line", str(c.line))
                if c.failures:
                    s_fail += 1
                    fail = ET.SubElement(case, "failure", message=c.failures[0].message,
                                         type="missed_deadline" if all(f.kind == "missed_deadline" for f in c.failures)
                                         else "expectation")
                    fail.text = "\n".join(f"{r.path}:{f.line}: {f.message}" if f.line else f.message
                                          for f in c.failures)
        suite.set("tests", str(n))
        suite.set("failures", str(s_fail))
        suite.set("errors", str(s_err))
        suite.set("skipped", "0")
        total, failures, errors = total + n, failures + s_fail, errors + s_err
    root.set("tests", str(total))
    root.set("failures", str(failures))
    root.set("errors", str(errors))
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


STATUS_STYLE = {"ok": "green", "met": "green", "late": "bold red", "overdue": "bold red", "failed": "bold red"}


def timeline(result: FileResult):
    """The scenario as a table: T-relative time, local time with its offset, what happens."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text
    from rich import box

    tz = result.tz
    head = Text(f"{result.name} — {result.path}", style="bold")
    sub = Text(f"T0 = {tu.display(result.t0, tz, True)}; times in {tz}")
    from .views import out_console, wrap_pieces

    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    # the text wraps between pieces (a time keeps its offset); T is at most 8 characters, the time 23
    room = max(20, out_console().width - 8 - 23 - 6)
    table.add_column("T", no_wrap=True)
    table.add_column("Local time", no_wrap=True)
    table.add_column("What happens", overflow="fold")
    for e in result.timeline:
        style = STATUS_STYLE.get(e.status or "", "")
        table.add_row(e.rel, tu.display(e.at, tz), Text(wrap_pieces(e.text, room), style=style))
    verdict = {"pass": "PASS", "fail": "FAIL"}[result.status]
    foot = Text(f"{verdict}: {sum(c.passed for c in result.cases)} of {len(result.cases)} test case(s) pass",
                style="green" if result.status == "pass" else "bold red")
    return Group(head, sub, table, foot)


def timeline_json(result: FileResult) -> dict:
    tz = result.tz
    return {"file": result.path, "name": result.name, "status": result.status, "t0": tu.rfc3339(result.t0, tz),
            "timezone": tz,
            "events": [{"at": tu.rfc3339(e.at, tz), "t": e.rel, "kind": e.kind, "text": e.text,
                        "status": e.status, "line": e.line} for e in result.timeline]}
