"""examples/sequence_addition.py runs at small size, as a user runs it (tests/test_examples.py
style): the loss falls over a few epochs and the held-out score is reported. The full
run (3 digits, >= 95 % exact match held out) is the example's default; docs/keras.md
quotes it."""
import re

from test_examples import run_example


def test_sequence_addition_learns_and_reports_held_out_exact_match():
    out = run_example("sequence_addition.py", "--digits", "1", "--samples", "40", "--validation", "5",
                      "--held-out", "10", "--epochs", "4", "--hidden", "16", "--target", "2")
    losses = [float(v) for v in re.findall(r"loss ([\d.]+)", out)]
    assert len(losses) == 4 and losses[-1] < losses[0]
    score = float(re.search(r"held-out exact match: ([\d.]+) \(10 questions", out).group(1))
    assert 0.0 <= score <= 1.0
    assert len(re.findall(r"^  \d+\+\d+ = ", out, re.M)) == 5
