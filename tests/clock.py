"""The suite's pinned clock (PREPBASE_TEST_CLOCK=HH:MM), for the test process and for the
servers it starts.

`make test-clock` runs the suite as if the machine's UTC clock read 00:30 and then 23:30
today (it keeps ticking from there): the hours at which the machine's UTC date and a
business's own date differ. Servers the tests start (`gunicorn_command`) run under the
same clock, so both sides agree on what "now" is.
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime, time
from pathlib import Path

import time_machine

TEST_CLOCK = os.environ.get("PREPBASE_TEST_CLOCK")


def pinned_moment() -> datetime | None:
    """Today (UTC) at PREPBASE_TEST_CLOCK, or None when the clock is not pinned."""
    if not TEST_CLOCK:
        return None
    hour, minute = (int(part) for part in TEST_CLOCK.split(":"))
    return datetime.combine(datetime.now(UTC).date(), time(hour, minute), tzinfo=UTC)


def start() -> time_machine.travel | None:
    """Move this process's clock to the pinned moment; returns the traveller to stop."""
    moment = pinned_moment()
    if moment is None:
        return None
    traveller = time_machine.travel(moment, tick=True)
    traveller.start()
    return traveller


def gunicorn_command(*args: str) -> list[str]:
    """A gunicorn command line that runs under the suite's clock (pinned or not)."""
    return [sys.executable, "-m", "tests.clock", *args]


if __name__ == "__main__":
    # python -m tests.clock <gunicorn args>: gunicorn under the pinned clock. Forked
    # workers inherit the patched clock.
    from gunicorn.app.wsgiapp import run

    start()
    sys.argv = [str(Path(sys.executable).parent / "gunicorn"), *sys.argv[1:]]
    sys.exit(run())
