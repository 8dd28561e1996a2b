"""Shared fixtures: fresh random data (the seed is printed, so a failure can be replayed),
strict rewrites everywhere — a compiler rewrite that raises or returns a tensor of the
wrong type fails the test instead of being skipped with a warning — and graphflow's seed
stream handed back to NumPy after each test, so one test's ``gf.set_random_seed`` does
not change what ``np.random.seed`` means in the next."""
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


@pytest.fixture(autouse=True)
def default_seed_stream():
    yield
    import graphflow as gf
    gf.set_random_seed(None)
