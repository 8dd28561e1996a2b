"""ImageDataGenerator: transforms, normalisation, fit, and the flow iterators."""
import threading
import warnings

import numpy as np
import pytest

from graphflow.keras.preprocessing import image
from graphflow.keras.preprocessing.affine import (apply_transform, rotation_matrix, shift_matrix,
                                                  transform_matrix_offset_center)
from graphflow.keras.preprocessing.image import ImageDataGenerator

try:
    from PIL import Image as PIL
except ImportError:  # image files need Pillow; in-memory augmentation does not
    PIL = None
needs_pil = pytest.mark.skipif(PIL is None, reason="Pillow is not installed")

rng = np.random.default_rng(7)


def centred(matrix, h, w):
    return transform_matrix_offset_center(matrix, h, w)


# ---------------------------------------------------------------- geometric transforms

@pytest.mark.parametrize("size", [4, 5])
def test_90_degree_rotation_is_exact_about_the_centre(size):
    x = rng.random((size, size, 2))
    out = apply_transform(x, centred(rotation_matrix(np.pi / 2), size, size), channel_axis=2)
    np.testing.assert_array_equal(out, np.rot90(x, -1, axes=(0, 1)))


def test_rotation_keeps_the_centre_pixel_and_the_values():
    x = rng.random((7, 7, 1))
    gen = ImageDataGenerator(rotation_range=180, fill_mode="nearest", data_format="channels_last")
    for seed in range(5):
        out = gen.random_transform(x, seed=seed)
        assert out[3, 3, 0] == x[3, 3, 0]
        assert set(out.ravel()) <= set(x.ravel())  # order-0 sampling invents no values


@pytest.mark.parametrize("mode, expected", [
    ("constant", [2, 3, 4, -1, -1]), ("nearest", [2, 3, 4, 4, 4]),
    ("reflect", [2, 3, 4, 4, 3]), ("wrap", [2, 3, 4, 0, 1])])
def test_shift_by_two_columns_with_each_fill_mode(mode, expected):
    ramp = np.tile(np.arange(5.), (3, 1))[:, :, None]
    out = apply_transform(ramp, shift_matrix(0, 2), channel_axis=2, fill_mode=mode, cval=-1)
    np.testing.assert_array_equal(out[:, :, 0], np.tile(expected, (3, 1)))


def test_width_shift_moves_whole_columns_by_a_bounded_integer():
    x = rng.random((6, 8, 1))
    gen = ImageDataGenerator(width_shift_range=0.25, fill_mode="wrap", data_format="channels_last")
    shifts = set()
    for seed in range(12):
        out = gen.random_transform(x, seed=seed)
        k = next(k for k in range(-2, 3) if np.array_equal(out, np.roll(x, -k, axis=1)))
        shifts.add(k)
    assert len(shifts) > 1


def test_flips_reverse_the_right_axis_about_half_the_time():
    x = rng.random((3, 4, 5))  # channels_first: channels 3, rows 4, cols 5
    gen = ImageDataGenerator(horizontal_flip=True, data_format="channels_first")
    outs = [gen.random_transform(x, seed=s) for s in range(40)]
    flipped = sum(np.array_equal(o, x[:, :, ::-1]) for o in outs)
    kept = sum(np.array_equal(o, x) for o in outs)
    assert flipped + kept == 40 and 8 < flipped < 32
    vgen = ImageDataGenerator(vertical_flip=True, data_format="channels_first")
    assert any(np.array_equal(vgen.random_transform(x, seed=s), x[:, ::-1, :]) for s in range(10))


def test_channel_shift_adds_one_offset_per_channel_within_range():
    x = rng.random((4, 4, 3))
    gen = ImageDataGenerator(channel_shift_range=0.05, data_format="channels_last")
    out = gen.random_transform(x, seed=3)
    delta = out - x
    inner = (out > x.min() + 0.1) & (out < x.max() - 0.1)  # unclipped pixels
    for c in range(3):
        d = delta[..., c][inner[..., c]]
        assert np.ptp(d) < 1e-12 and abs(d[0]) <= 0.05


