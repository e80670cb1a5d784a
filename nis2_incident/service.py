"""Use cases: read the ledger, fold it, compute obligations; or append events under the lock.

Every function takes `now`; none reads the clock. Input times arrive as the user typed them and are
parsed here, in the profile's zone read under the lock, so the CLI and the exercise replay share one
path. Errors are raised before anything is appended, so a refused command writes nothing.

One read path (`_read`: the store's verified events, folded) and one write path (`_write`: under the
store's lock, read, let the use case append events, `store.write` them), whatever the format.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import hashlib
import json
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Callable, Iterator

from . import checkpoint, deadlines
from . import timeutil as tu
from .deadlines import Obligation
from .errors import InputError, IntegrityError, NotFound, StateError
from .ledger import Ledger, Store
from .ledger import chain, log
from .model import EVENT_TYPES, FACT_FIELDS, PATIENT_HARM, SIGNIFICANCE, Incident, State, fold
from .regimes import Regime, builtin
from .roles import recorded
from .regimes import load as load_regimes

if TYPE_CHECKING:
    from .profile import Profile

@dataclass
class IncidentView:
    incident: Incident
    obligations: list[Obligation]
    profile: Profile

    @property
    def open_obligations(self) -> list[Obligation]:
        """Pending and overdue obligations, most urgent first. A progress report that is only
        conditional is left out: the final report due at the same instant stands for it."""
        return sorted((o for o in self.obligations if o.is_open and o.due_kind != "conditional"),
                      key=deadlines.sort_key)

    @property
    def next_obligation(self) -> Obligation | None:
        ranked = self.open_obligations
        return ranked[0] if ranked else None


@dataclass
class Outcome:
    """What a write returns: the result, the new head, and warnings for stderr."""

    value: object
    head: str
    warnings: list[str] = field(default_factory=list)


def folded(ledger: Ledger, source: str = "ledger") -> State:
    """Fold the events and check that the top-level profile is the one the events set."""
    state = fold(ledger.events)
    check_top_profile(ledger.profile, state, source)
    return state


def check_top_profile(top: dict, state: State, source: str) -> None:
    """The top-level profile (the current view) must be the one the events set."""
    from .profile_schema import ProfileInvalid, validate  # (not pydantic: a read, profile_schema.py)

    expected = state.profile.model_dump() if state.profile else {}
    try:
        # compared as validated profiles, so fields added later with their defaults still match
        top = validate(top) if state.profile else top
    except ProfileInvalid:
        pass
    if top != expected:
        keys = sorted(k for k in set(top) | set(expected) if top.get(k) != expected.get(k))
        raise IntegrityError(
            f"{source}: the top-level profile does not match the profile set by the events "
            f"(differs in: {', '.join(keys) or 'shape'}); it was edited outside nis2-incident", None)


# not_in_force (issue 17, `--not-in-force ignore`) depends on aware-at and the profile, never on the clock
SETTLED_STATES = ("met", "late", "not_applicable", "not_in_force")
DOCUMENT_ADVICE = 1000  # incidents past which a document ledger suggests the log (issue 13)
_RUN = 1 << 20  # the JSON export copies a log's lines about this many bytes at a time (`Service.record`)


# What a `settled` mark is made under besides the profile and the regimes: the release, and this
# number, to raise with any change to what decides whether an incident is settled (how `deadlines`
# computes an obligation's state, SETTLED_STATES, `settled_at`), so that marks made by the code before
# it are not taken (they are then ignored and the obligations computed). Not the source's bytes: the
# mark is in the record, and the shipped example ledgers and every copy must not change with each edit.
MARK_VERSION = 1


def _deciding_code() -> str:
    from . import __version__

    return f"nis2-incident {__version__} settled-mark {MARK_VERSION}"


def rules_mark(profile, regimes) -> str | None:
    """The `settled` mark of a `closed` event (issue 13): a digest of what an incident's obligations
    are computed from besides its own events (the deciding code, the profile, every version of every
    regime in use). An incident whose last event is a `closed` carrying the mark of the rules in force
    is settled without computing its obligations; any other mark (another profile, other regime
    files, another release or MARK_VERSION) is ignored and the obligations computed, as for a ledger
    written before marks existed. None without a profile."""
    code = _deciding_code()
    if not code or profile is None:
        return None
    rules = repr(sorted(getattr(regimes, "versions", regimes).items()))
    import orjson  # the profile as the checkpoint keeps it (a read through it has that one)

    stated = orjson.dumps(profile.model_dump(), option=orjson.OPT_SORT_KEYS, default=str)
    digest = hashlib.sha256(code.encode() + b"\0" + stated + b"\0" + rules.encode("utf-8", "replace"))
    return digest.hexdigest()[:32]


def settled_at(inc: Incident, profile, regimes, now: datetime, closing: bool = False) -> bool:
    """Closed (or being closed: `closing`), and every obligation met, late, not applicable or not in
    force at `now`: states that no longer change with the clock (only with a later event of the
    incident, the profile or the rules). (Closing itself changes no obligation.)"""
    return (closing or inc.closed_at is not None) and all(
        o.state in SETTLED_STATES for o in deadlines.compute(inc, profile, regimes, now))


class _NeedFull(Exception):
    """A write through the checkpoint touched an incident it does not hold: redo it on the whole ledger."""


class _Unsure(Exception):
    """The survey met what only the whole read's fold can judge: read whole, which says what is wrong."""


_INCIDENT_KINDS = frozenset(EVENT_TYPES) - {"profile_set"}


class _Survey:
    """What a read without a checkpoint (`Service._surveyed`) keeps of each event as `log.scan` checks
    it, instead of folding it: each incident's number (from its `opened` line, as the fold numbers it),
    the `settled` mark of each incident whose last event is a marked `closed`, the `profile_set` events
    (folded after), and the latest `recorded_at` of each offset suffix (times in the one form the
    writer gives them, `2026-03-28T10:00:00+01:00`, with the same suffix compare as text: only one of
    each is parsed; any other form is parsed)."""

    __slots__ = ("index", "marks", "profile_events", "latest", "other")

    def __init__(self):
        self.index: dict[str, int] = {}
        self.marks: dict[str, str] = {}
        self.profile_events: list[dict] = []
        self.latest: dict[str, str] = {}
        self.other: list[str] = []

    def take(self, ev: dict) -> None:
        stamp, ident = ev["recorded_at"], ev.get("incident")
        if len(stamp) == 25 and stamp[10] == "T" and stamp[19] in "+-":  # as `_stamp` writes it
            zone = stamp[-6:]
            if stamp > self.latest.get(zone, ""):
                self.latest[zone] = stamp
        else:  # any other form `parse_instant` accepts (a space, a fraction, Z): compared parsed
            self.other.append(stamp)
        data, kind = ev.get("data"), ev["type"]
        if kind == "profile_set" or ident is None:
            if kind != "profile_set" or ident is not None:
                raise _Unsure  # (the fold refuses both: the whole read says so)
            self.profile_events.append(ev)
            return
        if type(data) is not dict or not self.profile_events or kind not in _INCIDENT_KINDS:
            raise _Unsure  # (an unknown type: the whole read names it)
        if kind == "opened":
            number = data.get("number", len(self.index) + 1)
            if ident in self.index or type(number) is not int:
                raise _Unsure
            self.index[ident] = number
            return
        if ident not in self.index:
            raise _Unsure
        mark = data.get("settled") if kind == "closed" else None
        if type(mark) is str:
            self.marks[ident] = mark
        elif ident in self.marks:
            del self.marks[ident]


class _Whole:
    """The log's bytes as a read took them: whole."""

    def __init__(self, raw: bytes):
        self.whole = raw

    def line(self, start: int) -> bytes:
        return self.whole[start:self.whole.index(b"\n", start)]

    def lines(self, starts: list[int], digest: str) -> list[bytes]:
        """The lines that start at `starts` (bytes this read verified)."""
        return [self.line(start) for start in starts]

    def last(self, offset: int) -> bytes:
        """The line that ends at `offset` - 1."""
        raw = self.whole
        return raw[raw.rindex(b"\n", 0, offset - 1) + 1:offset - 1]

    def after(self, offset: int) -> tuple[bytes, int]:
        """The bytes that hold the file from `offset` on, and where they begin in the file."""
        return self.whole, 0

    def span(self, start: int, end: int):
        return memoryview(self.whole)[start:end]


class _Pieces:
    """The log's bytes as a read through the checkpoint took them in one pass (`log.through`): the
    prefix's SHA-256, the live incidents' lines, the prefix's last line and every byte after it,
    without holding the file (at 10,000 incidents, 30 MB). What it did not take is read when asked
    for: a settled incident's lines by themselves (`show`), checked against the digest of their
    hashes the checkpoint keeps (`lines`); the whole file (exports, drafts, every incident's text),
    its prefix checked again against the checkpoint's SHA-256, so that what a command shows is always
    what that hash vouches for."""

    def __init__(self, store, offset: int, digest: str, got, raw: bytes | None = None):
        self.store, self.offset, self.digest, self.got = store, offset, digest, got
        self._whole: bytes | None = raw  # (the bytes of a store that gives them whole: these)
        self.checked = offset + len(got.tail)  # the end of the lines verified (`_from_doc`: before a torn tail)

    @property
    def whole(self) -> bytes:
        if self._whole is None:
            raw, got = self.store.read_bytes(), self.got
            offset, checked = self.offset, self.checked
            # (a torn tail after the lines verified may have been cut since, and lines appended, by a write)
            if raw[offset:checked] != got.tail[:checked - offset] \
                    or hashlib.sha256(memoryview(raw)[:offset]).hexdigest() != self.digest:
                raise IntegrityError(f"{self.store.path}: the ledger was rewritten while it was read (its first "
                                     f"{checked} bytes are not those just verified); run the command again", None)
            self._whole = raw
        return self._whole

    def line(self, start: int) -> bytes:
        """A line the pass took (a live incident's, or after the prefix), else from the whole file."""
        got = self.got
        if start in got.lines:
            return got.lines[start]
        if start >= self.offset:
            at = start - self.offset
            return got.tail[at:got.tail.index(b"\n", at)]
        return _Whole(self.whole).line(start)

    def lines(self, starts: list[int], digest: str) -> list[bytes]:
        """A settled incident's lines, read by themselves (`pread`) and taken only if each holds its own
        hash and their hashes give `digest`, the checkpoint's (made from the bytes its prefix's SHA-256
        vouches for): so they are those very lines, even if the file was rewritten since the pass.
        Else the whole file, its prefix checked again."""

        if self._whole is None and all(start < self.offset for start in starts):
            lines = [self.store.line_at(start) for start in starts]
            if all(log.holds_its_hash(line) for line in lines) \
                    and checkpoint.lines_digest([log.line_hash(line) for line in lines]) == digest:
                self.got.lines.update(zip(starts, lines))  # (vouched for now: a checkpoint kept after may take them)
                return lines
        return [self.line(start) for start in starts]

    def last(self, offset: int) -> bytes:
        return self.got.last

    def after(self, offset: int) -> tuple[bytes, int]:
        return self.got.tail, self.offset

    def span(self, start: int, end: int):
        if start >= self.offset:
            return memoryview(self.got.tail)[start - self.offset:end - self.offset]
        return memoryview(self.whole)[start:end]


