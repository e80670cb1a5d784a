"""What a new user tripped on, tried on a fresh clone at 80 columns (issue 16 item 5), each through the
installed command, both ways in (`main()` and the Typer app)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import at, run_both_ways as run
from nis2_incident.ledger import Store
from nis2_incident.service import Service

NOW = "2026-03-30T20:00"
WAYS = ["main", "app"]



@pytest.fixture
def ledger(tmp_path) -> Path:
    path = tmp_path / "ledger.toml"
    Service(Store(path), at("2026-03-28T09:00")).init(name="CHU Test", category="essential")
    return path


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize("when, aware", [("3 hours ago", "2026-03-30 17:00 +02:00"),
                                         ("2 days ago", "2026-03-28 19:00 +01:00"),
                                         ("1w ago", "2026-03-23 19:00 +01:00"),
                                         ("yesterday 14:00", "2026-03-29 14:00 +02:00")])
def test_open_takes_what_a_tired_human_types(way, when, aware, ledger, capsys):
    code, out, err = run(way, ["--ledger", str(ledger), "--now", NOW, "open", "Panne", "--aware", when, "--json"],
                         capsys)
    assert code == 0, err
    assert json.loads(out)["aware_at"].replace("T", " ")[:16] == aware[:16]


@pytest.mark.parametrize("way", WAYS)
def test_a_day_month_date_is_refused_with_the_iso_form_to_type(way, ledger, capsys):
    before = ledger.read_bytes()
    code, out, err = run(way, ["--ledger", str(ledger), "--now", NOW, "open", "Panne", "--aware", "28/03/2026 10:00"],
                         capsys)
    assert code == 2 and "2026-03-28T10:00" in err and err.count("\n") == 1
    assert ledger.read_bytes() == before


@pytest.mark.parametrize("way", WAYS)
def test_exercise_new_creates_its_folder(way, tmp_path, capsys):
    code, out, err = run(way, ["exercise", "new", "drills/x.toml"], capsys, cwd=tmp_path)
    assert code == 0, err
    assert (tmp_path / "drills" / "x.toml").is_file()
    code, out, err = run(way, ["exercise", "check", "drills/x.toml"], capsys, cwd=tmp_path)
    assert code in (0, 1), err  # the README's own example runs


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize("command", [["init", "--name", "X", "--category", "essential"], ["status"],
                                     ["open", "x", "--aware", "1h ago"], ["verify"], ["list"]])
def test_a_ledger_path_that_cannot_be_one_is_refused_and_nothing_is_created(way, command, tmp_path, capsys):
    folder = tmp_path / "data"
    folder.mkdir()
    (tmp_path / "afile").write_text("x")
    for path, says in ((folder, "is a folder, not a ledger file"),
                       (tmp_path / "afile" / "ledger.toml", "is a file, not a folder")):
        before = sorted(p.name for p in tmp_path.rglob("*"))
        code, out, err = run(way, ["--ledger", str(path), "--now", NOW, *command], capsys)
        assert code == 2 and says in err and err.count("\n") == 1, err
        assert sorted(p.name for p in tmp_path.rglob("*")) == before  # no lock file, no folder


@pytest.mark.parametrize("way", WAYS)
def test_a_command_on_a_missing_ledger_creates_nothing(way, tmp_path, capsys):
    for command in (["open", "x", "--aware", "1h ago"], ["profile", "--name", "Y"], ["status"]):
        code, out, err = run(way, ["--ledger", str(tmp_path / "sub" / "none.toml"), "--now", NOW, *command], capsys)
        assert code == 3 and "no ledger here" in err
        assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("way", WAYS)
def test_paths_json_gives_absolute_paths(way, tmp_path, capsys):
    code, out, err = run(way, ["--ledger", "rel/ledger.toml", "paths", "--json"], capsys, cwd=tmp_path)
    data = json.loads(out)
    assert code == 0 and data["ledger"] == str(tmp_path / "rel" / "ledger.toml")
    assert data["lock"] == str(tmp_path / "rel" / "ledger.toml.lock")
    assert Path(data["default"]).is_absolute()


@pytest.mark.parametrize("way", WAYS)
def test_check_names_what_it_counts_as_due_soon(way, ledger, capsys):
    Service(Store(ledger), at("2026-03-30T10:00")).open_incident("Panne", "2026-03-30T09:00")
    code, out, err = run(way, ["--ledger", str(ledger), "--now", "2026-03-30T12:00", "check", "--within", "30h",
                               "--all", "--dry-run"], capsys)
    assert code == 1
    line = next(x for x in out.splitlines() if x.startswith("DUE SOON"))
    assert "nis2.early_warning" in line and "within the 1 d 6 h window" in line


@pytest.mark.parametrize("way", WAYS)
def test_a_target_for_a_regime_not_enabled_is_refused(way, tmp_path, capsys):
    path = tmp_path / "ledger.toml"
    code, out, err = run(way, ["--ledger", str(path), "--now", NOW, "init", "--name", "X", "--category", "essential",
                               "--target", "csp.report=4h"], capsys)
    assert code == 2 and "the csp regime is not enabled" in err and not path.exists()
    code, out, err = run(way, ["--ledger", str(path), "--now", NOW, "init", "--name", "X", "--category", "essential",
                               "--health-establishment", "--target", "csp.report=4h"], capsys)
    assert code == 0, err
    code, out, err = run(way, ["--ledger", str(path), "--now", NOW, "profile", "--target", "gdpr.data_subjects=12h",
                               "--regime", "nis2", "--regime", "csp"], capsys)
    assert code == 2 and "the gdpr regime is not enabled" in err


@pytest.mark.parametrize("way", WAYS)
def test_classify_staff_takes_annual_work_units_with_decimals(way, capsys):
    base = ["classify", "--type", "healthcare_provider", "--turnover", "48M", "--balance", "40M", "--json"]
    code, out, err = run(way, [*base, "--staff", "249.5"], capsys)
    assert code == 0 and json.loads(out)["size"] == "medium"
    code, out, err = run(way, [*base, "--staff", "250"], capsys)
    assert code == 0 and json.loads(out)["size"] == "large"
    code, out, err = run(way, [*base, "--staff", "beaucoup"], capsys)
    assert code == 2 and err == ("error: --staff 'beaucoup'; accepted: the staff headcount in annual work units, "
                                 "a number such as 320 or 249.5\n")


@pytest.mark.parametrize("way", WAYS)
def test_profile_prints_values_not_python_reprs(way, ledger, capsys):
    code, out, err = run(way, ["--ledger", str(ledger), "profile"], capsys)
    assert code == 0
    assert "regimes: nis2, gdpr\n" in out and "reminders: 24h=4h,2h,1h; 72h=12h,4h,1h; 1month=7d,3d,1d\n" in out
    assert "trust_service: no\n" in out and "dpo: —\n" in out
    assert "[" not in out and "{" not in out and "None" not in out


@pytest.mark.parametrize("way", WAYS)
def test_verify_head_beyond_the_end_says_it_may_not_be_this_ledgers(way, ledger, capsys):
    code, out, err = run(way, ["--ledger", str(ledger), "verify", "--head", "40:" + "0" * 64], capsys)
    assert code == 3 and err.count("\n") == 1
    assert "the head is not from this ledger (another file, or a typo in SEQ)" in err


def test_the_lock_holders_message_reaches_the_user_as_one_line(ledger, capsys, monkeypatch):
    """Whatever the lock says about its holder (the issue-14 lock names its pid and command line), it
    leaves through the one exit point: one line, exit 6."""
    from nis2_incident.errors import LockTimeout
    from nis2_incident.service import Service as S

    def held(self, *args, **kwargs):
        raise LockTimeout(f"{ledger}: another writer holds the lock (pid 4242: nis2-incident open 'Panne [b]' "
                          "--aware now) for more than 0.1 s; nothing was recorded")

    monkeypatch.setattr(S, "open_incident", held)
    for way in WAYS:
        code, out, err = run(way, ["--ledger", str(ledger), "--now", NOW, "--lock-timeout", "0.1", "open", "x",
                                   "--aware", "1h ago"], capsys)
        assert code == 6 and err.count("\n") == 1 and "pid 4242: nis2-incident open 'Panne [b]'" in err
