"""`status --watch`: the dashboard as a live countdown (Rich Live).

Redrawn every second, with countdowns to the second; the ledger is re-read only when the file changes
on disk (its inode, size or modification time: writers replace it atomically), and the obligations are
recomputed at every tick, so an obligation turns overdue on the second it passes. With `--now`, the
watch starts at that instant and runs forward in real time. A ledger that becomes unreadable while
watching leaves the last good view on screen with the error above the footer. Ctrl-C leaves cleanly,
with exit 0.
"""

from __future__ import annotations

import os
import time
from datetime import timedelta
from typing import Optional

from .. import timeutil as tu
from ..errors import Nis2IncidentError

TICK = 1.0  # seconds between redraws


def run(ident: Optional[str], within: Optional[str], service, tick: float = TICK) -> int:
    from rich.console import Group
    from rich.live import Live
    from rich.text import Text

    from ..render.views import out_console, status

    from ..errors import InputError

    console = out_console()
    if not console.is_terminal:
        raise InputError("--watch draws a live screen and needs a terminal; stdout is not one. accepted: "
                         "`status` (one snapshot, e.g. for a pipe or a file) or `status --json`")
    path = service.store.path
    start_now, start = service.now, time.monotonic()
    cache: dict = {"sig": None, "state": None, "error": None}

    def signature():
        if hasattr(service.store, "signature"):  # PostgreSQL (issue 15): the head row, not a file
            return service.store.signature()
        st = os.stat(path)
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    def load(first: bool = False) -> None:
        try:
            sig = signature()
            if sig == cache["sig"]:
                return
            state = service.state()
            if ident:
                state.incident(ident)  # still there (raises NotFound on the first read)
            cache.update(sig=sig, state=state, error=None)
        except (Nis2IncidentError, OSError) as exc:
            if first:
                raise
            cache["error"] = getattr(exc, "message", None) or str(exc)

    def frame():
        service.now = start_now + timedelta(seconds=time.monotonic() - start)
        state = cache["state"]
        profile = state.profile
        incidents = [state.incident(ident)] if ident else state.live  # settled ones have nothing open
        views = [service.view(state, inc) for inc in incidents]
        window = tu.parse_duration(within or profile.check_within)
        footer = []
        if cache["error"]:
            footer.append(Text(f"warning: {cache['error']} (showing the last good read)", style="bold red"))
        footer.append(Text("live: every second; re-read when the ledger changes. Ctrl-C to leave.", style="dim"))

        def draw(limit):
            return Group(status(views, service.now, window, profile.name, profile.timezone, seconds=True,
                                limit=limit), *footer)

        # The most urgent rows that fit the screen, and how many more there are (a row takes one to
        # three lines): the largest limit whose drawing fits, found by halving.
        height = console.size.height
        whole = draw(None)
        if len(console.render_lines(whole, pad=False)) <= height:
            return whole
        low, high = 0, sum(len(v.obligations) for v in views)
        while low < high:
            mid = (low + high + 1) // 2
            if len(console.render_lines(draw(mid), pad=False)) <= height:
                low = mid
            else:
                high = mid - 1
        return draw(low)

    load(first=True)
    if within:
        tu.parse_duration(within)
    try:
        with Live(frame(), console=console, auto_refresh=False, transient=False,
                  vertical_overflow="ellipsis") as live:
            while True:
                elapsed = time.monotonic() - start
                time.sleep(tick - (elapsed % tick))
                load()
                live.update(frame(), refresh=True)
    except KeyboardInterrupt:
        pass
    return 0
