"""``model.step_options``: the public channel through which callbacks (graphflow's own
and yours) ask ``fit`` for a different training step.

    >>> class FindTheNaN(Callback):
    ...     def on_train_begin(self, logs=None):
    ...         self.model.step_options.check_numerics = True          # checked step from now on
    ...         self.model.step_options.stop_on_numerics_error = True  # stop, don't raise

``fit`` resets the options when it returns (or raises), so what one run asked for never
leaks into the next.
"""
from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass
class StepOptions:
    """What the training loop reads before each step.

    * ``check_numerics``: run the sibling of the training step that checks every op's
      output for NaN/Inf and raises ``gf.NumericsError`` naming the op, its layer and the
      line of user code that made it (the step applies nothing then).
    * ``stop_on_numerics_error``: such an error stops training (``model.stop_training``)
      after printing it, instead of propagating out of ``fit``.
    """

    check_numerics: bool = False
    stop_on_numerics_error: bool = False

    def reset(self) -> None:
        """Back to the defaults (``fit`` calls this when it ends)."""
        for f in fields(self):
            setattr(self, f.name, f.default)
