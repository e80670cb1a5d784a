"""The texts of settled incidents kept in the views file (`Service.texts`), compressed with a preset
dictionary kept in the same file: a text is taken only when it decompresses whole with that
dictionary; otherwise it is made again, and the output is the same either way."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nis2_incident import checkpoint
from nis2_incident.cli import app
from ledgers import NOWS, build

runner = CliRunner()


def cli(ledger: Path, *args: str):
    return runner.invoke(app, ["--ledger", str(ledger), "--now", NOWS[3], *args], catch_exceptions=False)


def kept(path: Path) -> tuple[str, dict]:
    """The views file's entries, as `load_views` reads them under the key they were saved with."""
    data = checkpoint.views_location(path).read_bytes()
    head = json.loads(b"{" + data[len(b'{"seal":"') + 64 + 2:data.index(b"\n")])
    return head["key"], checkpoint.load_views(path, head["key"])


@pytest.mark.parametrize("args", [["list", "--json"], ["export", "--format", "json"]])
@pytest.mark.parametrize("damage", ["no dictionary", "another dictionary", "cut short"])
def test_a_kept_text_is_taken_only_with_its_dictionary(tmp_path, args, damage):
    path = build(tmp_path / "ledger.jsonl")
    first = cli(path, *args)
    assert first.exit_code == 0
    key, entries = kept(path)
    assert entries[""][0] == "zdict" and len(entries) > 2  # the dictionary, then the settled incidents' texts
    assert cli(path, *args).stdout == first.stdout  # with the kept texts
    entries = {ident: (digest, bytes(packed)) for ident, (digest, packed) in entries.items()}
    if damage == "no dictionary":
        del entries[""]
    elif damage == "another dictionary":
        entries[""] = ("zdict", b'{"other": "words", "id": "INC-2026-999"}' * 50)
    else:
        entries = {ident: (digest, packed if not ident else packed[:len(packed) // 2])
                   for ident, (digest, packed) in entries.items()}
    checkpoint.save_views(path, key, entries)  # sealed again: only the content is wrong
    again = cli(path, *args)
    assert again.exit_code == 0 and again.stdout == first.stdout
    shutil.rmtree(checkpoint.folder())
    assert cli(path, *args).stdout == first.stdout  # as without any derived file
