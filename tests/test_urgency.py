"""One order of urgency (issue 16 item 3), shared by `status`, `status --watch`, `list` and `check`:
overdue and past-target first, then by the instant that matters (due or target), without-undue-delay
reports by their clock start. `status` used to list `csp.report` and `gdpr.data_subjects` last, below
one-month finals, even past their own target; `check --all` put them second; at 80x24 `status --watch`
never showed them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import at
from nis2_incident.cli import app
from nis2_incident.ledger import Store
from nis2_incident.service import Service

runner = CliRunner()
NOW = "2026-03-28T13:00"
STAGE = re.compile(r"\b((?:nis2|gdpr|csp)\.[a-z_]+)\b")


def _ledger(tmp_path: Path, targets=None) -> Path:
    path = tmp_path / "ledger.toml"
    Service(Store(path), at("2026-03-20T09:00")).init(name="CHU", category="essential", health_establishment=True,
                                                      targets=targets)
    s = Service(Store(path), at("2026-03-28T12:00"))
    s.open_incident("Ancienne panne", "2026-03-27T09:00")  # INC-001: its early warning is overdue at 13:00
    s.submit("1", "csp.report")
    s.open_incident("Fuite", "2026-03-28T10:00", personal_data=True, high_risk=True)  # INC-002
    return path


def cli(ledger, *args, columns=200):
    return runner.invoke(app, ["--ledger", str(ledger), "--now", NOW, *args], catch_exceptions=False,
                         env={"COLUMNS": str(columns)})


def stages(text: str) -> list[str]:
    return [m.group(1) for line in text.splitlines() for m in [STAGE.search(line)] if m]


def test_status_and_check_share_one_order_asap_first_after_the_overdue(tmp_path):
    ledger = _ledger(tmp_path)
    status = cli(ledger, "status")
    assert status.exit_code == 0, status.stderr
    order = stages(status.stdout)
    # INC-001 overdue; INC-002's reports due now (clock started 10:00); then by due time
    assert order[:4] == ["nis2.early_warning", "csp.report", "gdpr.data_subjects", "nis2.early_warning"], order
    assert order[-2:] == ["nis2.final", "nis2.final"]
    check = cli(ledger, "check", "--all", "--within", "30h")
    found = [line.split()[1:3] if line.startswith(("ASAP", "OVERDUE")) else line.split()[2:4]
             for line in check.stdout.splitlines() if not line.startswith("NIS2-INCIDENT")]
    assert stages(check.stdout) == ["nis2.early_warning", "csp.report", "gdpr.data_subjects", "nis2.early_warning"]
    assert found and check.exit_code == 2


def test_a_passed_own_target_ranks_with_the_overdue(tmp_path):
    ledger = _ledger(tmp_path, targets={"csp.report": "30m"})
    order = stages(cli(ledger, "status").stdout)
    # csp.report's own target (10:30) has passed: it ranks with the overdue (by instant), before
    # gdpr.data_subjects, due without undue delay since 10:00 but with no target to pass
    assert order[:4] == ["nis2.early_warning", "csp.report", "gdpr.data_subjects", "nis2.early_warning"], order
    check = cli(ledger, "check", "--all", "--within", "30h")
    assert stages(check.stdout)[:2] == ["nis2.early_warning", "csp.report"]


def test_list_shows_the_most_urgent_as_next(tmp_path):
    ledger = _ledger(tmp_path)
    out = cli(ledger, "list").stdout
    row = next(line for line in out.splitlines() if "INC-2026-002" in line)
    assert "csp.report" in row, out


def test_watch_at_24_rows_shows_the_most_urgent_and_says_how_many_more(tmp_path, monkeypatch):
    from rich.console import Console

    from nis2_incident.cli import watch
    from nis2_incident.render import views

    ledger = _ledger(tmp_path)
    s = Service(Store(ledger), at("2026-03-28T12:30"))
    for i in range(6):
        s.open_incident(f"Panne {i}", "2026-03-28T11:00")

    def stop(seconds):
        raise KeyboardInterrupt

    monkeypatch.setattr(watch.time, "sleep", stop)
    monkeypatch.setattr(views, "out_console",
                        lambda: Console(force_terminal=True, width=80, height=24, color_system=None))
    r = cli(ledger, "status", "--watch", columns=80)
    assert r.exit_code == 0, r.stderr
    screen = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", r.stdout)
    frame = "CHU —" + screen.split("CHU —")[-1]  # the last frame drawn
    assert len(frame.rstrip("\n").splitlines()) <= 24, frame
    more = re.search(r"… and (\d+) more, less urgent", frame)
    assert more and int(more.group(1)) > 10, screen
    shown = stages(screen)
    assert shown[:3] == ["nis2.early_warning", "csp.report", "gdpr.data_subjects"], shown  # overdue, due now
    assert "nis2.final" not in shown


def test_watch_refuses_a_stdout_that_is_not_a_terminal(tmp_path):
    ledger = _ledger(tmp_path)
    r = cli(ledger, "status", "--watch")
    assert r.exit_code == 2 and r.stdout == ""
    assert r.stderr.startswith("error: --watch draws a live screen and needs a terminal") and r.stderr.count("\n") == 1
