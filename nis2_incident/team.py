"""Team mode's offline copy (issue 15): `ledger pull --to FILE.jsonl` and `ledger push FILE.jsonl`.

pull: the shared record (any ledger, usually PostgreSQL) copied to a local log: the same lines, the
same hashes, so `verify --head` agrees. A copy that is a prefix of the record is brought up to date
(the missing lines appended under the file's lock); a copy holding events the record does not is
refused (push them first), unless every one of them is already in the record as re-sealed by a
`push --rebase` (their original hashes are kept there), in which case the copy is replaced.

push: the events recorded in the copy after the last one both hold ("offline") appended to the
record, under its write lock:
- the record's head has not moved since: appended as they are (same lines, same hashes);
- it has moved: refused, saying what moved (nothing written), unless `rebase`, which re-seals each
  offline event after the record's head, as a new event recorded now that keeps the original's seq,
  hash, time and incident id under `offline` (so the record shows what was recorded offline and
  when). An incident opened offline whose id was taken meanwhile gets the next free id (the event
  says which it had). Every re-sealed event is folded onto the record's state first: one that does
  not fit (e.g. a change to an incident closed meanwhile is still recorded: the fold accepts what the
  log accepts) refuses the whole push.
"""

from __future__ import annotations

from pathlib import Path

from . import timeutil as tu
from .errors import InputError, LedgerError, StateError
from .ledger import Ledger, Store, log
from .service import Outcome, Service


def _common(a: list[dict], b: list[dict]) -> int:
    """How many events `a` and `b` share from the start (by hash)."""
    k = 0
    for x, y in zip(a, b):
        if x["hash"] != y["hash"]:
            break
        k += 1
    return k


def _fold(state, event: dict, original: dict) -> None:
    """Fold one pushed event onto the record's state; one that does not fit refuses the push."""
    try:
        state.apply(event)
    except LedgerError as exc:
        raise StateError(f"offline event seq {original['seq']} ({original['type']}) does not fit after the "
                         f"record's head: {exc.message}; nothing was pushed") from None


def _local(path: Path) -> Store:
    if not log.is_log(path):
        raise InputError(f"{path}: the local copy is a JSON Lines log; accepted: a file name ending in .jsonl")
    return Store(path)


def pull(service: Service, to: Path) -> Outcome:
    ledger, state = service._read(keep=True, as_of=False)
    if ledger.tail is not None and ledger.tail.torn:
        raise LedgerError(log.torn_message(service.store.path, ledger.tail, ledger.size))
    target = _local(to)
    info = {"from": str(service.store.path), "to": str(to), "head": ledger.head, "events": len(ledger.events)}
    if not target.exists():
        copy = Ledger(profile=None, events=ledger.events, schema_version=ledger.schema_version)
        target.create(copy)
        info["copied"] = len(ledger.events)
    else:
        with target.locked():
            mine = target.read()
            k = _common(mine.events, ledger.events)
            extra = mine.events[k:]
            if extra:
                kept = {ev["offline"]["hash"] for ev in ledger.events[k:] if isinstance(ev.get("offline"), dict)}
                if any(ev["hash"] not in kept for ev in extra):
                    raise StateError(
                        f"{to}: holds {len(extra)} event(s) after seq {k} that {service.store.path} does not "
                        f"(seq {extra[0]['seq']}..{extra[-1]['seq']}, recorded offline?); nothing was pulled. "
                        f"Accepted: `nis2-incident ledger push {to}` first (with --rebase if the record moved)")
                # every offline event is in the record (re-sealed by push --rebase): the copy is replaced
                from .ledger import safefile

                payload = target.encode(Ledger(profile=None, events=ledger.events,
                                               schema_version=ledger.schema_version))
                try:
                    safefile.write_atomic(to, payload, safefile.reference(to))
                except OSError as exc:
                    from .errors import WriteError

                    raise WriteError(f"{to}: could not replace the copy ({exc.strerror or exc}); it is unchanged") from None
                info["copied"] = len(ledger.events)
                info["replaced"] = len(extra)
            else:
                new = ledger.events[k:]
                if new:
                    target.write(mine, new)
                info["copied"] = len(new)
    copied = Store(to).read()  # decoded and chain-verified, every event (not "as of" --now)
    if copied.head != ledger.head:
        raise LedgerError(f"{to}: the copy's head {copied.head} is not the record's {ledger.head}; remove the "
                          "copy and pull again")
    return Outcome(info, ledger.head, list(getattr(target, "notices", [])))


