"""The benchmark scripts run: generate.py writes the same valid ledger in every format for the same
arguments, and run.py times a small ledger with every exit code checked (no figure is asserted)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOW = "2026-11-29T03:00:00+01:00"


def _env(tmp_path: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("NIS2_INCIDENT_LEDGER",)}
    env.update(XDG_CACHE_HOME=str(tmp_path / "cache"), NIS2_INCIDENT_NOW=NOW)
    return env


def _generate(out: Path, fmt: str, env: dict) -> None:
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "generate.py"), "--incidents", "30", "--open", "3",
                    "--out", str(out), "--format", fmt], check=True, env=env, capture_output=True)


def test_generate_same_bytes_valid_chain_every_format(tmp_path):
    env = _env(tmp_path)
    heads = set()
    for fmt in ("jsonl", "toml", "json"):
        a, b = tmp_path / f"a.{fmt}", tmp_path / f"b.{fmt}"
        _generate(a, fmt, env)
        _generate(b, fmt, env)
        assert a.read_bytes() == b.read_bytes()
        done = subprocess.run([sys.executable, "-m", "nis2_incident", "--ledger", str(a), "verify"],
                              env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        heads.add(done.stdout.split("head:")[1].split()[0])
        listed = subprocess.run([sys.executable, "-m", "nis2_incident", "--ledger", str(a), "list", "--json"],
                                env=env, capture_output=True, text=True, check=True)
        assert "INC-" in listed.stdout
    assert len(heads) == 1  # the same events, the same hashes, in every format


def test_run_small(tmp_path):
    out = tmp_path / "figures.json"
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"), "--sizes", "20", "--formats", "jsonl",
                           "--runs", "1", "--no-exercises", "--json", str(out), "--markdown", str(tmp_path / "f.md")],
                          env=_env(tmp_path), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    rows = json.loads(out.read_text())["rows"]
    assert {r["command"] for r in rows} == {"check", "status --json", "open", "show (open)", "show (settled)",
                                            "explain (open)", "draft (open)", "list --json", "export json", "verify",
                                            "report (quarter)", "update", "submit", "request", "handled", "close",
                                            "triage --json", "paths", "classify --json", "profile --json", "init"}
    # every command that reads the log for views keeps its checkpoint (whole reads such as verify,
    # list, export and draft do not write one)
    views = {"check", "status --json", "open", "show (open)", "show (settled)", "explain (open)", "update",
             "submit", "close", "triage --json"}
    assert all(r["checkpoint"] for r in rows if r["command"] in views)
