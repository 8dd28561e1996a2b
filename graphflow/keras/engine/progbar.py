"""The Keras 2.0.6 progress bar, character for character.

While running (redrawn at most every 0.05 s, with backspaces and a carriage return)::

     32/100 [========>.....................] - ETA: 3s - loss: 2.3026

and when the target is reached (then a newline)::

    100/100 [==============================] - 5s - loss: 2.1216

Values are running means weighted by the number of samples (or steps) each update
covers; a value with ``abs(v) <= 1e-3`` is written ``%.4e``. ``verbose=2`` writes only
the final line, without the bar: ``5s - loss: 2.1216``.

    >>> bar = Progbar(target=100)
    >>> bar.update(32, [("loss", 2.3026)])
"""
import sys
import time

import numpy as np

from .._utils import is_chief


class Progbar:
    """A text progress bar counting up to ``target`` (samples or steps)."""

    def __init__(self, target, width=30, verbose=1, interval=0.05, file=None):
        self.target = target
        self.width = width
        self.verbose = verbose if is_chief() else 0  # one bar per data-parallel job
        self.interval = interval
        self.file = file
        self.sum_values = {}
        self.unique_values = []
        self.start = time.time()
        self.last_update = 0
        self.total_width = 0
        self.seen_so_far = 0

    @property
    def _out(self):
        return self.file if self.file is not None else sys.stdout

    def _average(self, key):
        total, count = self.sum_values[key]
        return float(np.mean(total / max(1, count)))

    def update(self, current, values=None, force=False):
        """Advance to ``current``; ``values`` is a list of (name, value) for the samples
        since the last update."""
        for k, v in values or []:
            step = current - self.seen_so_far
            if k not in self.sum_values:
                self.sum_values[k] = [v * step, step]
                self.unique_values.append(k)
            else:
                self.sum_values[k][0] += v * step
                self.sum_values[k][1] += step
        self.seen_so_far = current
        now = time.time()
        if self.verbose == 1:
            if not force and (now - self.last_update) < self.interval and current < self.target:
                return
            self._draw(current, now)
        elif self.verbose == 2 and current >= self.target:
            info = "%ds" % (now - self.start)
            for k in self.unique_values:
                avg = self._average(k)
                info += " - %s:" % k + (" %.4f" % avg if avg > 1e-3 else " %.4e" % avg)
            self._out.write(info + "\n")
            self._out.flush()
        self.last_update = now

    def add(self, n, values=None):
        self.update(self.seen_so_far + n, values)

    def _draw(self, current, now):
        out = self._out
        prev_total_width = self.total_width
        out.write("\b" * prev_total_width)
        out.write("\r")
        digits = int(np.floor(np.log10(self.target))) + 1 if self.target > 0 else 1
        bar = ("%%%dd/%%%dd [" % (digits, digits)) % (current, self.target)
        prog_width = int(self.width * (float(current) / self.target if self.target else 1.0))
        if prog_width > 0:
            bar += "=" * (prog_width - 1)
            bar += ">" if current < self.target else "="
        bar += "." * (self.width - prog_width)
        bar += "]"
        out.write(bar)
        self.total_width = len(bar)
        time_per_unit = (now - self.start) / current if current else 0
        if current < self.target:
            info = " - ETA: %ds" % (time_per_unit * (self.target - current))
        else:
            info = " - %ds" % (now - self.start)
        for k in self.unique_values:
            avg = self._average(k)
            info += " - %s:" % k + (" %.4f" % avg if abs(avg) > 1e-3 else " %.4e" % avg)
        self.total_width += len(info)
        if prev_total_width > self.total_width:
            info += " " * (prev_total_width - self.total_width)
        out.write(info)
        out.flush()
        if current >= self.target:
            out.write("\n")
