"""The errors loading raises: every fault of a file, and every misfit between a file and
a model, is a ``LoadError`` (a ``ValueError``) whose message names the file and what did
not fit; nothing of h5py's own exceptions (``RuntimeError``, ``KeyError``...) leaks.

    >>> try:
    ...     load_model("damaged.h5")
    ... except LoadError as err:           # or ValueError
    ...     print(err)
"""


class LoadError(ValueError):
    """A file that cannot be read, or that does not fit the model it is loaded into.
    Nothing was changed when it is raised."""


class DigestMismatchError(LoadError):
    """An array (or the file's table of contents) no longer matches the digest graphflow
    wrote beside it: the file was damaged after it was saved."""


class Unsupported(LoadError):
    """A configuration asks for something graphflow cannot honour (a layer option, an
    activation with another meaning, an optimizer feature); the message names the layer
    and the key."""
