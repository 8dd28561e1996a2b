#!/usr/bin/env python3
"""Learning to add: an LSTM encoder-decoder reads "123+45 " as characters and writes "168 ".

The question is padded to 2*DIGITS+1 characters and fed reversed (it shortens the path
from the last digits read to the first ones written, Sutskever et al. 2014); the answer
is DIGITS+1 characters. Encoder LSTM -> RepeatVector -> decoder LSTM(return_sequences)
-> Dense(softmax) per output position. The questions are split three ways, none shared:
training, validation (training stops once its exact match reaches --target) and the
held-out test, scored once at the end by exact match of the whole answer.

    python examples/sequence_addition.py                      # 3 digits: >= 95 % held out
    python examples/sequence_addition.py --digits 2 --epochs 3 --samples 3000   # a quick look
    python examples/sequence_addition.py --svg docs/img/sequence_addition.svg  # its training graph

Prints one line per epoch, then ``held-out exact match: 0.97 (n questions)`` and a few
worked examples.
"""
import argparse
import time

import numpy as np

import graphflow as gf
from graphflow.keras.layers import LSTM, Dense, RepeatVector
from graphflow.keras.models import Sequential
from graphflow.keras.optimizers import Adam

CHARS = "0123456789+ "


def encode(texts, length):
    """One-hot (n, length, len(CHARS)) of the strings, each padded with spaces."""
    index = {c: i for i, c in enumerate(CHARS)}
    out = np.zeros((len(texts), length, len(CHARS)), np.float32)
    for n, text in enumerate(texts):
        for t, char in enumerate(text.ljust(length)):
            out[n, t, index[char]] = 1.0
    return out


def decode(probs):
    return ["".join(CHARS[i] for i in row).strip() for row in probs.argmax(-1)]


def questions(digits, count, rng):
    """``count`` distinct pairs (a, b) with a <= b of up to ``digits`` digits each."""
    seen, pairs = set(), []
    top = 10 ** digits
    while len(pairs) < count:
        a, b = sorted(rng.integers(0, top, 2, endpoint=False).tolist())
        if (a, b) not in seen:
            seen.add((a, b))
            pairs.append((a, b))
    return pairs


def dataset(pairs, digits):
    q_len, a_len = 2 * digits + 1, digits + 1
    qs = [f"{a}+{b}".ljust(q_len)[::-1] for a, b in pairs]  # reversed, padding first
    answers = [str(a + b) for a, b in pairs]
    return encode(qs, q_len), encode(answers, a_len), answers


def build(digits, hidden):
    model = Sequential([
        LSTM(hidden, input_shape=(2 * digits + 1, len(CHARS))),   # the encoder: the question as a vector
        RepeatVector(digits + 1),                                  # one copy per answer character
        LSTM(hidden, return_sequences=True),                       # the decoder
        Dense(len(CHARS), activation="softmax"),                   # a character per position
    ])
    model.compile(loss="categorical_crossentropy", optimizer=Adam(lr=0.005), metrics=["accuracy"])
    return model


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--digits", type=int, default=3)
    ap.add_argument("--samples", type=int, default=24000, help="training questions")
    ap.add_argument("--held-out", type=int, default=2000, help="test questions")
    ap.add_argument("--validation", type=int, default=1000)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--target", type=float, default=0.96, help="stop once validation exact match reaches this")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--svg", help="write the compiled training step drawn by gf.viz here")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    gf.set_random_seed(args.seed)
    pairs = questions(args.digits, args.samples + args.validation + args.held_out, rng)
    n_fit, n_val = args.samples, args.samples + args.validation
    x, y, _ = dataset(pairs[:n_fit], args.digits)
    x_val, _, answers_val = dataset(pairs[n_fit:n_val], args.digits)
    x_test, _, answers = dataset(pairs[n_val:], args.digits)
    model = build(args.digits, args.hidden)
    start = time.perf_counter()

    def exact(xs, truth):
        return float(np.mean(np.array(decode(model.predict(xs, batch_size=512))) == np.array(truth)))
    for epoch in range(1, args.epochs + 1):
        history = model.fit(x, y, batch_size=128, epochs=1, verbose=0)
        score = exact(x_val, answers_val)
        print(f"epoch {epoch}: loss {history.history['loss'][-1]:.4f}, validation exact match {score:.3f} "
              f"({time.perf_counter() - start:.0f} s)", flush=True)
        if score >= args.target:
            break
    score = exact(x_test, answers)
    print(f"held-out exact match: {score:.3f} ({len(answers)} questions none of which was trained on; "
          f"{time.perf_counter() - start:.0f} s)")
    guesses = decode(model.predict(x_test[:5]))
    for (a, b), guess in zip(pairs[n_val:n_val + 5], guesses):
        print(f"  {a}+{b} = {guess} {'ok' if guess == str(a + b) else 'wrong, ' + str(a + b)}")
    if args.svg:
        gf.viz.to_svg(model.train_function, args.svg, optimized=True, collapse=1)
        print(f"wrote {args.svg}")


if __name__ == "__main__":
    main()
