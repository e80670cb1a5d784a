"""Use cases: read the ledger, fold it, compute obligations; or append one event under the lock.

Every function takes `now`; none reads the clock. Input times arrive as the user typed them and are
parsed here, in the profile's zone read under the lock, so the CLI and the exercise replay share one
path. Errors are raised before anything is appended, so a refused command writes nothing.

Speed (issue 8): reads and writes go through the read cache beside the ledger (`ledger/cache.py`)
when it was derived from exactly the ledger's bytes, by this code, with these regime files:

- a read then folds only the *live* incidents (those that can still change with time) on the cached
  profile and head, and skips decoding and re-verifying the chain, which were done when the cache
  was written; a state asked for something it does not hold (`State.incidents`, a settled incident)
  reads the whole ledger there and then, so results never depend on the cache;
- a write, under the lock, re-reads the bytes; if the cache is for them and they are exactly what
  the codec writes, it appends the new events' text to those bytes (`Store.write_append`), which is
  byte-for-byte the full encoding, through the same atomic protocol; else, or when the profile
  changes or a settled incident is touched, it decodes, verifies and rewrites the whole file as
  before. Either way the cache is then written for the new bytes, after the rename, under the lock.

An incident is *settled* when it is closed and every obligation is met, late or not applicable: the
states of its obligations then no longer depend on the clock (`_settled`), so `check` and `status`
have nothing to say about it whatever `--now` is. `verify` never uses the cache.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Callable, Iterator

from . import deadlines
from . import timeutil as tu
from .deadlines import Obligation
from .errors import InputError, IntegrityError, NotFound, StateError
from .ledger import Ledger, Store
from .ledger import chain, codec
from .model import FACT_FIELDS, SIGNIFICANCE, Incident, State, StoredProfile, fold, fold_live
from .regimes import Regime, builtin, dump_set, fingerprint, set_from_dump
from .regimes import load as load_regimes

if TYPE_CHECKING:
    from .ledger import stream
    from .profile import Profile

CACHE_VERSION = 1  # bump when what the cache holds, or what it means, changes
SETTLED_STATES = ("met", "late", "not_applicable")


class _NeedFull(Exception):
    """A write on the cached state touched what the cache does not hold: redo it on the whole ledger."""


def _encoder(path) -> str:
    """The writer whose output `encoded` vouches for: appending is byte-for-byte a whole encoding only
    with the same one (a tomli-w upgrade may lay TOML out otherwise; JSON is Python's, in code_key)."""
    if codec.is_json(path):
        return "json"
    import tomli_w

    return f"tomli-w {getattr(tomli_w, '__version__', '?')}"


@lru_cache(maxsize=1)
def code_key() -> str:
    """What the cache's content depends on besides the ledger and the regimes: this code. The version,
    the cache and schema versions, and the size and time of the modules that fold, decide and encode
    (so a changed checkout does not trust a cache an older one wrote)."""
    import os
    from pathlib import Path

    from . import __version__

    here = Path(__file__).resolve().parent
    parts = [__version__, str(CACHE_VERSION), str(codec.SCHEMA_VERSION), sys.version]  # json is Python's
    for name in ("service.py", "model.py", "profile.py", "deadlines.py", "timeutil.py", "regimes/__init__.py",
                 "ledger/codec.py", "ledger/chain.py", "ledger/store.py", "ledger/cache.py", "ledger/stream.py"):
        try:
            st = os.stat(here / name)
            parts.append(f"{name}:{st.st_size}:{st.st_mtime_ns}")
        except OSError:
            parts.append(f"{name}:-")
    return "/".join(parts)


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
    from pydantic import ValidationError

    from .profile import Profile

    expected = state.profile.model_dump() if state.profile else {}
    try:
        # compared as validated profiles, so fields added later with their defaults still match
        top = Profile.model_validate(top).model_dump() if state.profile else top
    except ValidationError:
        pass
    if top != expected:
        keys = sorted(k for k in set(top) | set(expected) if top.get(k) != expected.get(k))
        raise IntegrityError(
            f"{source}: the top-level profile does not match the profile set by the events "
            f"(differs in: {', '.join(keys) or 'shape'}); it was edited outside nis2-incident", None)


@dataclass
class Walked:
    """A ledger verified and folded one event at a time (`Service._walk`)."""

    walk: stream.Walk
    state: State
    owners: list[str | None]  # the incident of each event, by position
    hashes: list[str] | None  # each event's hash, when asked for
    encoded: bool | None  # the bytes are exactly what the codec writes, when asked for


class Service:
    def __init__(self, store: Store, now: datetime, regimes: dict[str, Regime] | None = None,
                 regimes_dir: str | None = None):
        self.store = store
        self.now = now
        self._regimes = regimes
        self.regimes_dir = regimes_dir  # --regimes; else the profile's regimes_dir
        self._regimes_fp: str | None = None  # the fingerprint of the regime files loaded by _bind
        # The read cache serves stores that have one (a file, not an exercise's memory), when the
        # regimes come from files this service reads (not handed over by a caller).
        self._cached = regimes is None and hasattr(store, "snapshot")
        self._kept: State | None = None  # a state just read, for the next read (see `keep`)

    @property
    def regimes(self) -> dict[str, Regime]:
        return self._regimes if self._regimes is not None else builtin()

    def _bind(self, state: State) -> State:
        """Load the user's regime files once the profile is known."""
        if self._regimes is None and state.profile is not None:
            folder = self.regimes_dir or state.profile.regimes_dir
            self._regimes_fp = fingerprint(folder or None)  # before reading them: a change in between is seen next time
            self._regimes = load_regimes(folder) if folder else builtin()
        return state

    # --- reading -------------------------------------------------------------------------

    def keep(self, state: State) -> None:
        """Let the next read take `state` (just read, e.g. to learn the profile's zone) instead of
        reading the ledger again."""
        self._kept = state

    def state(self) -> State:
        """The ledger folded; through the read cache when it can (a partial state, which reads the
        whole ledger if asked for what it does not hold; see `model.State`)."""
        if self._kept is not None:
            state, self._kept = self._kept, None
            return state
        if not self._cached:
            return self._whole(self.store.read())
        snap = self.store.snapshot(lazy=True)
        state = self._from_cache(snap)
        if state is not None:
            return state
        if snap.raw is None:  # a cache for these bytes that does not serve (other code, other regimes)
            snap = self.store.snapshot(with_cache=False)
        size = len(snap.raw)
        walked = self._walk(snap, encoded=True)
        if walked is not None:
            state, walk = walked.state, walked.walk
            body = self._cache_body(walk.schema_version, len(walk), state, walked.encoded,
                                    lambda live: [walk.event(i) for i, owner in enumerate(walked.owners) if owner in live])
        else:
            ledger = self.store.parse(snap)
            state = self._whole(ledger)
            body = self._ledger_cache_body(ledger, state,
                                           codec.is_encoded(ledger.to_data(), snap.raw, self.store.path))
        self._save_cache(body, snap.digest, size)
        if body is not None:  # what is settled is known now: `live` need not compute it again
            state.mark_settled(set(state.incidents) - {ev["incident"] for ev in body["events"]})
        return state

    def _walk(self, snap, hashes: bool = False, encoded: bool = False) -> Walked | None:
        """Verify and fold the snapshot's bytes one event at a time, holding one decoded event at a
        time (`ledger/stream.py`); None when they must be read whole (`Store.parse`), which then gives
        the same state, or the error with the message and place a whole read gives. A JSON walk holds
        the text, so it takes the bytes from the snapshot (`snap.raw` is None after a walk) and puts
        them back only when the snapshot must be read whole."""
        walk = None
        try:
            from .ledger import stream  # here: a read through the cache never walks the file

            walk = stream.walk(snap.raw, self.store.path)
            if not walk.toml:
                snap.raw = None  # the text is the same data: do not hold both (memory at 10,000 incidents)
            verifier, state, owners = chain.Verifier(), State(), []
            kept: list[str] | None = [] if hashes else None
            same = walk.frame_encoded() if encoded else None
            for index, ev in enumerate(walk.events()):
                verifier.add(ev)
                state.apply(ev)
                owners.append(sys.intern(ev["incident"]) if "incident" in ev else None)
                if kept is not None:
                    kept.append(ev["hash"])
                if same:
                    same = walk.event_encoded(index, ev)
            check_top_profile(walk.profile, state, str(self.store.path))
            if state.profile is None:
                raise ValueError("no profile event")  # the whole read names it
        except Exception:  # NotStreamable, a bad event, or anything else: the whole read says it the way it does
            if snap.raw is None:
                snap.raw = walk.source()
            return None
        return Walked(walk, self._bind(state), owners, kept, same)

    def _read_whole(self, snap) -> State:
        """Every incident, from the snapshot's bytes (not the cache). A lazy snapshot has none: the
        ledger is read as it is now (if a write came in between, the state becomes that of the newer
        ledger as a whole, `State._complete`)."""
        if snap.raw is None:
            snap = self.store.snapshot(with_cache=False)
        walked = self._walk(snap)
        return walked.state if walked is not None else self._whole(self.store.parse(snap))

    def _whole(self, ledger: Ledger) -> State:
        state = folded(ledger, str(self.store.path))
        if state.profile is None:
            raise IntegrityError(f"{self.store.path}: the ledger has no profile event", None)
        return self._bind(state)

    def view(self, state: State, inc: Incident) -> IncidentView:
        return IncidentView(inc, deadlines.compute(inc, state.profile, self.regimes, self.now), state.profile)

    def views(self, live_only: bool = False) -> tuple[State, list[IncidentView]]:
        """Every incident's view; with `live_only`, those of the incidents that can still change with
        time (all but the settled ones), which is all that `check` and `status` show."""
        state = self.state()
        return state, [self.view(state, inc) for inc in (state.live if live_only else state.incidents.values())]

    def each_view(self, state: State):
        """Every incident's view, computed as it is asked for (not all held at once)."""
        return (self.view(state, inc) for inc in state.incidents.values())

    def record(self) -> tuple[State, Callable[[], Iterator[dict]], int, int, str]:
        """For the JSON export, from the ledger's bytes: the state, a way to go through the events
        again (one at a time when the file allows, `_walk`), their number, the schema version and the
        head."""
        self._kept = None  # a state read to learn the zone: not held beside this one
        if self._cached:
            snap = self.store.snapshot(with_cache=False)
            walked = self._walk(snap)
            if walked is not None:
                walk, state = walked.walk, walked.state
                return state, walk.events, len(walk), walk.schema_version, f"{state.head_seq}:{state.head_hash}"
            ledger = self.store.parse(snap)
        else:
            ledger = self.store.read()
        state = self._whole(ledger)
        return state, lambda: iter(ledger.events), len(ledger.events), ledger.schema_version, ledger.head

    def one(self, ident: str) -> tuple[State, IncidentView]:
        state = self.state()
        return state, self.view(state, state.incident(ident))

    def snapshot(self) -> tuple[Ledger, State, list[IncidentView]]:
        """One read of the ledger: the file's content (events, head), its fold, and every incident's
        obligations. For exports and drafts, which need the events as well as the derived record."""
        ledger = self.store.read()
        state = folded(ledger, str(self.store.path))
        if state.profile is None:
            raise IntegrityError(f"{self.store.path}: the ledger has no profile event", None)
        self._bind(state)
        return ledger, state, [self.view(state, inc) for inc in state.incidents.values()]

    def verify(self, head: str | None = None) -> dict:
        """Always from the ledger's bytes: decode, recompute the chain, check the profile (never the
        cache); one event at a time when the file allows (`_walk`)."""
        walked = self._walk(self.store.snapshot(with_cache=False), hashes=True) if self._cached else None
        if walked is not None:
            state, events = walked.state, walked.hashes
            count, last = len(walked.hashes), f"{state.head_seq}:{state.head_hash}"
        else:
            ledger = self.store.read()  # parses and verifies the chain
            state, events = folded(ledger, str(self.store.path)), ledger.events
            count, last = len(ledger.events), ledger.head
        result = {"ok": True, "events": count, "incidents": len(state.incidents), "head": last, "head_check": None}
        if head is not None:
            try:
                result["head_check"] = chain.check_head(events, head)
            except IntegrityError as exc:
                raise IntegrityError(f"{self.store.path}: {exc.message}", exc.seq) from None
        return result

    # --- the read cache ------------------------------------------------------------------

    def _settled(self, state: State, inc: Incident) -> bool:
        """Closed, and every obligation met, late or not applicable. Those states do not depend on the
        clock (a filing makes met or late whatever `now` is; not applicable follows from the facts),
        so a settled incident has nothing to show in `check` or `status` at any `now`."""
        return inc.closed_at is not None and all(
            o.state in SETTLED_STATES for o in deadlines.compute(inc, state.profile, self.regimes, self.now))

    def _cache_body(self, schema_version: int, event_count: int, state: State, encoded: bool,
                    events_of) -> dict | None:
        """What the cache holds for a ledger (whole, decoded and verified: `state` is its fold; `events_of(ids)` gives the events of those incidents, in
        order). `encoded`: the bytes are exactly what the codec writes for it (only then may a write
        append to them)."""
        if self._regimes_fp is None:
            return None
        live = {inc.id for inc in state.incidents.values() if not self._settled(state, inc)}
        return {
            "code": code_key(),
            "encoded": encoded,
            "encoder": _encoder(self.store.path),
            "schema_version": schema_version,
            "regimes": {"fingerprint": self._regimes_fp, "versions": dump_set(self.regimes)},
            "profile": state.profile.model_dump(),
            "head": [state.head_seq, state.head_hash],
            "event_count": event_count,
            "incidents": [[ident, number] for ident, number in state.numbers.items()],
            "events": events_of(live),
        }

    def _ledger_cache_body(self, ledger: Ledger, state: State, encoded: bool) -> dict | None:
        return self._cache_body(ledger.schema_version, len(ledger.events), state, encoded,
                                lambda live: [ev for ev in ledger.events if ev.get("incident") in live])

    def _save_cache(self, body: dict | None, digest: str, size: int) -> None:
        """Keep `body` as the cache of the ledger bytes of SHA-256 `digest` and length `size`."""
        if body is not None and self._cached:
            self.store.save_cache({**body, "ledger_sha256": digest, "size": size})

    def _from_cache(self, snap, writing: bool = False) -> State | None:
        """The partial state the cache holds for the snapshot's bytes, or None when it cannot serve
        (none, stale, written by other code, for other regime files, or not readable as expected)."""
        doc = snap.cache
        if doc is None or doc.get("code") != code_key():
            return None
        try:
            profile = doc["profile"]
            folder = self.regimes_dir or profile.get("regimes_dir")
            fp = fingerprint(folder or None)
            if fp is None or fp != doc["regimes"]["fingerprint"]:
                return None
            regimes = set_from_dump(doc["regimes"]["versions"])
            head_seq, head_hash = doc["head"]
            index = {ident: number for ident, number in doc["incidents"]}

            def load_all() -> State:
                if writing:
                    raise _NeedFull
                return self._read_whole(snap)

            state = fold_live(StoredProfile(profile), doc["events"], index, head_seq, head_hash, load_all)
        except Exception:  # a cache that does not read as it should (or holds half an incident) is no cache
            return None
        if self._regimes is None:
            self._regimes, self._regimes_fp = regimes, fp
        return state

    # --- writing -------------------------------------------------------------------------

    def _write(self, change, whole: bool = False) -> Outcome:
        """Run `change(ledger, state, warnings)` under the lock on a fresh read, and write what it
        appended. Through the cache when it can (see the module docstring); `whole`: never."""
        self._kept = None  # a state read before the lock is no use after it
        if not self._cached:
            warnings: list[str] = []

            def apply(ledger: Ledger):
                return change(ledger, self._whole(ledger), warnings)

            value, ledger = self.store.update(apply)
            return Outcome(value, ledger.head, warnings + self._store_notices())

        store = self.store
        store.notices = []
        with store.locked():
            snap = store.snapshot()
            if not whole:
                done = self._write_appending(snap, change)
                if done is None:
                    done = self._write_walking(snap, change)
                if done is not None:
                    return done
                if snap.raw is None:  # a JSON walk let the bytes go: the same ones again, for the whole read
                    snap.raw = store.reread(snap.digest)
            warnings = []
            ledger = store.parse(snap)
            state = self._whole(ledger)
            before = len(ledger.events)
            value = change(ledger, state, warnings)
            if len(ledger.events) != before:
                size, digest = store.write_full(ledger)
                self._save_cache(self._ledger_cache_body(ledger, state, True), digest, size)
            elif snap.cache is None:  # nothing to write, but the whole ledger was read: keep the cache
                self._save_cache(self._ledger_cache_body(ledger, state,
                                                         codec.is_encoded(ledger.to_data(), snap.raw, store.path)),
                                 snap.digest, len(snap.raw))
            return Outcome(value, ledger.head, warnings + self._store_notices())

    def _write_appending(self, snap, change) -> Outcome | None:
        """The fast path of a write: None, having written nothing, when it does not apply."""
        from .ledger.store import LedgerEnd

        doc = snap.cache
        if doc is None or doc.get("encoded") is not True or doc.get("encoder") != _encoder(self.store.path):
            return None
        state = self._from_cache(snap, writing=True)
        if state is None:
            return None
        ledger = LedgerEnd(doc["profile"], state.head_seq, state.head_hash, doc.get("schema_version", 1))
        warnings: list[str] = []
        try:
            value = change(ledger, state, warnings)
        except _NeedFull:
            return None
        if not ledger.events:
            return Outcome(value, ledger.head, warnings + self._store_notices())
        if any(ev["type"] == "profile_set" for ev in ledger.events):
            return None  # the profile decides what is settled: the whole ledger, then
        written = self.store.write_append(snap, ledger.events, ledger.head)
        if written is None:
            return None
        size, digest = written
        touched = {ev["incident"] for ev in ledger.events if ev.get("incident")}
        settled = {ident for ident in touched if self._settled(state, state.incident(ident))}
        events = [ev for ev in [*doc["events"], *ledger.events] if ev.get("incident") not in settled]
        self._save_cache({**doc, "encoded": True,
                          "head": [state.head_seq, state.head_hash],
                          "event_count": doc["event_count"] + len(ledger.events),
                          "incidents": [[ident, number] for ident, number in state.numbers.items()],
                          "events": events}, digest, size)
        return Outcome(value, ledger.head, warnings + self._store_notices())

    def _write_walking(self, snap, change) -> Outcome | None:
        """A write without a cache that serves: verify and fold the file one event at a time (`_walk`),
        then append as the fast path does, if the bytes are what the codec writes. None, having written
        nothing, when it does not apply (the caller then reads and rewrites the whole file)."""
        from .ledger.store import LedgerEnd

        walked = self._walk(snap, encoded=True)
        if walked is None:
            return None
        walk, state = walked.walk, walked.state
        if not walked.encoded:
            return None
        ledger = LedgerEnd(state.profile.model_dump(), state.head_seq, state.head_hash, walk.schema_version)
        warnings: list[str] = []
        value = change(ledger, state, warnings)
        if any(ev["type"] == "profile_set" for ev in ledger.events):
            return None  # the profile decides what is settled: the whole ledger, then
        # what the cache will hold, taken from the walk before the write, so that a JSON walk's text
        # can go before its bytes come back for the append (memory at 10,000 incidents)
        body = self._cache_body(walk.schema_version, len(walk) + len(ledger.events), state, True,
                                lambda live: [walk.event(i) for i, owner in enumerate(walked.owners) if owner in live]
                                + [ev for ev in ledger.events if ev.get("incident") in live])
        walk.data = b"" if walk.toml else ""  # the text (JSON), or a second reference to the bytes
        if snap.raw is None:  # a JSON walk dropped them: read them again (under the lock), the text gone first
            snap.raw = self.store.reread(snap.digest)
        size, digest = len(snap.raw), snap.digest
        if ledger.events:
            written = self.store.write_append(snap, ledger.events, ledger.head)
            if written is None:
                return None
            size, digest = written
        self._save_cache(body, digest, size)
        return Outcome(value, ledger.head, warnings + self._store_notices())

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
        sealed = ledger.append({"type": type_, "recorded_at": self._stamp(self.now, state.profile),
                                "incident": incident, "data": data})
        state.apply(sealed)  # the fold, one event further
        return sealed

    @staticmethod
    def _stamp(instant: datetime, profile: Profile) -> str:
        return tu.rfc3339(instant, profile.timezone)

    def init(self, **fields) -> Outcome:
        from pydantic import ValidationError

        from .profile import Profile

        fields = {k: v for k, v in fields.items() if v is not None}
        if "regimes" not in fields:  # every regime whose facts the profile can decide
            fields["regimes"] = ["nis2", "gdpr"] + (["csp"] if fields.get("health_establishment") else [])
        if fields.get("regimes_dir") and self._regimes is None:
            self._regimes = load_regimes(fields["regimes_dir"])
        self._check_targets(fields.get("targets", {}), fields["regimes"])
        try:
            profile = Profile.model_validate(fields)
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = ".".join(str(p) for p in err["loc"])
            raise InputError(f"profile {loc}: {err['msg'].removeprefix('Value error, ')}") from None
        unknown = [r for r in profile.regimes if r not in self.regimes]
        if unknown:
            raise InputError(f"unknown regime(s) {', '.join(unknown)}; accepted: {', '.join(self.regimes)}")
        ledger = Ledger(profile=profile.model_dump())
        ledger.append({"type": "profile_set", "recorded_at": self._stamp(self.now, profile),
                       "data": profile.model_dump()})
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
        from pydantic import ValidationError

        from .profile import Profile

        def change(ledger: Ledger, state: State, warnings: list[str]):
            current = state.profile.model_dump()
            changed = {k: v for k, v in changes.items() if v is not None and current.get(k) != v}
            if "targets" in changed:
                self._check_targets(changed["targets"], changed.get("regimes", current.get("regimes")))
            try:
                profile = Profile.model_validate({**current, **changed})
            except ValidationError as exc:
                err = exc.errors()[0]
                loc = ".".join(str(p) for p in err["loc"])
                raise InputError(f"profile {loc}: {err['msg'].removeprefix('Value error, ')}") from None
            if not changed:
                warnings.append("no change: the profile already says so; nothing was written")
                return profile
            self._event(ledger, state, "profile_set", changed)
            ledger.profile = profile.model_dump()
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
                out[name] = self._stamp(self._parse_time(value, profile, name.replace("_at", "-at")), profile)
            elif kind == "text":
                text = str(value).strip()
                if not text:
                    raise InputError(f"{name.replace('_', '-')} is empty; accepted: some text")
                out[name] = text
            elif kind == "significance":
                if value not in SIGNIFICANCE:
                    raise InputError(f"significance {value!r}; accepted: {', '.join(SIGNIFICANCE)}")
                out[name] = value
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
        aware = tu.parse_instant(facts["aware_at"])
        detected = facts.get("detected_at")
        if detected and tu.parse_instant(detected) > aware:
            warnings.append(f"detected-at {tu.display(tu.parse_instant(detected), profile.timezone)} is after "
                            f"aware-at; awareness usually follows detection (recorded as given)")

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
                if "aware_at" in changed:
                    new_aware = tu.parse_instant(changed["aware_at"])
                    early = [f.stage for f in inc.filings if f.at < new_aware]
                    if early:
                        warnings.append(f"filings recorded before the new aware-at: {', '.join(early)}")
                self._event(ledger, state, "amended", changed, inc.id)
            else:
                warnings.append("no change: every value given is already recorded; nothing was written")
            return self.view(state, state.incident(inc.id))

        return self._write(change)

    def resolve_stage(self, stage: str, profile: Profile) -> str:
        enabled = {rid: r for rid, r in self.regimes.items() if rid in profile.regimes}
        names = [f"{r.id}.{s.id}" for r in enabled.values() for s in r.stages]
        key = (stage or "").strip().lower().replace("-", "_")
        if key in names:
            return key
        short = [n for n in names if n.split(".", 1)[1] == key]
        if len(short) == 1:
            return short[0]
        raise NotFound(f"unknown stage {stage!r}; accepted: {', '.join(names)}")

    def submit(self, ident: str, stage: str, at: str | None = None, reference: str | None = None,
               channel: str | None = None, late_reason: str | None = None,
               draft_sha256: str | None = None) -> Outcome:
        if draft_sha256 is not None and not (len(draft_sha256) == 64 and
                                             all(c in "0123456789abcdef" for c in draft_sha256)):
            raise InputError(f"draft SHA-256 {draft_sha256!r:.70}; accepted: 64 lowercase hexadecimal digits")

        def change(ledger: Ledger, state: State, warnings: list[str]):
            inc = state.incident(ident)
            name = self.resolve_stage(stage, state.profile)
            tz = state.profile.timezone
            when = self._parse_time(at or "now", state.profile, "--at")
            if when < inc.aware_at:
                raise InputError(
                    f"--at {tu.display(when, tz)} is before the clock start (aware-at "
                    f"{tu.display(inc.aware_at, tz)}); accepted: a time at or after aware-at"
                )
            # Lateness is frozen at filing: compare with the due time as computed at the filing instant.
            obligations = deadlines.compute(inc, state.profile, self.regimes, when)
            same = [o for o in obligations if o.stage == name]
            target = next((o for o in same if o.filing is None and o.state != "not_applicable"), None)
            if target is None and same:
                target = same[0]
                if target.state == "not_applicable":
                    warnings.append(f"{name} is not applicable ({target.note}); the filing is recorded anyway")
                elif target.filing is not None:
                    warnings.append(f"{name} was already filed at {tu.display(target.filing.at, tz)}; "
                                    "recorded as a further filing")
            if name.endswith(".intermediate") and not inc.requests:
                warnings.append("no request from the authority is recorded for this report (see `request`)")
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
            self._event(ledger, state, kind, stamp, inc.id)
            view = self.view(state, state.incident(inc.id))
            if kind == "closed" and view.open_obligations:
                warnings.append("closed with obligations still open: "
                                + ", ".join(o.stage for o in view.open_obligations))
            return view

        return self._write(change)


def _stored(value, profile: Profile):
    if isinstance(value, datetime):
        return tu.rfc3339(value, profile.timezone)
    return value
