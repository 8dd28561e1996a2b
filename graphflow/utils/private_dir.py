"""The private directory where graphflow keeps code it generated and compiled.

A cache of code is only as safe as its directory: whoever can write there can put a
module, a ``.pyc`` or a numba index (a pickle) that the next process runs. So the cache
lives in a directory of one's own — ``$GRAPHFLOW_CACHE_DIR``, else
``$XDG_CACHE_HOME/graphflow``, else ``~/.cache/graphflow`` — created ``0700``, and it is
used only while that still holds: the directory and every sub-directory used must be
owned by this process's user and writable by nobody else, and every directory above it
owned by this user or root and not writable by others unless sticky (as ``/tmp`` is:
nobody else can rename the directory away). Otherwise ``private_dir`` warns once
(``UnsafeCacheDir``) and returns None, and callers compile in memory instead. A
directory that cannot be created (a read-only home) is quietly None too.

    >>> folder = private_dir("fused-loops")      # str, or None: compile without a cache
"""
from __future__ import annotations

import os
import stat
import threading
import warnings

_warned: set = set()
_lock = threading.Lock()


class UnsafeCacheDir(UserWarning):
    """The cache directory is not private (another owner, or writable by others): it is
    not used, and generated code is compiled in memory."""


def base() -> str:
    """The cache root the environment names (not checked here; see ``private_dir``)."""
    explicit = os.environ.get("GRAPHFLOW_CACHE_DIR")
    if explicit:
        return os.path.abspath(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.abspath(os.path.join(xdg, "graphflow"))


def private_dir(*parts: str) -> str | None:
    """``base()/parts...``, made ``0700`` where missing, when it and its ancestors are
    private (see the module docstring); None, with one warning per path, when they are
    not, and None quietly when it cannot be made."""
    root = os.path.realpath(base())  # the checks below are of the directories really used
    path = os.path.join(root, *parts)
    try:
        above, missing = os.path.dirname(root), []
        while not os.path.isdir(above):
            missing.append(above)
            above = os.path.dirname(above)
        problem = _ancestors_problem(above)
        for folder in reversed(missing):
            if not problem:
                _make(folder)
        for folder in [root] + [os.path.join(root, *parts[:k + 1]) for k in range(len(parts))]:
            if problem:
                break
            _make(folder)
            problem = _own_problem(folder)
    except OSError:
        return None
    if problem:
        with _lock:
            if path not in _warned:
                _warned.add(path)
                warnings.warn(f"graphflow does not use the cache directory {path!r}: {problem}. Generated code is "
                              f"compiled in memory instead. Use a directory of your own (GRAPHFLOW_CACHE_DIR), "
                              f"mode 0700", UnsafeCacheDir, stacklevel=3)
        return None
    return path


def _make(folder):
    try:
        os.mkdir(folder, 0o700)
    except FileExistsError:
        pass


def _own_problem(folder) -> str | None:
    st = os.stat(folder)
    if not stat.S_ISDIR(st.st_mode):
        return f"{folder!r} is not a directory"
    if not hasattr(os, "geteuid"):  # Windows: no owners and modes of this kind; its ACLs are its own
        return None
    if st.st_uid != os.geteuid():
        return f"{folder!r} belongs to user id {st.st_uid}, not to this process's user ({os.geteuid()})"
    if st.st_mode & 0o022:
        return f"{folder!r} can be written by others (mode {stat.S_IMODE(st.st_mode):04o})"
    return None


def _ancestors_problem(folder) -> str | None:
    """Whether someone else could replace what lies below ``folder`` (and so our cache)."""
    if not hasattr(os, "geteuid"):
        return None
    while True:
        st = os.stat(folder)
        if st.st_uid not in (os.geteuid(), 0):
            return f"the directory above it, {folder!r}, belongs to user id {st.st_uid}"
        if st.st_mode & 0o022 and not st.st_mode & stat.S_ISVTX:
            return f"the directory above it, {folder!r}, can be written by others and is not sticky"
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent
