"""Atomic writes of output files (`draft --output`, `export --output`).

A temporary file in the same folder, written in full and fsynced, then renamed over the target and the
folder fsynced: a reader (a mail client attaching the draft, a calendar re-importing the feed) sees the
old file or the new one, never half of one. A failure leaves the old file as it was and raises
WriteError (exit 7). The ledger has its own writer (`ledger/store.py`), with its lock.

Issue 14: a target that is the ledger or one of its own files (its lock, `check` state,
temporary files), by device and inode and through links, is refused (InputError, exit 2) before
anything is written; the temporary file is created with `O_EXCL | O_NOFOLLOW` and takes the ledger's
permission bits (what is drawn from a private ledger stays private); `ledger/safefile.py` does both.
"""

from __future__ import annotations

from pathlib import Path

from .errors import InputError, WriteError
from .ledger import safefile


def write_atomic(path: str | Path, payload, ledger: Path | None = None) -> Path:
    """Write `payload` (bytes, or an iterable of bytes written as they come) to `path` atomically.
    `ledger`: the ledger the content comes from; refused if `path` is one of its files, else its
    permission bits are the file's."""
    target = Path(path).expanduser()
    if target.is_dir():
        raise InputError(f"--output {target}: is a folder; accepted: a file name")
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise InputError(f"--output {target}: folder {folder} does not exist; accepted: a file in an existing folder")
    like = None
    if ledger is not None and not hasattr(ledger, "conninfo"):  # a file ledger (not PostgreSQL, issue 15)
        which = safefile.own_file(target, ledger)
        if which is not None:
            what = "the ledger itself" if which == ledger.name else f"the ledger's own file {which}"
            raise InputError(f"--output {target}: is {what} ({ledger}), which this would destroy; accepted: "
                             "another file")
        try:
            like = safefile.reference(ledger)
        except OSError:
            like = None
    try:  # the ledger's mode, not its owner: the output belongs to whoever asked for it
        safefile.write_atomic(target, payload, like, owner=False)
    except OSError as exc:  # a failed write; the previous file is as it was
        raise WriteError(f"{target}: could not write ({exc.strerror or exc}); the previous file, if any, "
                         "is unchanged") from None
    return target

