"""Team mode's safety tests against the real server (issue 15; tests/pgtest.py): many writers on
"two machines" (two checkpoint folders), a client killed inside its transaction, the server stopped
in the middle of a command. Counts: 8 writers x 25 appends by default, 16 x 50 under
`pytest --full-safety` (README, Development)."""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from nis2_incident.ledger import Store
from nis2_incident.service import Service

NOW = datetime(2026, 3, 28, 11, 0, tzinfo=timezone.utc)
NOW_TEXT = "2026-03-28T12:00+01:00"
HERE = Path(__file__).parent


def _writer(url: str, cache: str, worker: int, count: int, barrier, results) -> None:
    os.environ["XDG_CACHE_HOME"] = cache  # this "machine"'s own checkpoint folder
    acknowledged = []
    try:
        barrier.wait(timeout=120)
        for i in range(count):
            out = Service(Store(url, lock_timeout=60), NOW).open_incident(f"w{worker}-{i}", "2026-03-28T10:00")
            acknowledged.append((f"w{worker}-{i}", out.value.incident.id, out.head))
            if i % 5 == 4:  # and read, through this machine's checkpoint, between writes
                Service(Store(url), NOW).views(live_only=True)
    except BaseException as exc:
        results.put((worker, f"writer {worker} failed after {len(acknowledged)} writes: {exc!r}"))
        raise
    results.put((worker, acknowledged))


def test_many_writers_on_two_machines_lose_nothing_and_fork_nothing(pg_server, tmp_path, safety_count):
    url = pg_server.url(pg_server.createdb())
    Service(Store(url), NOW).init(name="CHU", category="essential", regimes=["nis2"])
    writers, count = safety_count(8, 16), safety_count(25, 50)
    machines = [str(tmp_path / "laptop"), str(tmp_path / "monitoring")]
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(writers), ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(url, machines[w % 2], w, count, barrier, results))
             for w in range(writers)]
    for p in procs:
        p.start()
    got = {}
    for _ in range(writers):
        worker, value = results.get(timeout=600)
        assert not isinstance(value, str), value
        got[worker] = value
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    ledger = Store(url).read()  # decoded and chain-verified
    assert len(ledger.events) == 1 + writers * count
    titles = [ev["data"]["title"] for ev in ledger.events[1:]]
    assert sorted(titles) == sorted(f"w{w}-{i}" for w in range(writers) for i in range(count))
    by_title = {ev["data"]["title"]: ev for ev in ledger.events[1:]}
    ids = [ev["incident"] for ev in ledger.events[1:]]
    assert len(set(ids)) == len(ids)
    for acked in got.values():
        for title, ident, head in acked:
            ev = by_title[title]
            assert ev["incident"] == ident and head == f"{ev['seq']}:{ev['hash']}"
    verified = Service(Store(url), NOW).verify()
    assert verified["events"] == 1 + writers * count and verified["incidents"] == writers * count


def _pause_cli(url: str, folder: Path, *argv: str, env: dict | None = None) -> subprocess.Popen:
    env = {**os.environ, "NIS2_PG_PAUSE": str(folder), "PYTHONPATH": str(HERE), **(env or {})}
    return subprocess.Popen([sys.executable, str(HERE / "pg_pause_cli.py"), "--ledger", url, "--now", NOW_TEXT,
                             *argv], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(path: Path, proc: subprocess.Popen) -> None:
    give_up = time.monotonic() + 120  # a hang guard, not a timing assertion
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < give_up, "the writer never reached its insert"
        time.sleep(0.01)


def test_a_client_killed_inside_its_transaction_loses_nothing_acknowledged(pg_server, tmp_path, safety_count):
    url = pg_server.url(pg_server.createdb())
    svc = Service(Store(url), NOW)
    svc.init(name="CHU", category="essential", regimes=["nis2"])
    acknowledged = [svc.open_incident("before", "2026-03-28T10:00").head]
    # killed after its insert, before its commit: the server rolls the transaction back
    folder = tmp_path / "pause"
    folder.mkdir()
    proc = _pause_cli(url, folder, "open", "killed mid-transaction", "--aware", "2026-03-28T10:00")
    _wait_for(folder / "inserted", proc)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    # the lock died with it: the next write gets it, after the acknowledged head
    out = Service(Store(url, lock_timeout=60), NOW).open_incident("after", "2026-03-28T10:00")
    acknowledged.append(out.head)
    # then random kills of a writer that appends again and again, printing each acknowledged head
    for _ in range(safety_count(5, 40)):
        proc = subprocess.Popen([sys.executable, "-c", (
            "import sys\nfrom nis2_incident.ledger import Store\nfrom nis2_incident.service import Service\n"
            "from datetime import datetime, timezone\nnow = datetime(2026, 3, 28, 11, 0, tzinfo=timezone.utc)\n"
            "print('ready', flush=True)\n"
            "for i in range(10**6):\n"
            "    print(Service(Store(sys.argv[1], lock_timeout=60), now).open_incident(f'r{i}', '2026-03-28T10:00').head, flush=True)\n"),
            url], stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(random.uniform(0.05, 0.6))  # where the kill lands; nothing is asserted on time
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate(timeout=60)
        acknowledged += [line for line in out.split("\n") if ":" in line]
    ledger = Store(url).read()
    heads = {f"{ev['seq']}:{ev['hash']}" for ev in ledger.events}
    assert all(h in heads for h in acknowledged)
    titles = [ev["data"].get("title") for ev in ledger.events]
    assert "killed mid-transaction" not in titles and titles[-1] is not None
    Service(Store(url), NOW).verify()


def test_the_server_stopped_mid_command_gives_one_line_and_writes_nothing_half(tmp_path):
    from pgtest import Server

    server = Server()  # its own: this test stops it
    try:
        url = server.url(server.createdb())
        svc = Service(Store(url), NOW)
        svc.init(name="CHU", category="essential", regimes=["nis2"])
        head = svc.open_incident("before", "2026-03-28T10:00").head
        folder = tmp_path / "pause"
        folder.mkdir()
        proc = _pause_cli(url, folder, "open", "cut by the server's stop", "--aware", "2026-03-28T10:00")
        _wait_for(folder / "inserted", proc)
        server.stop("fast")  # terminates the sessions, the one in its transaction too
        (folder / "go").write_text("")
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 7, err
        assert err.count("\n") == 1 and err.startswith("error: ") and "commit" in err
        # a read with the server down: one line, exit 3
        down = subprocess.run([sys.executable, "-m", "nis2_incident", "--ledger", url, "--now", NOW_TEXT, "status"],
                              capture_output=True, text=True, timeout=120)
        assert down.returncode == 3 and down.stderr.count("\n") == 1 and "cannot connect" in down.stderr
        check = subprocess.run([sys.executable, "-m", "nis2_incident", "--ledger", url, "--now", NOW_TEXT, "check"],
                               capture_output=True, text=True, timeout=120)
        assert check.returncode == 3 and check.stdout.startswith("NIS2-INCIDENT UNKNOWN")
        server.start()
        ledger = Store(url).read()
        assert ledger.head == head and [e["data"].get("title") for e in ledger.events][-1] == "before"
        # a write with the server down, before anything was sent: exit 3 (it cannot read), nothing written
        server.stop("fast")
        write = subprocess.run([sys.executable, "-m", "nis2_incident", "--ledger", url, "--now", NOW_TEXT, "open",
                                "while down", "--aware", "2026-03-28T10:00"], capture_output=True, text=True,
                               timeout=120)
        assert write.returncode in (3, 7) and write.stderr.count("\n") == 1
        server.start()
        assert Store(url).read().head == head
    finally:
        server.close()
