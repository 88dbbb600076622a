"""Worker processes that die with the process that started them (the replications' and the sweeps' pools)."""

from __future__ import annotations

import os
import sys
import threading
import time


def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os._exit(1)


def worker_init(parent: int) -> None:
    """Pool workers die with the process that started them, even killed with SIGKILL: on Linux the kernel
    sends them SIGKILL (prctl PR_SET_PDEATHSIG); everywhere a watchdog thread exits once they are orphaned.
    Otherwise an orphaned worker (and the resource tracker it keeps open) would wait forever on its pipe."""
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        try:
            ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL), 0, 0, 0)  # 1: PR_SET_PDEATHSIG
        except (OSError, AttributeError):  # pragma: no cover (no prctl: the watchdog still works)
            pass
    if os.getppid() != parent:  # the parent died before we could ask
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True, name="glw-sim-parent-watchdog").start()
