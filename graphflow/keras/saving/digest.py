"""Digests that make damage to a saved file visible (HDF5 keeps no checksums of its data).

Each weight array graphflow writes carries ``graphflow_digest``: BLAKE2b (16 bytes, hex)
over its dtype, shape and bytes. The file root carries ``graphflow_manifest``: BLAKE2b
over the configuration attributes and the table of contents (every group's names and
every array's digest), so a flipped name or a flipped JSON digit is caught too. Keras and
older readers ignore both attributes; files without them (Keras-written) load unchecked.

    >>> array_digest(np.zeros(3, "float32"))
    '24d6dd5d3edd7860ff4234fd0d245965'
"""
import hashlib
import json

import numpy as np

ARRAY_ATTR = "graphflow_digest"
MANIFEST_ATTR = "graphflow_manifest"
VERSION_ATTR = "graphflow_version"


def array_digest(array) -> str:
    """BLAKE2b-128 of dtype, shape and C-order bytes of ``array`` (as a hex string)."""
    array = np.asarray(array, order="C")
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{array.dtype.str}|{array.shape}|".encode())
    h.update(array.tobytes())
    return h.hexdigest()


def manifest_digest(texts, contents) -> str:
    """BLAKE2b-128 over the configuration texts (``{attr: text}``) and the table of
    contents (``[[group, [[weight name, digest], ...]], ...]``)."""
    payload = json.dumps({"texts": texts, "contents": contents}, sort_keys=True)
    return hashlib.blake2b(payload.encode(), digest_size=16).hexdigest()
