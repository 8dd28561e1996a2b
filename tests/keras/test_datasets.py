"""graphflow.keras.datasets.mnist: the bundled sample and a user's own mnist.npz."""
import numpy as np
import pytest

from graphflow.keras.datasets import mnist


@pytest.fixture
def fresh(monkeypatch, tmp_path):
    """No announcement made yet in this process, and a HOME without data sets."""
    monkeypatch.setattr(mnist, "_announced", set())
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return tmp_path


def fake_npz(path, n_train=6, n_test=3):
    r = np.random.default_rng(0)
    arrays = {"x_train": r.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
              "y_train": r.integers(0, 10, n_train, dtype=np.uint8),
              "x_test": r.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
              "y_test": r.integers(0, 10, n_test, dtype=np.uint8)}
    np.savez(path, **arrays)
    return arrays


def test_bundled_sample_shapes_dtypes_and_balance(fresh, capsys):
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    assert x_train.shape == (4000, 28, 28) and x_test.shape == (1000, 28, 28)
    assert x_train.dtype == y_train.dtype == x_test.dtype == y_test.dtype == np.uint8
    assert np.bincount(y_train).tolist() == [400] * 10
    assert np.bincount(y_test).tolist() == [100] * 10
    assert x_train.min() == 0 and x_train.max() == 255
    assert "bundled 5,000-digit MNIST sample" in capsys.readouterr().err
    mnist.load_data()
    assert capsys.readouterr().err == "", "the source is announced once per process"
    # the split is fixed and shuffled: classes are interleaved, the same on every load
    assert len(set(y_train[:20].tolist())) > 5
    np.testing.assert_array_equal(mnist.load_data()[0][1], y_train)


def test_bundled_labels_match_the_pictures(fresh):
    """A nearest-centroid classifier fit on train must recognise most test digits."""
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    flat = x_train.reshape(len(x_train), -1).astype(np.float32)
    centroids = np.stack([flat[y_train == d].mean(0) for d in range(10)])
    test = x_test.reshape(len(x_test), -1).astype(np.float32)
    dist = (test ** 2).sum(1)[:, None] - 2 * test @ centroids.T + (centroids ** 2).sum(1)
    assert (dist.argmin(1) == y_test).mean() > 0.75
    train_rows = {row.tobytes() for row in x_train.reshape(len(x_train), -1)}
    assert not any(row.tobytes() in train_rows for row in x_test.reshape(len(x_test), -1))


def test_user_file_by_path_and_in_home(fresh, capsys):
    arrays = fake_npz(fresh / "mine.npz")
    (x, y), (xt, yt) = mnist.load_data(str(fresh / "mine.npz"))
    np.testing.assert_array_equal(x, arrays["x_train"])
    np.testing.assert_array_equal(yt, arrays["y_test"])
    assert "your MNIST file" in capsys.readouterr().err
    home = mnist.user_dir()
    home.mkdir(parents=True)
    arrays = fake_npz(home / "mnist.npz", n_train=2)
    assert mnist.load_data()[0][0].shape == (2, 28, 28)
    assert mnist.load_data("mnist.npz")[0][0].shape == (2, 28, 28)  # Keras's default name


def test_missing_and_foreign_files_are_refused(fresh):
    with pytest.raises(FileNotFoundError, match="downloads nothing"):
        mnist.load_data(str(fresh / "nowhere.npz"))
    (fresh / "junk.npz").write_bytes(b"not a zip at all")
    with pytest.raises(ValueError, match="not a Keras-format mnist.npz"):
        mnist.load_data(str(fresh / "junk.npz"))
    np.savez(fresh / "partial.npz", x_train=np.zeros((2, 28, 28)))
    with pytest.raises(ValueError, match="lacks"):
        mnist.load_data(str(fresh / "partial.npz"))
    np.savez(fresh / "pickled.npz", x_train=np.array([{}], dtype=object), y_train=np.zeros(1),
             x_test=np.zeros((1, 28, 28)), y_test=np.zeros(1))
    with pytest.raises(ValueError, match="not a Keras-format"):
        mnist.load_data(str(fresh / "pickled.npz"))
    np.savez(fresh / "mismatch.npz", x_train=np.zeros((2, 28, 28)), y_train=np.zeros(3),
             x_test=np.zeros((1, 28, 28)), y_test=np.zeros(1))
    with pytest.raises(ValueError, match="y_train"):
        mnist.load_data(str(fresh / "mismatch.npz"))
