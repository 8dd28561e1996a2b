"""Shared fixture of the core tests: fresh random data (the seed is printed, so a failure
can be replayed)."""
from __future__ import annotations

import secrets

import numpy as np
import pytest


@pytest.fixture
def rng():
    seed = secrets.randbits(32)
    print(f"random seed: {seed}  (np.random.default_rng({seed}))")  # shown when a test fails
    return np.random.default_rng(seed)

