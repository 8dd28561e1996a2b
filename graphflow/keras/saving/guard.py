"""What graphflow accepts from an HDF5 file before it reads a byte of a weight.

A downloaded ``.h5`` file is hostile until checked. HDF5 can make a dataset read another
file (external storage, a virtual dataset, an external link), follow a soft link to any
path, compute values from a fill value it never stored, or expand a compressed chunk
without bound. So, for every object the loaders touch:

- every link on the way is a hard link inside this file (no soft, external or
  user-defined links), and a path read from an attribute is plain names (no NUL,
  no empty part, no ``.`` or ``..``, never absolute);
- a weight is a *plain* dataset: contiguous or chunked layout, no external storage, no
  virtual mapping, a simple or scalar dataspace, a numeric dtype, filters limited to
  HDF5's own (deflate, shuffle, fletcher32, lzf);
- its size is paid for by bytes the file stores: at most ``MAX_EXPANSION`` times its own
  stored bytes when compressed (exactly its stored bytes otherwise), and all the weights
  of one load together at most ``MAX_EXPANSION`` times the file's size.

None of this depends on graphflow's digest attributes: Keras-written files have none, and
deleting them from a tampered file skips no check. Every refusal is a ``LoadError``
naming the dataset or link.

    >>> budget = Budget(os.path.getsize(path))
    >>> ds = hard_child(f["model_weights"], "dense_1/dense_1/kernel:0", "weight")
    >>> nbytes = check_dataset(ds, budget)          # raises LoadError, or the bytes to read
"""
import h5py
import numpy as np

from .errors import LoadError

# the most a compressed weight may expand, and a whole load may take, per byte stored
MAX_EXPANSION = 16
_FILTERS = {h5py.h5z.FILTER_DEFLATE: "deflate (gzip)", h5py.h5z.FILTER_SHUFFLE: "shuffle",
            h5py.h5z.FILTER_FLETCHER32: "fletcher32", h5py.h5z.FILTER_LZF: "lzf"}
_CHECKSUM_ONLY = (h5py.h5z.FILTER_SHUFFLE, h5py.h5z.FILTER_FLETCHER32)
_LAYOUTS = {h5py.h5d.CONTIGUOUS: "contiguous", h5py.h5d.CHUNKED: "chunked", h5py.h5d.COMPACT: "compact",
            h5py.h5d.VIRTUAL: "virtual"}


class Budget:
    """The bytes one load may still decode: ``MAX_EXPANSION`` times the file's size."""

    def __init__(self, file_size):
        self.file_size = int(file_size)
        self.left = MAX_EXPANSION * self.file_size

    def charge(self, nbytes, where):
        if nbytes > self.left:
            raise LoadError(f"reading {where!r} ({nbytes} bytes) would take the load past "
                            f"{MAX_EXPANSION} times the file's {self.file_size} bytes")
        self.left -= nbytes


def _parts(path, what):
    """The names of a relative path read from a file, checked."""
    if not isinstance(path, str) or not path or path.startswith("/") or "\0" in path:
        raise LoadError(f"the {what} {path!r} is not a relative path of names (empty, absolute, or "
                        "holding a NUL character)")
    parts = path.split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise LoadError(f"the {what} {path!r} has an empty, '.' or '..' part")
    return parts


def hard_child(group, path, what="object"):
    """``group[path]`` reached through hard links only, or ``None`` when absent. A soft,
    external or user-defined link anywhere on the way is refused, naming it."""
    node = group
    for part in _parts(path, what):
        if not isinstance(node, h5py.Group):
            return None
        link = node.get(part, getlink=True)
        if link is None:
            return None
        if not isinstance(link, h5py.HardLink):
            where = f"{node.name.rstrip('/')}/{part}"
            kind = {h5py.SoftLink: "a soft link", h5py.ExternalLink: "an external link (to another "
                    "file)"}.get(type(link), "a user-defined link")
            target = f" to {link.path!r}" if hasattr(link, "path") else ""
            if hasattr(link, "filename"):
                target += f" in {link.filename!r}"
            raise LoadError(f"{where!r} ({what} {path!r}) is {kind}{target}; graphflow reads only objects "
                            "stored in the file itself")
        node = node[part]
    return node


def hard_members(group):
    """The names in ``group``, every one a hard link (others refused, see ``hard_child``)."""
    names = list(group)
    for name in names:
        hard_child(group, name, "member")
    return names


def check_dataset(ds, budget):
    """The number of bytes reading dataset ``ds`` takes, after checking (from its header
    only, no data read) that it is a plain numeric dataset the file pays for."""
    where = ds.name
    plist = ds.id.get_create_plist()
    layout = plist.get_layout()
    if layout not in (h5py.h5d.CONTIGUOUS, h5py.h5d.CHUNKED):
        raise LoadError(f"the weight {where!r} has {_LAYOUTS.get(layout, 'an unknown')} storage; graphflow "
                        "reads only contiguous or chunked datasets stored in the file")
    if plist.get_external_count():
        name = plist.get_external(0)[0]
        raise LoadError(f"the weight {where!r} keeps its data in the external file {name!r}; graphflow "
                        "reads only data stored in the file itself")
    filters = [plist.get_filter(i)[0] for i in range(plist.get_nfilters())]
    for code in filters:
        if code not in _FILTERS:
            raise LoadError(f"the weight {where!r} is stored through HDF5 filter {code}; graphflow "
                            f"reads only {', '.join(_FILTERS.values())}")
    dtype = ds.dtype
    if dtype.kind not in "biuf" or dtype.names or dtype.subdtype or dtype.itemsize > 16:
        raise LoadError(f"the weight {where!r} is stored as {dtype}, not as numbers")
    space = ds.id.get_space().get_simple_extent_type()
    if space not in (h5py.h5s.SIMPLE, h5py.h5s.SCALAR):
        raise LoadError(f"the weight {where!r} has an empty (null) dataspace, no values")
    nbytes = int(np.prod(ds.shape, dtype=np.float64) * dtype.itemsize)
    stored = ds.id.get_storage_size()
    if stored > budget.file_size:
        raise LoadError(f"the weight {where!r} claims {stored} stored bytes in a file of "
                        f"{budget.file_size} bytes")
    expansion = MAX_EXPANSION if any(c not in _CHECKSUM_ONLY for c in filters) else 1
    if nbytes > stored * expansion:
        raise LoadError(f"the weight {where!r} has shape {ds.shape} ({nbytes} bytes) but the file stores "
                        f"{stored} bytes of it" + (f" (compressed data may expand {MAX_EXPANSION} times)"
                                                   if expansion > 1 else ""))
    budget.charge(nbytes, where)
    return nbytes
