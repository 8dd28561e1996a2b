# graphflow: `make demo` runs the main job, `make test` the test suite. Both set
# themselves up (venv, package, Graphviz, MPI) and are safe to run again.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench setup graphviz mpi clean

setup: $(STAMP) graphviz mpi

# the mpi extra (mpi4py + the Open MPI wheel) where PyPI has wheels for this machine
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip >/dev/null 2>&1 || true
	$(BIN)/pip install -q -e ".[test,mpi]" || $(BIN)/pip install -q -e ".[test]"
	touch $(STAMP)

# otherwise Debian's Open MPI (then mpi4py builds against it); without either, the MPI
# tests are skipped and graphflow runs single-process
mpi: $(STAMP)
	@if $(BIN)/python -c "from mpi4py import MPI" >/dev/null 2>&1 && \
	    { [ -x $(BIN)/mpirun ] || command -v mpirun >/dev/null 2>&1; }; then :; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing Open MPI (openmpi-bin, libopenmpi-dev) with apt-get, then mpi4py"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openmpi-bin libopenmpi-dev >/dev/null \
	    && $(BIN)/pip install -q mpi4py) || echo "could not install MPI; the MPI tests will be skipped"; \
	else \
	  echo "MPI is missing: pip install 'graphflow[mpi]' (or apt-get install openmpi-bin libopenmpi-dev, then pip install mpi4py); carrying on without it"; \
	fi

graphviz:
	@if command -v dot >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing Graphviz (dot) with apt-get"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz >/dev/null) \
	    || echo "could not install Graphviz; SVG rendering tests will be skipped"; \
	else \
	  echo "Graphviz's dot is missing: install it with 'sudo apt-get install graphviz' (or 'brew install graphviz', 'conda install graphviz'); carrying on without it"; \
	fi

demo: setup
	$(BIN)/python examples/vgg_cnn.py --out out

test: setup
	$(BIN)/python -m pytest -n 2 tests

# Each benchmark prints medians and ratios against a peer measured in the same run; the
# VGG training step is compared with PyTorch (CPU) by the shared helper when it is there.
bench: setup
	@for f in tests/benchmarks/bench_*.py; do \
	  [ "$$f" = tests/benchmarks/bench_vgg_step.py ] && continue; \
	  echo "== $$f"; $(BIN)/python $$f || exit 1; done
	@if [ -x ../shared/bench/compare_vgg.sh ]; then echo "== VGG step vs PyTorch"; ../shared/bench/compare_vgg.sh 3; \
	 else echo "== VGG step (no peer helper found)"; $(BIN)/python tests/benchmarks/bench_vgg_step.py; fi

clean:
	rm -rf $(VENV) build *.egg-info