def test_zoom_range_forms_and_bad_arguments():
    assert ImageDataGenerator(zoom_range=0.2, data_format="channels_last").zoom_range == (0.8, 1.2)
    assert ImageDataGenerator(zoom_range=[0.5, 2], data_format="channels_last").zoom_range == (0.5, 2.0)
    with pytest.raises(ValueError, match="zoom_range"):
        ImageDataGenerator(zoom_range=(1, 2, 3), data_format="channels_last")
    with pytest.raises(ValueError, match="fill_mode"):
        ImageDataGenerator(fill_mode="mirror", data_format="channels_last")
    with pytest.raises(ValueError, match="data_format"):
        ImageDataGenerator(data_format="channels_middle")


def test_same_seed_same_augmentation_and_no_change_without_options():
    x = rng.random((9, 9, 1))
    gen = ImageDataGenerator(rotation_range=40, zoom_range=0.3, shear_range=0.5,
                             data_format="channels_last")
    np.testing.assert_array_equal(gen.random_transform(x, seed=11), gen.random_transform(x, seed=11))
    assert not np.array_equal(gen.random_transform(x, seed=11), gen.random_transform(x, seed=12))
    np.testing.assert_array_equal(ImageDataGenerator(data_format="channels_last").random_transform(x), x)


# ---------------------------------------------------------------- standardize and fit

def test_samplewise_normalisation_uses_the_whole_image():
    x = rng.random((6, 6, 1)) * 50 + 3   # one channel: Keras 2.0.6 would zero it out
    gen = ImageDataGenerator(samplewise_center=True, samplewise_std_normalization=True,
                             rescale=0.5, data_format="channels_last")
    out = gen.standardize(x.copy())
    assert abs(out.mean()) < 1e-5 and abs(out.std() - 1) < 1e-4
    np.testing.assert_allclose(out, (x - x.mean()) / x.std(), rtol=1e-4, atol=1e-4)


def test_standardize_applies_preprocessing_then_rescale_and_leaves_input_alone():
    x = np.full((2, 2, 1), 4.0)
    gen = ImageDataGenerator(preprocessing_function=lambda a: a + 1, rescale=0.1,
                             data_format="channels_last")
    np.testing.assert_allclose(gen.standardize(x), 0.5)
    assert (x == 4.0).all()


def test_featurewise_statistics_per_channel():
    x = rng.normal([1., 5., -3.], [2., 0.5, 4.], size=(30, 5, 5, 3))
    gen = ImageDataGenerator(featurewise_center=True, featurewise_std_normalization=True,
                             data_format="channels_last")
    gen.fit(x)
    assert gen.mean.shape == (1, 1, 3) and gen.std.shape == (1, 1, 3)
    np.testing.assert_allclose(gen.mean.ravel(), x.mean(axis=(0, 1, 2)), rtol=1e-5)
    batch = next(gen.flow(x, batch_size=30, shuffle=False))
    np.testing.assert_allclose(batch.mean(axis=(0, 1, 2)), 0, atol=1e-5)
    np.testing.assert_allclose(batch.std(axis=(0, 1, 2)), 1, atol=1e-4)


def test_channels_first_fit_shapes():
    x = rng.random((10, 3, 4, 4))
    gen = ImageDataGenerator(featurewise_center=True, data_format="channels_first")
    gen.fit(x)
    assert gen.mean.shape == (3, 1, 1)
    np.testing.assert_allclose(gen.mean.ravel(), x.mean(axis=(0, 2, 3)), rtol=1e-5)


