"""Crashes and races (DESIGN §3, rows "write = temp file ..." and "lock timeout"; issue 7, items 2 and 4).

A real `nis2-incident` process (tests/fault_cli.py: the real entry point with the ledger's I/O seam
patched as tests/faultkit.py says) is SIGKILLed at every step of a write, half-way through writing
the temporary file, and at random moments. After each kill: the ledger parses and `verify` passes;
it is byte-for-byte the old file or the new one (the same command with the same `--now` writes the
same bytes); every event acknowledged ("recorded", exit 0) is in it; the lock file keeps its inode;
the temporary file a killed writer leaves behind is removed by the next writer, which says so.

On the log (issue 13), where a write appends to the ledger itself: killed before and after each
call of an append, and half-way through the pwrite of its line, the log holds its old lines whole
and the new one whole or not at all, or a torn tail after the last good line that reads ignore,
`verify` names (exit 3) and the next writer cuts, saying so.

Counts: 15 random kills per format by default, 200 with `pytest --full-safety` (README, Development).
"""

from __future__ import annotations

import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from typer.testing import CliRunner

import faultkit
from conftest import at
from nis2_incident.cli import app
from nis2_incident.ledger import Store
from nis2_incident.ledger.lock import command_line
from nis2_incident.service import Service

TESTS = Path(__file__).resolve().parent
WRAPPER = TESTS / "fault_cli.py"
NOW = "2026-03-28T12:00"
HEAD_RE = re.compile(r"^head: (\d+):([0-9a-f]{64})$", re.M)
COMMANDS = {
    "open": ["open", "Ransomware on the PACS", "--aware", "2026-03-28T10:00"],
    "init": ["init", "--name", "CHU Test", "--category", "essential"],
}
ACK = {"open": "recorded INC-", "init": "created ledger"}
runner = CliRunner()


def wrapper_cmd(ledger: Path, command: str) -> list[str]:
    return [sys.executable, str(WRAPPER), "--ledger", str(ledger), "--now", NOW, *COMMANDS[command]]


def run_wrapper(ledger: Path, command: str, plan: faultkit.Plan) -> subprocess.CompletedProcess:
    env = {**os.environ, faultkit.ENV: plan.to_env()}
    return subprocess.run(wrapper_cmd(ledger, command), env=env, capture_output=True, text=True, timeout=60)


def cli(ledger: Path, *args: str):
    return runner.invoke(app, ["--ledger", str(ledger), "--now", NOW, *args], catch_exceptions=False)


def leftovers(folder: Path) -> list[str]:
    return sorted(n for n in os.listdir(folder) if ".tmp-" in n)


def verified(ledger: Path) -> list[dict]:
    """The ledger parses, its chain verifies, and its profile matches the events (what `verify` does)."""
    result = Service(Store(ledger), at(NOW)).verify()
    assert result["ok"] is True
    return Store(ledger).read().events


def base_ledger(folder: Path, fmt: str, command: str, make_service) -> Path:
    folder.mkdir()
    ledger = folder / f"ledger.{fmt}"
    if command == "open":
        svc = make_service(NOW, path=ledger)
        svc.open_incident("Phishing wave", "2026-03-28T09:00")
    return ledger


def _one_read(steps: list[str], name: str) -> list[str]:
    """The calls, with a read of the log a piece at a time (through its checkpoint: open, fstat, the
    reads, close) written as the one whole read it stands for (`read_file`)."""
    out, i = [], 0
    while i < len(steps):
        if steps[i] == f"open_fd {name}" and steps[i + 1:i + 2] == [f"fstat {name}"]:
            j = i + 2
            while j < len(steps) and steps[j] == f"read {name}":
                j += 1
            if steps[j:j + 1] == [f"close {name}"]:
                out.append(f"read_file {name}")
                i = j + 1
                continue
        out.append(steps[i])
        i += 1
    return out


# --- a kill at every step ---------------------------------------------------------------------


