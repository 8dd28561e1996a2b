"""What ``Model.fit(check_numerics=..., profile=...)`` adds to a run: graphflow's numerics
checks and per-op profile, attached as a callback (see docs/reliability.md and
docs/performance.md)."""
from __future__ import annotations

from .callbacks import Callback


class Diagnostics(Callback):
    """What ``fit(check_numerics=..., profile=...)`` asks for: numerics checks for the whole
    run; a profile of the training step over the first epoch, printed at its end."""

    def __init__(self, check_numerics, profile):
        super().__init__()
        self.check_numerics, self.profile = check_numerics, profile
        self._function = None

    def on_train_begin(self, logs=None):
        if self.check_numerics:
            self.model.step_options.check_numerics = True
        if self.profile:
            self._function = self.model._train_step()
            self._function.start_profile()

    def on_epoch_end(self, epoch, logs=None):
        if self._function is not None:
            print(self._function.stop_profile())
            self._function = None

    def on_train_end(self, logs=None):
        if self.check_numerics:
            self.model.step_options.check_numerics = False
        if self._function is not None:
            print(self._function.stop_profile())
            self._function = None
