"""Embedding: integer indices -> dense vectors, rows of a learned matrix.

    >>> model.add(Embedding(1000, 64, input_length=10))   # (batch, 10) ints -> (batch, 10, 64)
"""
import graphflow as gf

from ..engine.base_layer import Layer
from ._options import options_config, set_options


class Embedding(Layer):
    """``embeddings[indices]`` with ``embeddings`` of shape ``(input_dim, output_dim)``.
    Its input is int32 (other dtypes are cast); an index outside ``[0, input_dim)`` is an
    error when the graph runs. ``mask_zero=True`` makes index 0 padding: the output's
    mask is ``inputs != 0``, which recurrent layers downstream skip (so index 0 cannot
    stand for a word, and ``input_dim`` should be the vocabulary size + 1)."""

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform", embeddings_regularizer=None,
                 activity_regularizer=None, embeddings_constraint=None, mask_zero=False, input_length=None,
                 **kwargs):
        kwargs.setdefault("dtype", "int32")
        if "input_shape" not in kwargs and "batch_input_shape" not in kwargs:
            length = input_length if not isinstance(input_length, (list, tuple)) else tuple(input_length)
            kwargs["input_shape"] = length if isinstance(length, tuple) else (length,)
        super().__init__(**kwargs)
        self.input_dim, self.output_dim = int(input_dim), int(output_dim)
        self.input_length = input_length
        self.mask_zero = bool(mask_zero)
        set_options(self, embeddings_initializer=embeddings_initializer,
                    embeddings_regularizer=embeddings_regularizer, activity_regularizer=activity_regularizer,
                    embeddings_constraint=embeddings_constraint)

    def build(self, input_shape):
        self.embeddings = self.add_weight("embeddings", (self.input_dim, self.output_dim),
                                          initializer=self.embeddings_initializer,
                                          regularizer=self.embeddings_regularizer,
                                          constraint=self.embeddings_constraint)
        self.built = True

    def compute_mask(self, inputs, mask=None):
        return gf.not_equal(inputs, 0) if self.mask_zero else None

    def call(self, inputs):
        if inputs.dtype != "int32":
            inputs = gf.cast(inputs, "int32")
        return gf.take(self.embeddings, inputs, axis=0)

    def get_config(self):
        config = {"input_dim": self.input_dim, "output_dim": self.output_dim, "input_length": self.input_length,
                  "mask_zero": self.mask_zero,
                  **options_config(self, ("embeddings_initializer", "embeddings_regularizer",
                                          "activity_regularizer", "embeddings_constraint"))}
        return {**super().get_config(), **config}
