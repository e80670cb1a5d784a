"""Nothing beside the ledger, and nothing a user types, can destroy the record, silence an alert, or
lie to a reader (issue 14). Cron runs the tool as root over a folder others may write: the lock file,
`check`'s state, a link at the ledger's path, output options, empty options, extreme dates and the
files a killed run leaves behind. Every test goes through the command line, with `--now` fixed.

The reference incident: aware 28 Mar 2026 10:00 CET (09:00Z); early warning due 24 h later.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nis2_incident import timeutil as tu
from nis2_incident.cli import app
from nis2_incident.ledger import Store

runner = CliRunner()
T0 = datetime(2026, 3, 28, 9, 0, tzinfo=timezone.utc)
NOW = "2026-03-28T12:00"
EW = "INC-2026-001 nis2.early_warning"


def h(hours: float) -> str:
    return tu.rfc3339(T0 + timedelta(hours=hours))


def cli(ledger, *args, now: str = NOW, env=None):
    return runner.invoke(app, ["--ledger", str(ledger), "--now", now, *args], catch_exceptions=False, env=env)


def run(*args, timeout: float = 60, env=None) -> subprocess.CompletedProcess:
    """The installed command, in its own process (for what could hang or must be a real process)."""
    return subprocess.run([sys.executable, "-m", "nis2_incident", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def error_line(result) -> str:
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


@pytest.fixture
def ledger(make_service, ledger_file):
    svc = make_service("2026-03-28T09:00")
    svc.now = T0 + timedelta(minutes=30)
    svc.open_incident("Ransomware on the PACS", "2026-03-28T10:00")
    return ledger_file


def state_of(ledger: Path) -> Path:
    return ledger.with_name(ledger.name + ".check-state.json")


# --- 2. the lock file ---------------------------------------------------------------------------

def test_a_link_at_the_lock_path_is_refused_never_followed_and_the_ledger_is_unchanged(ledger):
    """`<ledger>.lock -> <ledger>` made every write truncate the ledger and write a pid into it."""
    before = ledger.read_bytes()
    lock = ledger.with_name(ledger.name + ".lock")
    lock.unlink()
    lock.symlink_to(ledger.name)
    result = cli(ledger, "open", "Second", "--aware", "2026-03-28T11:00")
    assert result.exit_code == 7
    assert error_line(result) == (f"error: {lock}: cannot open the lock file: is a symbolic link, not a regular "
                                  "file; accepted: a regular file (remove or move it); nothing was recorded")
    assert ledger.read_bytes() == before and lock.is_symlink()


@pytest.mark.parametrize("kind", ["FIFO", "folder"])
def test_a_lock_path_that_is_not_a_regular_file_is_refused_without_waiting(ledger, kind):
    before = ledger.read_bytes()
    lock = ledger.with_name(ledger.name + ".lock")
    lock.unlink()
    os.mkfifo(lock) if kind == "FIFO" else lock.mkdir()
    proc = run("--ledger", str(ledger), "--now", NOW, "open", "Second", "--aware", "2026-03-28T11:00", timeout=30)
    assert proc.returncode == 7
    what = "a FIFO (named pipe)" if kind == "FIFO" else "a folder"
    assert proc.stderr == (f"error: {lock}: cannot open the lock file: is {what}, not a regular file; accepted: a "
                           "regular file (remove or move it); nothing was recorded\n")
    assert ledger.read_bytes() == before


def test_a_lock_file_that_holds_anything_but_a_pid_is_never_truncated(ledger):
    """The ledger hard-linked at the lock's name is a regular file: it is refused by its content."""
    before = ledger.read_bytes()
    lock = ledger.with_name(ledger.name + ".lock")
    lock.unlink()
    os.link(ledger, lock)
    result = cli(ledger, "open", "Second", "--aware", "2026-03-28T11:00")
    assert result.exit_code == 7
    assert "is not a lock file (it holds 64 or more bytes that are not a process id); it was left as it is" \
        in error_line(result)
    assert ledger.read_bytes() == before and lock.read_bytes() == before


# --- 3. a ledger path that is a link ----------------------------------------------------------------

def _open_three(path: Path, tag: str) -> list[int]:
    return [run("--ledger", str(path), "--now", NOW, "open", f"{tag}-{i}", "--aware", "2026-03-28T10:00").returncode
            for i in range(3)]