@pytest.mark.parametrize(("command", "fmt"), [("open", "toml"), ("init", "json")])  # the protocol is the same
# (`init` of a log writes it whole this same way: its every call failed in test_faults.py)
def test_sigkill_at_every_step_of_a_write_leaves_the_old_or_the_new_file(tmp_path, make_service, command, fmt):
    base = base_ledger(tmp_path / "base", fmt, command, make_service)
    old = base.read_bytes() if base.exists() else None

    # The reference: the same command, traced, not killed.
    ref = tmp_path / "ref"
    shutil.copytree(base.parent, ref)
    trace = tmp_path / "trace.txt"
    done = run_wrapper(ref / base.name, command, faultkit.Plan(trace_to=str(trace)))
    assert done.returncode == 0, done.stderr
    assert ACK[command] in done.stderr
    new = (ref / base.name).read_bytes()
    steps = faultkit.read_trace(trace)
    tmp_step = f".{base.name}.tmp"
    # the documented protocol, in this order (DESIGN §3)
    order = [f"flock {base.name}.lock", f"open_fd {tmp_step}", f"write {tmp_step}", f"fsync {tmp_step}",
             f"close {tmp_step}", f"replace {tmp_step}", "open_fd <folder>", "fsync <folder>",
             f"close {base.name}.lock"]
    seen = [s for s in steps if s in order]
    # an append writes the temporary file in two parts (the old bytes, then the new events)
    assert [s for i, s in enumerate(seen) if i == 0 or s != seen[i - 1]] == order, steps
    renamed = steps.index(f"replace {tmp_step}") + 1  # 1-based call number of the rename

    cases = [("before", n) for n in range(1, len(steps) + 1)]
    cases += [("after", len(steps)), ("torn", steps.index(f"write {tmp_step}") + 1)]

    def crash(case):
        when, n = case
        folder = tmp_path / f"{when}-{n:02d}"
        shutil.copytree(base.parent, folder)
        lock = folder / f"{base.name}.lock"
        inode = lock.stat().st_ino if lock.exists() else None
        return case, folder, inode, run_wrapper(folder / base.name, command, faultkit.Plan("kill", n, when))

    with ThreadPoolExecutor(os.cpu_count() or 2) as pool:
        runs = list(pool.map(crash, cases))

    outcomes = Counter()
    for (when, n), folder, inode, proc in runs:
        where = f"killed {when} step {n} ({steps[n - 1]})"
        ledger = folder / base.name
        assert proc.returncode == -signal.SIGKILL, (where, proc.returncode, proc.stderr)
        assert ACK[command] not in proc.stderr and "head:" not in proc.stderr, where
        after_rename = n > renamed or (n == renamed and when == "after")
        now = ledger.read_bytes() if ledger.exists() else None
        assert now == (new if after_rename else old), where
        outcomes["new" if after_rename else "old"] += 1
        if now is not None:
            verified(ledger)
        lock = folder / f"{base.name}.lock"
        if inode is not None:
            assert lock.stat().st_ino == inode, where
        left = leftovers(folder)
        if left:
            assert not after_rename and len(left) == 1, (where, left)
            assert re.fullmatch(rf"{re.escape(tmp_step)}-[0-9]+", left[0]), (where, left)
        # The next writer cleans up and says so; from the old state it writes exactly the new file.
        again = cli(ledger, *(COMMANDS[command] if not after_rename else COMMANDS["open"]))
        assert again.exit_code == 0, (where, again.stderr)
        for name in left:
            pid = proc_pid(name)
            assert (f"warning: removed {folder / name}, a temporary file left by an interrupted write of "
                    f"process {pid}; the ledger itself was not affected") in again.stderr, (where, again.stderr)
        if not left:
            assert "removed" not in again.stderr, where
        assert leftovers(folder) == [], where
        if not after_rename:
            assert ledger.read_bytes() == new, where
        if inode is not None:
            assert lock.stat().st_ino == inode, where
        verified(ledger)
    assert outcomes["old"] >= 5 and outcomes["new"] >= 3, outcomes


def proc_pid(name: str) -> int:
    return int(name.rsplit("-", 1)[1])


