"""User text is data, never markup (issue 16 item 2): a title `Panne [/b] PACS` crashed `list` and
`show` (exit 70, MarkupError), `:fire:` was drawn as an emoji, `[bold]` restyled a summary. Hostile
titles, summaries and other facts go through every command that draws, both ways in, and come out
exactly as typed."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import at, run_both_ways as run
from nis2_incident.ledger import Store
from nis2_incident.service import Service

HOSTILE = ["Panne [/b] PACS", ":fire: Feu :hospital:", "[bold]x[/bold] [link=http://e.vil]y[/link]",
           "[red on white]PACS[/]", "a \\[b] c", "[/]"]
NOW = "2026-03-28T13:00"


@pytest.fixture
def ledger(tmp_path) -> Path:
    path = tmp_path / "ledger.toml"
    Service(Store(path), at("2026-03-28T09:00")).init(name="CHU [b]Test[/b] :fire:", category="essential",
                                                      health_establishment=True)
    s = Service(Store(path), at("2026-03-28T12:00"))
    for i, title in enumerate(HOSTILE):
        s.open_incident(title, "2026-03-28T10:00", personal_data=True, summary=f"résumé {title}",
                        severity=title, impact=title, iocs=[title], root_cause=title, mitigations=title)
    s.submit("1", "nis2.early_warning", reference="[bold]REF[/bold]", channel=":e-mail:",
             late_reason=None)
    return path



COMMANDS = [["status"], ["list"], ["show", "1"], ["show", "2"], ["show", "3"], ["show", "4"], ["show", "5"],
            ["show", "6"], ["explain", "3"], ["explain", "1", "nis2.early_warning"], ["status", "4"],
            ["profile"], ["update", "5", "--summary", "[i]changed[/i] :fire:"],
            ["open", "[blink]Nouveau[/blink] :fire:", "--aware", "1h ago"],
            ["request", "2", "--due", "+48h"], ["handled", "6"], ["close", "6"],
            ["submit", "3", "csp.report", "--reference", "[b]R[/b]"]]


@pytest.mark.parametrize("way", ["main", "app"])
@pytest.mark.parametrize("argv", COMMANDS, ids=lambda a: " ".join(a))
def test_hostile_text_is_drawn_exactly_as_typed(way, argv, ledger, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")
    code, out, err = run(way, ["--ledger", str(ledger), "--now", NOW, *argv], capsys)
    assert code == 0, err
    assert "🔥" not in out + err and "🏥" not in out + err  # no emoji code is replaced
    shown = out + err
    n = argv[1] if len(argv) > 1 and argv[1].isdigit() else None
    expected = HOSTILE if n is None else [HOSTILE[int(n) - 1]]
    if argv[0] in ("status", "list", "show", "explain", "update", "request", "handled", "close", "submit"):
        if argv[0] == "status" and n is None:
            expected = [t for t in HOSTILE]
        for title in expected:
            assert title in shown, (title, shown)
    if argv[0] == "show":
        assert f"résumé {expected[0]}" in out
    if argv[0] == "show" and n == "1":
        assert "[bold]REF[/bold]" in out and ":e-mail:" in out
    if argv[0] == "profile":
        assert "CHU [b]Test[/b] :fire:" in out
    if argv[0] == "open":
        assert "[blink]Nouveau[/blink] :fire:" in out
    if argv[0] == "status" and n is None:
        assert "CHU [b]Test[/b] :fire:" in out


def test_hostile_text_in_errors_is_shown_as_typed(ledger, capsys):
    code, out, err = run("main", ["--ledger", str(ledger), "--now", NOW, "show", "[b]:fire:"], capsys)
    assert code == 4 and err.startswith("error: unknown incident '[b]:fire:'")
    code, out, err = run("main", ["--ledger", str(ledger), "--now", NOW, "status", "--within", "[red]:fire:"],
                         capsys)
    assert code == 2 and "[red]:fire:" in err
