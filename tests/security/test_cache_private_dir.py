"""The generated-code cache: a private directory (0700, ours, not writable by others, nor
replaceable through a directory above it), refused with a warning and an in-memory
compile otherwise; never a ``.pyc`` nor a numba index planted by someone else run.
"Another user" is simulated with chmod 0777 and, as root, chown to another uid."""
import importlib.util
import marshal
import os
import pickle
import stat

import numpy as np
import pytest

from graphflow.utils import private_dir as pd
from graphflow_numpy import jit
from graphflow_numpy.kernels import fused_loops

needs_numba = pytest.mark.skipif(not jit.available(), reason="numba is not installed")
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="chown to another user needs root")
OTHER_UID = 54321
SOURCE = ("import numpy as np\n\n\ndef loop(lo, hi, out, x0):\n    for i in range(lo, hi):\n"
          "        out[i] = x0[i] * np.float32(3.0)\n")


@pytest.fixture
def cache(tmp_path, monkeypatch):
    root = tmp_path / "cache"
    monkeypatch.setenv("GRAPHFLOW_CACHE_DIR", str(root))
    fused_loops.compiled_loop.cache_clear()
    yield root
    fused_loops.compiled_loop.cache_clear()
    if os.geteuid() == 0 and root.exists():  # give back what a test chowned away, for pytest to remove
        for p in [root, *root.rglob("*")]:
            if not p.is_symlink():
                os.chown(p, 0, -1)


def test_the_directory_is_made_0700_and_checked(cache):
    folder = pd.private_dir("fused-loops")
    assert folder == str(cache / "fused-loops")
    for p in (cache, cache / "fused-loops"):
        assert stat.S_IMODE(p.stat().st_mode) == 0o700 and p.stat().st_uid == os.geteuid()
    cache.chmod(0o777)
    with pytest.warns(pd.UnsafeCacheDir, match=r"can be written by others \(mode 0777\).*compiled in memory"):
        assert pd.private_dir("fused-loops") is None
    cache.chmod(0o720)
    with pytest.warns(pd.UnsafeCacheDir, match="mode 0720"):
        assert pd.private_dir("other") is None
    cache.chmod(0o750)  # readable by the group is not a risk to us
    assert pd.private_dir("third") == str(cache / "third")


def test_a_directory_above_writable_by_others_is_refused_unless_sticky(tmp_path, monkeypatch):
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)
    monkeypatch.setenv("GRAPHFLOW_CACHE_DIR", str(shared / "mine"))
    with pytest.warns(pd.UnsafeCacheDir, match="above it.*can be written by others and is not sticky"):
        assert pd.private_dir("x") is None
    assert not (shared / "mine").exists()
    shared.chmod(0o1777)  # as /tmp: nobody else can rename our folder away
    assert pd.private_dir("x") == str(shared / "mine" / "x")


@as_root
def test_a_directory_of_another_user_is_refused(cache, monkeypatch):
    cache.mkdir(mode=0o700)
    os.chown(cache, OTHER_UID, -1)
    with pytest.warns(pd.UnsafeCacheDir, match=f"belongs to user id {OTHER_UID}"):
        assert pd.private_dir("fused-loops") is None
    symlinked = cache.parent / "link"
    symlinked.symlink_to(cache)  # a link does not hide who owns the target
    monkeypatch.setenv("GRAPHFLOW_CACHE_DIR", str(symlinked))
    with pytest.warns(pd.UnsafeCacheDir, match=f"belongs to user id {OTHER_UID}"):
        assert pd.private_dir("fused-loops2") is None


def _plant(root, marker):
    """A .pyc beside every generated module and a numba index (a pickle) in place of
    every index, each writing ``marker`` when run."""
    evil = f"open({str(marker)!r}, 'a').write('pyc ran\\n')\n"
    for py in root.rglob("*.py"):
        cache_dir = py.parent / "__pycache__"
        cache_dir.mkdir(exist_ok=True)
        st = py.stat()
        # a valid timestamp .pyc for this very .py, as the import system checks it
        header = importlib.util.MAGIC_NUMBER + (0).to_bytes(4, "little") + \
            int(st.st_mtime).to_bytes(4, "little") + (st.st_size & 0xFFFFFFFF).to_bytes(4, "little")
        code = compile(evil + py.read_text(), str(py), "exec")
        (cache_dir / f"{py.stem}.{importlib.util.cache_from_source(str(py)).split('.')[-2]}.pyc").write_bytes(
            header + marshal.dumps(code))

    class Evil:
        def __reduce__(self):
            return os.system, (f"echo nbi ran >> {marker}",)
    planted = 0
    for nbi in root.rglob("*.nbi"):
        nbi.write_bytes(pickle.dumps(Evil()))
        planted += 1
    return planted


def _run(source=SOURCE):
    fused_loops.compiled_loop.cache_clear()
    fn = fused_loops.compiled_loop(source)
    x, out = np.arange(5, dtype=np.float32), np.zeros(5, np.float32)
    fn(0, 5, out, x)
    np.testing.assert_array_equal(out, x * 3)
    return jit.STATS[fused_loops._key(source)]["cache"]


@needs_numba
def test_planted_bytecode_and_numba_indexes_never_run(cache, tmp_path):
    marker = tmp_path / "ran"
    assert _run() in ("miss", "hit")  # compiled, and cached in the private folder
    assert list(cache.rglob("*.nbi")) and list((cache / "fused-loops").glob("gf_fused_*.py"))
    assert _plant(cache, marker) >= 1
    cache.chmod(0o777)  # anyone could have planted them: the folder is not used at all
    with pytest.warns(pd.UnsafeCacheDir):
        assert _run() == "off"
    assert not marker.exists()
    cache.chmod(0o700)
    for nbi in cache.rglob("*.nbi"):  # what is in our own private folder is trusted: take the index away
        nbi.unlink()
    assert _run() in ("miss", "hit")  # the planted .pyc is still there, and never imported
    assert not marker.exists()


@needs_numba
@as_root
def test_a_numba_folder_of_another_user_is_not_read(cache, tmp_path):
    marker = tmp_path / "ran"
    _run()
    _plant(cache, marker)
    for sub in (cache / "numba").iterdir():
        os.chown(sub, OTHER_UID, -1)
    with pytest.warns(pd.UnsafeCacheDir, match=f"belongs to user id {OTHER_UID}"):
        assert _run() == "off"
    assert not marker.exists()


@needs_numba
def test_library_loops_cache_in_the_private_folder_not_numba_cache_dir(cache, tmp_path, monkeypatch):
    import numba
    elsewhere = tmp_path / "numba-cache-dir"
    monkeypatch.setattr(numba.config, "CACHE_DIR", str(elsewhere))
    module = tmp_path / "mod_for_cache_test.py"
    module.write_text("def total(a):\n    s = 0.0\n    for v in a:\n        s += v\n    return s\n")
    spec = importlib.util.spec_from_file_location("mod_for_cache_test", module)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert jit.loop(mod.total)(np.arange(4.0)) == 6.0
    (index,) = (cache / "numba").rglob("*.nbi")
    assert index.name.startswith("mod_for_cache_test.total-1.py")
    assert stat.S_IMODE(index.parent.stat().st_mode) == 0o700
    assert not elsewhere.exists()


def test_module_names_hash_the_source_and_the_versions():
    if not jit.available():
        pytest.skip("numba is not installed")
    assert fused_loops._key(SOURCE) != fused_loops._key(SOURCE + "\n")
    assert fused_loops._versions().split("\n")[1] == __import__("numba").__version__
