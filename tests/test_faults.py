"""Failed I/O is a failure (DESIGN §3, row "failed I/O is a failure"; issue 7, items 1, 3 and 8).

Every file-system call of a write goes through nis2_incident/ledger/fsio.py. Here call N of a write
command fails with EIO or ENOSPC, for N = 1, 2, ... until no call is left to fail: the command exits
non-zero with one clear line naming the file and the error, never says it recorded anything, prints
nothing on stdout, and leaves the ledger byte-for-byte old (failure before the rename) or new (after
it). A few calls may fail without failing the write; they are listed in HARMLESS, with the reason.
A log append (issue 13) is failed at every call too, also one that first cuts a torn tail: refused,
the log is as it was (without the torn bytes once cut), never with half a line of its own.
Then a real full disk (a small tmpfs, filled up) under a document and a log, and ledgers on network
file systems.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import pytest
from typer.testing import CliRunner

import faultkit
from conftest import at
from nis2_incident.cli import app
from nis2_incident.ledger import Store, fsio
from nis2_incident.ledger import store as store_mod
from nis2_incident.service import Service

NOW = "2026-03-28T12:00"
OPEN = ["open", "Ransomware on the PACS", "--aware", "2026-03-28T10:00"]
INIT = ["init", "--name", "CHU Test", "--category", "essential"]
COMMANDS = {"open": OPEN, "init": INIT}
runner = CliRunner()

# Calls whose failure does not fail the write, and why:
HARMLESS = {
    "fs_type": "detecting a network file system is advice; unknown means no warning",
    "listdir": "looking for stale temporary files is housekeeping; the write goes on, with a warning",
    "close <folder>": "a read-only descriptor, closed after its fsync returned",
    "close {name}.lock": "the flock goes with the descriptor; nothing was written through it",
}


def cli(ledger: Path, *args: str):
    return runner.invoke(app, ["--ledger", str(ledger), "--now", NOW, *args], catch_exceptions=False)


def leftovers(folder: Path) -> list[str]:
    return sorted(n for n in os.listdir(folder) if ".tmp-" in n)


def harmless(step: str, name: str) -> bool:
    return any(step == key.format(name=name) or step.split()[0] == key for key in HARMLESS)


def traced(ledger: Path, args: list[str], plan: faultkit.Plan):
    with pytest.MonkeyPatch.context() as m:
        rec = faultkit.install(plan, m.setattr)
        result = cli(ledger, *args)
    return rec.steps, result


@pytest.mark.parametrize(("command", "fmt", "err"), [
    ("open", "toml", errno.EIO), ("open", "json", errno.ENOSPC),
    ("init", "toml", errno.ENOSPC), ("init", "json", errno.EIO), ("init", "jsonl", errno.ENOSPC)],
    ids=["open-toml-EIO", "open-json-ENOSPC", "init-toml-ENOSPC", "init-json-EIO", "init-jsonl-ENOSPC"])
def test_failing_io_call_n_for_every_n_fails_cleanly_and_leaves_old_or_new(tmp_path, make_service,
                                                                            command, fmt, err):
    base = tmp_path / "base"
    base.mkdir()
    ledger_name = f"ledger.{fmt}"
    if command == "open":
        make_service(NOW, path=base / ledger_name)
    old = (base / ledger_name).read_bytes() if command == "open" else None

    ref = tmp_path / "ref"
    shutil.copytree(base, ref)
    steps, done = traced(ref / ledger_name, COMMANDS[command], faultkit.Plan())
    assert done.exit_code == 0, done.stderr
    new = (ref / ledger_name).read_bytes()
    renamed = steps.index(f"replace .{ledger_name}.tmp") + 1
    strerror = os.strerror(err)

    for n in range(1, len(steps) + 2):
        folder = tmp_path / f"n{n:02d}"
        shutil.copytree(base, folder)
        ledger = folder / ledger_name
        failed_steps, result = traced(ledger, COMMANDS[command], faultkit.Plan("fail", n, errno=err))
        if n > len(steps):  # nothing left to fail: the write succeeds
            assert result.exit_code == 0, result.stderr
            assert ledger.read_bytes() == new
            break
        step = steps[n - 1]
        where = f"call {n} ({step}) fails with {errno.errorcode[err]}"
        assert failed_steps[: n] == steps[: n], where  # same path up to the failure
        now = ledger.read_bytes() if ledger.exists() else None
        assert leftovers(folder) == [], where

        if harmless(step, ledger_name):
            assert result.exit_code == 0, (where, result.stderr)
            assert "recorded" in result.stderr or "created ledger" in result.stderr, where
            assert now == new, where
            if step.startswith("listdir"):
                assert (f"warning: could not look for temporary files left by interrupted writes in {folder} "
                        f"({strerror})") in result.stderr, where
            continue

        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), (where, result.stderr)
        message = lines[0]
        assert str(folder) in message, (where, message)
        assert f"({strerror})" in message or f": {strerror};" in message or message.endswith(f": {strerror}"), \
            (where, message)
        assert result.stdout == "", where
        assert "recorded" not in result.stderr.replace("nothing was recorded", "").replace(
            "so as not to record it twice", ""), where
        assert "head:" not in result.stderr, where
        if step.startswith(("read_file", "digest_file")):
            assert result.exit_code == 3, where  # the ledger cannot be read: exit 3, as any unreadable ledger
            assert message == f"error: {ledger}: cannot read: {strerror}", where
        else:
            assert result.exit_code == 7, (where, result.exit_code, message)
        if n < renamed or (n == renamed and step.startswith("replace")):
            assert now == old, where
            if not step.startswith(("read_file", "digest_file")):
                assert "nothing was recorded" in message, where
        else:
            assert now == new, where
            assert f"the change was written (head {Store(ledger).read().head})" in message, where
            assert "before retrying, so as not to record it twice" in message, where
        if now is not None:
            assert Service(Store(ledger), at(NOW)).verify()["ok"]
        # and the next attempt succeeds
        assert cli(ledger, *(OPEN if now is not None else INIT)).exit_code == 0, where
    else:
        pytest.fail("the write never succeeded")


def test_the_write_protocol_goes_through_the_seam_in_order(make_service, ledger_file):
    """The fault-injection seam sees every call of a document write, in the order DESIGN §3 states:
    lock, re-read under the lock, temporary file written and fsynced, rename, folder fsynced, unlock."""
    make_service(NOW)
    steps, result = traced(ledger_file, OPEN, faultkit.Plan())
    assert result.exit_code == 0
    assert steps == [
        "read_file ledger.toml",             # the offset-less --now is read in the profile's zone
        "makedirs <folder>",
        "stat ledger.toml",                  # the mode and owner a new lock file takes (issue 14)
        "open_fd ledger.toml.lock", "fstat ledger.toml.lock",  # O_NOFOLLOW, a regular file only
        "flock ledger.toml.lock",
        "pread ledger.toml.lock",            # it holds nothing but a pid: never truncate what is not a lock
        "ftruncate ledger.toml.lock", "pwrite ledger.toml.lock",
        "read_file ledger.toml",             # re-read under the lock
        "fs_type <folder>", "listdir <folder>",
        "stat ledger.toml",                  # the ledger's mode and owner, for the temporary file
        "open_fd .ledger.toml.tmp", "fstat .ledger.toml.tmp",  # O_EXCL | O_NOFOLLOW, a regular file
        "write .ledger.toml.tmp", "fsync .ledger.toml.tmp", "close .ledger.toml.tmp",
        "replace .ledger.toml.tmp",
        "open_fd <folder>", "fsync <folder>", "close <folder>",
        "close ledger.toml.lock",
    ]


def test_a_log_append_goes_through_the_seam_in_order(make_service, tmp_path):
    """A log append (issue 13): lock, re-read under the lock, the new line written at the end of the
    ledger itself and fsynced, unlock; no temporary file, no rename, no copy of the file."""
    path = tmp_path / "ledger.jsonl"
    make_service(NOW, path=path)
    steps, result = traced(path, OPEN, faultkit.Plan())
    assert result.exit_code == 0
    # (the first read, whole, keeps a checkpoint: through it, the read under the lock is a read of the
    # file a piece at a time)
    piecewise = ["open_fd ledger.jsonl", "fstat ledger.jsonl", "read ledger.jsonl", "read ledger.jsonl",
                 "close ledger.jsonl"]
    assert steps == [
        "read_file ledger.jsonl",
        "makedirs <folder>", "stat ledger.jsonl", "open_fd ledger.jsonl.lock", "fstat ledger.jsonl.lock",
        "flock ledger.jsonl.lock", "pread ledger.jsonl.lock", "ftruncate ledger.jsonl.lock", "pwrite ledger.jsonl.lock",
        *piecewise,                           # re-read under the lock
        "fs_type <folder>",
        "open_fd ledger.jsonl", "pwrite ledger.jsonl", "fsync ledger.jsonl", "close ledger.jsonl",
        "close ledger.jsonl.lock",
    ]


TORN_TAIL = b'{"data":{"aware_at":"2026-03-28T09:30:00+01:00","significance":"undetermi'  # a line cut short


@pytest.mark.parametrize(("err", "torn"), [(errno.EIO, False), (errno.ENOSPC, False), (errno.EIO, True),
                                           (errno.ENOSPC, True)],
                         ids=["EIO", "ENOSPC", "EIO-after-a-torn-tail", "ENOSPC-after-a-torn-tail"])
def test_failing_io_call_n_of_a_log_append_fails_cleanly_and_leaves_old_or_new(tmp_path, make_service, err, torn):
    """Every call of a log append failed in turn: a refused write leaves the log byte-for-byte as it
    was ("nothing was recorded"), a write whose fsync returned is there whole; never a partial line.
    With a torn tail left by a dead writer, the append first cuts it: a failure after the cut leaves
    the log as it was without the torn bytes (never acknowledged), never a half line of its own."""
    base = tmp_path / "base"
    base.mkdir()
    make_service(NOW, path=base / "ledger.jsonl")
    good = (base / "ledger.jsonl").read_bytes()
    if torn:
        (base / "ledger.jsonl").write_bytes(good + TORN_TAIL)
    old = (base / "ledger.jsonl").read_bytes()
    ref = tmp_path / "ref"
    shutil.copytree(base, ref)
    steps, done = traced(ref / "ledger.jsonl", OPEN, faultkit.Plan())
    assert done.exit_code == 0, done.stderr
    assert ("cut before this write" in done.stderr) == torn
    new = (ref / "ledger.jsonl").read_bytes()
    synced = steps.index("fsync ledger.jsonl") + 1
    cut = steps.index("ftruncate ledger.jsonl") + 1 if torn else None
    harmless_log = {"fs_type <folder>", "close ledger.jsonl.lock", "close ledger.jsonl"}
    # the calls that read the log (whole, or a piece at a time through the checkpoint: open, fstat,
    # the reads; its close is harmless): a failure there is a read's (exit 3)
    reading = {n for n, step in enumerate(steps, start=1) if step in ("read_file ledger.jsonl", "read ledger.jsonl")
               or (step in ("open_fd ledger.jsonl", "fstat ledger.jsonl") and "read ledger.jsonl" in steps[n:n + 3])}
    checked = Counter()
    for n in range(1, len(steps) + 1):
        folder = tmp_path / f"n{n:02d}"
        shutil.copytree(base, folder)
        ledger = folder / "ledger.jsonl"
        step = steps[n - 1]
        _, result = traced(ledger, OPEN, faultkit.Plan("fail", n, errno=err))
        where = f"call {n} ({step}) fails with {errno.errorcode[err]}"
        now = ledger.read_bytes()
        if step in harmless_log or (step == "close ledger.jsonl" and n > synced):
            assert result.exit_code == 0 and now == new, (where, result.stderr)
            continue
        # nothing half-written, nothing of the event; the torn tail gone once the append has cut it
        if cut is not None and n >= cut:
            assert now == good, where
            checked["torn tail cut, nothing written"] += 1
        else:
            assert now == old, where
            checked["untouched"] += 1
        if n in reading:
            assert result.exit_code == 3, (where, result.stderr)
        else:
            assert result.exit_code == 7 and "nothing was recorded" in result.stderr, (where, result.stderr)
            assert str(ledger) in result.stderr and os.strerror(err) in result.stderr, (where, result.stderr)
        assert "head:" not in result.stderr and result.stdout == "", where
        again = cli(ledger, *OPEN)  # and the next attempt succeeds, cutting the torn tail if still there
        assert again.exit_code == 0, where
        assert ("cut before this write" in again.stderr) == (now != good), (where, again.stderr)
        assert ledger.read_bytes() == new, where
        assert Service(Store(ledger), at(NOW)).verify()["ok"]
    assert sum(checked.values()) >= 8, checked
    assert (checked["torn tail cut, nothing written"] >= 3) == torn, checked


def test_seam_module_is_the_only_one_touching_files_in_the_ledger_package():
    """No file call in ledger/ bypasses the seam (a bypass would escape fault injection): no
    os.*/fcntl.* file function, no open(), no pathlib I/O method, outside fsio.py."""
    import ast

    os_calls = {"open", "read", "write", "fsync", "fdatasync", "replace", "rename", "unlink", "remove", "close",
                "ftruncate", "pwrite", "pread", "listdir", "scandir", "makedirs", "mkdir", "stat", "lstat"}
    path_calls = {"read_bytes", "write_bytes", "read_text", "write_text", "unlink", "mkdir", "touch", "rename",
                  "replace", "open", "stat", "exists", "iterdir", "glob"}
    allowed = {("store.py", "exists")}  # Store.exists(): a convenience for callers, not part of a write
    root = Path(store_mod.__file__).parent
    for path in sorted(root.glob("*.py")):
        if path.name == "fsio.py":  # the seam itself
            continue
        bypass = []
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            if isinstance(func, ast.Name) and func.id == "open":
                bypass.append("open")
            elif isinstance(func, ast.Attribute):
                owner = func.value.id if isinstance(func.value, ast.Name) else None
                if owner in ("os", "fcntl") and (func.attr in os_calls or owner == "fcntl"):
                    bypass.append(f"{owner}.{func.attr}")
                elif owner not in ("os", "fcntl", "fsio", "self") and func.attr in path_calls \
                        and (path.name, func.attr) not in allowed \
                        and not (func.attr == "replace" and len(node.args) == 2):  # str.replace(old, new)
                    bypass.append(f"{owner or '...'}.{func.attr}")
        assert bypass == [], (path.name, bypass)


# --- stale temporary files --------------------------------------------------------------------


def test_the_next_writer_removes_temporary_files_of_dead_writers_only(make_service, ledger_file):
    make_service(NOW)
    folder = ledger_file.parent
    dead = subprocess.Popen(["true"])
    dead.wait()
    alive = subprocess.Popen(["sleep", "60"])
    try:
        names = {
            "dead": f".ledger.toml.tmp-{dead.pid}", "mine": f".ledger.toml.tmp-{os.getpid()}",
            "alive": f".ledger.toml.tmp-{alive.pid}", "not-a-pid": ".ledger.toml.tmp-abc",
            "other-ledger": f".other.toml.tmp-{dead.pid}", "pid-zero": ".ledger.toml.tmp-0",
        }
        for name in names.values():
            (folder / name).write_bytes(b"half a ledger")
        result = cli(ledger_file, *OPEN)
        assert result.exit_code == 0, result.stderr
        for key in ("dead", "mine", "pid-zero"):
            assert not (folder / names[key]).exists(), key
            assert f"warning: removed {folder / names[key]}, a temporary file left by an interrupted write" \
                in result.stderr
        assert (f"warning: left {folder / names['alive']} in place: process {alive.pid} is still running"
                in result.stderr)
        for key in ("alive", "not-a-pid", "other-ledger"):
            assert (folder / names[key]).exists(), key
        assert result.stderr.count("warning:") == 4
    finally:
        alive.kill()
        alive.wait()


def test_a_refused_command_does_not_touch_the_folder(make_service, ledger_file):
    """Cleaning up belongs to a write; a refused command changes nothing, not even stale files."""
    make_service(NOW)
    stale = ledger_file.parent / ".ledger.toml.tmp-999999999"
    stale.write_bytes(b"x")
    before = ledger_file.read_bytes()
    result = cli(ledger_file, "open", "Future", "--aware", "2026-03-28T13:00")
    assert result.exit_code == 2
    assert stale.exists() and ledger_file.read_bytes() == before


# --- a real full disk -------------------------------------------------------------------------


@contextmanager
def small_tmpfs(where: Path, size: str = "256k"):
    """A real, small file system. CI runs as root: failing to mount is a failure, not a skip."""
    where.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "nis2-full-disk", str(where)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.fail(f"could not mount a tmpfs at {where} (the full-disk test needs root, as in CI): "
                    f"{proc.stderr.strip()}")
    try:
        yield where
    finally:
        if subprocess.run(["umount", str(where)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(where)], capture_output=True)


def fill(path: Path) -> int:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
    total = 0
    try:
        for chunk in (65536, 4096, 1):
            while True:
                try:
                    total += os.write(fd, b"\0" * chunk)
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC, exc
                    break
    finally:
        os.close(fd)
    return total


@pytest.mark.parametrize("fmt", ["toml", "jsonl"])
def test_a_really_full_disk_fails_the_write_with_exit_7_and_keeps_the_ledger(tmp_path, fmt):
    """A real full file system. For a log the event is bigger than the room left in the file's last
    page, so the append really writes part of its line before ENOSPC: the writer cuts the log back
    to its previous end (guards against a half line left by a full disk, taskwarrior#2264)."""
    with small_tmpfs(tmp_path / "disk") as disk:
        assert fsio.fs_type(disk) == "tmpfs"  # the real detection, on a real mount
        ledger = disk / f"ledger.{fmt}"
        assert cli(ledger, *INIT).exit_code == 0
        for i in range(3):
            assert cli(ledger, "open", f"Incident {i}", "--aware", "2026-03-28T10:00").exit_code == 0
        before = ledger.read_bytes()
        lock_inode = (disk / f"{ledger.name}.lock").stat().st_ino
        assert fill(disk / "filler") > 0

        big = [*OPEN, "--summary", "x" * 9000]  # more than a page: it cannot fit in the file's last page
        result = cli(ledger, *big)
        assert result.exit_code == 7, result.stderr
        assert result.stderr.startswith(f"error: {ledger}")
        assert "(No space left on device)" in result.stderr
        assert "nothing was recorded" in result.stderr and "recorded INC" not in result.stderr
        assert result.stdout == ""
        assert ledger.read_bytes() == before
        assert leftovers(disk) == []
        assert (disk / f"{ledger.name}.lock").stat().st_ino == lock_inode
        check = cli(ledger, "verify")
        assert check.exit_code == 0 and "4 events" in check.stdout

        other = disk / f"other.{fmt}"  # a new ledger on a full disk is not created either
        result = cli(other, *INIT)
        assert result.exit_code == 7, result.stderr
        assert "No space left on device" in result.stderr and "nothing was recorded" in result.stderr
        assert not other.exists()

        (disk / "filler").unlink()
        result = cli(ledger, *big)
        assert result.exit_code == 0, result.stderr
        assert "recorded INC-2026-004" in result.stderr and "warning" not in result.stderr
        assert leftovers(disk) == []
        assert cli(ledger, "verify").exit_code == 0


def test_a_full_disk_really_cuts_a_log_append_short(tmp_path, monkeypatch):
    """The full-disk test above proves something only if the kernel accepted part of the line: seen
    through the seam, the first pwrite of the line writes fewer bytes than asked, then ENOSPC."""
    with small_tmpfs(tmp_path / "disk") as disk:
        ledger = disk / "ledger.jsonl"
        assert cli(ledger, *INIT).exit_code == 0
        assert fill(disk / "filler") > 0
        real, seen = fsio.pwrite, []

        def pwrite(fd, data, offset):
            try:
                written = real(fd, data, offset)
            except OSError as exc:
                seen.append(exc.errno)
                raise
            seen.append((len(data), written))
            return written

        monkeypatch.setattr(fsio, "pwrite", pwrite)
        before = ledger.read_bytes()
        result = cli(ledger, *OPEN, "--summary", "x" * 9000)
        assert result.exit_code == 7, result.stderr
        lines = [s for s in seen if s == errno.ENOSPC or s[0] > 1000]  # the lock's pid write is short
        assert len(lines) == 2 and 0 < lines[0][1] < lines[0][0] and lines[1] == errno.ENOSPC, seen
        assert ledger.read_bytes() == before


# --- network file systems ---------------------------------------------------------------------

MOUNTS = r"""/dev/vda / ext4 rw,relatime 0 0
proc /proc proc rw 0 0
srv:/export /mnt/share nfs4 rw,vers=4.2 0 0
//nas/dpo /mnt/share/cifs cifs rw 0 0
tmpfs /mnt/share/cifs/local tmpfs rw 0 0
me@host:/x /home/rssi/My\040Ledgers fuse.sshfs rw 0 0
/dev/vdb /mnt/over ext4 rw 0 0
srv:/over /mnt/over nfs rw 0 0
"""


@pytest.mark.parametrize(("path", "kind"), [
    ("/", "ext4"), ("/var/lib/nis2", "ext4"),
    ("/mnt/share", "nfs4"), ("/mnt/share/ledgers", "nfs4"), ("/mnt/shared", "ext4"),
    ("/mnt/share/cifs/x", "cifs"), ("/mnt/share/cifs/local/x", "tmpfs"),
    ("/home/rssi/My Ledgers/chu", "fuse.sshfs"), ("/home/rssi/My", "ext4"),
    ("/mnt/over/x", "nfs"),  # mounted over: the last line wins
])
def test_mount_type_finds_the_mount_holding_a_folder(path, kind):
    assert fsio.mount_type(path, MOUNTS) == kind


def test_network_file_system_types_are_known():
    for kind in ("nfs", "nfs4", "cifs", "smb3", "fuse.sshfs"):
        assert kind in fsio.NETWORK_FS
    for kind in ("ext4", "xfs", "btrfs", "tmpfs", "zfs", "apfs", "overlay"):
        assert kind not in fsio.NETWORK_FS


@pytest.mark.parametrize("kind", ["nfs", "nfs4", "cifs", "smb3", "fuse.sshfs"])
def test_a_ledger_on_a_network_file_system_is_written_with_a_warning(make_service, ledger_file, monkeypatch, kind):
    """Our choice (README, What we promise): warn, do not refuse. At 03:00 in a ransomware attack a
    refused record is worse than a record whose lock is not guaranteed; the warning says what to do."""
    make_service(NOW)
    seen = []
    monkeypatch.setattr(fsio, "fs_type", lambda folder: seen.append(Path(folder)) or kind)
    result = cli(ledger_file, *OPEN)
    assert result.exit_code == 0, result.stderr
    assert seen == [ledger_file.parent]
    assert (f"warning: {ledger_file} is on a network file system ({kind}): the write lock and the atomic rename "
            "are not guaranteed there, so two writers or a crash may lose events; keep the ledger on a local "
            "disk (README: What we promise about your data)") in result.stderr
    assert "recorded INC-2026-001" in result.stderr
    assert Service(Store(ledger_file), at(NOW)).verify()["events"] == 2


@pytest.mark.parametrize("detected", ["ext4", "tmpfs", None, OSError(errno.EIO, "Input/output error")])
def test_a_local_or_unknown_file_system_gives_no_warning(make_service, ledger_file, monkeypatch, detected):
    make_service(NOW)

    def fs_type(folder):
        if isinstance(detected, Exception):
            raise detected
        return detected

    monkeypatch.setattr(fsio, "fs_type", fs_type)
    result = cli(ledger_file, *OPEN)
    assert result.exit_code == 0, result.stderr
    assert "warning" not in result.stderr


def test_init_on_a_network_file_system_warns_too(ledger_file, monkeypatch):
    monkeypatch.setattr(fsio, "fs_type", lambda folder: "nfs4")
    result = cli(ledger_file, *INIT)
    assert result.exit_code == 0, result.stderr
    assert f"warning: {ledger_file} is on a network file system (nfs4)" in result.stderr


# --- bugs the tests above found, one test each -----------------------------------------------


def fail_step(ledger: Path, args: list[str], step: str, err: int = errno.EIO):
    """Run `args` with the first call named `step` failing with `err` (call numbers from a dry run on a copy)."""
    probe = ledger.parent / "probe"
    shutil.copytree(ledger.parent, probe, ignore=shutil.ignore_patterns("probe"))
    steps, _ = traced(probe / ledger.name, args, faultkit.Plan())
    shutil.rmtree(probe)
    return traced(ledger, args, faultkit.Plan("fail", steps.index(step) + 1, errno=err))[1]


def test_bug_a_failed_pid_write_into_the_lock_file_was_an_internal_error(make_service, ledger_file):
    """Found by the call-N test: `os.ftruncate`/`os.pwrite` of the holder's pid were outside any error
    handling, so ENOSPC there ended in "internal error" (exit 70) instead of exit 7."""
    make_service(NOW)
    before = ledger_file.read_bytes()
    for step in ("ftruncate ledger.toml.lock", "pwrite ledger.toml.lock"):
        result = fail_step(ledger_file, OPEN, step, errno.ENOSPC)
        assert result.exit_code == 7, result.stderr
        assert result.stderr == (f"error: {ledger_file}.lock: cannot write this process's id into the lock file "
                                 "(No space left on device); nothing was recorded\n")
        assert ledger_file.read_bytes() == before


def test_bug_a_failed_close_of_the_lock_file_after_a_good_write_was_an_internal_error(make_service, ledger_file):
    """Found by the call-N test: an error closing the lock descriptor (after the ledger was renamed and
    synced) escaped as OSError (exit 70) although the event was safely recorded. Closing releases the
    flock whatever close returns, and nothing was written through that descriptor that matters."""
    make_service(NOW)
    result = fail_step(ledger_file, OPEN, "close ledger.toml.lock")
    assert result.exit_code == 0, result.stderr
    assert "recorded INC-2026-001" in result.stderr
    assert len(Store(ledger_file).read().events) == 2


def test_bug_a_failed_close_of_the_synced_folder_was_reported_as_a_failed_write(make_service, ledger_file):
    """Found by the call-N test: closing the folder's read-only descriptor after its fsync returned was
    reported as "the folder could not be synced" (exit 7) for an event that was durably recorded."""
    make_service(NOW)
    result = fail_step(ledger_file, OPEN, "close <folder>")
    assert result.exit_code == 0, result.stderr
    assert "recorded INC-2026-001" in result.stderr and "error" not in result.stderr


def test_bug_init_where_the_ledger_cannot_be_checked_was_an_internal_error(ledger_file):
    """Found by the call-N test: `init` asked `Path.exists()`, which lets EIO through as OSError (exit 70);
    now it is exit 7 and nothing is created."""
    result = fail_step(ledger_file, INIT, "stat ledger.toml")
    assert result.exit_code == 7, result.stderr
    # (issue 14: the first look at the ledger is now for the mode and owner its lock file takes)
    assert result.stderr == (f"error: {ledger_file}: cannot read its mode and owner, for its lock file "
                             "(Input/output error); nothing was recorded\n")
    assert not ledger_file.exists()


def test_bug_a_folder_fsync_failure_invited_recording_the_event_twice(make_service, ledger_file):
    """Found by the call-N test: after the rename, a failed folder fsync said "the ledger was replaced ...
    Run `verify`" without saying the event was in the file; `verify` cannot tell, and a retry recorded
    the incident twice. Now the message gives the new head and says to check before retrying."""
    make_service(NOW)
    result = fail_step(ledger_file, OPEN, "fsync <folder>")
    assert result.exit_code == 7
    head = Store(ledger_file).read().head
    assert result.stderr == (f"error: {ledger_file}: the change was written (head {head}) but the folder could "
                             "not be synced (Input/output error), so a power cut may still lose it; check with "
                             "`list` or `verify` before retrying, so as not to record it twice\n")


def test_bug_a_failed_unlink_of_the_temporary_file_was_not_mentioned(make_service, ledger_file, monkeypatch):
    """Two faults at once: the write fails, then removing the temporary file fails too. The message
    says the file is left behind, and the next writer removes it and says so."""
    make_service(NOW)
    real_unlink = fsio.unlink
    with pytest.MonkeyPatch.context() as m:
        m.setattr(fsio, "fsync", lambda fd: (_ for _ in ()).throw(OSError(errno.EIO, "Input/output error")))
        m.setattr(fsio, "unlink", lambda path: (_ for _ in ()).throw(OSError(errno.EIO, "Input/output error")))
        result = cli(ledger_file, *OPEN)
    assert fsio.unlink is real_unlink
    assert result.exit_code == 7
    tmp = f".ledger.toml.tmp-{os.getpid()}"
    assert result.stderr == (f"error: {ledger_file}: could not write the ledger (Input/output error); nothing was "
                             f"recorded and the previous file is intact; the temporary file {tmp} is left behind "
                             "and the next write removes it\n")
    assert leftovers(ledger_file.parent) == [tmp]
    again = cli(ledger_file, *OPEN)
    assert again.exit_code == 0
    assert f"warning: removed {ledger_file.parent / tmp}, a temporary file left by an interrupted write" in again.stderr
    assert leftovers(ledger_file.parent) == []