def test_a_linked_ledger_is_written_through_to_its_target_sharing_one_lock(ledger, tmp_path):
    """Writes through a link went to a new regular file in place of the link (the target never got the
    event) and each path had its own lock. Now the link is resolved once: two writers through each
    path at once all land in the one file, in one chain."""
    link = tmp_path / "elsewhere" / "link.toml"
    link.parent.mkdir()
    link.symlink_to(ledger)
    with ThreadPoolExecutor(4) as pool:
        codes = [c for batch in pool.map(_open_three, [link, ledger, link, ledger], "abcd") for c in batch]
    assert codes == [0] * 12
    assert link.is_symlink() and os.readlink(link) == str(ledger)
    events = Store(ledger).read().events
    assert [e["seq"] for e in events] == list(range(1, 15))  # profile, the fixture's incident, 12 more
    assert cli(link, "verify").exit_code == 0
    assert not (link.parent / "link.toml.lock").exists()  # the target's lock, beside the target
    assert sorted(p.name for p in link.parent.iterdir()) == ["link.toml"]


# --- 4. output options naming the ledger or its own files ---------------------------------------------

@pytest.mark.parametrize("target", ["ledger", "lock", "hard link", "symlink to the lock", "state"])
@pytest.mark.parametrize("command", ["export", "draft"])
def test_an_output_that_is_the_ledger_or_its_own_file_is_refused_by_inode(ledger, tmp_path, command, target):
    check = cli(ledger, "check", now=h(20))
    assert check.exit_code == 1 and state_of(ledger).exists()
    lock = ledger.with_name(ledger.name + ".lock")
    path = {"ledger": ledger, "lock": lock, "hard link": tmp_path / "copy.toml",
            "symlink to the lock": tmp_path / "lock-link", "state": state_of(ledger)}[target]
    if target == "hard link":
        os.link(ledger, path)
    elif target == "symlink to the lock":
        path.symlink_to(lock)
    files = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file() and not p.is_symlink()}
    args = ["export", "--format", "json"] if command == "export" else ["draft", "INC-2026-001", "nis2.early_warning"]
    result = cli(ledger, *args, "--output", str(path), now=h(20))
    assert result.exit_code == 2, result.stderr
    assert error_line(result).startswith(f"error: --output {path}: is the ledger")
    assert "which this would destroy; accepted: another file" in result.stderr
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file() and not p.is_symlink()} == files
    assert cli(ledger, "verify").exit_code == 0


@pytest.mark.parametrize("target", ["ledger", "ledger lock", "state lock"])
def test_check_state_that_is_the_ledger_or_a_lock_is_refused(ledger, target):
    """`check --state L` replaced the ledger with the state; `--state L.lock` replaced the lock's inode.
    `check` refuses (exit 3, its code for a bad option: never 2, which would say "overdue")."""
    path = {"ledger": ledger, "ledger lock": ledger.with_name(ledger.name + ".lock"),
            "state lock": ledger.with_name(ledger.name + ".check-state.json.lock")}[target]
    path.touch()
    before, inode = ledger.read_bytes(), path.stat().st_ino
    result = cli(ledger, "check", "--state", str(path), now=h(20))
    assert result.exit_code == 3
    assert result.stdout.startswith(f"NIS2-INCIDENT UNKNOWN - --state {path}: is the ledger")
    assert error_line(result).startswith(f"error: --state {path}: is the ledger")
    assert ledger.read_bytes() == before and path.stat().st_ino == inode
    # the ledger's own state is its state, by any name
    link = ledger.parent / "state-link.json"
    link.symlink_to(state_of(ledger))
    assert cli(ledger, "check", "--state", str(state_of(ledger)), now=h(20)).exit_code == 1
    assert cli(ledger, "check", "--state", str(link), now=h(20)).exit_code == 1


# --- 6, 7, 8. check's state: from the future, damaged, not a regular file ------------------------------

def test_a_state_entry_announced_in_the_future_never_silences_a_reminder(ledger):
    assert "DUE SOON" in cli(ledger, "check", now=h(20)).stdout
    state = state_of(ledger)
    data = json.loads(state.read_text("utf-8"))
    data["announced"][EW]["step_at"] = "9999-12-31T23:59:59+00:00"
    state.write_text(json.dumps(data), "utf-8")
    result = cli(ledger, "check", "--quiet", now=h(22))
    assert result.exit_code == 1 and f"DUE SOON {EW}" in result.stdout


