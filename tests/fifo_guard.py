"""Calling code that must refuse a FIFO without opening it for reading. If it regresses and
blocks, a watchdog opens the FIFO's write end after a deadline (a blocked reader then sees
end-of-file) and the test fails instead of hanging the suite; should the reader hold the GIL
(native code opening the file), faulthandler ends the process a little later, printing every
thread's stack. The code runs on the calling (main) thread, so commands that install signal
handlers work as they do for a user."""

import contextlib
import faulthandler
import os
import sys
import threading


def call_refusing_fifo(fn, fifo, timeout: float = 60.0):
    """fn()'s result (or its exception); AssertionError if it blocked on `fifo`."""
    finished = threading.Event()
    released = threading.Event()

    def watchdog():
        if not finished.wait(timeout):
            released.set()
            with contextlib.suppress(OSError):
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))

    guard = threading.Thread(target=watchdog, daemon=True)
    guard.start()
    faulthandler.dump_traceback_later(timeout + 30, exit=True, file=sys.__stderr__)
    try:
        result = fn()
    finally:
        faulthandler.cancel_dump_traceback_later()
        finished.set()
        guard.join()
        if released.is_set():
            raise AssertionError(f"blocked reading the FIFO {fifo}")
    return result