def test_zca_whitening_gives_identity_covariance():
    mix = rng.normal(size=(12, 12))
    x = (rng.normal(size=(600, 12)) @ mix).reshape(600, 2, 2, 3) + 2.0
    gen = ImageDataGenerator(featurewise_center=True, zca_whitening=True, data_format="channels_last")
    gen.fit(x)
    white = np.stack([gen.standardize(img) for img in x]).reshape(600, 12).astype(np.float64)
    np.testing.assert_allclose(white.T @ white / 600, np.eye(12), atol=2e-3)
    assert np.allclose(gen.principal_components, gen.principal_components.T, atol=1e-5)


def test_fit_with_augmentation_uses_rounds_copies_and_unfitted_use_warns():
    x = rng.random((4, 5, 5, 1))
    gen = ImageDataGenerator(featurewise_center=True, rotation_range=90, data_format="channels_last")
    with pytest.warns(UserWarning, match="fit"):
        gen.standardize(x[0])
    gen.fit(x, augment=True, rounds=3, seed=0)
    again = ImageDataGenerator(featurewise_center=True, rotation_range=90, data_format="channels_last")
    again.fit(x, augment=True, rounds=3, seed=0)
    np.testing.assert_array_equal(gen.mean, again.mean)
    with pytest.raises(ValueError, match="rank 4"):
        gen.fit(x[0])


# ---------------------------------------------------------------- flow

def test_flow_batches_partial_last_batch_and_epoch_coverage():
    x = np.arange(10, dtype=float).reshape(10, 1, 1, 1)
    it = ImageDataGenerator(data_format="channels_last").flow(x, np.arange(10), batch_size=4, seed=3)
    assert len(it) == 3
    epochs = []
    for _ in range(3):
        batches = [next(it) for _ in range(3)]
        assert [len(b[0]) for b in batches] == [4, 4, 2]
        ys = np.concatenate([b[1] for b in batches])
        np.testing.assert_array_equal(np.concatenate([b[0] for b in batches]).ravel(), ys)
        assert sorted(ys) == list(range(10))
        epochs.append(tuple(ys))
    assert len(set(epochs)) > 1, "order should be reshuffled every epoch"
    it2 = ImageDataGenerator(data_format="channels_last").flow(x, np.arange(10), batch_size=4, seed=3)
    assert tuple(np.concatenate([next(it2)[1] for _ in range(3)])) == epochs[0]


def test_flow_without_shuffle_or_labels():
    x = rng.random((5, 3, 3, 1))
    it = ImageDataGenerator(data_format="channels_last").flow(x, batch_size=2, shuffle=False)
    first = next(it)
    assert isinstance(first, np.ndarray) and first.dtype == np.float32
    np.testing.assert_allclose(first, x[:2], rtol=1e-6)
    np.testing.assert_allclose(next(it), x[2:4], rtol=1e-6)


def test_flow_rejects_bad_inputs():
    gen = ImageDataGenerator(data_format="channels_last")
    with pytest.raises(ValueError, match="rank 4"):
        gen.flow(np.zeros((5, 3, 3)))
    with pytest.raises(ValueError, match="same length"):
        gen.flow(np.zeros((5, 3, 3, 1)), np.zeros(4))
    with pytest.warns(UserWarning, match="channels"):
        gen.flow(np.zeros((2, 3, 3, 7)))


