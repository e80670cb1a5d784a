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

import json
from pathlib import Path

from .errors import WriteError
from .ledger import safefile
from .ledger.lock import FileLock

VERSION = 1
SUFFIX = ".check-state.json"


def default_path(ledger: Path) -> Path:
    """Beside a ledger file; for a PostgreSQL ledger (issue 15), which has no folder, in the user's
    own state folder, one file per ledger (named by the SHA-256 of its connection string without
    password): each host that runs `check` remembers what it announced."""
    if hasattr(ledger, "conninfo"):
        import hashlib

        import platformdirs

        key = hashlib.sha256(ledger.key.encode()).hexdigest()[:32]
        folder = platformdirs.user_state_path("nis2-incident", appauthor=False) / "check-state"
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError:
            pass  # the save says why it cannot write there
        return folder / f"{key}{SUFFIX}"
    return ledger.with_name(ledger.name + SUFFIX)


class StateFile:
    def __init__(self, path: Path | str, lock_timeout: float = 10.0, like: Path | None = None):
        """`like`: the ledger, whose mode and owner the state and its lock take (issue 14)."""
        self.path = Path(path)
        self.lock_timeout = lock_timeout
        self.like = like
        self.notices: list[str] = []  # for stderr, from the last save (stale temporary files removed)

    @property
    def lock_path(self) -> Path:
        return self.path.with_name(self.path.name + ".lock")

    def locked(self):
        """Hold the state's own lock (`ledger.lock.FileLock`, as the ledger's). LockTimeout after
        `lock_timeout` s, WriteError if it cannot be opened (a link, a FIFO: refused, never followed)."""
        return FileLock(self.lock_path, self.lock_timeout, what="the check-state lock", like=self.like,
                        timed_out=lambda holder: (f"{self.lock_path}: another `check` ({holder}) held the check-state "
                                                  f"lock for {self.lock_timeout:g} s")).held()

    def load(self) -> tuple[dict, str | None]:
        """(announced entries, a warning for stderr or None). Missing: empty, no warning. Anything
        damaged (not a regular file, a link, a FIFO, not JSON, nested too deep, entries of the wrong
        shape) is ignored, with a warning: announcing again is better than staying silent (issue 14)."""
        try:
            raw = safefile.read_regular(self.path)
        except FileNotFoundError:
            return {}, None
        except OSError as exc:
            return {}, f"{self.path}: cannot read the check state ({exc.strerror or exc}); announcing as if new"
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            return {}, f"{self.path}: the check state is not valid JSON ({exc}); announcing as if new, then rewriting it"
        except RecursionError:
            return {}, f"{self.path}: the check state is nested too deep to be a check state; announcing as if new, then rewriting it"
        if not isinstance(data, dict) or not isinstance(data.get("announced"), dict):
            return {}, f"{self.path}: the check state has no `announced` table; announcing as if new, then rewriting it"
        if data.get("version") != VERSION:
            return {}, f"{self.path}: check state version {data.get('version')!r} is not {VERSION}; announcing as if new"
        announced = {k: v for k, v in data["announced"].items() if _entry_shape(v)}
        if len(announced) != len(data["announced"]):
            return announced, (f"{self.path}: {len(data['announced']) - len(announced)} check-state entr(y/ies) of the "
                               "wrong shape ignored; announcing those findings as if new")
        return announced, None

    def save(self, announced: dict, ledger: Path, now_text: str) -> None:
        """Write the state atomically (`safefile.write_atomic`: O_EXCL | O_NOFOLLOW temporary file with
        the ledger's mode and owner, fsync, rename), removing temporary files of `check`s that died."""
        payload = json.dumps({"version": VERSION, "ledger": str(ledger), "updated_at": now_text,
                              "announced": announced}, ensure_ascii=False, indent=1, sort_keys=True).encode() + b"\n"
        self.notices = []
        try:
            like = safefile.reference(self.like) if self.like is not None else None
            folder = self.path.parent if str(self.path.parent) else Path(".")
            if not folder.is_dir():
                raise OSError(f"folder {folder} does not exist")
            safefile.write_atomic(self.path, payload, like, self.notices)
        except OSError as exc:
            raise WriteError(f"{self.path}: could not write the check state ({exc.strerror or exc}); "
                             "these findings will be announced again") from None


def _entry_shape(value) -> bool:
    """An entry `alerts.entry` writes: a table of short strings (anything else is ignored, not trusted)."""
    return isinstance(value, dict) and all(v is None or (isinstance(v, str) and len(v) <= 200) for v in value.values())
