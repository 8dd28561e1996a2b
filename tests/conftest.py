"""Shared fixtures: fresh random data (the seed is printed, so a failure can be replayed),
and strict rewrites everywhere — a compiler rewrite that raises or returns a tensor of the
wrong type fails the test instead of being skipped with a warning."""
from __future__ import annotations

import secrets

import numpy as np
import pytest


@pytest.fixture
def rng():
    seed = secrets.randbits(32)
    print(f"random seed: {seed}  (np.random.default_rng({seed}))")  # shown when a test fails
    return np.random.default_rng(seed)


@pytest.fixture(autouse=True)
def strict_rewrites(monkeypatch):
    monkeypatch.setenv("GRAPHFLOW_STRICT_REWRITES", "1")
