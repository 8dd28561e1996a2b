"""cifar10.load_data on small archives written here in the layout of the real ones
(Python 2 cPickle protocol 2 batches in cifar-10-batches-py/ inside a tar.gz), from
Keras's cache, its extracted folder and a local download server; the published checksums
are swapped for the small files' own. And the safe unpickler refuses code."""
import hashlib
import http.server
import io
import pickle
import struct
import tarfile
import threading

import numpy as np
import pytest

from graphflow.keras import backend as K
from graphflow.keras.datasets import cifar10
from graphflow.keras.datasets.safe_pickle import loads
from graphflow.keras.saving import LoadError

N = 3  # images per batch


class Py2Pickler(pickle._Pickler):
    """Writes str and bytes as Python 2 strings (SHORT_BINSTRING / BINSTRING), as Python
    2's cPickle wrote the CIFAR batches."""

    dispatch = dict(pickle._Pickler.dispatch)

    def save_py2_string(self, obj):
        data = obj.encode("latin1") if isinstance(obj, str) else obj
        head = pickle.SHORT_BINSTRING + bytes([len(data)]) if len(data) < 256 else \
            pickle.BINSTRING + struct.pack("<i", len(data))
        self.write(head + data)
        self.memoize(obj)

    dispatch[str] = dispatch[bytes] = save_py2_string


def py2_pickle(obj):
    out = io.BytesIO()
    Py2Pickler(out, protocol=2).dump(obj)
    # NumPy 1 (which wrote the real files) named the reconstructor numpy.core.multiarray
    return out.getvalue().replace(b"numpy._core.multiarray\n", b"numpy.core.multiarray\n")


def make_batches(seed=0):
    rng = np.random.default_rng(seed)
    batches, images, labels = {}, {}, {}
    for k, name in enumerate(cifar10.TRAIN_BATCHES + ("test_batch",)):
        images[name] = rng.integers(0, 256, (N, 3, 32, 32), dtype=np.uint8)
        labels[name] = [int(v) for v in rng.integers(0, 10, N)]
        batches[name] = py2_pickle({b"batch_label": f"batch {k}".encode(), b"labels": labels[name],
                                    b"data": images[name].reshape(N, 3072),
                                    b"filenames": [f"img_{k}_{i}.png".encode() for i in range(N)]})
    return batches, images, labels


def make_archive(batches):
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for name, data in {**batches, "batches.meta": py2_pickle({b"num_cases_per_batch": N})}.items():
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


@pytest.fixture
def small(tmp_path, monkeypatch):
    """A home with an empty ~/.keras/datasets, the small data, and its checksums published."""
    monkeypatch.setenv("HOME", str(tmp_path))
    batches, images, labels = make_batches()
    archive = make_archive(batches)
    monkeypatch.setattr(cifar10, "ARCHIVE_MD5", hashlib.md5(archive).hexdigest())
    monkeypatch.setattr(cifar10, "ARCHIVE_SHA256", hashlib.sha256(archive).hexdigest())
    monkeypatch.setattr(cifar10, "BATCH_MD5", {k: hashlib.md5(v).hexdigest() for k, v in batches.items()})
    monkeypatch.setattr(cifar10, "ORIGIN", "http://127.0.0.1:9/cifar-10-python.tar.gz")  # nothing listens
    folder = tmp_path / ".keras" / "datasets"
    folder.mkdir(parents=True)
    return folder, batches, archive, images, labels


def check(result, images, labels, fmt="channels_last"):
    (x_train, y_train), (x_test, y_test) = result
    train = np.concatenate([images[n] for n in cifar10.TRAIN_BATCHES])
    if fmt == "channels_last":
        train, test = train.transpose(0, 2, 3, 1), images["test_batch"].transpose(0, 2, 3, 1)
    else:
        test = images["test_batch"]
    assert x_train.shape == (5 * N,) + ((32, 32, 3) if fmt == "channels_last" else (3, 32, 32))
    assert (x_train.dtype, y_train.dtype, x_test.dtype, y_test.dtype) == (np.uint8, np.uint8, np.uint8, np.int64)
    assert y_train.shape == (5 * N, 1) and y_test.shape == (N, 1)
    np.testing.assert_array_equal(x_train, train)
    np.testing.assert_array_equal(x_test, test)
    np.testing.assert_array_equal(y_train.ravel(), sum((labels[n] for n in cifar10.TRAIN_BATCHES), []))
    np.testing.assert_array_equal(y_test.ravel(), labels["test_batch"])


@pytest.mark.parametrize("name", [cifar10.ARCHIVE, cifar10.KERAS2_ARCHIVE])
def test_reads_the_archive_from_the_keras_cache(small, name):
    folder, _, archive, images, labels = small
    (folder / name).write_bytes(archive)
    check(cifar10.load_data(), images, labels)
    assert sorted(p.name for p in folder.iterdir()) == [name]  # nothing extracted, nothing downloaded