def test_a_torn_temporary_file_never_reaches_the_ledger(tmp_path, make_service):
    """A writer killed half-way through writing its temporary file leaves half a file behind, never
    half a ledger (taskwarrior#2264: zero-length ledgers after a crash)."""
    ledger = base_ledger(tmp_path / "d", "toml", "open", make_service)
    old = ledger.read_bytes()
    trace = tmp_path / "trace.txt"
    probe = tmp_path / "probe"
    shutil.copytree(ledger.parent, probe)
    run_wrapper(probe / ledger.name, "open", faultkit.Plan(trace_to=str(trace)))
    write_at = faultkit.read_trace(trace).index("write .ledger.toml.tmp") + 1
    proc = run_wrapper(ledger, "open", faultkit.Plan("kill", write_at, "torn"))
    assert proc.returncode == -signal.SIGKILL
    [left] = leftovers(ledger.parent)
    torn = (ledger.parent / left).read_bytes()
    assert 0 < len(torn) < len((probe / ledger.name).read_bytes())
    assert ledger.read_bytes() == old
    verified(ledger)



# --- a kill at every step of a log append -----------------------------------------------------

TORN_TAIL = b'{"data":{"aware_at":"2026-03-28T09:30:00+01:00","significance":"undetermi'  # a line cut short


def log_state(ledger: Path) -> tuple[list[dict], str | None]:
    """A log read as every reader reads it: the events (whole, chained) and the torn tail, if any."""
    found = Store(ledger).read()
    return found.events, found.tail.torn


