"""What `check` has announced: a small JSON file beside the ledger, `<ledger>.check-state.json`.

It is not part of the audit record and is never written into the ledger: losing or deleting it only
makes `check` announce the current findings once more. It is written like the ledger (a temporary
file in the same folder, fsync, `os.replace`, fsync of the folder), under its own `flock` on
`<state>.lock` (a sidecar that is never deleted; never the ledger's write lock), and the lock is held
from reading the state to writing it back, so two `check` runs at once never announce a step twice.

Content: `{"version": 1, "ledger": PATH, "updated_at": RFC 3339, "announced": {KEY: ENTRY}}` where KEY
names an obligation (`INC-2026-001 nis2.early_warning`) and ENTRY is what `alerts.entry` records
(`anchor`, `step`, `step_at`, `now`). A file that cannot be read is reported and treated as empty:
announcing again is better than staying silent.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import time
from contextlib import contextmanager
from pathlib import Path

from .errors import LockTimeout, WriteError

VERSION = 1
SUFFIX = ".check-state.json"


def default_path(ledger: Path) -> Path:
    return ledger.with_name(ledger.name + SUFFIX)


class StateFile:
    def __init__(self, path: Path | str, lock_timeout: float = 10.0):
        self.path = Path(path)
        self.lock_timeout = lock_timeout

    @property
    def lock_path(self) -> Path:
        return self.path.with_name(self.path.name + ".lock")

    @contextmanager
    def locked(self):
        """Hold the state's own flock. LockTimeout after `lock_timeout` s, WriteError if it cannot be opened."""
        try:
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise WriteError(f"{self.lock_path}: cannot open the check-state lock: {exc.strerror}") from None
        try:
            deadline = time.monotonic() + self.lock_timeout
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as exc:
                    if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                        raise WriteError(f"{self.lock_path}: cannot lock: {exc.strerror}") from None
                    if time.monotonic() >= deadline:
                        raise LockTimeout(f"{self.lock_path}: another `check` held the check-state lock for "
                                          f"{self.lock_timeout:g} s") from None
                    time.sleep(0.01)
            yield
        finally:
            os.close(fd)  # releases the flock; the lock file stays

    def load(self) -> tuple[dict, str | None]:
        """(announced entries, a warning for stderr or None). Missing: empty, no warning."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return {}, None
        except OSError as exc:
            return {}, f"{self.path}: cannot read the check state ({exc.strerror}); announcing as if new"
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            return {}, f"{self.path}: the check state is not valid JSON ({exc}); announcing as if new, then rewriting it"
        if not isinstance(data, dict) or not isinstance(data.get("announced"), dict):
            return {}, f"{self.path}: the check state has no `announced` table; announcing as if new, then rewriting it"
        if data.get("version") != VERSION:
            return {}, f"{self.path}: check state version {data.get('version')!r} is not {VERSION}; announcing as if new"
        return data["announced"], None

    def save(self, announced: dict, ledger: Path, now_text: str) -> None:
        payload = json.dumps({"version": VERSION, "ledger": str(ledger), "updated_at": now_text,
                              "announced": announced}, ensure_ascii=False, indent=1, sort_keys=True).encode() + b"\n"
        from .errors import InputError
        from .fileout import write_atomic

        try:
            write_atomic(self.path, payload)
        except (InputError, WriteError) as exc:
            raise WriteError(f"{self.path}: could not write the check state ({exc.message}); "
                             "these findings will be announced again") from None
