"""Small utilities every layer may use (imports nothing else of ours): atomic file writes,
checks that kernels defer to the end of a call (``checks.defer``).

    >>> from graphflow.utils import atomic_path, write_text
    >>> write_text("model.json", text)          # readers see the old file or the new, never half
"""
from . import checks  # noqa: F401
from .files import atomic_path, write_bytes, write_text  # noqa: F401
