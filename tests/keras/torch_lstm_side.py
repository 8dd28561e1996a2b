"""Runs in a Python that has torch (tests/keras/test_lstm_torch_parity.py): nn.LSTM +
nn.Linear from the Keras-layout weights in IN.npz, ``steps`` plain SGD steps of mean
softmax cross-entropy; writes the losses and final weights (Keras layout) to OUT.npz.

    python torch_lstm_side.py IN.npz OUT.npz
"""
import sys

import numpy as np
import torch


def main(src, dst):
    d = np.load(src)
    kernel, rec, bias, dense_w, dense_b = (d[k] for k in ("kernel", "rec", "bias", "dense_w", "dense_b"))
    units = rec.shape[0]
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(kernel.shape[0], units, batch_first=True)
    out = torch.nn.Linear(units, dense_w.shape[1])
    with torch.no_grad():  # Keras (in, 4u) gates i,f,c,o == torch (4u, in) gates i,f,g,o, transposed
        lstm.weight_ih_l0.copy_(torch.from_numpy(kernel.T.copy()))
        lstm.weight_hh_l0.copy_(torch.from_numpy(rec.T.copy()))
        lstm.bias_ih_l0.copy_(torch.from_numpy(bias))
        lstm.bias_hh_l0.zero_()
        out.weight.copy_(torch.from_numpy(dense_w.T.copy()))
        out.bias.copy_(torch.from_numpy(dense_b))
    # Keras has one LSTM bias, torch two that both learn: keep bias_hh at zero so the sum
    # moves as Keras's bias does
    lstm.bias_hh_l0.requires_grad_(False)
    params = [p for p in lstm.parameters() if p.requires_grad] + list(out.parameters())
    opt = torch.optim.SGD(params, lr=float(d["lr"]))
    x, y = torch.from_numpy(d["x"]), torch.from_numpy(d["y"].astype(np.int64))
    losses = []
    for _ in range(int(d["steps"])):
        opt.zero_grad()
        h, _ = lstm(x)
        loss = torch.nn.functional.cross_entropy(out(h[:, -1]), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    with torch.no_grad():
        np.savez(dst, losses=np.array(losses), kernel=lstm.weight_ih_l0.numpy().T,
                 rec=lstm.weight_hh_l0.numpy().T, bias=(lstm.bias_ih_l0 + lstm.bias_hh_l0).numpy(),
                 dense_w=out.weight.numpy().T, dense_b=out.bias.numpy())


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
