"""One writer at a time (DESIGN §3; taskwarrior#1735, jrnl#502, hledger#2577: an unlocked
read-modify-write loses entries). Many processes write to the same ledger at once, a document or
a log, while others read it; afterwards nothing is lost, nothing is duplicated, the chain verifies,
and no reader failed or saw half an event. Counts: the log's 16 writers x 50 appends run under
`pytest --full-safety`, 4 x 25 by default (README, Development)."""

from __future__ import annotations

import multiprocessing
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

from nis2_incident.ledger import Store
from nis2_incident.service import Service

NOW = datetime(2026, 3, 28, 11, 0, tzinfo=timezone.utc)  # 12:00 in Paris
READERS = 2
NOW_TEXT = "2026-03-28T12:00"


def _open_many(path: str, worker: int, count: int, timeout: float, barrier, reads, results) -> None:
    """One writer process: open `count` incidents, report (title, id, head) for each one acknowledged.
    Writer 0, after its first write, waits for READERS + 1 more reads to finish: one of them began
    after that write and before writer 0's last, so the readers surely read in the middle of the
    writes (whatever the machine's speed)."""
    acknowledged = []
    try:
        barrier.wait(timeout=120)  # all processes start at the same moment
        for i in range(count):
            out = Service(Store(path, lock_timeout=timeout), NOW).open_incident(f"w{worker}-{i}", "2026-03-28T10:00")
            acknowledged.append((f"w{worker}-{i}", out.value.incident.id, out.head))
            if worker == 0 and i == 0:
                # the 120 s only keeps a stalled reader from hanging the run (like a subprocess
                # timeout); nothing is asserted on time: the premise, reads in mid-writes, is asserted
                wanted, give_up = reads.value + READERS + 1, time.monotonic() + 120
                while reads.value < wanted and time.monotonic() < give_up:
                    time.sleep(0.01)
                if reads.value < wanted:
                    raise AssertionError(f"the readers made {reads.value} reads, not the {wanted} needed to "
                                         "read in the middle of the writes")
    except BaseException as exc:  # reported, so that the test fails at once rather than waiting
        results.put((worker, f"writer {worker} failed after {len(acknowledged)} writes: {exc!r}"))
        raise
    results.put((worker, acknowledged))


def _read_while_writing(path: str, reader: int, barrier, stop, reads, results) -> None:
    """One reader process: the real entry point (`nis2_incident.cli.main`, as `nis2-incident` runs it),
    `status --json` and `check` again and again while the writers write, without a lock. It reports
    what it saw: every failure, and how many incidents each `status` showed."""
    failures, counts, checks_box = [], [], [0]
    try:
        barrier.wait(timeout=120)
        _read_loop(path, stop, reads, failures, counts, checks_box)
    except BaseException as exc:
        failures.append(("reader", None, repr(exc), ""))
    results.put((f"reader{reader}", (failures, counts, checks_box[0])))


def _read_loop(path, stop, reads, failures, counts, checks_box) -> None:
    import contextlib
    import io
    import json
    import sys

    from nis2_incident.cli import SETTINGS, main

    while not stop.is_set() or not counts:
        for args in (["status", "--json"], ["check", "--all", "--dry-run", "--format", "json"]):
            out, err = io.StringIO(), io.StringIO()
            sys.argv = ["nis2-incident", "--ledger", path, "--now", NOW_TEXT, *args]
            SETTINGS.ledger, SETTINGS.now = None, None
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    main()
                    code = 0
                except SystemExit as exc:
                    code = exc.code if isinstance(exc.code, int) else 1
            try:
                data = json.loads(out.getvalue()) if out.getvalue() or args[0] == "status" else None
            except ValueError as exc:
                failures.append((args[0], code, f"not JSON: {exc}", err.getvalue()))
                continue
            if args[0] == "status":
                ids = [inc["id"] for inc in data]
                # every prefix of the ledger holds incidents 1..n: a read of half an event, or of an
                # event without the ones before it, would show a gap or fail
                if code != 0 or err.getvalue() or ids != [f"INC-2026-{k:03d}" for k in range(1, len(ids) + 1)]:
                    failures.append((args[0], code, ids[:3] + ["…"] + ids[-3:], err.getvalue()))
                counts.append(len(ids))
                with reads.get_lock():
                    reads.value += 1
            else:
                checks_box[0] += 1
                if code not in (0, 1, 2) or "error" in err.getvalue():
                    failures.append((args[0], code, out.getvalue()[:200], err.getvalue()))
        time.sleep(0.4)  # leave the two cores of a small machine to the writers


