"""`nis2-incident` with faults injected through the ledger's I/O seam: the crash harness's writer.

    NIS2_FAULT_PLAN='{"action": "kill", "at": 12}' python tests/fault_cli.py --ledger L open ...

patches nis2_incident/ledger/fsio.py as the plan says (tests/faultkit.py), then runs the real entry
point, `nis2_incident.cli.main()`. With NIS2_FAULT_REPEAT=N it runs the same command N times in
this one process (so a random SIGKILL from outside lands in a write rather than in the imports),
writing "fault_cli: ready" on stderr once imported and "fault_cli: exit CODE" after each run.
"""

from __future__ import annotations

import os
import sys

import faultkit  # tests/ is this script's folder, so it is on sys.path

faultkit.install(faultkit.Plan.from_env())

from nis2_incident.cli import main  # noqa: E402


def run() -> int:
    try:
        main()
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0


if __name__ == "__main__":
    repeat = int(os.environ.get("NIS2_FAULT_REPEAT", "0"))
    if not repeat:
        sys.exit(run())
    argv = list(sys.argv)
    sys.stderr.write("fault_cli: ready\n")
    sys.stderr.flush()
    for _ in range(repeat):
        sys.argv = list(argv)
        code = run()
        sys.stderr.write(f"fault_cli: exit {code}\n")
        sys.stderr.flush()
