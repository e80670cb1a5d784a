"""`shipped.json`: the parsed content of the shipped regime files, kept by the SHA-256 of each file's
bytes, so that a command does not parse twelve TOML files at every start (issue 13). The TOML files
stay the only truth: a file whose bytes are not the ones hashed in `shipped.json` is parsed, so an
edited or added file gives its own rules, never the derived ones.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib

import pytest
from pathlib import Path

import nis2_incident
from nis2_incident import regimes
from nis2_incident.regimes import __main__ as regen

PACKAGE = Path(nis2_incident.__file__).resolve().parent
FOLDER = PACKAGE / "regimes"
REGENERATE = "python -m nis2_incident.regimes"


def _parsed(folder: Path) -> dict[str, list[regimes.Regime]]:
    """What the shipped files give parsed one by one with tomllib (the reading before shipped.json)."""
    versions: dict[str, list[regimes.Regime]] = {}
    for path in sorted(folder.glob("*.toml")):
        regimes._add_version(versions, regimes.from_dump(tomllib.loads(path.read_text(encoding="utf-8"))))
    return versions


def _package_copy(tmp_path: Path) -> Path:
    """A copy of the installed package (without bytecode), to edit its regime files."""
    target = tmp_path / "site" / "nis2_incident"
    shutil.copytree(PACKAGE, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return target


def _edit_nis2_early_warning(regimes_folder: Path, hours: int) -> None:
    path = regimes_folder / "nis2.toml"
    text = path.read_text(encoding="utf-8")
    old = 'start = "aware"\nhours = 24\ncontent = ["whether the incident is suspected'
    assert text.count(old) == 1  # the early warning's own period (Art. 23(4)(a))
    path.write_text(text.replace(old, old.replace("hours = 24", f"hours = {hours}")), encoding="utf-8")


def test_the_committed_shipped_json_is_up_to_date_with_the_regime_files():
    """Fails when a TOML file was edited (or added) without regenerating shipped.json."""
    committed = (FOLDER / regimes.SHIPPED_JSON).read_bytes()
    assert committed == regen.expected(FOLDER), (
        f"nis2_incident/regimes/{regimes.SHIPPED_JSON} is stale: run `{REGENERATE}` and commit it")
    kept = json.loads(committed)["files"]
    assert sorted(kept) == sorted(p.name for p in FOLDER.glob("*.toml"))
    # the tool's own check says the same
    done = subprocess.run([sys.executable, "-m", "nis2_incident.regimes", "--check"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_builtin_is_exactly_what_parsing_every_toml_file_gives():
    """Equal and repr-identical (the `settled` marks of `close` digest the regimes' repr: a difference
    would make every existing mark stop matching)."""
    expected = _parsed(FOLDER)
    got = regimes.builtin().versions
    assert got == expected
    assert repr(sorted(got.items())) == repr(sorted(expected.items()))
    assert regimes.read_shipped() == expected
    # and shipped.json is what gave them: every file's hash matches
    assert regimes._derived(regimes._shipped_files()).keys() == {p.name for p in FOLDER.glob("*.toml")}


def test_an_edited_or_added_regime_file_is_read_from_its_toml_not_from_shipped_json(tmp_path):
    copy = _package_copy(tmp_path) / "regimes"
    _edit_nis2_early_warning(copy, 25)
    added = tomllib.loads((copy / "nis2.toml").read_text(encoding="utf-8"))
    (copy / "zz_added.toml").write_text((FOLDER / "gdpr.toml").read_text(encoding="utf-8").replace(
        'id = "gdpr"', 'id = "gdpr_added"', 1), encoding="utf-8")
    got = regimes.read_shipped(copy)
    assert got == _parsed(copy) and repr(got) == repr(_parsed(copy))
    assert got["nis2"][-1].stage("early_warning").hours == 25 == added["stages"][0]["hours"]
    assert regimes.builtin()["nis2"].stage("early_warning").hours == 24  # the real package is untouched
    assert "gdpr_added" in got
    # the regenerating command of that copy says its shipped.json is stale, then makes it match
    env = {**os.environ, "PYTHONPATH": str(copy.parent.parent)}
    stale = subprocess.run([sys.executable, "-m", "nis2_incident.regimes", "--check"], capture_output=True,
                           text=True, env=env, cwd=tmp_path)
    assert stale.returncode == 1 and REGENERATE in stale.stderr
    subprocess.run([sys.executable, "-m", "nis2_incident.regimes"], check=True, capture_output=True, env=env,
                   cwd=tmp_path)
    kept = json.loads((copy / regimes.SHIPPED_JSON).read_bytes())["files"]
    assert kept["nis2.toml"]["content"]["stages"][0]["hours"] == 25 and "zz_added.toml" in kept


def test_a_missing_or_damaged_shipped_json_only_costs_time(tmp_path):
    copy = _package_copy(tmp_path) / "regimes"
    expected = _parsed(FOLDER)
    (copy / regimes.SHIPPED_JSON).write_bytes(b"{not json")
    assert regimes.read_shipped(copy) == expected
    (copy / regimes.SHIPPED_JSON).write_text('{"files": {"nis2.toml": {"sha256": 1, "content": []}}}')
    assert regimes.read_shipped(copy) == expected
    (copy / regimes.SHIPPED_JSON).unlink()
    assert regimes.read_shipped(copy) == expected


def test_through_the_cli_an_edited_shipped_file_sets_the_deadline(tmp_path):
    """A package whose nis2.toml was edited after shipped.json was written: the command computes
    from the edited TOML (25 h), not from the derived content (24 h)."""
    site = _package_copy(tmp_path).parent
    _edit_nis2_early_warning(site / "nis2_incident" / "regimes", 25)
    env = {**os.environ, "PYTHONPATH": str(site)}
    ledger = str(tmp_path / "ledger.jsonl")

    def tool(*args):
        return subprocess.run([sys.executable, "-m", "nis2_incident", "--ledger", ledger,
                               "--now", "2026-03-01T10:00+01:00", *args],
                              capture_output=True, text=True, env=env, cwd=tmp_path)

    assert tool("init", "--name", "X", "--category", "essential", "--no-ose").returncode == 0
    opened = tool("open", "T", "--aware", "2026-03-01T09:00+01:00", "--json")
    assert opened.returncode == 0, opened.stderr
    due = {o["stage"]: o["due"] for o in json.loads(opened.stdout)["obligations"]}
    assert due["nis2.early_warning"] == "2026-03-02T10:00:00+01:00"  # 25 h after aware-at
    where = subprocess.run([sys.executable, "-c", "import nis2_incident; print(nis2_incident.__file__)"],
                           capture_output=True, text=True, env=env, cwd=tmp_path).stdout
    assert where.startswith(str(site))  # the copy ran, not the installed package


def test_derive_refuses_a_value_json_would_not_give_back():
    import pytest

    with pytest.raises(ValueError, match="date"):
        regimes.derive([("x.toml", b'id = "x"\nfrom = 2026-01-01\n')])
    assert regimes.derive([("x.toml", b'id = "x"\nn = 3\n')])["files"]["x.toml"]["content"] == {"id": "x", "n": 3}


def test_regime_files_with_other_line_ends_read_as_before(tmp_path):
    """Review of session 6: the files are read from their bytes (to hash them); CR LF and CR line ends
    are newlines, as `Path.read_text` read them before (a CR-only file was an internal error), and a
    file that is not TOML is a regime error naming it."""
    copy = _package_copy(tmp_path) / "regimes"
    expected = _parsed(FOLDER)
    for ending in (b"\r\n", b"\r"):
        for path in copy.glob("*.toml"):
            path.write_bytes((FOLDER / path.name).read_bytes().replace(b"\n", ending))
        assert regimes.read_shipped(copy) == expected
    (copy / "nis2.toml").write_bytes(b"id = [unclosed")
    with pytest.raises(regimes.RegimeError, match="nis2.toml: invalid TOML"):
        regimes.read_shipped(copy)
