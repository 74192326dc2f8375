"""A progress bar for a benchmark level: requests finished (from the engine's own counter when
it has one) and elapsed time. On a terminal it redraws one line; in a log (compose, CI) it
prints a line at each tenth, so a captured log stays short."""

from __future__ import annotations

import sys
from typing import TextIO

WIDTH = 24


class Bar:
    def __init__(self, label: str, total: int, out: TextIO | None = None):
        self.label, self.total = label, max(total, 1)
        self.out = out or sys.stderr
        self.tty = hasattr(self.out, "isatty") and self.out.isatty()
        self._last_tenth = -1
        self._last_line = ""

    def line(self, done: float | None, elapsed_s: float) -> str:
        if done is None:  # a server without metrics: time only
            return f"{self.label}  [{'?' * WIDTH}]  {elapsed_s:5.0f} s"
        done = min(max(done, 0), self.total)
        filled = round(WIDTH * done / self.total)
        return (f"{self.label}  [{'#' * filled}{'-' * (WIDTH - filled)}]  "
                f"{done:.0f}/{self.total} requests  {elapsed_s:5.0f} s")

    def update(self, done: float | None, elapsed_s: float) -> None:
        text = self.line(done, elapsed_s)
        if self.tty:
            self.out.write("\r" + text.ljust(len(self._last_line)))
            self.out.flush()
            self._last_line = text
            return
        tenth = -1 if done is None else int(10 * min(done, self.total) / self.total)
        if tenth > self._last_tenth:
            self._last_tenth = tenth
            print(text, file=self.out, flush=True)

    def finish(self, summary: str) -> None:
        if self.tty:
            self.out.write("\r" + " " * len(self._last_line) + "\r")
        print(f"{self.label}  {summary}", file=self.out, flush=True)
