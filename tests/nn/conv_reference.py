"""Direct-loop references for 2-D convolution and its two gradients (NHWC inside, TF
'same' padding), shared by the convolution tests."""
import numpy as np


def _geometry(h, w, k, strides, padding, dilation):
    kh, kw = k.shape[:2]
    (sh, sw), (dh, dw) = strides, dilation
    eh, ew = (kh - 1) * dh + 1, (kw - 1) * dw + 1
    if padding == "same":
        oh, ow = -(-h // sh), -(-w // sw)
        top = max((oh - 1) * sh + eh - h, 0) // 2
        left = max((ow - 1) * sw + ew - w, 0) // 2
    else:
        oh, ow, top, left = (h - eh) // sh + 1, (w - ew) // sw + 1, 0, 0
    return oh, ow, top, left


def _taps(x_shape, k, strides, padding, dilation):
    """(out row, out col, tap row, tap col, in row, in col) of every real (non-padding) read."""
    _, h, w, _ = x_shape
    oh, ow, top, left = _geometry(h, w, k, strides, padding, dilation)
    (sh, sw), (dh, dw) = strides, dilation
    for i in range(oh):
        for j in range(ow):
            for a in range(k.shape[0]):
                for b in range(k.shape[1]):
                    r, c = i * sh + a * dh - top, j * sw + b * dw - left
                    if 0 <= r < h and 0 <= c < w:
                        yield i, j, a, b, r, c


def _nhwc(t, data_format):
    return t.transpose(0, 2, 3, 1) if data_format == "channels_first" else t


def _back(t, data_format):
    return t.transpose(0, 3, 1, 2) if data_format == "channels_first" else t


def ref_conv(x, k, strides=(1, 1), padding="valid", data_format="channels_last", dilation=(1, 1)):
    """Direct loops over output pixels and kernel taps."""
    x = _nhwc(x, data_format)
    oh, ow, _, _ = _geometry(x.shape[1], x.shape[2], k, strides, padding, dilation)
    y = np.zeros((x.shape[0], oh, ow, k.shape[3]), np.result_type(x, k))
    for i, j, a, b, r, c in _taps(x.shape, k, strides, padding, dilation):
        y[:, i, j, :] += x[:, r, c, :] @ k[a, b]
    return _back(y, data_format)


def ref_conv_grads(x, k, dy, strides=(1, 1), padding="valid", data_format="channels_last", dilation=(1, 1)):
    """(dx, dk) of <conv(x, k), dy>, by the same loops run backwards."""
    x, dy = _nhwc(x, data_format), _nhwc(dy, data_format)
    dx, dk = np.zeros_like(x), np.zeros_like(k)
    for i, j, a, b, r, c in _taps(x.shape, k, strides, padding, dilation):
        dx[:, r, c, :] += dy[:, i, j, :] @ k[a, b].T
        dk[a, b] += x[:, r, c, :].T @ dy[:, i, j, :]
    return _back(dx, data_format), dk