def push(service: Service, source: Path, rebase: bool = False) -> Outcome:
    local = _local(source)
    mine = local.read()
    if mine.tail is not None and mine.tail.torn:
        raise LedgerError(log.torn_message(source, mine.tail, mine.size))
    store = service.store
    info = {"from": str(source), "to": str(store.path), "pushed": 0, "rebased": False}

    def change(ledger: Ledger, state, warnings: list[str]):
        shared = store.read().events  # under the lock, in its transaction (the fold's read kept none)
        k = _common(mine.events, shared)
        offline = mine.events[k:]
        info["offline"] = len(offline)
        if not offline:
            warnings.append(f"{source} holds nothing the record does not (it ends at seq {len(mine.events)}, the "
                            f"record at seq {len(shared)}); nothing was pushed")
            return info
        if k == 0 and shared:
            raise StateError(f"{source} is not a copy of {store.path}: their first events differ; nothing was "
                             "pushed. Accepted: a copy made with `ledger pull --to FILE`")
        if k == len(shared):  # the head has not moved: the same lines, the same hashes
            for ev in offline:
                ledger.events.append(ev)
                _fold(state, ev, ev)
            info["pushed"] = len(offline)
            return info
        moved = shared[k:]
        # Offline events a previous `push --rebase` already re-sealed (their original hash is kept under
        # `offline`): pushed once, never twice (a retried push, or one whose answer was lost). Their new
        # ids and seqs carry over to the offline events after them.
        renamed: dict[str, str] = {}
        seqs: dict[int, int] = {}  # offline seq -> re-sealed seq (a late reason names its filing's seq)
        resealed = {ev["offline"]["hash"]: ev for ev in moved if isinstance(ev.get("offline"), dict)}
        done = 0
        while done < len(offline) and offline[done]["hash"] in resealed:
            was = resealed[offline[done]["hash"]]
            seqs[offline[done]["seq"]] = was["seq"]
            ident = was["offline"].get("incident")
            if ident is not None and was.get("incident") not in (None, ident):
                renamed[ident] = was["incident"]
            done += 1
        if done:
            offline = offline[done:]
            info["offline"] = len(offline)
            warnings.append(f"{done} offline event(s) of {source} are already in the record (re-sealed by an earlier "
                            f"`ledger push --rebase`): not pushed again")
            if not offline:
                warnings.append(f"`nis2-incident ledger pull --to {source}` replaces the copy with the record")
                return info
        if not rebase:
            raise StateError(
                f"{store.path}: the record moved since {source} was pulled: {len(moved)} event(s) recorded after seq "
                f"{k} (the last both hold), now at head {ledger.head}; {source} holds {len(offline)} offline "
                f"event(s) after seq {k}; nothing was pushed. Accepted: `ledger push {source} --rebase` (re-seals "
                "them after the record's head, keeping each one's original hash and time)")
        profile = state.profile
        for ev in offline:
            ident = ev.get("incident")
            data = dict(ev.get("data", {}))
            if isinstance(data.get("reason_for"), int) and data["reason_for"] in seqs:
                data["reason_for"] = seqs[data["reason_for"]]
            if ident is not None and ev["type"] == "opened":
                if state.known(ident):
                    number = state.count + 1
                    year = ident.split("-")[1] if ident.count("-") == 2 else str(tu.to_local(service.now, profile.timezone).year)
                    new_id = f"INC-{year}-{number:03d}"
                    while state.known(new_id):
                        number += 1
                        new_id = f"INC-{year}-{number:03d}"
                    renamed[ident] = new_id
                    data["number"] = number
                    warnings.append(f"{ident} (opened offline) is recorded as {new_id}: the record's {ident} was "
                                    "opened meanwhile")
            new = {"type": ev["type"], "recorded_at": tu.rfc3339(service.now, profile.timezone),
                   "incident": renamed.get(ident, ident) if ident is not None else None, "data": data,
                   "offline": {k2: v for k2, v in (("seq", ev["seq"]), ("hash", ev["hash"]),
                                                   ("recorded_at", ev["recorded_at"]), ("incident", ident))
                               if v is not None}}
            sealed = ledger.append(new)
            seqs[ev["seq"]] = sealed["seq"]
            _fold(state, sealed, ev)
            if ev["type"] == "profile_set":
                profile = state.profile
        info.update(pushed=len(offline), rebased=True, renamed=renamed)
        warnings.append(f"{source} now differs from the record (its offline events were re-sealed): "
                        f"`nis2-incident ledger pull --to {source}` replaces it with the record")
        return info

    outcome = service._write(change, whole=True)
    outcome.value["head"] = outcome.head
    return outcome

