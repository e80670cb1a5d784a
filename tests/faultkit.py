"""Fault injection through the ledger's I/O seam (nis2_incident/ledger/fsio.py).

`install(plan)` replaces every function named in `fsio.SEAM` by a wrapper that numbers the calls
(1, 2, ... across all of them, in the order the store makes them) and, at call `plan.at`:
  - "fail": raises OSError(plan.errno) instead of making the call;
  - "kill": SIGKILLs this process before the call, after it, or ("torn") half-way through a `write`
    or a `pwrite` (half of the bytes reach the file, then the process dies: a half-written line);
  - "trace" (or any call not targeted): just records it.
Each call is recorded as a step such as "open_fd .ledger.toml.tmp" or "fsync <folder>" (descriptors are
named after the path they were opened from). With `plan.trace_to`, each step is also appended to that
file before the call is made, so the trace survives a SIGKILL.

Used in-process by tests/test_faults.py (with monkeypatch.setattr) and in a child process by
tests/fault_cli.py (plan in $NIS2_FAULT_PLAN as JSON). Production code knows nothing of this.
"""

from __future__ import annotations

import errno as errno_mod
import json
import os
import re
import signal
from dataclasses import asdict, dataclass, field
from pathlib import Path

from nis2_incident.ledger import fsio

ENV = "NIS2_FAULT_PLAN"


@dataclass
class Plan:
    action: str = "trace"          # trace | fail | kill
    at: int = 0                    # the call number to act on (1-based); 0: none
    when: str = "before"           # kill: before | after | torn
    errno: int = errno_mod.EIO     # fail: the error
    trace_to: str | None = None    # a file to append steps to (one per line)

    def to_env(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_env(cls) -> "Plan":
        text = os.environ.get(ENV)
        return cls(**json.loads(text)) if text else cls()


@dataclass
class Recorder:
    plan: Plan
    steps: list[str] = field(default_factory=list)
    fds: dict[int, str] = field(default_factory=dict)

    def name(self, value) -> str:
        if isinstance(value, int):
            return self.fds.get(value, f"fd{value}")
        text = str(value)
        if os.path.isdir(text) and not text.endswith((".toml", ".json")):
            return "<folder>"
        return re.sub(r"\.tmp-[0-9]+$", ".tmp", os.path.basename(text))


def install(plan: Plan, setattr=setattr) -> Recorder:
    rec = Recorder(plan)
    for name in fsio.SEAM:
        setattr(fsio, name, _wrap(rec, name, getattr(fsio, name)))
    return rec


def _kill() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _wrap(rec: Recorder, name: str, real):
    plan = rec.plan

    def wrapper(*args, **kwargs):
        step = f"{name} {rec.name(args[0])}" if args else name
        rec.steps.append(step)
        number = len(rec.steps)
        if plan.trace_to:
            with open(plan.trace_to, "a", encoding="utf-8") as out:
                out.write(step + "\n")
        hit = number == plan.at
        if hit and plan.action == "fail":
            raise OSError(plan.errno, os.strerror(plan.errno))
        if hit and plan.action == "kill":
            if plan.when == "before":
                _kill()
            if plan.when == "torn" and name in ("write", "pwrite"):
                data = bytes(args[1])
                real(args[0], data[: max(len(data) // 2, 1)], *args[2:])
                _kill()
        result = real(*args, **kwargs)
        if name == "open_fd":
            rec.fds[result] = rec.name(args[0])
        if hit and plan.action == "kill" and plan.when == "after":
            _kill()
        return result

    return wrapper


def read_trace(path: Path) -> list[str]:
    return path.read_text("utf-8").splitlines() if path.exists() else []
