"""Weight regularisers, as Keras 2's ``keras.regularizers``: each maps a weight (or an
activation) tensor to a scalar penalty that ``compile`` adds to the training loss.

    >>> Dense(64, kernel_regularizer=l2(0.01))   # adds 0.01 * sum(w ** 2)
"""
import graphflow as gf

from ._utils import Lookup


class Regularizer:
    """Base class: ``reg(x) -> scalar tensor``."""

    def __call__(self, x):
        return 0.0

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class L1L2(Regularizer):
    """l1 * sum(|x|) + l2 * sum(x ** 2)."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1, self.l2 = float(l1), float(l2)

    def __call__(self, x):
        penalty = None
        if self.l1:
            penalty = self.l1 * gf.sum(gf.abs(x))
        if self.l2:
            term = self.l2 * gf.sum(gf.square(x))
            penalty = term if penalty is None else penalty + term
        return penalty if penalty is not None else gf.sum(x) * 0.0

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


def l1(l=0.01):  # noqa: E741 (Keras's name)
    return L1L2(l1=l)


def l2(l=0.01):  # noqa: E741
    return L1L2(l2=l)


def l1_l2(l1=0.01, l2=0.01):  # noqa: F811
    return L1L2(l1=l1, l2=l2)


_ALL = {"Regularizer": Regularizer, "L1L2": L1L2, "l1": l1, "l2": l2, "l1_l2": l1_l2}


_lookup = Lookup(_ALL, "regularizer", instantiate=True)
serialize, deserialize, get = _lookup.serialize, _lookup.deserialize, _lookup.get