@lru_cache(maxsize=1)
def code_key() -> str:
    """What a checkpoint's content depends on besides the ledger: this code (the version, and the size
    and time of the modules that fold and decide), so a changed checkout never trusts an older one's."""
    import os
    import sys
    from pathlib import Path

    from . import __version__

    here = Path(__file__).resolve().parent
    parts = [__version__, sys.version]
    for name in ("service.py", "model.py", "profile.py", "deadlines.py", "timeutil.py", "regimes/__init__.py",
                 "ledger/codec.py", "ledger/chain.py", "ledger/store.py", "ledger/log.py", "checkpoint.py",
                 "render/jsonout.py", "exports/__init__.py"):
        try:
            st = os.stat(here / name)
            parts.append(f"{name}:{st.st_size}:{st.st_mtime_ns}")
        except OSError:
            parts.append(f"{name}:-")
    return "/".join(parts)


class Service:
    def __init__(self, store: Store, now: datetime, regimes: dict[str, Regime] | None = None,
                 regimes_dir: str | None = None):
        self.store = store
        self.now = now
        self._regimes = regimes
        self.regimes_dir = regimes_dir  # --regimes; else the profile's regimes_dir
        self._kept: State | None = None  # a state just read, for the next read (see `keep`)
        self._checkpoint_base: dict | None = None  # the checkpoint the last log read started from
        self._log: _Whole | _Pieces | None = None  # the log's bytes as last read
        self._settled_doc: dict | None = None  # the checkpoint (or survey) that says where settled incidents' lines start
        self._computed: dict = {}  # incident id -> (what it was computed for, obligations)
        self.left_out = 0  # events recorded after `now`, left out of the last read ("as of", issue 12)
        self.notify: Callable[[str], None] | None = None  # where to say so (the CLI: a note on stderr)
        self._told: int | None = None
        self._spare = False  # the read under way is for the live incidents' views only (`views`)
        self._mark: tuple | None = None  # ((profile, regimes), `rules_mark` of them), computed once

    @property
    def _raw(self) -> bytes | None:
        """The log's bytes as last read, whole (read now, and checked, if the read did not hold them)."""
        return self._log.whole if self._log is not None else None

    @property
    def regimes(self) -> dict[str, Regime]:
        return self._regimes if self._regimes is not None else builtin()

    def _bind(self, state: State) -> State:
        """Load the user's regime files once the profile is known."""
        if self._regimes is None and state.profile is not None:
            folder = self.regimes_dir or state.profile.regimes_dir
            self._regimes = load_regimes(folder) if folder else builtin()
        return state

    # --- reading -------------------------------------------------------------------------

    def keep(self, state: State) -> None:
        """Let the next read take `state` (just read, e.g. to learn the profile's zone) instead of
        reading the ledger again."""
        self._kept = state

    def _read(self, partial: bool = False, writing: bool = False, keep: bool = False,
              as_of: bool = True, stream: bool = False, hashes: bool = True) -> tuple[Ledger, State]:
        """The one read: the store's events, chain-verified, folded. `partial`: a log may be read
        through its checkpoint (`checkpoint.py`): the lines it vouches for (by the SHA-256 of the
        exact bytes) are not decoded again, only the live incidents are folded, and every line after
        it is verified as usual; the state then reads the rest of the ledger if it is asked for
        something it does not hold (a settled incident, every incident), so results never depend on
        the checkpoint. A read for views that verified more than the checkpoint held writes a new one.
        A log is folded as it is read; its events are kept in `ledger.events` only with `keep` (for
        what needs them: exports, drafts, migration).

        "As of" (issue 12): a read for views (not `writing`, and `as_of`) folds only the events
        recorded at or before `now`; `ledger.events` and its head are then the record as it stood, and
        `notify` says how many events were left out. A write sees every event (and `_event` refuses
        to record in an incident's past). Every check of the chain still covers every line.

        `stream` (`verify`): a log is read a piece at a time (`LogStore.stream`), never held whole,
        and no checkpoint is read or written; `hashes`: keep every event's hash (a kept head)."""
        store = self.store
        instant = self.now if as_of and not writing else None
        self._settled_doc = None
        if store.kind != "log":
            ledger = store.read()
            state = fold(ledger.events, instant)
            self._suggest_the_log(state)
        elif stream:
            raw, self._log = None, None
            state = State(as_of=instant)
            ledger = store.stream(state.apply, hashes=hashes)
        else:
            # a file is read through its checkpoint a piece at a time; a store whose bytes come from
            # elsewhere (PostgreSQL's mirror) gives them whole
            raw = store.read_bytes() if store.gives_whole else None
            done = self._through_checkpoint(raw, writing, instant) if partial and not keep else None
            if done is None:
                raw = store.read_bytes() if raw is None else raw
                self._log = _Whole(raw)
                if partial and not keep:
                    done = self._surveyed(raw, writing, instant)
            if done is not None:
                return done
            state = State(as_of=instant)
            ledger = store.read(raw, apply=state.apply, keep=keep, hashes=hashes)
        if state.left_out:
            return self._past(ledger, state, instant)
        state = self._whole(ledger, state)
        self._checkpoint_base = None
        if store.kind == "log" and partial and not writing and not stream:  # a read for views: keep a checkpoint for the next one
            self._keep_checkpoint(ledger, state, self._log)
        return ledger, state

    def _suggest_the_log(self, state: State) -> None:
        """A document past 1,000 incidents says once (per ledger, per user) that the log is faster."""
        if len(state.incidents) <= DOCUMENT_ADVICE or self.notify is None:
            return
        if checkpoint.first_time(self.store.path, "document-advice"):
            self.notify(f"{self.store.path} holds {len(state.incidents)} incidents: a document is read and written "
                        "whole; the JSON Lines log appends and reads only what changed. Convert it with "
                        f"`nis2-incident ledger migrate {self.store.path} {self.store.path.with_suffix('.jsonl')}` "
                        "(same events, same hashes); this is said once")

    def _past(self, ledger: Ledger, state: State, instant: datetime) -> tuple[Ledger, State]:
        """The record as it stood at `instant` (issue 12): the events recorded by then, their fold,
        and a note saying how many were left out."""
        tz = state.profile.timezone if state.profile is not None else "Europe/Paris"
        if state.profile is None:
            first = ledger.events[0]["recorded_at"] if ledger.events else None
            raise InputError(f"--now {tu.display(instant, tz)} is before the ledger was created"
                             + (f" ({tu.display(tu.parse_instant(first), tz)})" if first else "")
                             + "; accepted: a time at or after it")
        self._bind(state)
        kept = [ev for ev in ledger.events if tu.parse_instant(ev["recorded_at"]) <= instant]
        now_head = ledger.head
        past = Ledger(profile=recorded(state.profile.model_dump()), events=kept, schema_version=ledger.schema_version,
                      tail=ledger.tail, size=ledger.size,
                      base=None if kept else {"seq": state.head_seq, "hash": state.head_hash})
        self.left_out = state.left_out
        if self.notify is not None and self._told != state.left_out:
            self._told = state.left_out  # once, not at every redraw of `status --watch`
            self.notify(f"as of {tu.display(instant, tz)}: {state.left_out} event(s) recorded after it left out "
                        f"(the record then ended at seq {state.head_seq}; it now ends at seq "
                        f"{now_head.split(':')[0]})")
        return past, state

    def _through_checkpoint(self, raw: bytes | None, writing: bool, instant: datetime | None):
        """The read through the log's checkpoint (`checkpoint.py`), if there is one for the log's first
        bytes: the log is read once (`log.through`, a piece at a time; `raw`: the bytes of a store that
        gives them whole), its prefix hashed (unless the store already knows that hash: PostgreSQL's
        mirror, issue 15) and compared with the checkpoint's, the live incidents' lines and the bytes
        after the prefix taken, without holding the file; then `_from_doc`. None (then a read without
        it) when there is no checkpoint, or it is not for these bytes."""

        store = self.store
        doc = checkpoint.load_body(store.path, code_key())
        if doc is None or not isinstance(doc.get("live"), list):
            return None
        try:
            starts = sorted(int(start) for start, _ in doc["live"])
        except (ValueError, TypeError):
            return None
        offset, digest = doc["offset"], doc["prefix_sha256"]
        known = getattr(store, "known_prefix", None)
        known = known[1] if raw is not None and known is not None and known[0] == offset else None
        got = store.through(offset, starts) if raw is None else log.through([raw], offset, starts, known is None)
        if got is None or (known if known is not None else got.hasher.hexdigest()) != digest:
            return None
        # the SHA-256 state of the prefix, so that a checkpoint made after it (a write, new lines read)
        # hashes only the bytes past it (`_keep_checkpoint`: at 10,000 incidents, 16 ms a write)
        doc[checkpoint.HASHER] = got.hasher
        self._log = _Pieces(store, offset, digest, got, raw)
        return self._from_doc(self._log, doc, writing, instant)

    def _surveyed(self, raw: bytes, writing: bool, instant: datetime | None):
        """A read without a checkpoint (issue 13): every line decoded and checked as the whole read
        checks it (`log.scan`: its SHA-256, canonical form, shape and place in the chain), but only the
        lines of incidents that are not settled by their mark (their last line a `closed` carrying
        `rules_mark` of the rules in force) are folded, with the profile's: `_Survey` makes of the log
        what a checkpoint would hold, and the read goes on as through one (`_from_doc`). The fold's own
        checks of a settled incident's events (its facts, their order) are made when it is folded:
        when it is shown, and by `verify`, which folds every line. None (then the whole read, which
        says what is wrong) for a log with no mark of the rules in force, a line that does not verify,
        a fold the survey cannot vouch for (an event before the profile, an incident's event before its
        `opened` line), or events recorded after `instant`: results never depend on it."""
        from .errors import LedgerError

        path = self.store.path
        survey = _Survey()
        try:
            version, start = log.parse_header(raw, path)
            if raw.find(b'"settled":"', start) < 0:
                return None  # no mark at all (a log written before marks): the whole read, at once
            found = log.scan(raw, path, start, version=version, apply=survey.take, keep=False, hashes=False)
            latest = max((tu.parse_instant(stamp) for stamp in (*survey.latest.values(), *survey.other)), default=None)
            if not survey.marks or found.last is None or (instant is not None and latest is not None
                                                          and instant < latest):
                return None
            state = State()
            for ev in survey.profile_events:
                state.apply(ev)
        except (_Unsure, LedgerError, ValueError):
            return None
        self._bind(state)
        mark = self._rules_mark(state)
        settled = {ident for ident, made in survey.marks.items() if made == mark}
        if not settled:
            return None  # marked under other rules (another profile, version, regime files): read whole
        live, lines, hashes = [], {}, {}
        offsets, last = found.offsets, len(found.offsets) - 1
        for k, (start, owner) in enumerate(zip(offsets, found.owners)):
            if owner is None:
                continue
            if owner in settled:
                end = (offsets[k + 1] if k < last else found.end) - 1  # its newline
                lines.setdefault(owner, []).append(start)
                hashes.setdefault(owner, []).append(raw[end - 66:end - 2])  # (`log.line_hash`, not slicing the line)
            else:
                live.append([start, owner])
        doc = {"rules": mark, "offset": found.end, "schema_version": version,
               "head": [found.last["seq"], found.last["hash"]],
               "recorded_max": latest.isoformat() if latest is not None else None,
               "profile": state.profile.model_dump(), "live": live,
               "settled": {ident: checkpoint.entry(starts, hashes[ident]) for ident, starts in lines.items()}}
        index = checkpoint.index_text(survey.index)
        if index is None:
            return None
        doc.update(index)
        return self._from_doc(self._log, doc, writing, instant, surveyed=True)

    def _from_doc(self, src: "_Whole | _Pieces", doc: dict, writing: bool, instant: datetime | None,
                  surveyed: bool = False):
        """The read of a log from what a checkpoint holds (`doc`: one loaded, or one a survey just made of
        the log): the live incidents' lines it names decoded and folded on its profile, every incident's
        id and number from its index, a settled incident's own lines decoded when it is asked for (bytes
        the prefix's SHA-256, or the survey, vouches for), and every line after the prefix verified and
        folded as usual. None (then the whole read) when it does not fit: "as of" a time before what it
        covers, a `profile_set` after it, other rules. A write (`writing`) seals after the log's last
        line; one that needs every incident is redone on the whole ledger (`_NeedFull`)."""
        import orjson  # the lines the checkpoint names: bytes its prefix's SHA-256 vouches for

        from .model import StoredProfile, fold_live

        try:
            head_seq, head_hash = doc["head"]
            recorded_max = tu.parse_instant(doc["recorded_max"])
            if instant is not None and instant < recorded_max:
                return None  # "as of" a time before what it covers: read the ledger itself
            offset = doc["offset"]
            # the head a write seals after is the last line of the prefix itself, not the checkpoint's word
            last = orjson.loads(src.last(offset))
            if [last["seq"], last["hash"]] != [head_seq, head_hash]:
                return None
            live_events = [orjson.loads(src.line(start)) for start, _ in doc["live"]]
            index = checkpoint.index_of(doc)
            profile = StoredProfile(doc["profile"])
            if not isinstance(doc.get("settled", {}), (dict, str)):
                return None
        except (ValueError, KeyError, TypeError, AttributeError):
            return None
        buffer, at = src.after(offset)
        ledger = self.store.read(buffer, start=offset - at, prev=(head_seq, head_hash), version=doc["schema_version"],
                                 at=at)
        src.checked = ledger.tail.end
        if any(ev["type"] == "profile_set" for ev in ledger.events):
            return None  # the profile decides what is live: the whole ledger, then

        def load_all() -> State:
            if writing:
                raise _NeedFull
            return self._read()[1]

        def load_one(ident: str) -> list[dict] | None:
            """A settled incident's own events, from the lines the checkpoint names, instead of
            reading the whole log."""
            try:
                entry = checkpoint.settled_of(doc).get(ident)
                digest = checkpoint.entry_digest(entry) if isinstance(entry, str) else None
                if digest is None:
                    return None
                return [orjson.loads(line) for line in src.lines(checkpoint.entry_starts(entry), digest)]
            except (ValueError, TypeError):  # (a checkpoint not of this writer: its seal held, its text does not)
                return None

        state = fold_live(profile, live_events, index, head_seq, head_hash, load_all, recorded_max,
                          source=str(self.store.path))
        state._load_one = load_one
        self._bind(state)
        if doc.get("rules") != self._rules_mark(state):
            return None  # made under other regime files (or another profile): what is live may differ
        for ev in ledger.events:
            state.apply_at(ev)
        if instant is not None and state.recorded_max is not None and instant < state.recorded_max:
            return None  # the new lines were recorded after `now`: the whole read folds as of it
        self._checkpoint_base = doc
        self._settled_doc = doc
        if (ledger.events or surveyed) and not writing:  # (a write keeps it after its lines: `_after_write`)
            self._keep_checkpoint(ledger, state, src)
        return ledger, state

    def _settled(self, state: State, inc: Incident) -> bool:
        """Closed, and every obligation met, late or not applicable: states that no longer depend on
        the clock, so a settled incident has nothing to show in `check` or `status` at any `now`.
        An incident whose last event is a `closed` marked settled under the rules in force (`rules_mark`,
        written by `conclude` only when this test held then) is settled without computing them."""
        if inc.closed_at is None:
            return False
        mark = state.marks.get(inc.id)
        if mark is not None and mark == self._rules_mark(state):
            return True
        return all(o.state in SETTLED_STATES for o in self._obligations(state, inc))

    def _rules_mark(self, state: State) -> str | None:
        key = (state.profile, self.regimes)
        if self._mark is None or self._mark[0][0] is not key[0] or self._mark[0][1] is not key[1]:
            self._mark = (key, rules_mark(*key))
        return self._mark[1]

    def _keep_checkpoint(self, ledger: Ledger, state: State, src: "_Whole | _Pieces",
                         appended: list[bytes] = ()) -> None:
        """Save the checkpoint of the log's first `ledger.tail.end` bytes (`raw`, just verified) and
        the lines `appended` after them: the live incidents' lines, those of the checkpoint this read
        started from (if any) and those read or written since, less the incidents now settled."""
        tail = ledger.tail
        base = self._checkpoint_base
        if tail is None or (base is None and not tail.offsets):
            return
        end = tail.end
        known = base.get(checkpoint.HASHER) if base is not None else None
        if known is not None and base["offset"] <= end:
            # the checkpoint this read started from hashed raw[:offset] already: go on from there
            hasher = known.copy()
            hasher.update(src.span(base["offset"], end))
        else:
            hasher = hashlib.sha256(src.span(0, end))
        pairs = list(zip(tail.owners, tail.offsets))
        new = ledger.events[len(ledger.events) - len(appended):] if appended else []
        written: dict[int, bytes] = {}  # the hash of each line just appended, by where it starts
        for line, ev in zip(appended, new):
            hasher.update(line)
            pairs.append((ev.get("incident"), end))
            written[end] = log.line_hash(line[:-1])
            end += len(line)
        live = [tuple(x) for x in base["live"]] if base is not None else []
        # each settled incident's line starts, "start,start" as the checkpoint keeps them: only those of
        # the incidents with new lines are parsed (at 10,000 incidents, parsing all took 40 ms a write)
        settled_lines = dict(checkpoint.settled_of(base)) if base is not None else {}
        touched = {owner for owner, _ in pairs if owner is not None}
        for ident in touched & set(settled_lines):  # a settled incident with new lines: live until shown settled
            live += [(start, ident) for start in checkpoint.entry_starts(settled_lines.pop(ident))]
        live += [(start, owner) for owner, start in pairs if owner is not None]
        live.sort()
        settled = set()
        for ident in {i for _, i in live}:
            if self._settled(state, state.incident(ident)):
                settled.add(ident)
                if self._spare:  # a read for the live views only: a settled incident's obligations are
                    self._computed.pop(ident, None)  # not asked again (at 10,000 incidents, about 45 MB)
        newly: dict[str, list[int]] = {}
        for start, ident in live:
            if ident in settled:
                newly.setdefault(ident, []).append(start)
        state.mark_settled(settled | state._settled)  # known now: views need not show them again (`State.live`)
        settled_lines.update((ident, checkpoint.entry(starts, [written.get(start) or log.line_hash(src.line(start))
                                                              for start in starts]))
                             for ident, starts in newly.items())  # (sorted)
        self._settled_doc = {"settled": settled_lines}
        index = checkpoint.index_text(state.numbers)
        if index is None:
            return
        checkpoint.save(self.store.path, {
            "code": code_key(), "rules": self._rules_mark(state), "offset": end, "prefix_sha256": hasher.hexdigest(),
            "schema_version": ledger.schema_version, "head": [state.head_seq, state.head_hash],
            # (to the microsecond: "as of" a --now between it and the next second reads the log itself)
            "recorded_max": state.recorded_max.isoformat() if state.recorded_max is not None else None,
            "profile": state.profile.model_dump(),
            **index,
            "live": [[start, ident] for start, ident in live if ident not in settled],
            # where each settled incident's lines start: `show` of one reads just those (issue 13)
            "settled": checkpoint.settled_text(settled_lines)})

    def _whole(self, ledger: Ledger, state: State | None = None) -> State:
        """The fold of a whole read (`state`, when the store folded as it read), checked."""
        if state is None:
            state = fold(ledger.events)
        if ledger.profile is not None:  # a document's top-level view must be what the events say
            check_top_profile(ledger.profile, state, str(self.store.path))
        if state.profile is None:
            raise IntegrityError(f"{self.store.path}: the ledger has no profile event", None)
        return self._bind(state)

    def state(self, as_of: bool = True) -> State:
        """The ledger folded as of `now` (`as_of=False`: every event, e.g. only to learn the
        profile's zone)."""
        if self._kept is not None:
            state, self._kept = self._kept, None
            return state
        return self._read(partial=True, as_of=as_of, hashes=False)[1]

    def view(self, state: State, inc: Incident, explain: bool = False) -> IncidentView:
        """The incident and its obligations at `now`; `explain`: with the text of their arithmetic
        (only `explain` shows it)."""
        return IncidentView(inc, self._obligations(state, inc, explain), state.profile)

    def _obligations(self, state: State, inc: Incident, explain: bool = False) -> list[Obligation]:
        """The incident's obligations at `now`, computed once per read (the checkpoint's view of what is
        settled and the command's own view ask for the same)."""
        key = (id(inc), self.now, id(state.profile), id(self._regimes), explain)
        cached = self._computed.get(inc.id)
        if cached is not None and cached[0] == key:
            return cached[1]
        obligations = deadlines.compute(inc, state.profile, self.regimes, self.now, explain=explain)
        self._computed[inc.id] = (key, obligations)
        return obligations

    def views(self, live_only: bool = False) -> tuple[State, list[IncidentView]]:
        """Every incident's view; with `live_only`, those of the incidents that can still change with
        time (all but the settled ones), which is all that `check` and `status` show."""
        self._spare = live_only
        try:
            state = self.state()
        finally:
            self._spare = False
        return state, [self.view(state, inc) for inc in (state.live if live_only else state.incidents.values())]

    def each_view(self, state: State):
        """Every incident's view, computed as it is asked for (not all held at once)."""
        return (self.view(state, inc) for inc in state.incidents.values())

    def texts(self, state: State, kind: str, render: Callable[[IncidentView], str],
              encoded: bool = False) -> Iterator[str] | Iterator[bytes]:
        """Every incident's text as `render` makes it from its view (`kind` names what `render` makes,
        e.g. "list-json"), in opening order, made as it is asked for. A settled incident's text is taken
        from the views file (`checkpoint.load_views`) when it was made by the same code, kind, profile
        and regimes for the same last event (its hash, read from the bytes the checkpoint's prefix
        vouches for); so a read of every incident's view computes only those of the live incidents,
        and folds a settled one only when its text is not kept. The texts are the same either way
        (tests/test_checkpoint.py). `encoded`: each text as UTF-8 bytes (a kept one as it is kept:
        not decoded only to be encoded again)."""
        import zlib

        lines = checkpoint.settled_of(self._settled_doc) if self._settled_doc is not None else None
        raw = self._raw if lines is not None else None
        made_text = (lambda inc: render(self.view(state, inc)).encode("utf-8")) if encoded else \
            (lambda inc: render(self.view(state, inc)))
        if lines is None or raw is None or state.profile is None:
            for inc in state.incidents.values():
                yield made_text(inc)
            return
        key = self._views_key(state, kind)
        kept = checkpoint.load_views(self.store.path, kind, key)
        # zlib with a preset dictionary (kept in the file under the empty id, which no incident has):
        # the text of the first settled incident made for the file. The texts of one kind share most of
        # their keys and wording, so at 10,000 incidents (the JSON export's, 140 MB) this compresses in
        # 0.46 s instead of 0.64 (level 1 without), decompresses in 0.17 s instead of 0.23, into 8 MB
        # instead of 26. Without its dictionary, no entry of the file can be read.
        zdict_entry = kept.pop("", None)
        zdict = bytes(zdict_entry[1]) if zdict_entry is not None and zdict_entry[0] == "zdict" else None
        if zdict is None:
            kept = {}
        fresh: dict[str, tuple] = {}
        made, primed = 0, None
        for ident in state.numbers:
            starts = lines.get(ident)
            if starts is None:
                yield made_text(state.incident(ident))
                continue
            last = checkpoint.entry_starts(starts)[-1]
            end = raw.find(b"\n", last)
            digest = raw[end - 66:end - 2].decode("ascii", "replace")
            entry = kept.get(ident)
            text = None
            if entry is not None and entry[0] == digest:
                try:
                    unpack = zlib.decompressobj(zdict=zdict)
                    text = unpack.decompress(entry[1])
                    if not unpack.eof or unpack.unused_data:  # cut short, or more than one stream
                        text = None
                    elif not encoded:
                        text = text.decode("utf-8")
                except (zlib.error, UnicodeDecodeError):
                    text = None
            if text is None:
                held = state.holds(ident)
                text = made_text(state.incident(ident))
                if not held:  # folded for its text only: let it go (at 10,000 incidents, about 80 MB held)
                    state.release(ident)
                    self._computed.pop(ident, None)
                # zlib (standard library), level 2 with the dictionary: the file is held in memory
                # while it is read, so it is kept small
                data = text if encoded else text.encode("utf-8")
                if zdict is None:
                    zdict = data[-32768:]  # (zlib's window: 32 KB)
                if primed is None:  # made once and copied for each text: priming with the dictionary
                    primed = zlib.compressobj(2, zlib.DEFLATED, 15, 9, zlib.Z_DEFAULT_STRATEGY, zdict)
                pack = primed.copy()  # costs about as much as compressing a text (0.2 s at 10,000)
                entry = (digest, pack.compress(data) + pack.flush())
                made += 1
            fresh[ident] = entry
            yield text
        if made or len(fresh) != len(kept):
            checkpoint.save_views(self.store.path, kind, key, {"": ("zdict", zdict), **fresh} if fresh else {})

    def _views_key(self, state: State, kind: str) -> str:
        """What a settled incident's text depends on besides its events: this code, the kind of text,
        the profile and every version of every regime."""
        regimes = self.regimes
        rules = repr(sorted(getattr(regimes, "versions", regimes).items()))
        profile = json.dumps(state.profile.model_dump(), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256("\0".join((code_key(), kind, profile, rules)).encode("utf-8", "replace")).hexdigest()

    def record(self) -> tuple[State, Callable[[], Iterator[bytes]], int, int, str]:
        """For the JSON export: the state, a way to go through the events, their number, the schema
        version and the head. The events come as runs of compact JSON, one event a line (UTF-8 `bytes`,
        about 1 MB each; `render.jsonout.chunks` writes them as they are): from a log, its verified
        lines themselves, each already the event's JSON with its hash last, as a read decodes it."""
        self._kept = None
        if self.store.kind == "log":
            ledger, state = self._read(partial=True)
            raw, tail = self._raw, ledger.tail
            if not state.left_out and raw is not None and tail is not None:
                # Every line up to `tail.end` is verified: by this read, or by the checkpoint's SHA-256
                # of the prefix it covers, taken in this read. Each line is its event's canonical JSON
                # with `,"hash":"…"` before its closing brace: the value a read decodes (the same keys
                # in the same order), so it is copied, not decoded and encoded again (at 10,000
                # incidents that was 0.7 s of the export's 1.1).
                first, end = raw.index(b"\n") + 1, tail.end

                def runs() -> Iterator[bytes]:
                    pos = first
                    while pos < end:
                        cut = raw.find(b"\n", min(pos + _RUN, end - 1))  # raw[end - 1] is a newline
                        yield raw[pos:cut]
                        pos = cut + 1

                return state, runs, state.head_seq, ledger.schema_version, f"{state.head_seq}:{state.head_hash}"
        ledger, state = self._read(keep=True)

        def compact() -> Iterator[bytes]:
            import orjson

            def one(ev: dict) -> bytes:
                try:
                    return orjson.dumps(ev)
                except TypeError:  # what orjson refuses (e.g. a lone surrogate) is written escaped by json
                    return json.dumps(ev, separators=(",", ":")).encode("ascii")

            for start in range(0, len(ledger.events), 1000):
                yield b"\n".join(one(ev) for ev in ledger.events[start:start + 1000])

        return state, compact, len(ledger.events), ledger.schema_version, ledger.head

    def dossier(self, ident: str) -> tuple[State, IncidentView, list[dict], str]:
        """For `draft`: the state, the incident's view, the incident's own events (in ledger order) and
        the head, reading only that incident: from a log, through its checkpoint as `one` reads (a
        settled incident from its own lines), then its events from the lines that name it among the
        verified ones (those up to `tail.end`: checked by this read, or vouched for by the
        checkpoint's SHA-256 of its prefix, taken in this read). A draft needs them for the facts as
        they stood at the previous filing to the same recipient (`drafts.render`)."""
        self._kept = None
        if self.store.kind == "log":
            ledger, state = self._read(partial=True)
            inc = state.incident(ident)
            raw, tail = self._raw, ledger.tail
            if raw is not None and tail is not None:
                events = _own_events(raw, raw.index(b"\n") + 1, tail.end, inc.id)
                if state.left_out:  # "as of" (issue 12): the events recorded by then, as the fold has them
                    events = [ev for ev in events if tu.parse_instant(ev["recorded_at"]) <= self.now]
                return state, self.view(state, inc), events, f"{state.head_seq}:{state.head_hash}"
        ledger, state = self._read(keep=True)
        inc = state.incident(ident)
        return state, self.view(state, inc), [ev for ev in ledger.events if ev.get("incident") == inc.id], ledger.head

    def calendar(self) -> tuple[State, list[IncidentView], str]:
        """For the iCalendar export: the state, the views of the incidents that can still change with
        time in opening order (a settled incident has no open obligation, so nothing in the feed), and
        the hash of the ledger's first event (`exports.ledger_id`). From a log, through its checkpoint:
        the first event's hash from its line, which the read verified or the checkpoint's prefix
        vouches for; so a feed of 10,000 incidents computes the live ones only."""
        self._kept = None
        if self.store.kind == "log":
            ledger, state = self._read(partial=True)
            raw, tail = self._raw, ledger.tail
            if raw is not None and tail is not None:
                first = raw.index(b"\n") + 1
                nl = raw.find(b"\n", first, tail.end)
                digest = raw[nl - 66:nl - 2].decode("ascii") if nl > first else ""
                order = {ident: i for i, ident in enumerate(state.numbers)}
                live = sorted(state.live, key=lambda inc: order.get(inc.id, len(order)))
                return state, [self.view(state, inc) for inc in live], digest
        ledger, state = self._read(keep=True)
        return state, [self.view(state, inc) for inc in state.incidents.values()], \
            ledger.events[0]["hash"] if ledger.events else ""

    def one(self, ident: str, explain: bool = False) -> tuple[State, IncidentView]:
        state = self.state()
        return state, self.view(state, state.incident(ident), explain)

    def snapshot(self, ident: str | None = None) -> tuple[Ledger, State, list[IncidentView]]:
        """One read of the ledger: its content (events, head), its fold, and every incident's
        obligations (with `ident`, that incident's only: a draft needs one). For exports and drafts,
        which need the events as well as the derived record."""
        self._kept = None
        ledger, state = self._read(keep=True)
        incidents = [state.incident(ident)] if ident is not None else state.incidents.values()
        return ledger, state, [self.view(state, inc) for inc in incidents]

    def report(self, period: str | None = None, start: str | None = None, end: str | None = None,
               lang: str = "fr", exercises: str | None = None) -> dict:
        """The report's figures (issue 18, `report.build`) for a period read in the profile's zone, as
        of `now`, with the evidence: the head of the record the figures come from and its event count,
        `verify`'s result at this time, and the commands that re-check it; `exercises`: a folder of
        exercise files, replayed, those whose T0 is in the period."""
        from pathlib import Path

        from . import __version__
        from . import report as rpt
        from .errors import LedgerError

        # one whole read of the bytes (not through the checkpoint): the figures and `verify`'s result
        self._kept = None
        ledger_read, state = self._read()
        tz = state.profile.timezone
        begin, finish, label = rpt.period(period, start, end, self.now, tz)
        try:
            checked = self._verdict(ledger_read, state)
            verdict = {"ok": True, "events": checked["events"], "head": checked["head"], "error": None}
        except LedgerError as exc:
            verdict = {"ok": False, "events": None, "head": None, "error": exc.message}
        del ledger_read
        drills = None
        if exercises is not None:
            folder = Path(exercises).expanduser()
            if not folder.is_dir():
                raise InputError(f"--exercises {exercises}: no such folder; accepted: a folder of exercise files "
                                 "(*.toml, searched recursively)")
            from . import exercise

            drills = rpt.exercise_rows(exercise.check([str(folder)]), begin, finish, self.now)
        ledger = str(self.store.path)
        evidence = {"ledger": ledger, "head": f"{state.head_seq}:{state.head_hash}", "events": state.head_seq,
                    "verify": verdict,
                    "recheck": rpt.recheck_commands(ledger, self.now, tz, label, begin, finish,
                                                    verdict["head"] or f"{state.head_seq}:{state.head_hash}",
                                                    period is not None or (start is None and end is None))}
        # each incident's obligations computed as it is asked for and not kept (`_obligations` keeps
        # them for the read's other users; here there are none, and at 10,000 incidents they weigh)
        views = (IncidentView(inc, deadlines.compute(inc, state.profile, self.regimes, self.now), state.profile)
                 for inc in state.incidents.values())
        return rpt.build(views, state.profile, begin, finish, label, self.now, evidence, drills,
                         lang, f"nis2-incident {__version__}")

    def verify(self, head: str | None = None) -> dict:
        """Always from the ledger's bytes: decode, recompute the chain, check the profile. A torn
        tail (bytes never acknowledged) fails it, naming the line; the next write cuts it."""
        ledger, state = self._read(stream=True, hashes=head is not None)
        return self._verdict(ledger, state, head)

    def _verdict(self, ledger: Ledger, state: State, head: str | None = None) -> dict:
        """`verify`'s result from a whole read of the ledger's bytes (`_read`, not through the checkpoint)."""
        tail = ledger.tail
        if tail is not None and tail.torn:

            raise IntegrityError(log.torn_message(self.store.path, tail, ledger.size)
                                 + f"; the chain verifies up to seq {state.head_seq}, and the next write cuts "
                                 "the torn bytes", None)
        hashes = tail.hashes if tail is not None else [ev["hash"] for ev in ledger.events]
        # (a streamed read keeps the hashes only for a kept head: the count is the last seq verified)
        count = (tail.last["seq"] if tail.last else 0) if tail is not None else len(hashes)
        self._check_marks(state)
        result = {"ok": True, "events": count, "incidents": len(state.incidents),
                  "head": ledger.head, "head_check": None}
        if head is not None:
            try:
                result["head_check"] = chain.check_head(hashes, head)
            except IntegrityError as exc:
                raise IntegrityError(f"{self.store.path}: {exc.message}", exc.seq) from None
        return result

    def _check_marks(self, state: State) -> None:
        """Every `settled` mark a read would take (an incident's last event a `closed` carrying the
        mark of the rules in force) must hold: its obligations are computed and must all be settled.
        Reads take the mark without computing them (issue 13), so a mark that lies (written by
        another program, the chain resealed) would hide an obligation still owed from `check` and
        `status`; `verify` is where it is caught."""
        if not state.marks or state.profile is None:
            return
        mark = rules_mark(state.profile, self.regimes)
        for ident, made in state.marks.items():
            if made != mark:
                continue  # made under other rules: no read takes it, the obligations are computed
            inc = state.incident(ident)
            owed = [o.stage for o in deadlines.compute(inc, state.profile, self.regimes, self.now, explain=False)
                    if o.state not in SETTLED_STATES]
            if inc.closed_at is None or owed:
                raise IntegrityError(
                    f"{self.store.path}: {ident}'s closed event is marked settled, but "
                    + (", ".join(owed) + (" is" if len(owed) == 1 else " are") + " still owed" if owed
                       else "the incident is not closed")
                    + "; the mark was not written by close: the record was altered", None)

    def document(self, target_path) -> tuple[bytes, str, int]:
        """The whole record in the format `target_path`'s name says (`.jsonl` log, `.toml` or `.json`
        document): the same events, the same hashes, the same head. (bytes, head, event count)."""
        ledger, state = self._read(keep=True)
        copy = self._copy(ledger, state, Store(target_path))
        return Store(target_path).encode(copy), copy.head, len(copy.events)

    def _copy(self, ledger: Ledger, state: State, target: Store) -> Ledger:
        from .ledger import codec

        return Ledger(profile=recorded(state.profile.model_dump()), events=ledger.events, schema_version=codec.SCHEMA_VERSION,
                      extra=ledger.extra if target.kind == "document" else {})

    def migrate(self, target: Store) -> Outcome:
        """`ledger migrate OLD NEW`: write this ledger's events (verified) into a new ledger of the
        format NEW's name says, then verify it: same events, same hashes, same head. Never
        overwrites: NEW must not exist."""
        ledger, state = self._read(keep=True)
        warnings = []
        if ledger.tail is not None and ledger.tail.torn:

            warnings.append(log.torn_message(self.store.path, ledger.tail, ledger.size) + "; left out of the copy")
        copy = self._copy(ledger, state, target)
        target.create(copy)
        check = Service(target, self.now, regimes=self._regimes).verify()
        if check["head"] != ledger.head or check["events"] != len(ledger.events):
            raise IntegrityError(f"{target.path}: the copy's head {check['head']} differs from {ledger.head}; "
                                 "remove the copy and report it (a bug)", None)
        return Outcome({"from": str(self.store.path), "to": str(target.path), "events": len(ledger.events),
                        "head": ledger.head, "incidents": len(state.incidents)}, ledger.head, warnings)

    # --- writing -------------------------------------------------------------------------

    def _write(self, change, whole: bool = False) -> Outcome:
        """Run `change(ledger, state, warnings)` under the lock on a fresh read, and write what it
        appended (the store appends the lines, or replaces the document). `whole`: never through
        the checkpoint (a profile change decides what is live)."""
        from .errors import HeadMoved

        for attempt in range(5):  # PostgreSQL (issue 15): a client that skipped the lock appended first
            try:
                return self._write_once(change, whole)
            except HeadMoved:
                if attempt == 4:
                    raise

    def _write_once(self, change, whole: bool) -> Outcome:
        self._kept = None  # a state read before the lock is no use after it
        store = self.store
        store.notices = []
        with store.locked():
            for partial in ((False,) if whole else (True, False)):
                warnings: list[str] = []
                ledger, state = self._read(partial=partial, writing=True)
                before = len(ledger.events)
                try:
                    value = change(ledger, state, warnings)
                except _NeedFull:
                    continue  # it needs an incident the checkpoint left out: again, on the whole ledger
                break
            new = ledger.events[before:]
            if new:
                store.write(ledger, new)
                self._after_write(ledger, state, new, self._log if store.kind == "log" else None)
        return Outcome(value, ledger.head, warnings + self._store_notices())

    def _after_write(self, ledger: Ledger, state: State, new: list[dict], src: "_Whole | _Pieces | None") -> None:
        """Keep the log's checkpoint past the lines just appended (silently: derived data)."""
        if src is None or ledger.tail is None or any(ev["type"] == "profile_set" for ev in new):
            return  # a profile change: the next read rebuilds it from the whole ledger

        try:
            self._keep_checkpoint(ledger, state, src, [log.line_of(ev) for ev in new])
        except Exception:  # derived data: a checkpoint not kept costs the next read a whole read
            return

    def _store_notices(self) -> list[str]:
        """What the store asks to tell the user after a write (a stale temporary file removed, a
        network file system); stores without a file (exercises) have none."""
        return list(getattr(self.store, "notices", []))

    def _event(self, ledger: Ledger, state: State, type_: str, data: dict, incident: str | None = None) -> dict:
        for key, value in data.items():
            for text in value if isinstance(value, list) else [value]:
                if isinstance(text, str):
                    try:
                        text.encode("utf-8")
                    except UnicodeEncodeError:
                        raise InputError(f"{key.replace('_', '-')}: not valid UTF-8 text; accepted: text in "
                                         "UTF-8 (check the terminal's encoding)") from None
        if incident is not None and type_ != "opened":  # issue 12: an incident's record is append-only in time
            inc = state.incident(incident)
            latest = max((entry.recorded_at for entry in inc.timeline), default=None)
            if latest is not None and self.now < latest:
                tz = state.profile.timezone
                raise StateError(f"--now {tu.display(self.now, tz)} is before the last recorded event of {inc.id} "
                                 f"(recorded {tu.display(latest, tz)}): its record is append-only in time, so a "
                                 "change cannot be recorded in its past; accepted: a --now at or after "
                                 f"{tu.display(latest, tz)} (the default, the clock), with --at for the time it "
                                 "happened")
        sealed = ledger.append({"type": type_, "recorded_at": self._stamp(self.now, state.profile),
                                "incident": incident, "data": data})
        state.apply(sealed)  # the fold, one event further
        return sealed

    @staticmethod
    def _stamp(instant: datetime, profile: Profile) -> str:
        return tu.rfc3339(instant, profile.timezone)

    def init(self, **fields) -> Outcome:
        fields = {k: v for k, v in fields.items() if v is not None}
        if "regimes" not in fields:  # every regime whose facts the profile can decide
            fields["regimes"] = ["nis2", "gdpr"] + (["csp"] if fields.get("health_establishment") else [])
            # and the regimes of the entity's other roles (issue 17); a processor-only entity owes its
            # controller, not the CNIL (GDPR Art. 33(2))
            from .roles import role_regimes

            fields["regimes"] += [r for r in role_regimes(fields) if r not in fields["regimes"]]
            if fields.get("gdpr_role") == "processor":
                fields["regimes"].remove("gdpr")
        if fields.get("regimes_dir") and self._regimes is None:
            self._regimes = load_regimes(fields["regimes_dir"])
        self._check_targets(fields.get("targets", {}), fields["regimes"])
        profile = _validated(fields)
        unknown = [r for r in profile.regimes if r not in self.regimes]
        if unknown:
            raise InputError(f"unknown regime(s) {', '.join(unknown)}; accepted: {', '.join(self.regimes)}")
        ledger = Ledger(profile=recorded(profile.model_dump()))
        ledger.append({"type": "profile_set", "recorded_at": self._stamp(self.now, profile),
                       "data": recorded(profile.model_dump())})
        self.store.create(ledger)
        return Outcome(profile, ledger.head, self._store_notices())

    def _check_targets(self, targets: dict, enabled: list[str] | None = None) -> None:
        from .regimes import target_stage_names

        accepted = target_stage_names(self.regimes)
        for stage in targets:
            if stage not in accepted:
                raise InputError(f"--target {stage}: own targets are for stages without a legal hour count; "
                                 f"accepted: {', '.join(accepted)}")
            regime = stage.partition(".")[0]
            if enabled is not None and regime not in enabled:
                usable = [a for a in accepted if a.partition(".")[0] in enabled]
                raise InputError(f"--target {stage}: the {regime} regime is not enabled for this entity, so the "
                                 f"target would never apply; accepted: {', '.join(usable) or 'none'} (or enable "
                                 f"it with --regime {regime})")

    def set_profile(self, **changes) -> Outcome:
        """Change profile fields through a `profile_set` event, so the chain covers the profile."""
        def change(ledger: Ledger, state: State, warnings: list[str]):
            current = state.profile.model_dump()
            changed = {k: v for k, v in changes.items() if v is not None and current.get(k) != v}
            if "regimes" not in changed:
                # a role turned on enables its regimes (issue 17); turned off, they stay enabled and
                # their files make them not applicable (the record of past incidents is unchanged)
                from .roles import role_regimes

                turned_on = {k: v for k, v in changed.items() if v and not role_regimes({k: current.get(k)})}
                added = [r for r in role_regimes(turned_on) if r not in current.get("regimes", [])
                         and r in self.regimes]
                if added:
                    changed["regimes"] = [*current.get("regimes", []), *added]
                    warnings.append(f"enabled the regime(s) of the role: {', '.join(added)}")
            if "regimes_dir" in changed or "regimes" in changed:
                # as `init` refuses them: a folder that is not one (every read would then fail) or a
                # regime no file defines
                rules = self.regimes  # (--regimes, if given, decides this run's rules)
                if "regimes_dir" in changed:
                    folder = load_regimes(changed["regimes_dir"]) if changed["regimes_dir"] else builtin()
                    rules = folder if self.regimes_dir is None else rules
                unknown = [r for r in changed.get("regimes", []) if r not in rules]
                if unknown:
                    raise InputError(f"unknown regime(s) {', '.join(unknown)}; accepted: {', '.join(rules)}")
            if "targets" in changed:
                self._check_targets(changed["targets"], changed.get("regimes", current.get("regimes")))
            profile = _validated({**current, **changed})
            if not changed:
                warnings.append("no change: the profile already says so; nothing was written")
                return profile
            self._event(ledger, state, "profile_set", changed)
            ledger.profile = recorded(profile.model_dump())
            return profile

        return self._write(change, whole=True)  # the profile decides what the cache holds

    def _parse_time(self, text: str, profile: Profile, what: str, not_after_now: bool = True) -> datetime:
        try:
            instant = tu.parse_when(text, self.now, profile.timezone)
        except InputError as exc:
            raise InputError(f"{what}: {exc.message}") from None
        if not_after_now and instant > self.now:
            raise InputError(
                f"{what} {tu.display(instant, profile.timezone)} is in the future "
                f"(now is {tu.display(self.now, profile.timezone)}); accepted: a time at or before now"
            )
        return instant

    def _facts(self, raw: dict, profile: Profile) -> dict:
        """Validate and normalise user-given facts to their stored form."""
        out: dict = {}
        for name, value in raw.items():
            if value is None:
                continue
            kind = FACT_FIELDS[name]
            if kind == "time":
                out[name] = self._stamp(self._parse_time(value, profile, name.replace("_", "-")), profile)
            elif kind == "text":
                text = str(value).strip()
                if not text:
                    raise InputError(f"{name.replace('_', '-')} is empty; accepted: some text")
                out[name] = text
            elif kind == "significance":
                if value not in SIGNIFICANCE:
                    raise InputError(f"significance {value!r}; accepted: {', '.join(SIGNIFICANCE)}")
                out[name] = value
            elif kind == "harm":
                word = str(value).strip().lower()
                if word not in PATIENT_HARM:
                    raise InputError(f"--patient-harm {value!r}; accepted: {', '.join(PATIENT_HARM)} (serious: a threat "
                                     "to life, a probable permanent deficit or an unanticipated serious deterioration)")
                out[name] = word
            elif kind == "list":
                out[name] = [str(v).strip() for v in value if str(v).strip()]
            else:
                out[name] = bool(value)
        return out

    def _check_facts(self, facts: dict, profile: Profile, warnings: list[str]) -> None:
        """Rules over the merged facts (stored form)."""
        if facts.get("significance") == "not_significant" and not facts.get("significance_rationale"):
            raise InputError("--not-significant needs --rationale TEXT: the written reason it is not significant "
                             "(kept in the record, shown for the obligations it makes not applicable)")
        if facts.get("breach_risk") is False and not facts.get("breach_risk_rationale"):
            raise InputError("--no-risk needs --risk-rationale TEXT: why the breach is unlikely to result in a risk "
                             "(GDPR Art. 33(1); the decision is documented under Art. 33(5))")
        if facts.get("serious") is False and not facts.get("serious_rationale"):
            raise InputError("--not-serious needs --serious-rationale TEXT: why the incident is not serious under "
                             "CSP D.1111-16-2")
        self._check_gdpr_facts(facts, warnings)
        self._check_implied_facts(facts, warnings)
        aware = tu.parse_instant(facts["aware_at"])
        classified = facts.get("classified_major_at")
        if classified and tu.parse_instant(classified) < aware:
            # DORA's initial notification is due 4 h after the classification: one before awareness would
            # put the deadline before the clock starts (an incident is classified once known)
            raise InputError(f"classified-major-at {tu.display(tu.parse_instant(classified), profile.timezone)} is "
                             f"before aware-at {tu.display(aware, profile.timezone)}: an incident is classified "
                             "after the entity became aware of it; accepted: a time at or after aware-at")
        detected = facts.get("detected_at")
        if detected and tu.parse_instant(detected) > aware:
            warnings.append(f"detected-at {tu.display(tu.parse_instant(detected), profile.timezone)} is after "
                            f"aware-at; awareness usually follows detection (recorded as given)")

    @staticmethod
    def _check_implied_facts(facts: dict, warnings: list[str]) -> None:
        """Facts an instant implies (issue 17), on the merged facts: a classification as major
        (`classified_major_at`) makes the incident major; contradictions are refused, naming both."""
        for when, flag, option, implied in (("classified_major_at", "major", "--not-major", "a major incident"),):
            if facts.get(when) is None:
                continue
            if facts.get(flag) is False:
                raise InputError(f"--{when.replace('_', '-')} contradicts {option}: the instant is recorded only for "
                                 f"{implied}; accepted: one of them")
            if facts.get(flag) is None:
                facts[flag] = True
                warnings.append(f"--{when.replace('_', '-')}: recorded as {flag.replace('_', ' ')} = yes as well")

    @staticmethod
    def _check_gdpr_facts(facts: dict, warnings: list[str]) -> None:
        """Contradictory GDPR facts are refused, wherever they arise (open, update, an exercise), on the
        merged facts (issue 12). `facts` gains what the recorded facts imply:

        - a high risk to data subjects (Art. 34(1)) with a breach recorded as unlikely to result in a
          risk (Art. 33(1) waiver, `--no-risk`): refused, naming both facts to choose between;
        - a high risk with personal data recorded as not involved: refused likewise;
        - a high risk with personal data not recorded: personal data is taken as involved (a high risk
          to data subjects exists only for a personal-data breach; the earlier reading: both GDPR
          stages then apply), recorded in the same event, with a warning."""
        if facts.get("high_risk") is not True:
            return
        if facts.get("breach_risk") is False:
            raise InputError(
                "--high-risk contradicts --no-risk: GDPR Art. 33(1) waives the CNIL notification only for a breach "
                "unlikely to result in a risk, and Art. 34(1) applies to a high risk to the data subjects; "
                "accepted: either --risk (the breach is likely to result in a risk: the CNIL is notified and the "
                "data subjects told) or --no-high-risk (no high risk: the waiver stands)")
        if facts.get("personal_data") is False:
            raise InputError(
                "--high-risk contradicts --no-personal-data: a high risk to data subjects (GDPR Art. 34(1)) "
                "exists only for a personal-data breach; accepted: either --personal-data or --no-high-risk")
        if facts.get("personal_data") is None:
            facts["personal_data"] = True
            warnings.append("--high-risk without --personal-data: personal data is taken as involved (a high risk "
                            "to data subjects exists only for a personal-data breach, GDPR Art. 34(1)); recorded "
                            "as personal_data = yes, so the GDPR obligations apply from aware-at")

    def open_incident(self, title: str, aware: str, **facts) -> Outcome:
        def change(ledger: Ledger, state: State, warnings: list[str]):
            if not title or not title.strip():
                raise InputError("the title is empty; accepted: a short title such as 'Ransomware on the PACS'")
            given = self._facts({"title": title, "aware_at": aware, **facts}, state.profile)
            given.setdefault("significance", "undetermined")
            self._check_facts(given, state.profile, warnings)
            number = state.count + 1
            year = tu.to_local(self.now, state.profile.timezone).year
            ident = f"INC-{year}-{number:03d}"
            while state.known(ident):  # ids stay unique even if numbering was disturbed
                number += 1
                ident = f"INC-{year}-{number:03d}"
            self._event(ledger, state, "opened", {**given, "number": number}, ident)
            return self.view(state, state.incident(ident))

        return self._write(change)

    def update_incident(self, ident: str, **facts) -> Outcome:
        def change(ledger: Ledger, state: State, warnings: list[str]):
            inc = state.incident(ident)
            given = self._facts(facts, state.profile)
            if not given:
                raise InputError("nothing to update; give at least one option (see `update --help`)")
            current = {k: _stored(v, state.profile) for k, v in inc.facts().items()}
            changed = {k: v for k, v in given.items() if current.get(k) != v}
            if changed:
                merged = {k: v for k, v in {**current, **changed}.items() if v is not None}
                self._check_facts(merged, state.profile, warnings)
                changed.update({k: v for k, v in merged.items() if current.get(k) != v and k not in changed})
                if "aware_at" in changed:
                    new_aware = tu.parse_instant(changed["aware_at"])
                    early = [f.stage for f in inc.filings if f.at < new_aware]
                    if early:
                        warnings.append(f"filings recorded before the new aware-at: {', '.join(early)}")
                before = deadlines.compute(inc, state.profile, self.regimes, self.now) if inc.filings else []
                self._event(ledger, state, "amended", changed, inc.id)
                if before:
                    after = deadlines.compute(state.incident(inc.id), state.profile, self.regimes, self.now)
                    warnings.extend(self._restated(before, after, state.profile.timezone, inc.id))
            else:
                warnings.append("no change: every value given is already recorded; nothing was written")
            return self.view(state, state.incident(inc.id))

        return self._write(change)

    def triage(self, ident: str):
        """(state, incident, verdicts) of `triage ID` (issue 17; see triage.py)."""
        from .triage import triage

        state = self.state()
        inc = state.incident(ident)
        return state, inc, triage(inc, state.profile, self.regimes)

    def resolve_stage(self, stage: str, profile: Profile) -> str:
        """The full name of a stage of an enabled regime. A bare stage that two enabled regimes have
        (`notification`: nis2 and gdpr) is ambiguous; a stage of a regime that is not enabled is named
        as such. Both are NotFound (exit 4, as an unknown stage), naming what is accepted."""
        enabled = {rid: r for rid, r in self.regimes.items() if rid in profile.regimes}
        names = [f"{r.id}.{s.id}" for r in enabled.values() for s in r.stages]
        key = (stage or "").strip().lower().replace("-", "_")
        if key in names:
            return key
        short = [n for n in names if n.split(".", 1)[1] == key]
        if len(short) == 1:
            return short[0]
        if len(short) > 1:
            order = list(profile.regimes)
            short.sort(key=lambda n: order.index(n.split(".", 1)[0]) if n.split(".", 1)[0] in order else len(order))
            raise NotFound(f"stage {stage!r} is ambiguous: {' or '.join(short)}; accepted: the full name, "
                           f"e.g. {short[0]}")
        regime_id, dot, stage_id = key.partition(".")
        other = self.regimes.get(regime_id) if dot else None
        if other is not None and any(s.id == stage_id for s in other.stages):
            raise NotFound(f"stage {key}: the {regime_id} regime is not enabled in the profile (enabled: "
                           f"{', '.join(profile.regimes)}); accepted: {', '.join(names)}, or enable it first "
                           f"(`profile --regime {regime_id}`, with the others you keep)")
        raise NotFound(f"unknown stage {stage!r}; accepted: {', '.join(names)}")

    def _clock_started(self, inc: Incident, name: str, when: datetime, obligations: list[Obligation], tz: str) -> None:
        """One rule for the CLI and the exercise replay (SPEC §8, issue 12): a filing is accepted only
        once its stage's clock has started under the facts recorded, at the filing's `--at`. Raises
        ClockNotStarted (exit 2) saying what was wrong and what is accepted.

        The clock start is the regime file's `start`: `aware` (aware-at), `handled` (handled-at),
        `request` (a request of the authority recorded at or before the filing), `filed:STAGE` (that
        stage filed at or before it), `ongoing:STAGE` (STAGE has a due time, the incident was not
        handled before it). A stage that does not apply (its regime's facts, a recorded decision not to
        notify) has no clock: refused too, naming why and the fact to record or change."""
        from .errors import ClockNotStarted

        shown = tu.display(when, tz)
        if when < inc.aware_at:
            raise ClockNotStarted(f"{name} filed at {shown}, before its clock starts (aware-at "
                                  f"{tu.display(inc.aware_at, tz)}); accepted: a time at or after aware-at")
        regime_id, stage_id = name.split(".", 1)
        version_at = getattr(self.regimes, "at", None)
        regime = version_at(regime_id, inc.aware_at) if version_at else self.regimes.get(regime_id)
        rule = regime.stage(stage_id) if regime is not None else None
        kind, _, ref = (rule.start if rule is not None else "aware").partition(":")
        if kind == "request" and not any(r.stage == name and r.at <= when for r in inc.requests):
            raise ClockNotStarted(
                f"{name} filed at {shown}, before its clock starts: no request of the authority is recorded by "
                f"then ({rule.article}: only on request); accepted: record the request first (`request ID --due "
                f"WHEN --at WHEN`), then the filing at or after it")
        if kind == "filed" and not any(f.at <= when for f in inc.filings_of(f"{regime_id}.{ref}")):
            raise ClockNotStarted(
                f"{name} filed at {shown}, before its clock starts: its clock starts at the submission of "
                f"{regime_id}.{ref}, not recorded by then ({rule.article}); accepted: file {regime_id}.{ref} "
                "first, then this report at or after it")
        if kind == "handled" and (inc.handled_at is None or inc.handled_at > when):
            raise ClockNotStarted(
                f"{name} filed at {shown}, before its clock starts (handling concluded, not recorded by then); "
                "accepted: record `handled` first, then the filing at or after it")
        if kind == "fact" and (getattr(inc, ref, None) is None or getattr(inc, ref) > when):
            raise ClockNotStarted(
                f"{name} filed at {shown}, before its clock starts ({ref.replace('_', '-')} not recorded by then; "
                f"{rule.article}); accepted: record it first (`update ID --{ref.replace('_', '-').removesuffix('-at')}-at "
                "WHEN`), then the filing at or after it")
        same = [o for o in obligations if o.stage == name]
        if same and all(o.state == "not_applicable" for o in same):
            why = same[0].note or "it does not apply"
            applicable = [o.stage for o in obligations if o.state != "not_applicable"]
            raise ClockNotStarted(
                f"{name} does not apply to {inc.id} at {shown} ({why}): there is no clock to file against; "
                f"accepted: a stage that applies ({', '.join(dict.fromkeys(applicable)) or 'none'}), or first "
                "record the facts that make it apply (`update`)")

    def submit(self, ident: str, stage: str, at: str | None = None, reference: str | None = None,
               channel: str | None = None, late_reason: str | None = None,
               draft_sha256: str | None = None, force: bool = False) -> Outcome:
        if draft_sha256 is not None and not (len(draft_sha256) == 64 and
                                             all(c in "0123456789abcdef" for c in draft_sha256)):
            raise InputError(f"draft SHA-256 {draft_sha256!r:.70}; accepted: 64 lowercase hexadecimal digits")

        def change(ledger: Ledger, state: State, warnings: list[str]):
            inc = state.incident(ident)
            name = self.resolve_stage(stage, state.profile)
            tz = state.profile.timezone
            when = self._parse_time(at or "now", state.profile, "--at")
            owed = self._reason_owed(inc, name, state.profile) if late_reason and not (
                reference or channel or draft_sha256) else None
            if owed is not None:  # the reasons for the delay of a filing made late by an amendment
                f = owed.filing   # (not a filing: also on a closed incident, for the audit trail)
                warnings.append(f"recorded as the reasons for the delay of {name} filed {tu.display(f.at, tz)} "
                                f"(late against the facts as they stand: due {tu.display(owed.due, tz)}); "
                                "not a new filing")
                self._event(ledger, state, "filed", {"stage": name, "at": self._stamp(f.at, state.profile),
                                                     "late_reason": late_reason, "reason_for": f.seq}, inc.id)
                return self.view(state, state.incident(inc.id))
            if inc.closed_at is not None and not force:
                raise StateError(f"{inc.id} was closed at {tu.display(inc.closed_at, tz)}; a filing on a closed "
                                 "incident needs --force (accepted: the same command with --force)")
            # Lateness is judged at filing against the due time computed at the filing instant (and
            # recorded with it); the obligation's state then follows the facts as they stand.
            obligations = deadlines.compute(inc, state.profile, self.regimes, when)
            self._clock_started(inc, name, when, obligations, tz)
            same = [o for o in obligations if o.stage == name]
            target = next((o for o in same if o.filing is None and o.state != "not_applicable"), None)
            if target is None and same:
                target = same[0]
                if target.filing is not None:
                    warnings.append(f"{name} was already filed at {tu.display(target.filing.at, tz)}; "
                                    "recorded as a further filing")
            if inc.closed_at is not None:
                warnings.append(f"{inc.id} is closed (at {tu.display(inc.closed_at, tz)}); recorded with --force")
            due = target.due if target is not None and target.state != "not_applicable" else None
            if target is not None and target.filing is not None:
                due = None  # a further filing does not change the first one's lateness
            late = due is not None and when > due
            if late and not late_reason and target is not None and target.late_reason_required:
                raise InputError(f"{name} is late (due {tu.display(due, tz)}): {target.article} requires the reasons "
                                 "for the delay; accepted: the same command with --late-reason TEXT")
            if late and not late_reason:
                warnings.append(f"filed late (due {tu.display(due, tz)}) without --late-reason; the reason for "
                                "the delay belongs in the record (the authority may ask for it)")
            data = {"stage": name, "at": self._stamp(when, state.profile), "reference": reference,
                    "channel": channel, "late_reason": late_reason,
                    "due": self._stamp(due, state.profile) if due else None, "late": late,
                    "draft_sha256": draft_sha256}
            self._event(ledger, state, "filed", data, inc.id)
            return self.view(state, state.incident(inc.id))

        return self._write(change)

    def _reason_owed(self, inc: Incident, name: str, profile) -> Obligation | None:
        """The obligation of stage `name` whose filing is late under the facts as they stand and has no
        recorded reason for the delay (issue 12), or None."""
        return next((o for o in deadlines.compute(inc, profile, self.regimes, self.now)
                     if o.stage == name and o.state == "late" and o.filing is not None
                     and not o.filing.late_reason), None)

    def _restated(self, before: list[Obligation], after: list[Obligation], tz: str, ident: str) -> list[str]:
        """A warning for each filing whose state an amendment changes (issue 12), naming it."""
        was = {(o.stage, o.instance): o for o in before if o.filing is not None}
        out = []
        for ob in after:
            old = was.get((ob.stage, ob.instance))
            if ob.filing is None or old is None or old.state == ob.state or "not_applicable" in (old.state, ob.state):
                continue
            f = ob.filing
            judged = "late" if f.late else "on time"
            then = f" (due then {tu.display(f.due, tz)})" if f.due else ""
            due = f"due {tu.display(ob.due, tz)}" if ob.due else "no due time"
            text = (f"{ob.stage} filed {tu.display(f.at, tz)} is now {ob.state} ({due} under the amended facts; "
                    f"it was {old.state} before the amendment); the record keeps what was judged at filing: {judged}{then}")
            if ob.state == "late" and ob.late_reason_required and not f.late_reason:
                text += (f"; {ob.article} requires the reasons for the delay: record them with "
                         f"`submit {ident} {ob.stage} --late-reason TEXT`")
            out.append(text)
        return out

    def request(self, ident: str, due: str, at: str | None = None, stage: str = "nis2.intermediate") -> Outcome:
        def change(ledger: Ledger, state: State, warnings: list[str]):
            inc = state.incident(ident)
            name = self.resolve_stage(stage, state.profile)
            regime_id, stage_id = name.split(".", 1)
            if self.regimes[regime_id].stage(stage_id).start != "request":
                accepted = [f"{r.id}.{s.id}" for r in self.regimes.values() for s in r.stages if s.start == "request"]
                raise InputError(f"{name} is not requested by the authority; accepted: {', '.join(accepted)}")
            tz = state.profile.timezone
            when = self._parse_time(at or "now", state.profile, "--at")
            if when < inc.aware_at:
                raise InputError(f"--at {tu.display(when, tz)} is before aware-at {tu.display(inc.aware_at, tz)}; "
                                 "accepted: a time at or after aware-at")
            try:
                due_at = tu.parse_when(due, when, tz)
            except InputError as exc:
                raise InputError(f"--due: {exc.message} (relative forms count from --at)") from None
            if due_at <= when:
                raise InputError(f"--due {tu.display(due_at, tz)} is not after the request ({tu.display(when, tz)}); "
                                 "accepted: the date the authority set, after its request")
            self._event(ledger, state, "requested",
                        {"stage": name, "at": self._stamp(when, state.profile), "due": self._stamp(due_at, state.profile)},
                        inc.id)
            return self.view(state, state.incident(inc.id))

        return self._write(change)

    def conclude(self, ident: str, kind: str, at: str | None = None) -> Outcome:
        """`handled` (handling concluded) or `closed` (closing also records handling if not yet)."""
        def change(ledger: Ledger, state: State, warnings: list[str]):
            inc = state.incident(ident)
            tz = state.profile.timezone
            when = self._parse_time(at or "now", state.profile, "--at")
            if when < inc.aware_at:
                raise InputError(f"--at {tu.display(when, tz)} is before aware-at {tu.display(inc.aware_at, tz)}; "
                                 "accepted: a time at or after aware-at")
            if inc.closed_at is not None:
                raise StateError(f"{inc.id} was closed at {tu.display(inc.closed_at, tz)}; nothing to record")
            if kind == "handled" and inc.handled_at is not None:
                warnings.append(f"handled-at was {tu.display(inc.handled_at, tz)}; now {tu.display(when, tz)}")
            stamp = {"at": self._stamp(when, state.profile)}
            if kind == "closed" and inc.handled_at is None:
                self._event(ledger, state, "handled", stamp, inc.id)
            data = stamp
            if kind == "closed":
                # settled from now on (every obligation met, late or not applicable): said in the
                # event, so that a read without a checkpoint need not compute it again (issue 13)
                mark = rules_mark(state.profile, self.regimes)
                if mark is not None and settled_at(state.incident(inc.id), state.profile, self.regimes, self.now,
                                                 closing=True):
                    data = {**stamp, "settled": mark}
            self._event(ledger, state, kind, data, inc.id)
            view = self.view(state, state.incident(inc.id))
            if kind == "closed" and view.open_obligations:
                warnings.append("closed with obligations still open: "
                                + ", ".join(o.stage for o in view.open_obligations))
            return view

        return self._write(change)


def _own_events(raw: bytes, first: int, end: int, ident: str) -> list[dict]:
    """The events of incident `ident` among the lines of `raw[first:end]` (whole lines, already
    verified), in order. A line is canonical JSON with sorted keys, so an event of `ident` holds
    `"incident":"<ident>"` (a quote inside a string is escaped, so the text cannot stand inside one);
    each line that holds it is decoded and kept if its own `incident` is `ident` (an object nested in
    `data` could hold the same text). An id that canonical JSON would escape (not plain printable
    ASCII) is looked for by decoding every line."""
    import orjson

    if not ident.isascii() or not ident.isprintable() or '"' in ident or "\\" in ident:
        found, pos = [], first
        while pos < end:
            nl = raw.index(b"\n", pos)
            ev = orjson.loads(raw[pos:nl])
            if ev.get("incident") == ident:
                found.append(ev)
            pos = nl + 1
        return found
    needle = b'"incident":"' + ident.encode("ascii") + b'"'
    found, pos = [], first
    while True:
        hit = raw.find(needle, pos, end)
        if hit < 0:
            return found
        start = raw.rfind(b"\n", first - 1, hit) + 1
        nl = raw.index(b"\n", hit)
        ev = orjson.loads(raw[start:nl])
        if ev.get("incident") == ident:
            found.append(ev)
        pos = nl + 1


def _validated(fields: dict):
    """The profile `init` or `profile` would record, validated by `profile_schema` (the declaration
    pydantic's `Profile` is built from: the same values and errors, tests/test_profile_schema.py,
    without importing pydantic at every `init`), or InputError naming the first field refused."""
    from .model import StoredProfile
    from .profile_schema import ProfileInvalid, validate

    try:
        return StoredProfile(validate(fields))
    except ProfileInvalid as exc:
        loc, msg = exc.errors[0]
        raise InputError(f"profile {'.'.join(str(p) for p in loc)}: {msg.removeprefix('Value error, ')}") from None


def _stored(value, profile: Profile):
    if isinstance(value, datetime):
        return tu.rfc3339(value, profile.timezone)
    return value
