"""Tampering at scale (DESIGN §3, row "tamper-evident chain"; issue 7, item 5).

A 1,000-event ledger (1 profile_set, then 333 incidents each opened, amended and filed), written
through the store. Bytes are flipped, a time edited, events deleted, duplicated and swapped, a tail
re-hashed, a tail cut: `verify` fails and names the first bad event every time, or, where a bare hash
chain cannot see the change (a re-hashed or cut tail), `verify --head` with a head kept elsewhere does.
Random flips: 40 by default, 400 with `pytest --full-safety`.
"""

from __future__ import annotations

import copy
import json
import random
import re
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import at
from nis2_incident.cli import app
from nis2_incident.errors import IntegrityError, LedgerError
from nis2_incident.ledger import Store, chain, codec
from nis2_incident.service import Service

NOW = "2026-03-28T12:00"
N = 1000
runner = CliRunner()


def add_incidents(ledger):
    for i in range(1, (N - 1) // 3 + 1):
        ident = f"INC-2026-{i:03d}"
        stamp = "2026-03-28T12:00:00+01:00"
        ledger.append({"type": "opened", "recorded_at": stamp, "incident": ident,
                       "data": {"title": f"Incident {i}", "aware_at": "2026-03-28T10:00:00+01:00",
                                "significance": "undetermined", "number": i}})
        ledger.append({"type": "amended", "recorded_at": stamp, "incident": ident,
                       "data": {"summary": f"Summary of incident {i}"}})
        ledger.append({"type": "filed", "recorded_at": stamp, "incident": ident,
                       "data": {"stage": "nis2.early_warning", "at": "2026-03-28T11:00:00+01:00",
                                "due": "2026-03-29T11:00:00+02:00", "late": False}})


@pytest.fixture(scope="module")
def thousand(tmp_path_factory) -> dict[str, bytes]:
    """The same 1,000-event ledger as a log, as TOML and as JSON bytes (built once per module)."""
    out = {}
    for fmt in ("jsonl", "toml", "json"):
        path = tmp_path_factory.mktemp(fmt) / f"ledger.{fmt}"
        Service(Store(path), at(NOW)).init(name="CHU Test", category="essential", regimes=["nis2"])
        Store(path).update(add_incidents)
        out[fmt] = path.read_bytes()
    return out


@pytest.fixture(params=["jsonl", "toml", "json"])
def big(request, thousand, tmp_path) -> Path:
    path = tmp_path / f"ledger.{request.param}"
    path.write_bytes(thousand[request.param])
    return path


def load(path: Path) -> dict:
    return load_bytes(path.read_bytes(), path.suffix[1:])


def save(path: Path, data: dict) -> None:
    """Write `data` as the tamperer would: a document re-encoded, or a log's lines each written as the
    canonical bytes of the event and the hash it carries (whether or not that hash is right)."""
    if path.suffix == ".jsonl":
        path.write_bytes(data["header"] + b"".join(raw_line(ev) for ev in data["events"]))
    else:
        path.write_bytes(codec.encode(data, path))


def raw_line(ev: dict) -> bytes:
    return chain.canonical(ev)[:-1] + b',"hash":"' + ev["hash"].encode() + b'"}\n'


def names(path: Path, err: IntegrityError, seq: int, text: str, line: int | None = None) -> None:
    """The error names the first bad event; in a log, also its line (the event of seq S is on line
    S + 1). A log's last line that does not verify is an alteration like any other (never taken for
    a torn write and cut: a write cut short never leaves a complete line)."""
    assert text in err.message, err.message
    if path.suffix != ".jsonl":
        assert err.seq == seq, err.message
        return
    line = line or seq + 1
    assert f"{path}: line {line}" in err.message or f"{path}: line {line} " in err.message, err.message
    assert err.seq == seq, err.message


def first_bad(path: Path) -> IntegrityError:
    """`verify` fails: the IntegrityError it raises (what the CLI prints, exit 3)."""
    with pytest.raises(IntegrityError) as err:
        Service(Store(path), at(NOW)).verify()
    return err.value


def verify_cli(path: Path, *args: str):
    return runner.invoke(app, ["verify", "--ledger", str(path), "--json", *args], catch_exceptions=False)


def test_the_thousand_event_ledger_verifies(big):
    result = Service(Store(big), at(NOW)).verify()
    assert (result["events"], result["incidents"]) == (N, (N - 1) // 3)
    out = verify_cli(big)
    assert out.exit_code == 0 and json.loads(out.stdout)["events"] == N


POSITIONS = [2, 4, 500, 1000]  # the first incident's events, the middle, the last


@pytest.mark.parametrize("seq", POSITIONS)
def test_edit_a_time_names_that_event(big, seq):
    data = load(big)
    data["events"][seq - 1]["recorded_at"] = "2026-03-28T11:59:00+01:00"
    save(big, data)
    names(big, first_bad(big), seq, f"event seq {seq} was altered")
    out = verify_cli(big)
    assert out.exit_code == 3 and json.loads(out.stdout)["first_bad_seq"] == seq  # the last line too


@pytest.mark.parametrize("seq", [1, 2, 500, 999])
def test_delete_an_event_names_its_place(big, seq):
    data = load(big)
    del data["events"][seq - 1]
    save(big, data)
    names(big, first_bad(big), seq, f"event #{seq} has seq {seq + 1}")


@pytest.mark.parametrize("seq", [1, 500, 999, 1000])
def test_duplicate_an_event_names_the_copy(big, seq):
    data = load(big)
    data["events"].insert(seq, copy.deepcopy(data["events"][seq - 1]))
    save(big, data)
    names(big, first_bad(big), seq + 1, f"event #{seq + 1} has seq {seq}")


@pytest.mark.parametrize("seq", [1, 500, 999])
def test_swap_two_events_names_the_first(big, seq):
    data = load(big)
    ev = data["events"]
    ev[seq - 1], ev[seq] = ev[seq], ev[seq - 1]
    save(big, data)
    names(big, first_bad(big), seq, f"event #{seq} has seq {seq + 1}")
    # renumbered as well: the chain of `prev` still breaks at the first of the two
    ev[seq - 1]["seq"], ev[seq]["seq"] = seq, seq + 1
    save(big, data)
    names(big, first_bad(big), seq, "hash does not match" if big.suffix == ".jsonl" else "prev does not match")


def test_several_edits_name_the_earliest(big):
    data = load(big)
    for seq in (900, 321, 777):
        data["events"][seq - 1]["data"]["marker"] = "forged"
    save(big, data)
    names(big, first_bad(big), 321, "event seq 321")


def test_a_rehashed_forged_tail_is_bracketed_by_kept_heads(big):
    """Moving the filing at seq 556 earlier and re-hashing every later event makes a chain that verifies on its own (a
    bare hash chain has no secret). Heads kept elsewhere catch it: every head kept after seq 556 fails,
    every head kept before it still matches, so a history of kept heads brackets the forgery."""
    original = load(big)["events"]
    kept = {seq: f"{seq}:{original[seq - 1]['hash']}" for seq in range(100, N + 1, 100)}
    data = load(big)
    ev = data["events"]
    assert ev[555]["type"] == "filed"
    ev[555]["data"]["at"] = "2026-03-28T10:30:00+01:00"
    for i in range(555, N):
        ev[i]["prev"] = ev[i - 1]["hash"]
        ev[i]["hash"] = chain.event_hash(ev[i])
    save(big, data)
    assert Service(Store(big), at(NOW)).verify()["ok"]  # plain verify cannot see it: documented
    verdicts = {}
    for seq, head in kept.items():
        out = verify_cli(big, "--head", head)
        verdicts[seq] = out.exit_code
        if out.exit_code:
            assert json.loads(out.stdout)["first_bad_seq"] == seq
    assert verdicts == {seq: (0 if seq < 556 else 3) for seq in kept}


@pytest.mark.parametrize("cut", [1, 2, 500])
def test_a_cut_tail_is_caught_by_verify_head(big, cut):
    original = load(big)["events"]
    kept = f"{N}:{original[-1]['hash']}"
    data = load(big)
    del data["events"][-cut:]
    save(big, data)
    assert Service(Store(big), at(NOW)).verify()["events"] == N - cut  # plain verify cannot know
    out = runner.invoke(app, ["verify", "--ledger", str(big), "--head", kept], catch_exceptions=False)
    assert out.exit_code == 3
    assert f"kept head is seq {N} but the ledger ends at seq {N - cut}: " in out.stderr
    assert f"events {N - cut + 1}..{N} were removed from the end" in out.stderr


def _first_difference(before: dict, after: dict) -> int | None:
    """The seq of the first event whose content differs, or None (only the top level differs)."""
    a, b = before["events"], after.get("events")
    if not isinstance(b, list):
        return 1
    for i, ev in enumerate(a):
        if i >= len(b) or b[i] != ev:
            return i + 1
    return len(a) + 1 if len(b) > len(a) else None


LOCATION = re.compile(r"line \d+|byte \d+|events\[\d+\]|seq \d+|schema_version|profile|top level")


def test_random_byte_flips_are_caught_at_the_first_changed_event(thousand, tmp_path, safety_count):
    """Flip one random byte anywhere in the file. Either the file no longer parses (an error with the
    file and a location), or it parses to different data and `verify` names the first changed event
    (or the profile), or it parses to the very same data (e.g. a flipped quote style): no change.
    In a log every byte is covered: `verify` always fails, naming the line that holds the byte (the
    last line as a torn tail), never one after it. Random flips: 20 by default per format."""
    rng = random.Random(1000)
    counts = {"syntax": 0, "named": 0, "same data": 0, "log line named": 0, "log torn tail": 0}
    for fmt, raw in thousand.items():
        path = tmp_path / f"ledger.{fmt}"
        original = load_bytes(raw, fmt)
        for _ in range(safety_count(20, 200)):
            pos = rng.randrange(len(raw))
            flipped = bytearray(raw)
            flipped[pos] ^= 1 << rng.randrange(8)
            path.write_bytes(bytes(flipped))
            where = f"{fmt} byte {pos}: {raw[max(pos - 30, 0):pos + 30]!r}"
            if fmt == "jsonl":
                line = raw.count(b"\n", 0, pos) + 1  # the line that holds the byte (its newline included)
                with pytest.raises(LedgerError) as caught:
                    Service(Store(path), at(NOW)).verify()
                message = caught.value.message
                assert message.startswith(f"{path}: "), (where, message)
                if line == 1:
                    assert "line 1:" in message or "schema_version" in message, (where, message)
                else:
                    assert re.search(rf"\bline {line}\b", message), (where, message)
                    assert not re.search(rf"\bline (?!{line}\b)\d+", message), (where, message)
                counts["log torn tail" if line == N + 1 else "log line named"] += 1
                continue
            try:
                changed = load_bytes(bytes(flipped), fmt)
            except (ValueError, UnicodeDecodeError):
                changed = None
            try:
                Service(Store(path), at(NOW)).verify()
            except IntegrityError as exc:
                assert changed is not None, where
                expected = _first_difference(original, changed)
                assert exc.seq == expected, (where, exc.message)
                counts["named"] += 1
            except LedgerError as exc:
                assert exc.message.startswith(f"{path}: "), (where, exc.message)
                assert LOCATION.search(exc.message), (where, exc.message)
                counts["syntax" if changed is None else "named"] += 1
            else:
                assert changed == original, where
                counts["same data"] += 1
    assert counts["named"] > 0 and counts["syntax"] > 0 and counts["log line named"] > 0, counts


def load_bytes(raw: bytes, fmt: str) -> dict:
    if fmt == "jsonl":
        header, *lines = raw.splitlines(keepends=True)
        return {"header": header, "events": [json.loads(line) for line in lines]}
    text = raw.decode("utf-8")
    return json.loads(text) if fmt == "json" else tomllib.loads(text)


# --- a log: bytes cut from its middle, a rewritten prefix, a checkpoint that lies ----------------


@pytest.fixture
def big_log(thousand, tmp_path) -> Path:
    path = tmp_path / "ledger.jsonl"
    path.write_bytes(thousand["jsonl"])
    return path


def cli(path: Path, *args: str, now: str = NOW):
    return runner.invoke(app, ["--ledger", str(path), "--now", now, *args], catch_exceptions=False)


WRITE = ["open", "After", "--aware", "2026-03-28T11:00"]


@pytest.mark.parametrize(("start", "length"), [(300, 1), (50_000, 777), (123_456, 40_000), (40, 2)],
                         ids=["one-byte", "across-lines", "many-lines", "in-the-header"])
def test_bytes_cut_from_the_middle_of_a_log_name_the_line_and_no_write_touches_it(big_log, start, length):
    """A truncated prefix (bytes cut out of the middle, the rest kept): refused by `verify` and every
    write, naming the line where the cut is; the file is never rewritten or "repaired"."""
    raw = big_log.read_bytes()
    cut = raw[:start] + raw[start + length:]
    big_log.write_bytes(cut)
    line = raw.count(b"\n", 0, start) + 1
    err = pytest.raises(LedgerError, Service(Store(big_log), at(NOW)).verify).value
    assert f"{big_log}: line {line}" in err.message, err.message
    for args in (["verify"], ["status"], WRITE, ["submit", "1", "nis2.notification"]):
        r = cli(big_log, *args)
        assert r.exit_code == 3 and f"line {line}" in r.stderr, (args, r.stderr)
    assert big_log.read_bytes() == cut


@pytest.fixture
def counted(monkeypatch):
    from nis2_incident.ledger import log

    calls = []
    real = log.read_line
    monkeypatch.setattr(log, "read_line", lambda raw, pos, nl, number, *rest: calls.append(number) or real(raw, pos, nl, number, *rest))
    return calls


VIEWS = (["status"], ["list", "--json"], ["show", "5", "--json"], ["check", "--all", "--dry-run", "--format", "json"])


def views(path: Path) -> dict:
    out = {}
    for args in VIEWS:
        r = cli(path, *args)
        out[" ".join(args)] = (r.exit_code, r.stdout.replace(str(path), "LEDGER"), r.stderr.replace(str(path), "LEDGER"))
    return out


_COLD: dict = {}


def cold_views(path: Path) -> dict:
    """What each view of the intact 1,000-event log gives read without any checkpoint (computed once)."""
    import shutil

    from nis2_incident import checkpoint

    if not _COLD:
        for args in VIEWS:
            shutil.rmtree(checkpoint.folder(), ignore_errors=True)
            _COLD.update(views_of(path, args))
        shutil.rmtree(checkpoint.folder(), ignore_errors=True)
    return dict(_COLD)


def views_of(path: Path, args: list[str]) -> dict:
    r = cli(path, *args)
    return {" ".join(args): (r.exit_code, r.stdout.replace(str(path), "LEDGER"), r.stderr.replace(str(path), "LEDGER"))}


def test_a_rewritten_prefix_is_read_from_its_bytes_not_from_the_old_checkpoint(big_log, counted):
    """The checkpoint of the old bytes stays in the cache when another program rewrites the log: an
    edit at seq 501, every later event re-hashed (a chain that verifies on its own), the same length.
    The checkpoint no longer matches the first bytes, so it is not used: every line is decoded again,
    and the results are those of the new bytes; an edit not re-hashed is refused."""
    from nis2_incident import checkpoint

    assert cli(big_log, "status", "--json").exit_code == 0  # leaves a checkpoint of the whole log
    assert checkpoint.location(big_log).is_file()
    data = load(big_log)
    ev = data["events"]
    assert ev[500]["type"] == "amended"
    ev[500]["data"]["summary"] = ev[500]["data"]["summary"].replace("Summary", "Forgery")
    for i in range(500, N):
        ev[i]["prev"] = ev[i - 1]["hash"]
        ev[i]["hash"] = chain.event_hash(ev[i])
    before = big_log.stat().st_size
    save(big_log, data)
    assert big_log.stat().st_size == before
    counted.clear()
    r = cli(big_log, "show", "167", "--json")  # the incident of seq 501
    assert r.exit_code == 0 and json.loads(r.stdout)["summary"].startswith("Forgery"), r.stdout
    assert sorted(set(counted)) == list(range(2, N + 2))  # every line decoded: the checkpoint not used
    warm = views(big_log)
    import shutil

    shutil.rmtree(checkpoint.folder())
    assert views(big_log) == warm
    # the same edit without re-hashing: refused, checkpoint or not
    assert cli(big_log, "status").exit_code == 0  # a checkpoint of the forged bytes
    ev[500]["data"]["summary"] = "Second forgery, not re-hashed"
    save(big_log, data)
    r = cli(big_log, "status")
    assert r.exit_code == 3 and "line 502" in r.stderr and "altered" in r.stderr, r.stderr


def lie(body: dict, kind: str) -> dict:
    if kind == "live-list-without-an-incident":
        body["live"] = [[start, ident] for start, ident in body["live"] if ident != "INC-2026-005"]
    elif kind == "live-list-pointing-elsewhere":
        starts = {ident: start for start, ident in reversed(body["live"])}
        body["live"] = [[starts["INC-2026-007"] if ident == "INC-2026-005" else start, ident]
                        for start, ident in body["live"]]
    elif kind == "another-head":
        body["head"] = [body["head"][0] - 1, body["head"][1]]
    elif kind == "another-profile":
        body["profile"] = {**body["profile"], "name": "CHU Forgé", "targets": {"nis2.notification": "24h"}}
    return body


@pytest.mark.parametrize("kind", ["live-list-without-an-incident", "live-list-pointing-elsewhere", "another-head",
                                  "another-profile"])
def test_a_checkpoint_that_lies_beside_an_intact_log_changes_no_result_and_no_write(big_log, kind, counted):
    """A checkpoint hand-edited in the cache (its prefix's length and SHA-256 kept, so it still names
    the log's first bytes) but holding another live list, another head or another profile: every
    result is what a read without a checkpoint gives, and a write after it
    keeps the chain whole (it seals after the log's own last line). Found: a checkpoint without an
    incident in its live list hid that incident from `status` and `check`, one pointing a live entry
    at another incident's line failed every read (exit 3), one with another profile showed it; the
    checkpoint is now sealed (checkpoint.py) and an edited one is ignored."""
    from nis2_incident import checkpoint

    expected = cold_views(big_log)
    where = checkpoint.location(big_log)
    counted.clear()
    assert cli(big_log, "status", "--json").exit_code == 0  # makes the checkpoint
    assert cli(big_log, "status", "--json").exit_code == 0
    assert counted == list(range(2, N + 2))  # the first read decoded every line, the second none:
    # the checkpoint as written is used, so the lie below is read, not skipped
    body = json.loads(where.read_bytes())
    where.write_text(json.dumps(lie(body, kind)))
    assert views(big_log) == expected, kind
    r = cli(big_log, *WRITE)
    assert r.exit_code == 0, r.stderr
    assert "recorded INC-2026-334" in r.stderr, r.stderr
    result = Service(Store(big_log), at(NOW)).verify()
    assert (result["events"], result["incidents"]) == (N + 1, (N - 1) // 3 + 1)
