"""Shared fixtures. Every test runs with the process time zone set far from Paris, so nothing may
depend on the machine's zone; the clock is always given (`now=`, `--now`) or frozen."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from nis2_incident import timeutil as tu
from nis2_incident.cli import SETTINGS
from nis2_incident.ledger import Store
from nis2_incident.service import Service


def pytest_addoption(parser):
    parser.addoption("--full-safety", action="store_true", default=False,
                     help="run the safety tests at their full counts (200 random SIGKILLs per format, "
                          "16 writers x 50 log appends, 200 byte flips per format); "
                          "the default run uses reduced counts (15, 4 x 25, 20)")


@pytest.fixture
def safety_count(request):
    """safety_count(reduced, full) -> the count for this run: `full` under `pytest --full-safety`."""
    full = request.config.getoption("--full-safety")
    return lambda reduced, full_count: full_count if full else reduced


@pytest.fixture(autouse=True)
def _fixed_environment(monkeypatch, tmp_path_factory):
    # the log's checkpoints live in the user's cache folder: one of its own for every test
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
    # and `check`'s state of a PostgreSQL ledger (issue 15) in the user's state folder: one of its own too
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state")))
    monkeypatch.setenv("TZ", "America/Los_Angeles")
    time.tzset()
    monkeypatch.delenv("NIS2_INCIDENT_LEDGER", raising=False)
    monkeypatch.delenv("NIS2_INCIDENT_NOW", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "120")
    # The CLI keeps global options in a module-level object; reset it between tests.
    SETTINGS.ledger, SETTINGS.now, SETTINGS.lock_timeout, SETTINGS.debug = None, None, 10.0, False
    SETTINGS.regimes = None
    yield
    time.tzset()


def at(text: str, tz: str = "Europe/Paris"):
    """An instant from a WHEN string (offset-less = Paris)."""
    return tu.parse_when(text, tu.now_utc(), tz)


@pytest.fixture
def ledger_file(tmp_path) -> Path:
    return tmp_path / "ledger.toml"


@pytest.fixture
def make_service(ledger_file):
    """make_service(now, **profile) -> Service on a fresh ledger initialised at `now`."""

    def factory(now: str = "2026-01-01T00:00", path: Path | None = None, **profile) -> Service:
        store = Store(path or ledger_file)
        svc = Service(store, at(now))
        if not store.exists():
            # NIS 2 alone unless a test asks for more regimes, so NIS 2 tables stay about NIS 2.
            fields = {"name": "CHU Test", "category": "essential", "regimes": ["nis2"], **profile}
            svc.init(**fields)
        return svc

    return factory


WAYS = ["main", "app"]  # the two ways into the command line: the console script, and the Typer app


def run_both_ways(way: str, argv: list[str], capsys, cwd: Path | None = None) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `nis2-incident ARGV` through `way`: "main" (the console script,
    `cli.main`) or "app" (the Typer app under Click's test runner); in `cwd` if given."""
    import os

    from typer.testing import CliRunner

    from nis2_incident.cli import app, main

    old = os.getcwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        if way == "main":
            capsys.readouterr()
            with pytest.raises(SystemExit) as exited:
                main(argv)
            out, err = capsys.readouterr()
            return exited.value.code, out, err
        r = CliRunner().invoke(app, argv, catch_exceptions=False)
        return r.exit_code, r.stdout, r.stderr
    finally:
        os.chdir(old)


# --- PostgreSQL (issue 15): one real server per test session, one new database per test -------------

@pytest.fixture(scope="session")
def pg_server():
    from pgtest import Server  # tests/pgtest.py

    server = Server()
    yield server
    server.close()


@pytest.fixture
def pg_url(pg_server) -> str:
    """The connection string of a new, empty database on the session's server."""
    return pg_server.url(pg_server.createdb())
