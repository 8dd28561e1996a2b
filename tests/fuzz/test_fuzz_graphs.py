"""Fuzzed graph building: random programs over the whole op catalog, with hostile
arguments, either build and compute what NumPy computes or fail with graphflow's own
error naming the op and the user's line (see fuzz_driver).

``make test`` runs a short derandomised sample; ``GRAPHFLOW_FUZZ_EXAMPLES=20000`` runs a
deep one with fresh randomness."""
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import graphflow as gf
from fuzz_driver import fuzz_program, time_limit

DEEP = int(os.environ.get("GRAPHFLOW_FUZZ_EXAMPLES", "0"))
SETTINGS = settings(max_examples=DEEP or 100, derandomize=not DEEP, deadline=None, database=None,
                    suppress_health_check=list(HealthCheck))


@SETTINGS
@given(st.data())
def test_random_programs_build_or_fail_clearly(data):
    with time_limit(30):
        problems = fuzz_program(data)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("build", [lambda b: b * -1, lambda b: 0 - b], ids=["mul-minus-one", "zero-minus"])
def test_canonical_negation_of_bool_tensors(build):
    b = gf.placeholder((3,), "bool", name="neg_b")
    f = gf.function([b], build(b))  # tests run with strict rewrites: a failing rule raises
    np.testing.assert_array_equal(f(np.array([True, False, True])), build(np.array([True, False, True])))