@pytest.mark.parametrize("torn_first", [False, True], ids=["clean-log", "log-with-a-torn-tail"])
def test_sigkill_before_and_after_every_call_of_a_log_append_leaves_whole_lines_or_a_torn_tail(
        tmp_path, make_service, torn_first):
    """Issue 13: a log append writes at the end of the ledger itself (no temporary file, no rename).
    A real writer SIGKILLed before and after each of its file-system calls, and half-way through the
    pwrite of its line, leaves the log as it was, the torn tail cut, or the new line whole, or else
    half a line at the end: never a partial event before the end. A torn tail is ignored by reads,
    named by `verify` (exit 3) and cut by the next writer, which says so. Guards against a log
    writer that would rewrite, copy or lose what is already there, or leave half an event mid-file."""
    base = base_ledger(tmp_path / "base", "jsonl", "open", make_service)
    good = base.read_bytes()
    good_events = Store(base).read().events
    if torn_first:  # a previous writer died half-way through its line
        base.write_bytes(good + TORN_TAIL)
    old = base.read_bytes()

    ref = tmp_path / "ref"
    shutil.copytree(base.parent, ref)
    trace = tmp_path / "trace.txt"
    done = run_wrapper(ref / base.name, "open", faultkit.Plan(trace_to=str(trace)))
    assert done.returncode == 0, done.stderr
    assert ("cut before this write" in done.stderr) == torn_first, done.stderr
    new = (ref / base.name).read_bytes()
    assert new.startswith(good) and new[len(good):].count(b"\n") == 1
    line = new[len(good):]
    steps = faultkit.read_trace(trace)
    name = base.name
    order = [f"flock {name}.lock", f"read_file {name}", f"open_fd {name}",
             *([f"ftruncate {name}"] if torn_first else []), f"pwrite {name}", f"fsync {name}", f"close {name}",
             f"close {name}.lock"]
    seen = [s for s in _one_read(steps, name) if s in order]
    assert seen[seen.index(order[0]):] == order, "\n".join(steps)  # the documented append, in this order
    assert not [s for s in steps if ".tmp" in s or s.startswith("replace")], steps  # no temporary file
    cut_at = steps.index(f"ftruncate {name}") + 1 if torn_first else None
    written_at = steps.index(f"pwrite {name}") + 1

    # every call, before and after; with a torn tail first, the calls from the lock on (those before
    # it are the clean log's reads, already killed there)
    first = steps.index(f"flock {name}.lock") + 1 if torn_first else 1
    cases = [(when, n) for n in range(first, len(steps) + 1) for when in ("before", "after")]
    cases.append(("torn", written_at))

    def crash(case):
        when, n = case
        folder = tmp_path / f"{when}-{n:02d}"
        shutil.copytree(base.parent, folder)
        inode = (folder / f"{name}.lock").stat().st_ino
        return case, folder, inode, run_wrapper(folder / name, "open", faultkit.Plan("kill", n, when))

    with ThreadPoolExecutor(os.cpu_count() or 2) as pool:
        runs = list(pool.map(crash, cases))

    outcomes = Counter()
    for (when, n), folder, inode, proc in runs:
        where = f"killed {when} step {n} ({steps[n - 1]})"
        ledger, lock = folder / name, folder / f"{name}.lock"
        assert proc.returncode == -signal.SIGKILL, (where, proc.returncode, proc.stderr)
        assert ACK["open"] not in proc.stderr and "head:" not in proc.stderr, where
        completed = n if when == "after" else n - 1  # calls that returned before the kill
        if when == "torn":
            expected, outcome = good + line[: len(line) // 2], "half a line"
        elif completed >= written_at:
            expected, outcome = new, "new line whole"
        elif cut_at is not None and completed >= cut_at:
            expected, outcome = good, "torn tail cut, nothing written"
        else:
            expected, outcome = old, "untouched"
        now = ledger.read_bytes()
        assert now == expected, (where, outcome, now[len(good):])
        outcomes[outcome] += 1
        events, torn = log_state(ledger)
        # every event acknowledged before is there, whole; the new one whole or not at all
        assert events[: len(good_events)] == good_events, where
        assert len(events) == len(good_events) + (expected == new), where
        assert lock.stat().st_ino == inode, where
        if expected in (good, new):
            assert torn is None, where
            verified(ledger)
        else:
            assert torn is not None, where
            check = cli(ledger, "verify")
            torn_line = good.count(b"\n") + 1
            assert check.exit_code == 3, (where, check.stdout)
            assert f"line {torn_line} is cut short" in check.stderr and "never acknowledged" in check.stderr, \
                (where, check.stderr)
            status = cli(ledger, "status", "--json")  # reads ignore it
            assert status.exit_code == 0, (where, status.stderr)
        # the next writer cuts a torn tail (and says so), then appends whole lines after the good ones
        again = cli(ledger, *COMMANDS["open"])
        assert again.exit_code == 0, (where, again.stderr)
        assert again.stderr.count("cut before this write") == (torn is not None), (where, again.stderr)
        after = ledger.read_bytes()
        if expected == new:
            assert after.startswith(new) and after.count(b"\n") == new.count(b"\n") + 1, where
        else:
            assert after == new, where  # the same command at the same --now: the same line
        assert lock.stat().st_ino == inode, where
        assert not [p for p in os.listdir(folder) if ".tmp-" in p], where
        verified(ledger)
    assert outcomes["untouched"] >= 3 and outcomes["new line whole"] >= 3 and outcomes["half a line"] == 1, outcomes
    assert (outcomes["torn tail cut, nothing written"] > 0) == torn_first, outcomes


def test_a_half_written_line_is_cut_by_the_next_writer_with_its_warning(tmp_path, make_service):
    """A writer killed in the middle of the pwrite of its line (half of the bytes reach the file)
    leaves half a line after the last newline. It was never acknowledged: `status` ignores it,
    `verify` names it (exit 3), and the next writer cuts exactly those bytes and says so."""
    ledger = base_ledger(tmp_path / "d", "jsonl", "open", make_service)
    good = ledger.read_bytes()
    from nis2_incident import checkpoint

    checkpoint.location(ledger).unlink()  # read as its copy is (no checkpoint): the same calls, traced
    trace = tmp_path / "trace.txt"
    probe = tmp_path / "probe"
    shutil.copytree(ledger.parent, probe)
    run_wrapper(probe / ledger.name, "open", faultkit.Plan(trace_to=str(trace)))
    write_at = faultkit.read_trace(trace).index(f"pwrite {ledger.name}") + 1
    proc = run_wrapper(ledger, "open", faultkit.Plan("kill", write_at, "torn"))
    assert proc.returncode == -signal.SIGKILL and "recorded" not in proc.stderr
    torn = ledger.read_bytes()[len(good):]
    assert ledger.read_bytes().startswith(good) and 0 < len(torn) and b"\n" not in torn
    line = good.count(b"\n") + 1
    check = cli(ledger, "verify")
    assert check.exit_code == 3
    assert (f"{ledger}: line {line} is cut short ({len(torn)} bytes without a newline): the last {len(torn)} "
            "byte(s) were never acknowledged") in check.stderr, check.stderr
    again = cli(ledger, *COMMANDS["open"])
    assert again.exit_code == 0, again.stderr
    assert (f"warning: {ledger}: line {line} is cut short ({len(torn)} bytes without a newline): the last "
            f"{len(torn)} byte(s) were never acknowledged (a write cut short); cut before this write") \
        in again.stderr, again.stderr
    assert ledger.read_bytes() == (probe / ledger.name).read_bytes()  # exactly the line an unkilled write adds
    verified(ledger)

# --- kills at random moments ------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["jsonl", "toml"])
def test_sigkill_at_random_moments_loses_no_acknowledged_event(tmp_path, make_service, safety_count, fmt):
    """Kills from outside at random moments of a process writing again and again: every event
    acknowledged (`recorded`, a `head:` printed) is in the ledger with that head, earlier events never
    change, the one in flight is there whole or not at all. A log may be left with a torn tail
    (never acknowledged): `verify` names it and the next writer cuts it and says so."""
    count = safety_count(15, 200)
    seed = int(os.environ.get("NIS2_CRASH_SEED", "7"))
    rng = random.Random(seed)
    ledger = tmp_path / f"ledger.{fmt}"
    make_service(NOW, path=ledger)
    events = verified(ledger)
    acked = {e["seq"]: e["hash"] for e in events}
    lock_inode = (tmp_path / f"{ledger.name}.lock").stat().st_ino
    env = {**os.environ, "NIS2_FAULT_REPEAT": "100000"}
    outcomes, removed, torn_before = Counter(), 0, None

    for i in range(count):
        where = f"{fmt}: kill {i + 1}/{count} (NIS2_CRASH_SEED={seed})"
        before = leftovers(tmp_path)
        proc = subprocess.Popen(wrapper_cmd(ledger, "open"), env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        try:
            assert proc.stderr.readline() == "fault_cli: ready\n", where
            time.sleep(rng.uniform(0.0, 0.3))  # the first write of a run also imports; later ones take ~30 ms
        finally:
            proc.kill()
            _, err = proc.communicate(timeout=30)
        assert proc.returncode == -signal.SIGKILL, where
        assert set(re.findall(r"^fault_cli: exit (\d+)$", err, re.M)) <= {"0"}, (where, err)

        heads = HEAD_RE.findall(err)
        assert len(heads) == len(re.findall(r"^recorded INC-", err, re.M)), (where, err)
        if fmt == "jsonl":
            current, torn = log_state(ledger)
            if torn_before and heads:  # the first writer after a torn tail cut it and said so
                assert err.count("cut before this write") == 1, (where, err)
            if torn:
                check = cli(ledger, "verify")
                assert check.exit_code == 3 and "never acknowledged" in check.stderr, (where, check.stderr)
                outcomes["torn tail left"] += 1
            else:
                verified(ledger)
            torn_before = torn
        else:
            current = verified(ledger)
        assert current[: len(events)] == events, f"{where}: an earlier event changed"
        acked.update({int(seq): digest for seq, digest in heads})
        for seq, digest in acked.items():
            assert current[seq - 1]["hash"] == digest, f"{where}: acknowledged seq {seq} lost"
        # the writes of this run were acknowledged in order; the one in flight is there or not, whole
        assert [int(seq) for seq, _ in heads] == list(range(len(events) + 1, len(events) + 1 + len(heads))), where
        settled = len(events) + len(heads)
        assert len(current) in (settled, settled + 1), f"{where}: {len(current)} events, {settled} acknowledged"
        outcomes["in flight, written" if len(current) == settled + 1 else "in flight, not written"] += 1
        if before and heads:  # a writer that got as far as a write cleaned up and said so
            for name in before:
                assert f"warning: removed {tmp_path / name}, a temporary file" in err, (where, err)
                removed += 1
        assert (tmp_path / f"{ledger.name}.lock").stat().st_ino == lock_inode, where
        events = current

    assert sum(outcomes.values()) - outcomes["torn tail left"] == count, outcomes
    # the next writer leaves nothing behind
    again = cli(ledger, *COMMANDS["open"])
    assert again.exit_code == 0, again.stderr
    assert leftovers(tmp_path) == []
    assert len(verified(ledger)) == len(events) + 1
    print(f"{fmt}: {count} kills (seed {seed}): {dict(outcomes)}; {len(events)} events; "
          f"{removed} temp files removed")


# --- races: the lock through the command line -----------------------------------------------

HOLDER = """
import sys, time
from nis2_incident.ledger import Store
with Store(sys.argv[1]).locked():
    print("locked", flush=True)
    time.sleep(120)
"""


def test_cli_writer_gives_up_after_lock_timeout_naming_the_holder_then_gets_a_killed_holders_lock(
        tmp_path, make_service):
    """Through the real command line: `--lock-timeout` bounds the wait, exit 6 names the holder's pid,
    the ledger is byte-for-byte unchanged; once the holder is SIGKILLed the lock is free at once."""
    ledger = tmp_path / "ledger.toml"
    make_service(NOW)
    lock = tmp_path / "ledger.toml.lock"
    inode = lock.stat().st_ino
    before = ledger.read_bytes()
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(ledger)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "locked\n"
        start = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "nis2_incident", "--ledger", str(ledger), "--now", NOW,
                               "--lock-timeout", "0.5", *COMMANDS["open"]], capture_output=True, text=True,
                              timeout=60)
        waited = time.monotonic() - start
        assert proc.returncode == 6, proc.stderr
        shown = command_line(holder.pid)  # the holder's command line too (issue 14)
        assert proc.stderr.strip() == (f"error: {ledger}: another nis2-incident process (pid {holder.pid}, "
                                       f"`{shown}`) holds the write lock; gave up after 0.5 s. Retry, or raise "
                                       "--lock-timeout")
        assert "recorded" not in proc.stderr and proc.stdout == ""
        assert waited >= 0.5
        assert ledger.read_bytes() == before
        assert lock.stat().st_ino == inode
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        holder.stdout.close()
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "nis2_incident", "--ledger", str(ledger), "--now", NOW,
                           *COMMANDS["open"], "--lock-timeout", "0"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "recorded INC-2026-001" in proc.stderr
    assert lock.stat().st_ino == inode
    assert len(verified(ledger)) == 2


