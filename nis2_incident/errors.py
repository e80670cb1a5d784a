"""The one error hierarchy. Each class carries its exit code; `cli` turns them into a line on stderr.

Exit codes (documented in the README, contract for scripts):
  0 ok · 1 `check`: due soon / `exercise check`: a check failed · 2 bad input or usage
  3 ledger unreadable, invalid or failing verification · 4 unknown incident or stage
  5 refused by the record's state (e.g. ledger already exists) · 6 lock timeout
  7 could not write (I/O error, disk full) · 70 internal error (a bug: rerun with --debug)
"""

from __future__ import annotations


class Nis2IncidentError(Exception):
    exit_code = 70

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class InputError(Nis2IncidentError):
    """Bad user input: a WHEN, an option value, a missing option."""

    exit_code = 2


class DraftTemplateError(InputError):
    """A draft template cannot be found, parsed or rendered: names the file and the line (exit 2)."""


class LedgerError(Nis2IncidentError):
    """The ledger cannot be read, parsed, upgraded or verified."""

    exit_code = 3


class LedgerMissing(LedgerError):
    pass


class IntegrityError(LedgerError):
    """The hash chain or the profile does not match: the record was altered."""

    def __init__(self, message: str, seq: int | None = None):
        super().__init__(message)
        self.seq = seq


class NotFound(Nis2IncidentError):
    exit_code = 4


class StateError(Nis2IncidentError):
    """The request contradicts the record (e.g. init on an existing ledger)."""

    exit_code = 5


class LockTimeout(Nis2IncidentError):
    exit_code = 6


class WriteError(Nis2IncidentError):
    exit_code = 7


class HeadMoved(WriteError):
    """A PostgreSQL append found another head than the one its events were sealed after (a client
    that skipped the lock appended first): the write re-reads and retries (`Service._write`)."""


class ReadOnlyRole(WriteError):
    """A PostgreSQL role that may read the ledger but not write it ran a write command (exit 7)."""


class ExerciseError(Nis2IncidentError):
    """An exercise file is invalid (unreadable, bad TOML, unknown key, bad time, out of order, refused
    action): names the file, the line and the key, and why (exit 3, as the README's Tabletop exercises says)."""

    exit_code = 3

    def __init__(self, message: str, file: str | None = None, line: int | None = None, key: str | None = None):
        where = ":".join(str(p) for p in (file, line) if p is not None)
        super().__init__(f"{where}: {message}" if where else message)
        self.reason, self.file, self.line, self.key = message, file, line, key


class ClockNotStarted(InputError):
    """A filing before its stage's clock starts (SPEC §8; issue 12): refused, exit 2. An exercise
    reports it as invalid at the action's `at` (the time that is wrong)."""
