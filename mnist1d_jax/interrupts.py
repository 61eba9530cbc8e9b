"""SIGINT and SIGTERM as requests to stop at the next safe point.

A handler that raises runs between any two bytecodes: inside a `finally`, a garbage collector's
callback (where Python prints "Exception ignored" and carries on) or a half-done write. While a
`Deferred` is active its handler only records the signal; the program calls `check()` where
stopping is safe (between chunks, between experiments, after a file is whole), and `check()`
raises `Interrupted`. A second signal raises at once, for a program stuck far from a safe point.
"""

from __future__ import annotations

import signal
import threading

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(BaseException):
    """Raised at a safe point after a signal (a `BaseException`: no `except Exception` swallows
    it). `status` is the shell's exit status for that signal: 130 for SIGINT, 143 for SIGTERM."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.status = 128 + signum


class Deferred:
    """`with Deferred() as interrupts: ... interrupts.check() ...`.

    Installs the recording handler for SIGINT and SIGTERM on entry (in the main thread only,
    where Python delivers signals; a signal whose handler is `SIG_IGN`, as SIGINT is in a shell's
    background job, stays ignored) and restores the previous handlers on exit. `check()` may be
    called from any thread.
    """

    def __init__(self):
        self.received: int | None = None
        self._previous: dict = {}

    def _record(self, signum, frame) -> None:
        if self.received is not None:
            raise Interrupted(signum)
        self.received = signum

    def check(self) -> None:
        """Raises `Interrupted` if a signal has arrived."""
        if self.received is not None:
            raise Interrupted(self.received)

    def __enter__(self) -> Deferred:
        if threading.current_thread() is threading.main_thread():
            for signum in SIGNALS:
                if signal.getsignal(signum) is not signal.SIG_IGN:
                    self._previous[signum] = signal.signal(signum, self._record)
        return self

    def __exit__(self, *exc) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()
