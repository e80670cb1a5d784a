"""`check`'s state file and its safety (issue 5): what was announced lives in
`<ledger>.check-state.json`, never in the ledger; it is written atomically under its own lock, so two
checks at once never announce a step twice; `check` never takes the ledger's write lock and reads a
whole ledger while writers are busy; and no state ever silences a broken ledger (exit 3 every time).

The reference incident: aware 28 Mar 2026 10:00 CET (09:00Z); early warning due 24 h later.
"""

from __future__ import annotations

import errno
import json
import multiprocessing
import os
import subprocess
import sys
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nis2_incident import timeutil as tu
from nis2_incident.alert_state import StateFile
from nis2_incident.cli import app
from nis2_incident.ledger import Store
from nis2_incident.service import Service

runner = CliRunner()
T0 = datetime(2026, 3, 28, 9, 0, tzinfo=timezone.utc)
EW = "INC-2026-001 nis2.early_warning"


def h(hours: float, minutes: int = 0) -> datetime:
    return T0 + timedelta(hours=hours, minutes=minutes)


def check(ledger, now: datetime, *args):
    return runner.invoke(app, ["check", *args, "--ledger", str(ledger), "--now", tu.rfc3339(now)],
                         catch_exceptions=False)


def records(result) -> list[dict]:
    return [json.loads(line) for line in result.stdout.splitlines()]


def state_of(ledger: Path) -> Path:
    return ledger.with_name(ledger.name + ".check-state.json")


@pytest.fixture
def ledger(make_service, ledger_file):
    svc = make_service("2026-03-28T09:00")
    svc.now = h(0, 30)
    svc.open_incident("Ransomware on the PACS", "2026-03-28T10:00")
    return ledger_file


# --- the file -----------------------------------------------------------------------------------

def test_state_lives_beside_the_ledger_and_the_ledger_is_untouched(ledger):
    before = (ledger.read_bytes(), ledger.stat().st_mtime_ns)
    r = check(ledger, h(20), "--format", "json")
    assert [(x["stage"], x["step"]) for x in records(r)] == [("nis2.early_warning", "4h-before")]
    assert (ledger.read_bytes(), ledger.stat().st_mtime_ns) == before  # read-only on the ledger
    data = json.loads(state_of(ledger).read_text())
    assert data["version"] == 1 and data["ledger"] == str(ledger.resolve())
    assert data["announced"] == {EW: {"anchor": "2026-03-29T09:00:00+00:00", "step": "4h-before",
                                      "step_at": "2026-03-29T05:00:00+00:00", "now": "2026-03-29T05:00:00+00:00"}}
    assert sorted(p.name for p in ledger.parent.iterdir()) == [
        "ledger.toml", "ledger.toml.check-state.json", "ledger.toml.check-state.json.lock",
        "ledger.toml.lock"]  # the cache: derived data for reads (issue 8), not the check state
    # once the obligation is no longer a finding (filed), its entry is dropped
    Service(Store(ledger), h(21)).submit("1", "nis2.early_warning")
    assert check(ledger, h(21)).exit_code == 0
    assert json.loads(state_of(ledger).read_text())["announced"] == {}


def test_check_never_takes_the_ledgers_write_lock(ledger):
    """A writer holding the ledger's lock does not delay or fail `check` (it would time out here)."""
    with Store(ledger).locked():
        r = runner.invoke(app, ["--lock-timeout", "0.2", "check", "--ledger", str(ledger), "--now",
                                tu.rfc3339(h(20))], catch_exceptions=False)
    assert r.exit_code == 1 and "DUE SOON INC-2026-001 nis2.early_warning" in r.stdout and r.stderr == ""


def test_state_option_puts_it_elsewhere(ledger, tmp_path):
    elsewhere = tmp_path / "var" / "state.json"
    elsewhere.parent.mkdir()
    assert records(check(ledger, h(20), "--format", "json", "--state", str(elsewhere)))
    assert EW in json.loads(elsewhere.read_text())["announced"] and not state_of(ledger).exists()
    assert check(ledger, h(20), "--format", "json", "--state", str(elsewhere)).stdout == ""


def test_all_and_dry_run_leave_the_state_as_it_is(ledger):
    check(ledger, h(20))
    saved = state_of(ledger).read_bytes()
    every = records(check(ledger, h(22, 30), "--format", "json", "--all"))
    assert [(x["step"], x["new"]) for x in every] == [("2h-before", True)]
    dry = records(check(ledger, h(22, 30), "--format", "json", "--dry-run"))
    assert [(x["step"], x["new"]) for x in dry] == [("2h-before", True)]
    assert state_of(ledger).read_bytes() == saved
    assert records(check(ledger, h(22, 30), "--format", "json"))  # still new: announced now
    assert check(ledger, h(22, 30), "--format", "json").stdout == ""


