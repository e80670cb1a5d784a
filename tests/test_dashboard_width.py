"""The dashboard at 03:00 in whatever terminal is at hand: every line fits the width and every word of
an incident title is shown whole (wrapped in its column, two lines at most, a longer title cut after a
whole word and marked " …"). At 80 columns Rich used to wrap titles one character wider than it drew
them, so "Panne du dossier" showed as "Panne du dossie"."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nis2_incident.cli import app
from nis2_incident.ledger import Store, codec

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "ledger.toml"
runner = CliRunner()


@pytest.mark.parametrize("columns", [80, 100, 160])
def test_dashboard_lines_fit_and_titles_are_whole(tmp_path, monkeypatch, columns):
    ledger = tmp_path / "ledger.toml"
    shutil.copy(EXAMPLE, ledger)
    monkeypatch.setenv("COLUMNS", str(columns))
    result = runner.invoke(app, ["--ledger", str(ledger), "--now", "2026-03-30T20:00", "status"])
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= columns
    shown = " ".join(lines)
    titles = [ev["data"]["title"] for ev in codec.decode(ledger.read_bytes(), ledger)["events"]
              if ev["type"] == "opened"]
    listed = [t for t in titles if any(t.split()[0] in line for line in lines)]
    assert len(listed) >= 3  # the incidents with open obligations
    for title in listed:
        words = title.split()
        assert re.search(rf"(?<!\S){re.escape(words[0])}(?!\S)", shown), (columns, title)
        whole = all(re.search(rf"(?<!\S){re.escape(word)}(?!\S)", shown) for word in words)
        assert whole or " …" in shown, (columns, title)
        if columns >= 160:
            assert whole, (columns, title)
    assert Store(ledger).read()  # untouched and readable
