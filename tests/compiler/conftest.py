"""Compiler tests run with strict rewrites: a rewrite that raises or returns a tensor of
the wrong type fails the test instead of being skipped with a warning."""
import pytest


@pytest.fixture(autouse=True)
def strict_rewrites(monkeypatch):
    monkeypatch.setenv("GRAPHFLOW_STRICT_REWRITES", "1")
