"""80 columns (issue 16 item 4): every view fits, and no word is split: stage names, countdowns
("1 d 8 h", never "1" / "d 8 h"), times with their offsets, titles and the text of `explain` wrap
between words. The check is generic: every word drawn at 80 columns is a word drawn at 200 (where
nothing needs to wrap), titles in tables take at most two lines (cut with " …"), and `explain`'s
continuation lines keep their indent."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nis2_incident.cli import app

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "ledger.toml"
EXERCISE = sorted((ROOT / "examples" / "exercises").glob("*.toml"))[0]
NOW = "2026-03-30T20:00"
runner = CliRunner()

VIEWS = [["status"], ["list"], ["show", "1"], ["show", "2"], ["show", "3"], ["show", "4"], ["show", "5"],
         ["explain", "2"], ["explain", "5"], ["explain", "4", "gdpr.notification"], ["status", "5"],
         ["profile"], ["verify"], ["exercise", "timeline", str(EXERCISE)],
         ["classify", "--type", "healthcare_provider", "--staff", "320", "--turnover", "48M", "--balance", "40M"]]
STAGE = re.compile(r"(?<![\w.-])(?:nis2|gdpr|csp)\.[a-z_]*")


def draw(ledger: Path, argv: list[str], columns: int) -> str:
    r = runner.invoke(app, ["--ledger", str(ledger), "--now", NOW, *argv], catch_exceptions=False,
                      env={"COLUMNS": str(columns)})
    assert r.exit_code in (0, 1, 2), r.stderr
    return r.stdout


def words(text: str) -> set[str]:
    return {w for w in text.split() if w != "…" and set(w) != {"─"}}  # not the tables' rules


@pytest.fixture(scope="module")
def ledger(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("width") / "ledger.toml"
    shutil.copy(EXAMPLE, path)
    return path


@pytest.mark.parametrize("argv", VIEWS, ids=lambda a: " ".join(a[:3]))
def test_every_view_fits_80_columns_without_splitting_a_word(ledger, argv):
    wide, narrow = draw(ledger, argv, 200), draw(ledger, argv, 80)
    assert narrow.strip() and wide.strip()
    assert max(len(line) for line in narrow.splitlines()) <= 80
    assert max(len(line) for line in wide.splitlines()) <= 200
    split = sorted(words(narrow) - words(wide))
    assert split == [], (split, narrow)
    stages = set(STAGE.findall(wide))
    assert set(STAGE.findall(narrow)) <= stages
    cut = set(re.findall(r"\S*\w…", narrow)) - set(re.findall(r"\S*\w…", wide))
    assert not cut, (cut, narrow)  # Rich never cuts a word with an ellipsis
    # an amount never leaves its unit, a time never its offset
    assert not re.search(r"(?:^|\s{2})(?:d|h|min|D|H|MIN)(?= |$)", narrow, re.M), narrow
    assert not re.search(r"(?:^|\s{2})[+-]\d\d:\d\d\b", narrow, re.M), narrow


@pytest.mark.parametrize("command", [["status"], ["list"]])
def test_titles_take_at_most_two_lines_in_tables(tmp_path, command):
    from nis2_incident.ledger import Store
    from nis2_incident.service import Service

    from conftest import at

    ledger = tmp_path / "ledger.toml"
    Service(Store(ledger), at("2026-03-28T09:00")).init(name="CHU", category="essential")
    long_title = ("Panne du dossier patient informatisé après une mise à jour ratée du serveur principal "
                  "et du serveur de secours, urgences en mode dégradé")
    Service(Store(ledger), at("2026-03-28T12:00")).open_incident(long_title, "2026-03-28T10:00")
    out = runner.invoke(app, ["--ledger", str(ledger), "--now", "2026-03-28T13:00", *command],
                        catch_exceptions=False, env={"COLUMNS": "80"}).stdout
    start, room = (65, 15) if command == ["status"] else (15, 26)  # the title's column
    cells = [line[start:start + room].strip() for line in out.splitlines()]
    first = next(i for i, cell in enumerate(cells) if cell.startswith("Panne"))
    title = [cells[first]]
    for cell in cells[first + 1:]:
        if not cell or cell.startswith("INC-"):
            break
        title.append(cell)
    assert len(title) == 2 and title[-1].endswith(" …"), out  # two lines, the cut marked
    assert all(w in long_title.split() for w in " ".join(title).split()[:-1]), title  # whole words


def test_explain_continuation_lines_keep_their_indent(ledger):
    out = draw(ledger, ["explain", "2"], 80)
    lines = out.splitlines()
    continued = 0
    for before, line in zip(lines, lines[1:]):
        if before.startswith("  • ") and line.startswith("   "):
            assert line.startswith("    ") and not line.startswith("     "), (before, line)  # under the text
            continued += 1
        if before.startswith("  conservative choice: ") and line.strip() and line.startswith(" ") \
                and not line.lstrip().startswith(("•", "conservative", "state", "legal", "note", "filed")):
            assert line.startswith(" " * len("  conservative choice: ")), (before, line)
            continued += 1
    assert continued >= 2  # steps and choices did wrap at 80 columns
