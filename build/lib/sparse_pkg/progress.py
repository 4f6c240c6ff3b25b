"""Progress of long steps as plain, periodic log lines.

A Snakemake job's stderr is its log file, where a progress bar is one endless line. A
:class:`Progress` writes one timestamped line every ``step`` of the work (10 %) or every
``interval`` seconds (30 s), whichever comes first, and a last line when the work is done;
but only once the work has been running for ``interval`` seconds, so steps that take seconds
(the demo, the tests) add no lines at all.
"""

from __future__ import annotations

import time
from collections.abc import Callable

INTERVAL_S = 30.0
STEP = 0.1


def _default_log(message: str) -> None:
    from sparse_pkg.cli import log  # the scripts' timestamped stderr line

    log(message)


class Progress:
    """Count work done towards ``total`` and log ``what`` at a steady pace (see the module).

    ``log`` receives each line (default: a timestamped line on stderr); ``clock`` returns
    seconds (default: ``time.monotonic``; tests pass a fake one).
    """

    def __init__(self, total: int, what: str, *, unit: str = "items",
                 log: Callable[[str], None] | None = None, interval: float = INTERVAL_S,
                 step: float = STEP, clock: Callable[[], float] = time.monotonic) -> None:
        self.total, self.what, self.unit = max(int(total), 0), what, unit
        self.log = log or _default_log
        self.interval, self.step, self.clock = interval, step, clock
        self.done = 0
        self.started = self.last = clock()
        self.marks = 1  # the next line due at marks * step of the work
        self.lines = 0
        self.finished = False

    def update(self, n: int = 1) -> None:
        """Add ``n`` units of finished work; write a line when one is due."""
        self.done = min(self.done + n, self.total)
        now = self.clock()
        if self.finished or now - self.started < self.interval:
            return
        fraction = self.done / self.total if self.total else 1.0
        if self.done >= self.total:
            self._line(now, fraction, last=True)
        elif fraction >= self._mark() or now - self.last >= self.interval:
            self._line(now, fraction, last=False)

    def _line(self, now: float, fraction: float, *, last: bool) -> None:
        elapsed = now - self.started
        text = f"{self.what}: {self.done:,}/{self.total:,} {self.unit} ({100 * fraction:.0f} %)"
        if last:
            text += f", done in {elapsed:.0f} s"
        else:
            left = elapsed * (1 - fraction) / fraction if fraction > 0 else float("nan")
            text += f", {elapsed:.0f} s so far, about {left:.0f} s left"
        self.log(text)
        self.lines += 1
        self.finished = last
        self.last = now
        while self._mark() <= fraction:
            self.marks += 1

    def _mark(self) -> float:
        return round(self.marks * self.step, 9)  # 0.3, not 0.30000000000000004
