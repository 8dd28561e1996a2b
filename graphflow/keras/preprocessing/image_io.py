"""Image files <-> arrays for Keras 2's ``preprocessing.image`` (needs Pillow).

    >>> import numpy as np
    >>> img = array_to_img(np.zeros((4, 5, 3)), data_format="channels_last")
    >>> img.size, img_to_array(img, data_format="channels_first").shape
    ((5, 4), (3, 4, 5))
"""
import os
import re

import numpy as np

from .._utils import normalize_data_format as _data_format

PICTURE_EXTENSIONS = ("png", "jpg", "jpeg", "bmp")


def _pil_image():
    try:
        from PIL import Image
    except ImportError:
        raise ImportError("graphflow.keras.preprocessing.image needs Pillow to read and write "
                          "image files: pip install pillow") from None
    return Image


def _floatx():
    from .. import backend as K
    return K.floatx()


def array_to_img(x, data_format=None, scale=True):
    """A 3-D array (1 or 3 channels) as a PIL image; ``scale`` maps [min, max] to [0, 255]."""
    Image = _pil_image()
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 3:
        raise ValueError(f"array_to_img expects a 3-D image array; got shape {x.shape}")
    if _data_format(data_format) == "channels_first":
        x = x.transpose(1, 2, 0)
    if scale:
        x = x - min(np.min(x), 0.0)
        top = np.max(x)
        if top != 0:
            x = x / top
        x = x * 255
    if x.shape[2] == 3:
        return Image.fromarray(x.astype(np.uint8), "RGB")
    if x.shape[2] == 1:
        return Image.fromarray(x[:, :, 0].astype(np.uint8), "L")
    raise ValueError(f"array_to_img supports 1 or 3 channels; got shape {x.shape} "
                     "(channels last after data_format is applied)")


def img_to_array(img, data_format=None):
    """A PIL image as a float array of shape (rows, cols, channels) or channels-first."""
    data_format = _data_format(data_format)
    x = np.asarray(img, dtype=_floatx())
    if x.ndim == 2:
        x = x[:, :, None]
    elif x.ndim != 3:
        raise ValueError(f"img_to_array: unsupported image of array shape {x.shape}")
    return x.transpose(2, 0, 1) if data_format == "channels_first" else x


def load_img(path, grayscale=False, target_size=None):
    """Open an image file as 'L' (grayscale) or 'RGB', resized to ``target_size`` = (h, w)
    with nearest-neighbour sampling when given."""
    Image = _pil_image()
    img = Image.open(path)
    img = img.convert("L" if grayscale else "RGB")
    if target_size is not None:
        size = (int(target_size[1]), int(target_size[0]))
        if img.size != size:
            img = img.resize(size, Image.NEAREST)
    return img


def list_pictures(directory, ext="jpg|jpeg|bmp|png"):
    """Paths of the pictures directly or indirectly under ``directory``, sorted."""
    pattern = re.compile(r"([\w]+\.(?:" + ext + "))", re.IGNORECASE)
    return sorted(os.path.join(root, f) for root, _, files in os.walk(directory)
                  for f in files if pattern.fullmatch(f))
