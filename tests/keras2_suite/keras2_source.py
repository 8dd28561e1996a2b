"""Finding Keras 2.0.6's own tests, without keeping a copy of them in this repository.

Two published sources, fetched into a cache (``$GRAPHFLOW_KERAS2_CACHE``, default
``~/.cache/graphflow/keras-2.0.6``) on first use and verified:

* ``keras/utils/test_utils.py`` (``layer_test``): from the PyPI sdist Keras-2.0.6.tar.gz,
  got with ``pip download keras==2.0.6 --no-deps --no-binary :all:`` and checked against
  its sha256. The sdist has no ``tests/`` folder.
* ``tests/`` (and the recurrent ``examples/`` that test_keras2_examples.py runs): from the
  GitHub tag archive of keras-team/keras ``2.0.6``; it is checked to
  be that release by its ``keras/__init__.py`` (``__version__ = '2.0.6'``) and the
  archive's ``test_utils.py`` against the sdist's.

``$GRAPHFLOW_KERAS2_SOURCE`` may name an unpacked source tree (or a tarball) of the tag
instead, for machines without that network access.
"""
from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
import urllib.request
from pathlib import Path

SDIST_SHA256 = "0519480abe4ad18b2c2d1bc580eab75edd82c95083d341a1157952f4b00019bb"
TAG_ARCHIVE = "https://github.com/keras-team/keras/archive/refs/tags/2.0.6.tar.gz"
TEST_UTILS = "keras/utils/test_utils.py"
EXAMPLES = ("examples/addition_rnn.py", "examples/mnist_irnn.py", "examples/mnist_hierarchical_rnn.py")


class Unavailable(Exception):
    """The sources could not be had; the message says why and what to do."""


def cache_dir() -> Path:
    return Path(os.environ.get("GRAPHFLOW_KERAS2_CACHE", Path.home() / ".cache" / "graphflow" / "keras-2.0.6"))


def _safe_extract(tar: tarfile.TarFile, dest: Path, keep) -> None:
    """Extract the members whose path (first component dropped) ``keep`` accepts, refusing
    links and anything that would land outside ``dest``."""
    for member in tar.getmembers():
        parts = Path(member.name).parts[1:]
        if not parts or not member.isfile() or not keep("/".join(parts)):
            continue
        target = dest.joinpath(*parts).resolve()
        if dest.resolve() not in target.parents:
            raise Unavailable(f"refusing archive member {member.name!r}: it points outside {dest}")
        target.parent.mkdir(parents=True, exist_ok=True)
        with tar.extractfile(member) as src, open(target, "wb") as out:
            shutil.copyfileobj(src, out)


def _sdist_test_utils(cache: Path) -> Path:
    target = cache / "sdist" / TEST_UTILS
    if target.is_file():
        return target
    download = cache / "download"
    download.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "keras==2.0.6", "--no-deps", "--no-binary", ":all:",
           "-d", str(download), "-q"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    sdist = download / "Keras-2.0.6.tar.gz"
    if done.returncode != 0 or not sdist.is_file():
        raise Unavailable(f"could not download the Keras 2.0.6 sdist from the package registry "
                          f"({(done.stderr or done.stdout).strip().splitlines()[-1:]}); run online once to fill "
                          f"the cache {cache}")
    digest = hashlib.sha256(sdist.read_bytes()).hexdigest()
    if digest != SDIST_SHA256:
        raise Unavailable(f"Keras-2.0.6.tar.gz has sha256 {digest}, expected {SDIST_SHA256}: not using it")
    with tarfile.open(sdist) as tar:
        _safe_extract(tar, cache / "sdist", lambda p: p == TEST_UTILS)
    return target


def _tag_tests(cache: Path) -> Path:
    root = cache / "tag"
    if (root / "tests").is_dir():
        return root
    given = os.environ.get("GRAPHFLOW_KERAS2_SOURCE")
    if given:
        path = Path(given)
        if path.is_dir():
            return path
        data = path.read_bytes()
    else:
        try:
            with urllib.request.urlopen(TAG_ARCHIVE, timeout=30) as response:
                data = response.read()
        except OSError as err:
            raise Unavailable(f"Keras 2.0.6's tests are not in its PyPI sdist, and the GitHub tag archive "
                              f"{TAG_ARCHIVE} could not be fetched ({err}). Fetch it on a machine with access "
                              f"and set GRAPHFLOW_KERAS2_SOURCE to the tarball or its unpacked folder") from None
    staging = cache / "tag.partial"
    shutil.rmtree(staging, ignore_errors=True)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        _safe_extract(tar, staging, lambda p: p.startswith("tests/") or p in (TEST_UTILS, "keras/__init__.py")
                      or p in EXAMPLES)
    init = staging / "keras" / "__init__.py"
    if not init.is_file() or "__version__ = '2.0.6'" not in init.read_text():
        raise Unavailable(f"the archive is not Keras 2.0.6 (its keras/__init__.py says otherwise)")
    shutil.rmtree(root, ignore_errors=True)
    staging.rename(root)
    return root


def sources() -> tuple[Path, Path]:
    """(the sdist's test_utils.py, the tag's source root holding tests/)."""
    cache = cache_dir()
    root = _tag_tests(cache)  # first: where it cannot be had, nothing is downloaded
    test_utils = _sdist_test_utils(cache)
    theirs = root / TEST_UTILS
    if theirs.is_file() and theirs.read_bytes() != test_utils.read_bytes():
        raise Unavailable(f"{root} is not the 2.0.6 release: its {TEST_UTILS} differs from the sdist's")
    return test_utils, root