def test_deleting_or_corrupting_the_state_repeats_never_silences(ledger):
    check(ledger, h(20))
    assert check(ledger, h(20), "--quiet").stdout == ""
    state_of(ledger).unlink()
    assert "DUE SOON" in check(ledger, h(20), "--quiet").stdout
    for junk in (b"", b"{not json", b"[]", b'{"version": 9, "announced": {}}', b"\xff\xfe"):
        state_of(ledger).write_bytes(junk)
        r = check(ledger, h(20), "--quiet")
        assert r.exit_code == 1 and "DUE SOON" in r.stdout, junk
        assert r.stderr.startswith("warning: ") and "announcing as if new" in r.stderr
        assert EW in json.loads(state_of(ledger).read_text())["announced"]  # rewritten, valid


def test_a_preview_with_a_future_now_does_not_silence_the_real_reminders(ledger):
    assert "OVERDUE" in check(ledger, h(40), "--quiet").stdout  # someone looks two days ahead
    r = check(ledger, h(20), "--quiet")  # the real cron, later that day
    assert "DUE SOON" in r.stdout
    assert check(ledger, h(20, 5), "--quiet").stdout == ""


def test_a_failed_state_write_warns_and_still_announces(ledger, monkeypatch):
    check(ledger, h(20))
    saved = state_of(ledger).read_bytes()

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("nis2_incident.ledger.fsio.replace", full)  # the state is written through the seam
    r = check(ledger, h(22))
    assert r.exit_code == 1 and "DUE SOON" in r.stdout
    assert "warning:" in r.stderr and "No space left on device" in r.stderr and "announced again" in r.stderr
    assert state_of(ledger).read_bytes() == saved
    assert [p.name for p in ledger.parent.iterdir() if ".tmp-" in p.name] == []


def test_a_held_state_lock_times_out_into_announcing(ledger):
    with StateFile(state_of(ledger)).locked():
        r = runner.invoke(app, ["--lock-timeout", "0.2", "check", "--ledger", str(ledger), "--now",
                                tu.rfc3339(h(20))], catch_exceptions=False)
    assert r.exit_code == 1 and "DUE SOON" in r.stdout
    assert "warning:" in r.stderr and "check-state lock" in r.stderr