def test_the_lock_file_keeps_its_inode_across_crashed_and_failed_writes(tmp_path, make_service):
    """filelock#574: the lock file is never deleted or replaced, not by a killed writer, not by a
    failed one, not by the writer that cleans up after them."""
    ledger = tmp_path / "ledger.toml"
    make_service(NOW)
    lock = tmp_path / "ledger.toml.lock"
    inode = lock.stat().st_ino
    probe = tmp_path / "probe"
    probe.mkdir()
    shutil.copy(ledger, probe / "ledger.toml")
    trace = tmp_path / "trace.txt"
    run_wrapper(probe / "ledger.toml", "open", faultkit.Plan(trace_to=str(trace)))
    steps = faultkit.read_trace(trace)
    for plan in (faultkit.Plan("kill", steps.index("write .ledger.toml.tmp") + 1, "before"),
                 faultkit.Plan("fail", steps.index("fsync .ledger.toml.tmp") + 1),
                 faultkit.Plan("kill", steps.index("fsync <folder>") + 1, "after")):
        run_wrapper(ledger, "open", plan)
        assert lock.stat().st_ino == inode, plan
        assert cli(ledger, *COMMANDS["open"]).exit_code == 0
        assert lock.stat().st_ino == inode, plan
    assert sorted(os.listdir(tmp_path)) == ["ledger.toml", "ledger.toml.lock", "probe",
                                            "trace.txt"]
