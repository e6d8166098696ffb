"""Background threads yield the CPU to the window.

On a machine with few cores, a training run's threads (and their OpenMP team) keep every core
busy; a redraw that takes 20 ms on an idle machine then waits its turn and the window stalls
for 100+ ms. A worker thread lowers its own scheduling priority before it starts (Linux: the
nice value is per thread, and the OpenMP threads it creates inherit it), so the GUI thread runs
when it has work and the training loses only that. Lowering needs no privilege; nothing ever
raises it again, which is why only threads that do background work call this.
"""

from __future__ import annotations

import contextlib
import os
import threading

BACKGROUND_NICE = 5  # CFS weight 335 against the GUI thread's 1024


def run_in_background_priority() -> None:
    """Lower the calling thread's priority (no-op where the OS has no per-thread nice)."""
    if not hasattr(os, "setpriority") or not hasattr(threading, "get_native_id"):
        return
    tid = threading.get_native_id()
    with contextlib.suppress(OSError):
        current = os.getpriority(os.PRIO_PROCESS, tid)
        if current < BACKGROUND_NICE:
            os.setpriority(os.PRIO_PROCESS, tid, BACKGROUND_NICE)