def hammer(ledger_file: Path, workers: int, each: int, timeout: float = 60.0) -> tuple[dict, list]:
    """`workers` writer processes each opening `each` incidents at once on one ledger, and READERS
    reader processes reading it meanwhile; returns the writers' reports and the readers' findings."""
    ctx = multiprocessing.get_context("spawn")  # fresh interpreters: nothing shared but the file
    barrier, results, stop, reads = ctx.Barrier(workers + READERS), ctx.Queue(), ctx.Event(), ctx.Value("i", 0)
    writers = [ctx.Process(target=_open_many, args=(str(ledger_file), w, each, timeout, barrier, reads, results))
               for w in range(workers)]
    readers = [ctx.Process(target=_read_while_writing, args=(str(ledger_file), r, barrier, stop, reads, results))
               for r in range(READERS)]
    for p in writers + readers:
        p.start()
    got = [results.get(timeout=600) for _ in writers]
    stop.set()
    got += [results.get(timeout=120) for _ in readers]
    assert [v for k, v in got if isinstance(v, str)] == []  # no writer failed
    for p in writers + readers:
        p.join(timeout=60)
    assert [p.exitcode for p in writers + readers] == [0] * (workers + READERS)
    reports = {k: v for k, v in got if isinstance(k, int)}
    return reports, [v for k, v in got if isinstance(k, str)]


def check_nothing_lost(ledger_file: Path, workers: int, each: int, reports: dict, seen: list) -> None:
    total = workers * each
    ledger = Store(ledger_file).read()
    events = ledger.events
    if ledger.tail is not None:
        assert ledger.tail.torn is None  # no torn tail: every append wrote whole lines
    assert [e["seq"] for e in events] == list(range(1, total + 2))  # no gap, no duplicate
    assert [e["type"] for e in events] == ["profile_set"] + ["opened"] * total

    state = Service(Store(ledger_file), NOW).state()
    assert len(state.incidents) == total
    assert list(state.incidents) == [f"INC-2026-{n:03d}" for n in range(1, total + 1)]
    assert sorted(inc.number for inc in state.incidents.values()) == list(range(1, total + 1))
    titles = {inc.title: inc.id for inc in state.incidents.values()}
    assert sorted(titles) == sorted(f"w{w}-{i}" for w in range(workers) for i in range(each))

    # every acknowledged write is in the final ledger, under the id and head it was acknowledged with
    assert sorted(reports) == list(range(workers))
    by_seq = {e["seq"]: e for e in events}
    for worker, acknowledged in reports.items():
        assert len(acknowledged) == each
        seqs = []
        for title, ident, head in acknowledged:
            seq, digest = head.split(":")
            seqs.append(int(seq))
            assert titles[title] == ident
            assert by_seq[int(seq)]["hash"] == digest
            assert by_seq[int(seq)]["incident"] == ident
        assert seqs == sorted(seqs)  # each worker's own writes in order

    result = Service(Store(ledger_file), NOW).verify()
    assert (result["ok"], result["events"], result["incidents"]) == (True, total + 1, total)
    assert result["head"] == ledger.head

    # the readers never failed and never went back; some of their reads fell in the middle of the writes
    assert len(seen) == READERS
    counts = []
    for failures, reader_counts, checks in seen:
        assert failures == []
        assert reader_counts and checks, (reader_counts, checks)
        assert reader_counts == sorted(reader_counts)  # a later read never sees fewer incidents
        counts += reader_counts
    assert any(0 < n < total for n in counts), counts  # the reads ran while the writers wrote (_open_many)


def test_eight_processes_opening_incidents_at_once_on_a_document_lose_nothing(make_service, ledger_file):
    """taskwarrior#1735, jrnl#502, hledger#2577 on a TOML document (written whole, renamed): 8 x 25."""
    make_service(NOW_TEXT)
    reports, seen = hammer(ledger_file, 8, 25)
    check_nothing_lost(ledger_file, 8, 25, reports, seen)


