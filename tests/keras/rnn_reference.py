"""Float64 NumPy references of Keras's recurrent equations (forward), and of one LSTM
classifier's SGD training (forward and backpropagation through time written out by
hand), for tests/keras/test_recurrent*.py. Gate orders: LSTM i, f, c, o; GRU z, r, h."""
import numpy as np


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def hard_sigmoid(x):
    return np.clip(0.2 * x + 0.5, 0.0, 1.0)


def simple_rnn(x, kernel, rec, bias, h=None):
    h = np.zeros((x.shape[0], rec.shape[0])) if h is None else h
    out = []
    for t in range(x.shape[1]):
        h = np.tanh(x[:, t] @ kernel + bias + h @ rec)
        out.append(h)
    return np.stack(out, 1), [h]


def lstm(x, kernel, rec, bias, sigma=hard_sigmoid, h=None, c=None, mask=None):
    """Outputs (samples, time, units) and final [h, c]; a masked step keeps h and c."""
    u = rec.shape[0]
    h = np.zeros((x.shape[0], u)) if h is None else h
    c = np.zeros((x.shape[0], u)) if c is None else c
    out = []
    for t in range(x.shape[1]):
        z = x[:, t] @ kernel + bias + h @ rec
        i, f, g, o = sigma(z[:, :u]), sigma(z[:, u:2 * u]), np.tanh(z[:, 2 * u:3 * u]), sigma(z[:, 3 * u:])
        c_new = f * c + i * g
        h_new = o * np.tanh(c_new)
        if mask is not None:
            keep = mask[:, t:t + 1].astype(bool)
            h_new, c_new = np.where(keep, h_new, h), np.where(keep, c_new, c)
        h, c = h_new, c_new
        out.append(h)
    return np.stack(out, 1), [h, c]


def gru(x, kernel, rec, bias, sigma=hard_sigmoid, reset_after=False, h=None):
    u = rec.shape[0]
    h = np.zeros((x.shape[0], u)) if h is None else h
    b_in, b_rec = (bias[0], bias[1]) if reset_after else (bias, np.zeros(3 * u))
    out = []
    for t in range(x.shape[1]):
        xz = x[:, t] @ kernel + b_in
        if reset_after:
            inner = h @ rec + b_rec
            z = sigma(xz[:, :u] + inner[:, :u])
            r = sigma(xz[:, u:2 * u] + inner[:, u:2 * u])
            hh = np.tanh(xz[:, 2 * u:] + r * inner[:, 2 * u:])
        else:
            z = sigma(xz[:, :u] + h @ rec[:, :u])
            r = sigma(xz[:, u:2 * u] + h @ rec[:, u:2 * u])
            hh = np.tanh(xz[:, 2 * u:] + (r * h) @ rec[:, 2 * u:])
        h = z * h + (1 - z) * hh
        out.append(h)
    return np.stack(out, 1), [h]


def lstm_classifier_grads(x, labels, kernel, rec, bias, dense_w, dense_b):
    """Loss (mean softmax cross-entropy of Dense(LSTM(x)) with sigmoid gates, the last
    output) and its gradients w.r.t. (kernel, rec, bias, dense_w, dense_b), by BPTT."""
    n, steps = x.shape[:2]
    u = rec.shape[0]
    h, c = np.zeros((n, u)), np.zeros((n, u))
    tape = []
    for t in range(steps):
        z = x[:, t] @ kernel + bias + h @ rec
        i, f, g, o = sigmoid(z[:, :u]), sigmoid(z[:, u:2 * u]), np.tanh(z[:, 2 * u:3 * u]), sigmoid(z[:, 3 * u:])
        c_new = f * c + i * g
        tape.append((h, c, i, f, g, o, c_new))
        h, c = o * np.tanh(c_new), c_new
    logits = h @ dense_w + dense_b
    logits = logits - logits.max(1, keepdims=True)
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    loss = -np.mean(np.log(p[np.arange(n), labels]))
    d_logits = p.copy()
    d_logits[np.arange(n), labels] -= 1
    d_logits /= n
    grads = [np.zeros_like(kernel), np.zeros_like(rec), np.zeros_like(bias), h.T @ d_logits, d_logits.sum(0)]
    dh, dc = d_logits @ dense_w.T, np.zeros((n, u))
    for t in reversed(range(steps)):
        h_prev, c_prev, i, f, g, o, c_new = tape[t]
        tc = np.tanh(c_new)
        do = dh * tc
        dc = dc + dh * o * (1 - tc ** 2)
        di, df, dg = dc * g, dc * c_prev, dc * i
        dz = np.concatenate([di * i * (1 - i), df * f * (1 - f), dg * (1 - g ** 2), do * o * (1 - o)], 1)
        grads[0] += x[:, t].T @ dz
        grads[1] += h_prev.T @ dz
        grads[2] += dz.sum(0)
        dh, dc = dz @ rec.T, dc * f
    return loss, grads


def sgd_lstm_classifier(x, labels, weights, lr, steps):
    """Losses and final weights of ``steps`` plain SGD steps on the full batch."""
    weights = [w.astype(np.float64).copy() for w in weights]
    losses = []
    for _ in range(steps):
        loss, grads = lstm_classifier_grads(x.astype(np.float64), labels, *weights)
        losses.append(loss)
        weights = [w - lr * g for w, g in zip(weights, grads)]
    return np.array(losses), weights


def conv2d_same(x, k):
    """Stride-1 'same' cross-correlation, channels_last, odd kernel."""
    kh, kw = k.shape[:2]
    xp = np.pad(x, ((0, 0), (kh // 2, kh // 2), (kw // 2, kw // 2), (0, 0)))
    out = np.zeros(x.shape[:3] + (k.shape[3],))
    for i in range(kh):
        for j in range(kw):
            out += xp[:, i:i + x.shape[1], j:j + x.shape[2]] @ k[i, j]
    return out


def conv_lstm(x, kernel, rec, bias, sigma=hard_sigmoid):
    """ConvLSTM2D with 'same' padding: outputs (samples, time, rows, cols, filters)."""
    f = rec.shape[2]
    h = np.zeros(x.shape[:1] + x.shape[2:4] + (f,))
    c = np.zeros_like(h)
    out = []
    for t in range(x.shape[1]):
        z = conv2d_same(x[:, t], kernel) + bias + conv2d_same(h, rec)
        i, fg, g, o = sigma(z[..., :f]), sigma(z[..., f:2 * f]), np.tanh(z[..., 2 * f:3 * f]), sigma(z[..., 3 * f:])
        c = fg * c + i * g
        h = o * np.tanh(c)
        out.append(h)
    return np.stack(out, 1)
