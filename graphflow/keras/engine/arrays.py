"""Checking and slicing the NumPy data given to fit / evaluate / predict.

Mistakes are reported as Keras 2 reported them, naming the input or output layer and the
expected and received shapes:

    Error when checking input: expected conv2d_1_input to have shape (None, 28, 28, 1)
    but got array with shape (100, 28, 28)
"""
import numpy as np


def _shape_text(shape):
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def _axis_hint(shape, array):
    """Advice for the classic missing channel axis (MNIST images fed to a Conv2D)."""
    if array.ndim + 1 != len(shape) or len(shape) != 4:
        return ""
    if shape[-1] == 1 and tuple(array.shape[1:]) == tuple(d or n for d, n in zip(shape[1:3], array.shape[1:])):
        return ". Add the channel axis: x = x[..., np.newaxis] (or np.expand_dims(x, -1))"
    if shape[1] == 1:
        return ". Add the channel axis: x = x[:, np.newaxis] (or np.expand_dims(x, 1))"
    return ""


def _whole_floats_as(array, dtype):
    """Float arrays of whole numbers fed to an integer input (token ids written as
    ``np.ones``) become that integer type, as Keras 2's backends convert feeds; other
    arrays are left for the feed check to accept or refuse."""
    if dtype is None or array.dtype.kind != "f" or np.dtype(dtype).kind not in "iu":
        return array
    return array.astype(dtype) if np.all(np.isfinite(array)) and np.all(array == np.round(array)) else array


def standardize_input_data(data, names, shapes, check_batch_axis=True, exception_prefix="", dtypes=None):
    """``data`` (an array, a list of arrays or a dict by name) as a list of arrays that
    fit ``shapes`` (and integer ``dtypes``); 1-D arrays become (n, 1) columns, as in Keras 2."""
    if isinstance(data, dict):
        missing = [n for n in names if n not in data]
        if missing:
            raise ValueError(f"No data provided for {missing[0]!r}. Need data for each key in: {names}")
        arrays = [data[n] for n in names]
    elif isinstance(data, (list, tuple)):
        if len(data) and not hasattr(data[0], "shape") and len(names) == 1:
            arrays = [np.asarray(data)]
        else:
            arrays = list(data)
        if len(arrays) != len(names):
            raise ValueError(f"Error when checking model {exception_prefix}: the list of Numpy arrays that you are "
                             f"passing to your model is not the size the model expected. Expected to see "
                             f"{len(names)} array(s), but instead got {len(arrays)} arrays.")
    else:
        if len(names) > 1:
            raise ValueError(f"Error when checking model {exception_prefix}: you are passing a single array, but "
                             f"the model expects a list of {len(names)} arrays: {names}")
        arrays = [data]
    out = []
    for name, shape, array, dtype in zip(names, shapes, arrays, dtypes or [None] * len(names)):
        if array is None:
            raise ValueError(f"Error when checking {exception_prefix}: no data for {name}")
        array = _whole_floats_as(np.asarray(array), dtype)
        if array.ndim == 1:
            array = array[:, None]
        if shape is not None:
            if array.ndim != len(shape):
                raise ValueError(f"Error when checking {exception_prefix}: expected {name} to have {len(shape)} "
                                 f"dimensions, but got array with shape {array.shape}{_axis_hint(shape, array)}")
            for i, (want, got) in enumerate(zip(shape, array.shape)):
                if i == 0 and not check_batch_axis:
                    continue
                if want is not None and want != got:
                    raise ValueError(f"Error when checking {exception_prefix}: expected {name} to have shape "
                                     f"{_shape_text(shape)} but got array with shape {array.shape}")
        out.append(array)
    return out


