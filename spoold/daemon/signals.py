"""The daemon's signal handlers: they only set flags (huey's rule), the loop acts on them."""

from __future__ import annotations

import signal
from typing import Any


def install_signal_handlers(daemon: Any) -> None:
    """SIGTERM/SIGINT: ``daemon.stop_requested`` (stop after this turn); SIGHUP: wake it to rescan now."""

    def stop(signum: int, _frame: object) -> None:
        daemon.stop_requested = True
        daemon.wake.set()

    def rescan(signum: int, _frame: object) -> None:
        daemon.wake.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGHUP, rescan)
