"""`nis2-incident` that stops inside its PostgreSQL transaction: the team-mode fault tests' writer.

    NIS2_PG_PAUSE=FOLDER python tests/pg_pause_cli.py --ledger postgresql://… open …

runs the real entry point, `nis2_incident.cli.main()`, with one seam: after the append function
returned (the rows inserted, the transaction not yet committed), it creates FOLDER/inserted and
waits until FOLDER/go exists. The test then kills this process, or stops the server, and lets it go
on: the commit that follows is the real one.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from nis2_incident.ledger import pg

folder = Path(os.environ["NIS2_PG_PAUSE"])
real_write = pg.PgStore.write


def paused_write(self, ledger, events):
    real_write(self, ledger, events)
    (folder / "inserted").write_text(str(events[0]["seq"]))
    give_up = time.monotonic() + 120  # against a hang only; the test decides when to go on
    while not (folder / "go").exists() and time.monotonic() < give_up:
        time.sleep(0.01)


pg.PgStore.write = paused_write

from nis2_incident.cli import main  # noqa: E402

if __name__ == "__main__":
    main()