@pytest.mark.parametrize("body", ["deep", "wrong shapes", "binary"])
def test_a_damaged_state_is_ignored_and_check_announces_anyway(ledger, body):
    state = state_of(ledger)
    state.write_bytes({
        "deep": b'{"version": 1, "announced": ' + b"[" * 200_000 + b"]" * 200_000 + b"}",
        "wrong shapes": json.dumps({"version": 1, "announced": {EW: [[[[1]]]], "x": {"now": {"a": 1}}}}).encode(),
        "binary": bytes(range(256)) * 4}[body])
    result = cli(ledger, "check", now=h(20))
    assert result.exit_code == 1, result.stderr
    assert f"DUE SOON {EW}" in result.stdout
    assert "warning:" in result.stderr and "as if new" in result.stderr
    assert json.loads(state.read_text("utf-8"))["announced"][EW]["step"] == "4h-before"  # rewritten whole


@pytest.mark.parametrize("where", ["state", "state lock"])
def test_a_fifo_at_the_state_path_never_hangs_check(ledger, where):
    path = state_of(ledger) if where == "state" else ledger.with_name(ledger.name + ".check-state.json.lock")
    os.mkfifo(path)
    proc = run("--ledger", str(ledger), "--now", h(20), "check", timeout=30)
    assert proc.returncode == 1, proc.stderr
    assert f"DUE SOON {EW}" in proc.stdout
    assert "is a FIFO (named pipe), not a regular file" in proc.stderr
    assert stat.S_ISFIFO(path.stat().st_mode) or where == "state"  # a FIFO state is replaced by the state


