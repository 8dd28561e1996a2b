"""Atomic file replacement: write beside the target, make it durable, rename into place.

A reader (or a crash) sees the old file or the new one, never half of either. The
temporary file is created with mode 0o666 and ``O_EXCL`` so the kernel applies the
process umask itself: nothing here reads or changes process-global state (``os.umask``
would race with other threads).

    >>> with atomic_path("weights.h5") as tmp:      # h5py and friends want a path
    ...     with h5py.File(tmp, "w") as f: ...
"""
from __future__ import annotations

import contextlib
import os
import secrets

_FLAGS = os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_CLOEXEC", 0)


def _new_temp(folder: str, base: str) -> str:
    for _ in range(100):
        tmp = os.path.join(folder, f".{base}.{secrets.token_hex(4)}.tmp")
        try:
            os.close(os.open(tmp, _FLAGS, 0o666))  # the umask applies, as for open(path, "w")
            return tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"could not create a temporary file beside {base!r} in {folder!r}")


def _fsync_path(path: str, flags=os.O_RDONLY) -> None:
    """fsync a file or folder; silently skipped where the platform cannot (folders on Windows)."""
    try:
        fd = os.open(path, flags)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path, *, overwrite: bool = True, durable: bool = True):
    """Yield a fresh temporary path beside ``path``; when the block finishes without an
    exception, the file written there replaces ``path`` in one rename (after an fsync
    when ``durable``). On any exception — KeyboardInterrupt included — the temporary file
    is removed and ``path`` is untouched.

    ``overwrite=False`` refuses (``FileExistsError``) when ``path`` exists.
    """
    path = os.fspath(path)
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"{path!r} exists and overwrite=False; pass overwrite=True to replace it")
    folder = os.path.dirname(os.path.abspath(path))
    tmp = _new_temp(folder, os.path.basename(path))
    try:
        yield tmp
        if durable:
            _fsync_path(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    if durable:
        _fsync_path(folder)


def write_bytes(path, data: bytes, *, overwrite: bool = True, durable: bool = True) -> None:
    """Write ``data`` to ``path`` atomically (see ``atomic_path``)."""
    with atomic_path(path, overwrite=overwrite, durable=durable) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)


def write_text(path, text: str, *, overwrite: bool = True, durable: bool = True) -> None:
    """Write ``text`` (UTF-8, ``\\n`` line ends) to ``path`` atomically (see ``atomic_path``)."""
    write_bytes(path, text.encode("utf-8"), overwrite=overwrite, durable=durable)