def test_flow_is_safe_for_concurrent_consumers():
    x = np.arange(64, dtype=float).reshape(64, 1, 1, 1)
    it = ImageDataGenerator(data_format="channels_last").flow(x, np.arange(64), batch_size=4, seed=0)
    seen, lock = [], threading.Lock()

    def consume():
        for _ in range(16):
            _, y = next(it)
            with lock:
                seen.extend(y.tolist())
    threads = [threading.Thread(target=consume) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(seen) == sorted(list(range(64)) * 2)


@needs_pil
def test_flow_save_to_dir_writes_images(tmp_path):
    x = rng.random((3, 4, 4, 3))
    next(ImageDataGenerator(data_format="channels_last").flow(
        x, batch_size=3, save_to_dir=str(tmp_path), save_prefix="aug", save_format="png"))
    files = sorted(p.name for p in tmp_path.iterdir())
    assert len(files) == 3 and all(f.startswith("aug_") and f.endswith(".png") for f in files)
    assert PIL.open(tmp_path / files[0]).size == (4, 4)


# ---------------------------------------------------------------- flow_from_directory

@pytest.fixture
def picture_dir(tmp_path):
    if PIL is None:
        pytest.skip("Pillow is not installed")
    colours = {"cat": (255, 0, 0), "dog": (0, 0, 255)}
    for name, count in (("cat", 3), ("dog", 2)):
        folder = tmp_path / name
        (folder / "nested").mkdir(parents=True)
        for i in range(count):
            where = folder / "nested" if i == 0 else folder
            PIL.new("RGB", (10, 8), colours[name]).save(where / f"{i}.png")
        (folder / "notes.txt").write_text("not a picture")
    return tmp_path


def test_flow_from_directory_labels_follow_sorted_folders(picture_dir, capsys):
    gen = ImageDataGenerator(rescale=1 / 255., data_format="channels_last")
    it = gen.flow_from_directory(str(picture_dir), target_size=(4, 6), batch_size=5, seed=1)
    assert "Found 5 images belonging to 2 classes." in capsys.readouterr().out
    assert it.class_indices == {"cat": 0, "dog": 1} and len(it) == 1
    assert sorted(it.classes.tolist()) == [0, 0, 0, 1, 1]
    x, y = next(it)
    assert x.shape == (5, 4, 6, 3) and y.shape == (5, 2)
    # red pictures are cats, blue ones dogs
    np.testing.assert_allclose(x[:, 0, 0, 0], y[:, 0])
    np.testing.assert_allclose(x[:, 0, 0, 2], y[:, 1])


@pytest.mark.parametrize("mode", ["sparse", "binary", "input", None])
def test_flow_from_directory_class_modes(picture_dir, mode):
    it = ImageDataGenerator(data_format="channels_first").flow_from_directory(
        str(picture_dir), target_size=(3, 3), color_mode="grayscale", class_mode=mode,
        batch_size=5, shuffle=False)
    out = next(it)
    x = out if mode is None else out[0]
    assert x.shape == (5, 1, 3, 3)
    if mode == "sparse":
        np.testing.assert_array_equal(out[1], [0, 0, 0, 1, 1])
    elif mode == "binary":
        assert out[1].dtype == np.float32 and out[1].tolist() == [0, 0, 0, 1, 1]
    elif mode == "input":
        np.testing.assert_array_equal(out[1], x)


def test_flow_from_directory_bad_arguments(picture_dir):
    gen = ImageDataGenerator(data_format="channels_last")
    with pytest.raises(ValueError, match="class_mode"):
        gen.flow_from_directory(str(picture_dir), class_mode="onehot")
    with pytest.raises(FileNotFoundError):
        gen.flow_from_directory(str(picture_dir / "missing"))


@needs_pil
def test_default_data_format_comes_from_the_backend():
    from graphflow.keras import backend as K
    assert ImageDataGenerator().data_format == K.image_data_format()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert image.array_to_img(np.zeros((2, 2, 1)), data_format="channels_last").mode == "L"


@needs_pil
def test_image_augmentation_example_runs(tmp_path, capsys):
    import runpy
    from pathlib import Path
    example = Path(__file__).resolve().parents[2] / "examples" / "image_augmentation.py"
    main = runpy.run_path(str(example))["main"]
    main(["--out", str(tmp_path), "--fit", "--epochs", "1", "--steps", "3"])
    assert (tmp_path / "augmented_digits.png").read_bytes()[:4] == b"\x89PNG"
    assert b"data:image/png;base64," in (tmp_path / "augmented_digits.svg").read_bytes()
    assert "test acc" in capsys.readouterr().out