def test_a_link_at_the_state_path_is_never_followed(ledger, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me", "utf-8")
    state_of(ledger).symlink_to(victim)
    result = cli(ledger, "check", now=h(20))
    assert result.exit_code == 1 and f"DUE SOON {EW}" in result.stdout
    assert "is a symbolic link" in result.stderr
    assert victim.read_text("utf-8") == "keep me"
    assert not state_of(ledger).is_symlink()  # the link itself was replaced by the state


# --- 10. empty options -------------------------------------------------------------------------------

@pytest.mark.parametrize("how", ["option", "environment"])
def test_an_empty_ledger_path_is_refused_not_read_as_the_default(tmp_path, how):
    env = {"XDG_DATA_HOME": str(tmp_path / "data"), "HOME": str(tmp_path)}
    args = ["--ledger", "", "init", "--name", "X", "--category", "essential"] if how == "option" else \
        ["init", "--name", "X", "--category", "essential"]
    if how == "environment":
        env["NIS2_INCIDENT_LEDGER"] = ""
    proc = run("--now", NOW, *args, env=env)
    assert proc.returncode == 2, proc.stderr
    name = "--ledger" if how == "option" else "$NIS2_INCIDENT_LEDGER"
    assert proc.stderr.startswith(f"error: {name} is empty; accepted: the path of a ledger file")
    assert not (tmp_path / "data").exists()


# --- 11. modes and owners ------------------------------------------------------------------------------

def test_every_file_written_keeps_the_ledgers_mode_and_owner(ledger, tmp_path):
    os.chmod(ledger, 0o600)
    owner = (ledger.stat().st_uid, ledger.stat().st_gid)
    if os.geteuid() == 0:  # root writes a ledger owned by someone else (cron over a user's folder)
        owner = (4321, 4321)
        os.chown(ledger, *owner)
    assert cli(ledger, "open", "Second", "--aware", "2026-03-28T11:00").exit_code == 0
    assert cli(ledger, "check", now=h(20)).exit_code == 1
    out = tmp_path / "out" / "record.json"
    out.parent.mkdir()
    assert cli(ledger, "export", "--format", "json", "--output", str(out)).exit_code == 0
    lock, state_lock = (ledger.with_name(ledger.name + suffix) for suffix in (".lock", ".check-state.json.lock"))
    for path in (ledger, state_of(ledger), lock, state_lock):
        assert (stat.S_IMODE(path.stat().st_mode), path.stat().st_uid, path.stat().st_gid) == (0o600, *owner), path
    assert stat.S_IMODE(out.stat().st_mode) == 0o600  # the ledger's mode; the output stays its writer's
    assert out.stat().st_uid == os.geteuid()


# --- 12. instants out of range -------------------------------------------------------------------------

@pytest.mark.parametrize("args", [
    ["open", "Far", "--aware", "9999-12-31T23:59Z"],
    ["open", "Far", "--aware", "0001-01-01T00:00Z"],
    ["open", "Far", "--aware", "1969-12-31T23:59Z"],
    ["request", "INC-2026-001", "--due", "9999-12-31T23:59"],
    ["request", "INC-2026-001", "--due", "2201-01-01T00:00Z"],
    ["request", "INC-2026-001", "--due", "2200-12-31T23:00-05:00"],
], ids=["aware-9999", "aware-0001", "aware-1969", "due-9999", "due-2201", "due-2201-in-utc"])
def test_an_instant_outside_1970_to_2200_is_refused_and_exports_keep_working(ledger, args):
    before = ledger.read_bytes()
    result = cli(ledger, *args)
    assert result.exit_code == 2, result.stderr
    assert "is out of range; accepted: a time between the years 1970 and 2200 (UTC)" in error_line(result)
    assert ledger.read_bytes() == before
    assert cli(ledger, "export", "--format", "ics").exit_code == 0


def test_the_edges_of_the_range_are_accepted(ledger):
    assert cli(ledger, "request", "INC-2026-001", "--due", "2200-12-31T23:59Z").exit_code == 0
    assert cli(ledger, "export", "--format", "ics").exit_code == 0
    assert cli(ledger, "--now", "9999-01-01T00:00Z", "list").exit_code == 2


# --- 13. a check killed at its rename -----------------------------------------------------------------

def test_a_check_state_temporary_file_of_a_dead_check_is_removed(ledger):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    left = ledger.with_name(f".{ledger.name}.check-state.json.tmp-{dead}")
    left.write_text('{"version": 1, "annou', "utf-8")  # killed half-way
    result = cli(ledger, "check", now=h(20))
    assert result.exit_code == 1
    assert f"warning: removed {left}, a temporary file left by an interrupted write of process {dead}" in result.stderr
    assert not left.exists()
    assert sorted(p.name for p in ledger.parent.iterdir() if ".tmp-" in p.name) == []


# --- 14. messages ------------------------------------------------------------------------------------

def test_init_on_a_folder_says_it_is_a_folder(tmp_path):
    folder = tmp_path / "ledger.toml"
    folder.mkdir()
    result = cli(folder, "init", "--name", "X", "--category", "essential")
    # refused as a bad --ledger before anything is created (issue 16), naming the folder (issue 14)
    assert result.exit_code == 2
    assert error_line(result) == (f"error: --ledger {folder}: is a folder, not a ledger file; accepted: a file "
                                  f"in it, e.g. {folder}/ledger.toml")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ledger.toml"]


def test_a_ledger_under_a_file_says_the_parent_is_a_file(tmp_path):
    parent = tmp_path / "notes.txt"
    parent.write_text("x", "utf-8")
    result = cli(parent / "ledger.toml", "init", "--name", "X", "--category", "essential")
    assert result.exit_code == 2  # a bad --ledger, refused before anything is created (issue 16)
    assert error_line(result) == (f"error: --ledger {parent / 'ledger.toml'}: {parent} is a file, not a folder; "
                                  "accepted: a ledger path whose folders are folders")


# --- 9. control characters in user text ------------------------------------------------------------

HOSTILE = "PACS\r\x1b[2KOK\nOVERDUE INC-2026-999 forged\u202e\x07"


@pytest.fixture
def hostile(make_service, ledger_file):
    svc = make_service("2026-03-28T09:00")
    svc.now = T0 + timedelta(minutes=30)
    svc.open_incident(HOSTILE, "2026-03-28T10:00", summary=f"summary {HOSTILE}")
    return ledger_file


def _inert(text: str) -> None:
    assert not any(ch in text for ch in "\r\x1b\x07\u202e"), repr(text)
    assert "\\x1b[2K" in text and "\\u202e" in text, repr(text)


@pytest.mark.parametrize("fmt", ["text", "nagios"])
def test_control_characters_in_a_title_never_reach_checks_lines_raw(hostile, fmt):
    result = cli(hostile, "check", "--format", fmt, now=h(25))
    assert result.exit_code == 2
    _inert(result.stdout)
    lines = result.stdout.splitlines()
    assert len(lines) == 2 and sum(line.startswith("OVERDUE ") for line in lines) == 1  # no forged line
    assert "PACS\\r\\x1b[2KOK\\nOVERDUE INC-2026-999 forged\\u202e\\x07" in result.stdout


@pytest.mark.parametrize("args", [["status"], ["list"], ["show", "INC-2026-001"], ["profile"]])
def test_control_characters_are_escaped_in_every_view(hostile, args):
    if args == ["profile"]:
        assert cli(hostile, "profile", "--name", f"CHU {HOSTILE}").exit_code == 0
    result = cli(hostile, *args, now=h(20))
    assert result.exit_code == 0, result.stderr
    _inert(result.stdout)


def test_control_characters_are_escaped_in_messages_and_kept_in_json(hostile):
    result = cli(hostile, "show", f"INC-2026-001{HOSTILE}")
    assert result.exit_code != 0
    assert not any(ch in result.stderr for ch in "\r\x1b\x07\u202e") and len(result.stderr.splitlines()) == 1
    record = [json.loads(line) for line in cli(hostile, "check", "--json", now=h(25)).stdout.splitlines()]
    assert record[0]["title"] == HOSTILE
    assert json.loads(cli(hostile, "show", "INC-2026-001", "--json").stdout)["title"] == HOSTILE
    # a draft into a file (or a pipe) is the text as drafted, byte for byte
    out = hostile.parent / "draft.md"
    assert cli(hostile, "draft", "INC-2026-001", "nis2.early_warning", "--output", str(out)).exit_code == 0
    drafted = json.loads(cli(hostile, "draft", "INC-2026-001", "nis2.early_warning", "--json").stdout)["text"]
    assert out.read_text("utf-8") == drafted == cli(hostile, "draft", "INC-2026-001", "nis2.early_warning").stdout


def test_printable_escapes_controls_and_keeps_every_other_character():
    from nis2_incident.render.safe import printable

    assert printable("Panne du DPI — « urgent » 日本 🚑") == "Panne du DPI — « urgent » 日本 🚑"
    assert printable("a\rb\x1b[2Kc\x00\x7f\x9b\u202e\u2066") == "a\\rb\\x1b[2Kc\\x00\\x7f\\x9b\\u202e\\u2066"
    assert printable("one\ntwo\tthree") == "one\\ntwo\\tthree"
    assert printable("one\ntwo\tthree\r", newlines=True) == "one\ntwo\tthree\\r"


# --- 15. the lock outside the main thread ------------------------------------------------------------

def test_a_lock_waited_for_in_a_thread_polls_and_times_out_naming_the_holder(ledger):
    """The blocking wait needs the main thread (its timer is a signal); elsewhere the lock polls."""
    import threading

    from nis2_incident.errors import LockTimeout
    from nis2_incident.ledger.lock import FileLock

    path = ledger.with_name(ledger.name + ".lock")
    outcome = []

    def wait():
        try:
            with FileLock(path, 0.2).held():
                outcome.append("held")
        except LockTimeout as exc:
            outcome.append(exc.message)

    with FileLock(path, 1).held():
        thread = threading.Thread(target=wait)
        thread.start()
        thread.join(30)
    assert len(outcome) == 1, outcome
    assert outcome[0].startswith(f"{path}: held by pid {os.getpid()}, `") and outcome[0].endswith("` for 0.2 s")
    with FileLock(path, 0.2).held():  # and once released, it is free at once
        pass


def test_a_fifo_at_the_ledger_path_never_hangs_a_command(tmp_path):
    """Issue 14 (item 8, the ledger itself): a FIFO where the ledger should be is refused at once
    (exit 3, naming it), by a read and by a write alike; nothing is created beside it."""
    import subprocess
    import sys

    fifo = tmp_path / "ledger.jsonl"
    os.mkfifo(fifo)
    for args in (["status"], ["check"], ["open", "x", "--aware", "-1h"]):
        proc = subprocess.run([sys.executable, "-m", "nis2_incident", "--ledger", str(fifo),
                               "--now", "2026-03-28T12:00+01:00", *args],
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 3, (args, proc.stderr)
        assert "not a regular file" in proc.stderr and str(fifo) in proc.stderr, args
