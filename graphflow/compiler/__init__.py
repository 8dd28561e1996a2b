"""The compiler: rewrites a graph for a backend and schedules it (see docs/compiler.md)."""
from .program import Program, compile_program  # noqa: F401
