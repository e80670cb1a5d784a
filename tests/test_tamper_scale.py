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
    """The same 1,000-event ledger as TOML and as JSON bytes (built once per module)."""
    out = {}
    for fmt in ("toml", "json"):
        path = tmp_path_factory.mktemp(fmt) / f"ledger.{fmt}"
        Service(Store(path), at(NOW)).init(name="CHU Test", category="essential", regimes=["nis2"])
        Store(path).update(add_incidents)
        out[fmt] = path.read_bytes()
    return out


@pytest.fixture(params=["toml", "json"])
def big(request, thousand, tmp_path) -> Path:
    path = tmp_path / f"ledger.{request.param}"
    path.write_bytes(thousand[request.param])
    return path


def load(path: Path) -> dict:
    text = path.read_text("utf-8")
    return json.loads(text) if path.suffix == ".json" else tomllib.loads(text)


def save(path: Path, data: dict) -> None:
    path.write_bytes(codec.encode(data, path))


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
    err = first_bad(big)
    assert err.seq == seq and f"event seq {seq} was altered" in err.message
    out = verify_cli(big)
    assert out.exit_code == 3 and json.loads(out.stdout)["first_bad_seq"] == seq


@pytest.mark.parametrize("seq", [1, 2, 500, 999])
def test_delete_an_event_names_its_place(big, seq):
    data = load(big)
    del data["events"][seq - 1]
    save(big, data)
    err = first_bad(big)
    assert err.seq == seq and f"event #{seq} has seq {seq + 1}" in err.message


@pytest.mark.parametrize("seq", [1, 500, 999, 1000])
def test_duplicate_an_event_names_the_copy(big, seq):
    data = load(big)
    data["events"].insert(seq, copy.deepcopy(data["events"][seq - 1]))
    save(big, data)
    err = first_bad(big)
    assert err.seq == seq + 1 and f"event #{seq + 1} has seq {seq}" in err.message


@pytest.mark.parametrize("seq", [1, 500, 999])
def test_swap_two_events_names_the_first(big, seq):
    data = load(big)
    ev = data["events"]
    ev[seq - 1], ev[seq] = ev[seq], ev[seq - 1]
    save(big, data)
    assert first_bad(big).seq == seq
    # renumbered as well: the chain of `prev` still breaks at the first of the two
    ev[seq - 1]["seq"], ev[seq]["seq"] = seq, seq + 1
    save(big, data)
    err = first_bad(big)
    assert err.seq == seq and "prev does not match" in err.message


def test_several_edits_name_the_earliest(big):
    data = load(big)
    for seq in (900, 321, 777):
        data["events"][seq - 1]["data"]["marker"] = "forged"
    save(big, data)
    assert first_bad(big).seq == 321


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
    (or the profile), or it parses to the very same data (e.g. a flipped quote style): no change."""
    rng = random.Random(1000)
    counts = {"syntax": 0, "named": 0, "same data": 0}
    for fmt, raw in thousand.items():
        path = tmp_path / f"ledger.{fmt}"
        original = load_bytes(raw, fmt)
        for _ in range(safety_count(20, 200)):
            pos = rng.randrange(len(raw))
            flipped = bytearray(raw)
            flipped[pos] ^= 1 << rng.randrange(8)
            path.write_bytes(bytes(flipped))
            where = f"{fmt} byte {pos}: {raw[max(pos - 30, 0):pos + 30]!r}"
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
    assert counts["named"] > 0 and counts["syntax"] > 0, counts


def load_bytes(raw: bytes, fmt: str) -> dict:
    text = raw.decode("utf-8")
    return json.loads(text) if fmt == "json" else tomllib.loads(text)