def test_a_broken_ledger_is_exit_3_every_time_whatever_the_state(ledger):
    assert check(ledger, h(25)).exit_code == 2
    saved = state_of(ledger).read_bytes()
    raw = ledger.read_bytes()
    ledger.write_bytes(raw.replace(b"on the PACS", b"on the PACZ"))  # tampered: the chain breaks
    for _ in range(3):
        r = check(ledger, h(25), "--quiet")
        assert r.exit_code == 3
        assert r.stdout.startswith("NIS2-INCIDENT UNKNOWN - ") and r.stderr.startswith("error: ")
        j = check(ledger, h(25), "--format", "json", "--quiet")
        assert j.exit_code == 3 and "error: " in j.stderr
        assert json.loads(j.stdout)["level"] == "unknown"  # one JSON finding: a SIEM reading stdout sees it
    ledger.write_bytes(raw[: len(raw) // 2])  # unreadable
    assert [check(ledger, h(25), "--quiet").exit_code for _ in range(2)] == [3, 3]
    assert state_of(ledger).read_bytes() == saved


# --- two checks at once -------------------------------------------------------------------------

def _checker(ledger: str, ticks: list[str], barrier, results, extra: tuple = ()) -> None:
    """One `check` process: at each tick, wait for the others, then run `check --format json`."""
    from typer.testing import CliRunner as Runner

    from nis2_incident.cli import app as cli_app

    said, runner_ = [], Runner()
    for now in ticks:
        barrier.wait(timeout=60)
        r = runner_.invoke(cli_app, ["check", "--format", "json", *extra, "--ledger", ledger, "--now", now])
        said.append((now, r.exit_code, r.stdout, r.stderr))
    results.put(said)


def test_two_checks_at_once_never_announce_a_step_twice(ledger):
    ticks = [tu.rfc3339(h(19) + timedelta(minutes=15 * i)) for i in range(49)]  # 19 h to 31 h
    ctx = multiprocessing.get_context("spawn")
    barrier, results, peek = ctx.Barrier(3), ctx.Queue(), ctx.Queue()
    procs = [ctx.Process(target=_checker, args=(str(ledger), ticks, barrier, results)) for _ in range(2)]
    # a third process reads the state without its lock (`--all`) while the two write it
    procs.append(ctx.Process(target=_checker, args=(str(ledger), ticks, barrier, peek, ("--all",))))
    for p in procs:
        p.start()
    runs = [results.get(timeout=120) for _ in range(2)]
    peeks = peek.get(timeout=120)
    for p in procs:
        p.join(timeout=60)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    assert all(err == "" and code in (0, 1, 2) for _, code, _, err in peeks)  # never a half-written state

    announced = []
    for said in runs:
        for now, code, out, err in said:
            assert err == "" and code in (0, 1, 2), err
            announced += [(json.loads(line)["stage"], json.loads(line)["step"]) for line in out.splitlines()]
    assert set(Counter(announced).values()) == {1}  # no step twice
    assert sorted(announced) == sorted([("nis2.early_warning", s) for s in
                                        ("4h-before", "2h-before", "1h-before", "overdue", "overdue+6h")])
    # the two processes saw the same state at every tick
    assert [c for _, c, _, _ in runs[0]] == [c for _, c, _, _ in runs[1]]
    assert json.loads(state_of(ledger).read_text())["announced"][EW]["step"] == "overdue+6h"


def test_two_check_processes_started_together(ledger):
    """The same through real processes: at each crossed step, exactly one of the two prints it."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    for now, step in ((h(20), "4h-before"), (h(22), "2h-before"), (h(23), "1h-before")):
        cmd = [sys.executable, "-m", "nis2_incident", "check", "--format", "json", "--ledger", str(ledger),
               "--now", tu.rfc3339(now)]
        procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
                 for _ in range(2)]
        outs = [p.communicate(timeout=60) for p in procs]
        assert [p.returncode for p in procs] == [1, 1], outs
        lines = [json.loads(line) for out, _ in outs for line in out.splitlines()]
        assert [(x["stage"], x["step"]) for x in lines] == [("nis2.early_warning", step)]
        json.loads(state_of(ledger).read_text())  # never corrupt


# --- checks while eight processes write ----------------------------------------------------------

WRITERS, EACH = 8, 12
NOW = h(23, 30)  # every incident below is aware 23 h 30 ago: its early warning is 30 min away


def _writer(path: str, worker: int, barrier) -> None:
    barrier.wait(timeout=60)
    for i in range(EACH):
        Service(Store(path, lock_timeout=60), NOW).open_incident(f"w{worker}-{i}", "2026-03-28T10:00")


def test_check_in_a_loop_while_eight_processes_write(make_service, ledger_file):
    """`check` as a process in a loop, and in-process in a tighter loop (recording its announcements in
    the state file), while eight processes open incidents through the service: never an error, never a
    partial ledger (each read sees whole writes only, so the count of findings only grows)."""
    import threading

    make_service("2026-03-28T09:00")
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(WRITERS + 1)
    procs = [ctx.Process(target=_writer, args=(str(ledger_file), w, barrier)) for w in range(WRITERS)]
    for p in procs:
        p.start()
    cmd = [sys.executable, "-m", "nis2_incident", "check", "--format", "json", "--all", "--ledger", str(ledger_file),
           "--now", tu.rfc3339(NOW)]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    by_process, in_process, failures = [], [], []

    def parse(stdout: str) -> int:
        lines = [json.loads(line) for line in stdout.splitlines()]  # whole JSON lines
        assert all(x["kind"] == "due_soon" and x["stage"] == "nis2.early_warning" for x in lines)
        assert len({x["incident"] for x in lines}) == len(lines)
        return len(lines)

    def process_loop():
        try:
            while True:
                writing = any(p.is_alive() for p in procs)
                r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
                assert r.returncode in (0, 1) and r.stderr == "", (r.returncode, r.stderr)
                by_process.append(parse(r.stdout))
                if not writing:
                    return
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)

    loop = threading.Thread(target=process_loop)
    barrier.wait(timeout=60)
    loop.start()
    while any(p.is_alive() for p in procs):
        r = runner.invoke(app, ["check", "--format", "json", "--ledger", str(ledger_file), "--now", tu.rfc3339(NOW)])
        assert r.exit_code in (0, 1) and r.stderr == "", r.stderr
        in_process.append(len(records(r)))
    loop.join(timeout=120)
    for p in procs:
        p.join(timeout=60)
    assert not failures, failures
    assert [p.exitcode for p in procs] == [0] * WRITERS
    assert by_process == sorted(by_process) and by_process[-1] == WRITERS * EACH
    assert len(by_process) >= 2 and len(in_process) >= 5
    # in-process runs announce each new incident's step once: together, every incident exactly once
    final = runner.invoke(app, ["check", "--format", "json", "--ledger", str(ledger_file), "--now", tu.rfc3339(NOW)])
    assert sum(in_process) + len(records(final)) == WRITERS * EACH
    announced = json.loads(state_of(ledger_file).read_text())["announced"]
    assert len(announced) == WRITERS * EACH
    assert Service(Store(ledger_file), NOW).verify()["incidents"] == WRITERS * EACH