def check_array_lengths(inputs, targets, weights=None):
    """All arrays must hold the same number of samples."""
    lengths = {len(x) for x in inputs}
    if len(lengths) > 1:
        raise ValueError(f"All input arrays (x) should have the same number of samples. Got array shapes: "
                         f"{[x.shape for x in inputs]}")
    targets_lengths = {len(y) for y in targets}
    if len(targets_lengths) > 1:
        raise ValueError(f"All target arrays (y) should have the same number of samples. Got array shapes: "
                         f"{[y.shape for y in targets]}")
    if lengths and targets_lengths and lengths != targets_lengths:
        raise ValueError(f"Input arrays should have the same number of samples as target arrays. Found "
                         f"{lengths.pop()} input samples and {targets_lengths.pop()} target samples.")
    weight_lengths = {len(w) for w in weights or [] if w is not None}
    if weight_lengths and targets_lengths and weight_lengths != targets_lengths:
        raise ValueError(f"Sample weight arrays should have the same number of samples as target arrays. Got "
                         f"{weight_lengths} sample weights and {targets_lengths} targets.")


def check_loss_and_target_compatibility(targets, loss_names, output_shapes, output_names):
    """Catch the classic mistake of integer labels with categorical_crossentropy (other
    shape mismatches are reported by the shape check, naming the output layer)."""
    for y, loss, shape, name in zip(targets, loss_names, output_shapes, output_names):
        if loss == "categorical_crossentropy" and y.shape[-1] == 1 and shape[-1] != 1:
            raise ValueError(
                f"You are passing a target array of shape {y.shape} while using as loss "
                f"`categorical_crossentropy` for output {name} of shape {_shape_text(shape)}. "
                f"`categorical_crossentropy` expects targets to be binary matrices (1s and 0s) of shape "
                f"(samples, classes). If your targets are integer classes, you can convert them to the expected "
                f"format via:\n```\nfrom graphflow.keras.utils import to_categorical\n"
                f"y_binary = to_categorical(y_int)\n```\nAlternatively, you can use the loss function "
                f"`sparse_categorical_crossentropy` instead, which does expect integer targets.")


def standardize_sample_weights(y, sample_weight=None, class_weight=None, sample_weight_mode=None):
    """The per-sample weights of one output: ``sample_weight`` as given, or class weights
    looked up through the labels (argmax of one-hot rows), or ones."""
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight, dtype="float32")
        want = 2 if sample_weight_mode == "temporal" else 1
        if sample_weight.ndim != want:
            raise ValueError(f"Found a sample_weight array with shape {sample_weight.shape}; expected "
                             f"{want} dimension(s)" + (" (sample_weight_mode='temporal')" if want == 2 else ""))
        if len(sample_weight) != len(y):
            raise ValueError(f"Found a sample_weight array with shape {sample_weight.shape} for an input with "
                             f"shape {y.shape}. sample_weight cannot be broadcast.")
        return sample_weight
    if class_weight:
        if y.ndim > 2:
            raise ValueError("class_weight not supported for 3+ dimensional targets.")
        classes = y.argmax(axis=1) if y.shape[1] > 1 else y.reshape(len(y))
        missing = sorted({int(c) for c in classes} - {int(k) for k in class_weight})
        if missing:
            raise ValueError(f"class_weight has no weight for class(es) {missing}")
        lookup = {int(k): float(v) for k, v in class_weight.items()}
        return np.asarray([lookup[int(c)] for c in classes], dtype="float32")
    shape = (len(y), y.shape[1]) if sample_weight_mode == "temporal" else (len(y),)
    return np.ones(shape, dtype="float32")


def make_batches(size, batch_size):
    """[(start, end)] covering ``size`` samples; the last batch may be short."""
    return [(i, min(size, i + batch_size)) for i in range(0, size, batch_size)]


def slice_arrays(arrays, index):
    return [a[index] for a in arrays]


def batch_shuffle(index_array, batch_size, rng=np.random):
    """Shuffle whole batches (Keras's shuffle='batch', kind to HDF5 data) with ``rng``."""
    batch_count = len(index_array) // batch_size
    last = index_array[batch_count * batch_size:]
    blocks = index_array[:batch_count * batch_size].reshape((batch_count, batch_size))
    rng.shuffle(blocks)
    return np.append(blocks.flatten(), last)


def split_for_validation(arrays, validation_split):
    """(train, validation) parts: the LAST ``validation_split`` of the unshuffled data."""
    n = len(arrays[0])
    split_at = int(n * (1.0 - validation_split))
    return [a[:split_at] for a in arrays], [a[split_at:] for a in arrays]
