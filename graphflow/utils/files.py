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
import errno
import os
import secrets
import stat

_FLAGS = os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_CLOEXEC", 0)


def _new_temp(folder: str, path: str) -> str:
    """A fresh, empty temporary file in ``folder``. Its name is short and fixed in length
    (not derived from the target's), so a target whose name is near the file system's
    limit (255 bytes) still has room for its temporary file."""
    for _ in range(100):
        tmp = os.path.join(folder, f".gf-{secrets.token_hex(6)}.tmp")
        try:
            os.close(os.open(tmp, _FLAGS, 0o666))  # the umask applies, as for open(path, "w")
            return tmp
        except FileExistsError:
            continue
        except OSError as err:
            raise type(err)(err.errno, f"cannot write {path!r}: {err.strerror} (in folder {folder!r})",
                            path) from None
    raise FileExistsError(f"could not create a temporary file beside {path!r} in {folder!r}")


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


def _exists_error(path: str) -> FileExistsError:
    return FileExistsError(errno.EEXIST, f"{path!r} exists and overwrite=False; pass overwrite=True to "
                           "replace it", path)


def _publish_new(tmp: str, path: str) -> None:
    """Put ``tmp`` at ``path`` only if nothing is there, in one step: a hard link fails if
    ``path`` exists (of two concurrent savers, exactly one wins). Where the file system
    has no hard links, an ``O_EXCL`` create claims the name, then the rename fills it."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise _exists_error(path) from None
    except OSError:  # no hard links here (FAT, some network and FUSE file systems)
        try:
            os.close(os.open(path, _FLAGS, 0o666))
        except FileExistsError:
            raise _exists_error(path) from None
        os.replace(tmp, path)
        return
    os.unlink(tmp)


def _keep_mode(tmp: str, path: str) -> None:
    """Give ``tmp`` the permission bits of the file it replaces (a 0600 file stays 0600)."""
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return
    os.chmod(tmp, mode)


def _naming_target(err: BaseException, tmp: str, path: str) -> BaseException:
    """``err`` with the temporary file's name replaced by the target's, so the person
    reads the path they asked for."""
    if isinstance(err, OSError) and err.errno is not None:
        if err.filename == tmp or tmp in str(err):
            return type(err)(err.errno, f"cannot write {path!r}: {str(err.strerror).replace(tmp, path)}", path)
        return err
    if tmp in str(err):
        try:
            return type(err)(str(err).replace(tmp, path))
        except Exception:  # a type that cannot be rebuilt from a message: keep it as it is
            return err
    return err


@contextlib.contextmanager
def atomic_path(path, *, overwrite: bool = True, durable: bool = True):
    """Yield a fresh temporary path beside ``path``; when the block finishes without an
    exception, the file written there replaces ``path`` in one rename (after an fsync
    when ``durable``), keeping the permission bits of the file it replaces. On any
    exception — KeyboardInterrupt included — the temporary file is removed and ``path``
    is untouched; an error that named the temporary file names ``path`` instead.

    ``overwrite=False`` refuses (``FileExistsError``) when ``path`` exists, and stays
    right under a race: the file is published with a hard link, which fails if another
    writer got there first.
    """
    path = os.fspath(path)
    if not overwrite and os.path.lexists(path):
        raise _exists_error(path)
    folder = os.path.dirname(os.path.abspath(path))
    tmp = _new_temp(folder, path)
    try:
        try:
            yield tmp
            if durable:
                _fsync_path(tmp)
            if overwrite:
                _keep_mode(tmp, path)
                os.replace(tmp, path)
            else:
                _publish_new(tmp, path)
        except BaseException as err:
            new = _naming_target(err, tmp, path)
            if new is not err:
                raise new from None
            raise
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