def test_channels_first_returns_the_stored_layout(small, monkeypatch):
    folder, _, archive, images, labels = small
    (folder / cifar10.ARCHIVE).write_bytes(archive)
    monkeypatch.setattr(K, "image_data_format", lambda: "channels_first")
    check(cifar10.load_data(), images, labels, "channels_first")


def test_reads_the_folder_keras2_extracted(small):
    folder, batches, _, images, labels = small
    (folder / cifar10.FOLDER).mkdir()
    for name, data in batches.items():
        (folder / cifar10.FOLDER / name).write_bytes(data)
    check(cifar10.load_data(), images, labels)
    (folder / cifar10.FOLDER / "data_batch_3").write_bytes(batches["data_batch_3"] + b"\x00")
    with pytest.raises(LoadError, match="data_batch_3 .* has MD5 .* Delete it"):
        cifar10.load_data()
    (folder / cifar10.FOLDER / "test_batch").unlink()
    with pytest.raises(LoadError, match="lacks test_batch"):
        cifar10.load_data()


def test_an_archive_that_is_not_the_published_one_is_refused(small, monkeypatch):
    folder, _, archive, _, _ = small
    (folder / cifar10.ARCHIVE).write_bytes(archive[:-100])
    with pytest.raises(LoadError, match=r"cifar-10-python.tar.gz.* has MD5 [0-9a-f]{32} .*truncated, damaged"):
        cifar10.load_data()


def test_offline_without_the_files_says_what_to_put_where(small):
    folder = small[0]
    with pytest.raises(FileNotFoundError) as err:
        cifar10.load_data()
    message = str(err.value)
    for needed in ("could not be downloaded", cifar10.ORIGIN, str(folder / cifar10.ARCHIVE), cifar10.ARCHIVE_MD5,
                   cifar10.FOLDER):
        assert needed in message
    assert list(folder.iterdir()) == []


class _Server:
    """A local HTTP server answering every GET with ``body``."""

    def __init__(self, body):
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass
        self.httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/cifar-10-python.tar.gz"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_downloads_checks_and_keeps_the_archive(small, monkeypatch):
    folder, _, archive, images, labels = small
    with _Server(archive[:-1] + bytes([archive[-1] ^ 1])) as bad:  # a corrupted transfer is refused and not kept
        monkeypatch.setattr(cifar10, "ORIGIN", bad.url)
        with pytest.raises(LoadError, match="the download from .* has MD5"):
            cifar10.load_data()
    assert list(folder.iterdir()) == []
    with _Server(archive) as good:
        monkeypatch.setattr(cifar10, "ORIGIN", good.url)
        check(cifar10.load_data(), images, labels)
    assert (folder / cifar10.ARCHIVE).read_bytes() == archive
    check(cifar10.load_data(), images, labels)  # the server is gone: read from the cache


def test_a_batch_naming_code_is_refused_and_nothing_runs(small, tmp_path):
    folder, batches, _, _, _ = small
    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self):
            import os
            return os.system, (f"touch {marker}",)
    evil = py2_pickle({b"data": Evil(), b"labels": []})
    batches = {**batches, "data_batch_2": evil}
    cifar10.BATCH_MD5["data_batch_2"] = hashlib.md5(evil).hexdigest()  # the fixture's copy: it is restored
    (folder / cifar10.FOLDER).mkdir()
    for name, data in batches.items():
        (folder / cifar10.FOLDER / name).write_bytes(data)
    with pytest.raises(LoadError, match=r"data_batch_2.*refusing to load global (posix|os|nt)\.system"):
        cifar10.load_data()
    assert not marker.exists()


def test_the_data_unpickler_reads_arrays_and_plain_data_only():
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    for protocol in (3, 4):  # what Python 3 writers produce, besides Python 2's layout
        got = loads(pickle.dumps({"a": a, "b": [1, "x", (2.5, None)]}, protocol=protocol))
        np.testing.assert_array_equal(got["a"], a)
        assert got["b"] == [1, "x", (2.5, None)]
    np.testing.assert_array_equal(loads(py2_pickle({b"d": a}))[b"d"], a)
    for bad, why in [(pickle.dumps(eval, protocol=2), r"(builtins|__builtin__)\.eval"),
                     (pickle.dumps(np.array([object()], dtype=object), protocol=3), "refusing dtype object"),
                     (pickle.dumps(np.zeros(2, [("x", "f4")]), protocol=3), "refusing"),
                     (b"\x80\x02cnumpy\nndarray\nK\x05\x85R.", r"calls numpy.ndarray\(...\) directly"),
                     (pickle.dumps(a, protocol=2)[:-20], None)]:
        with pytest.raises(pickle.UnpicklingError, match=why):
            loads(bad)