def test_sixteen_processes_appending_to_a_log_at_once_lose_nothing(make_service, tmp_path, safety_count):
    """Issue 13 on the log (appended in place, its checkpoint shared by every process): 16 writers x 50
    appends under `--full-safety` (4 x 25 by default), and readers meanwhile. Exactly that many events,
    seq without gap or duplicate, the chain verifies, no torn tail; readers never fail, never see half
    an event. Guards against a lost update (two writers sealing after the same head), a line
    interleaved with another, a checkpoint that lets a writer seal after a stale head."""
    workers, each = safety_count(4, 16), safety_count(25, 50)
    path = tmp_path / "ledger.jsonl"
    make_service(NOW_TEXT, path=path)
    reports, seen = hammer(path, workers, each, timeout=10.0)  # the default --lock-timeout
    check_nothing_lost(path, workers, each, reports, seen)
    lines = path.read_bytes().split(b"\n")
    assert len(lines) == workers * each + 3 and lines[-1] == b""  # header, profile, events: whole lines


def _open_at_the_default_timeout(path: str, worker: int, count: int, barrier, results) -> None:
    """A writer at the default lock timeout (10 s): how many of its writes gave up (LockTimeout)."""
    from nis2_incident.errors import LockTimeout

    timeouts = 0
    barrier.wait(timeout=60)
    for i in range(count):
        try:
            Service(Store(path), NOW).open_incident(f"w{worker}-{i}", "2026-03-28T10:00")
        except LockTimeout:
            timeouts += 1
    results.put((worker, timeouts))


def test_sixteen_writers_at_the_default_lock_timeout_are_served_in_turn(make_service, ledger_file, safety_count):
    """Issue 14: with 16 writers on 2 cores, a polling lock loop let newcomers overtake sleeping waiters
    and 1 % of the writers gave up after the default 10 s. A blocking flock wakes a waiter when the lock
    is released: 16 x 50 appends (16 x 8 in the default run), none gives up, none is lost."""
    workers, each = 16, safety_count(8, 50)
    make_service("2026-03-28T12:00")
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(workers), ctx.Queue()
    procs = [ctx.Process(target=_open_at_the_default_timeout, args=(str(ledger_file), w, each, barrier, results))
             for w in range(workers)]
    for p in procs:
        p.start()
    timeouts = dict(results.get(timeout=600) for _ in procs)
    for p in procs:
        p.join(timeout=60)
    assert [p.exitcode for p in procs] == [0] * workers
    assert timeouts == {w: 0 for w in range(workers)}
    state = Service(Store(ledger_file), NOW).state()
    assert len(state.incidents) == workers * each
    result = Service(Store(ledger_file), NOW).verify()
    assert (result["ok"], result["events"]) == (True, workers * each + 1)


def _cli_open_three_times(ledger: Path) -> list[tuple[int, str]]:
    runs = []
    for _ in range(3):
        proc = subprocess.run(
            [sys.executable, "-m", "nis2_incident", "--ledger", str(ledger), "--now", "2026-03-28T12:00",
             "open", "t", "--aware", "2026-03-28T10:00"],
            capture_output=True, text=True, timeout=120)
        runs.append((proc.returncode, proc.stderr))
    return runs


def test_four_cli_processes_opening_at_once_lose_nothing(make_service, ledger_file):
    make_service("2026-03-28T12:00")
    with ThreadPoolExecutor(4) as pool:
        runs = [run for batch in pool.map(_cli_open_three_times, [ledger_file] * 4) for run in batch]

    assert len(runs) == 12
    recorded = []
    for code, stderr in runs:
        assert code == 0, stderr
        found = re.findall(r"^recorded (INC-2026-\d{3})$", stderr, re.M)
        assert len(found) == 1, stderr
        assert re.search(r"^head: \d+:[0-9a-f]{64}$", stderr, re.M), stderr
        recorded += found
    assert sorted(recorded) == [f"INC-2026-{n:03d}" for n in range(1, 13)]

    result = Service(Store(ledger_file), NOW).verify()
    assert (result["ok"], result["events"], result["incidents"]) == (True, 13, 12)
    events = Store(ledger_file).read().events
    assert [e["seq"] for e in events] == list(range(1, 14))
