# Three entry points, each installing what it needs into .venv first:
#   make example   import a bundled PyTorch model, check dfcc computes what PyTorch does, size it for a ZCU102
#   make test      the whole test suite (pytest + lit)
#   make zoo       real torchvision, timm and transformers models end to end, as a table (bench/bench_zoo.py)
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[torch,hls,test,zoo]'
	rm -f $(VENV)/.installed-* && touch $@

.PHONY: install example test zoo
install: $(STAMP)

example: $(STAMP)
	mkdir -p out
	$(BIN)/dfcc-import examples/models/resnet.py:resnet18_small --shape 1,3,32,32 -o out/resnet18_small.mlir
	$(BIN)/python -c "import numpy as np; np.savez('out/x.npz', arg0=np.random.default_rng(0).standard_normal((1, 3, 32, 32), dtype=np.float32))"
	$(BIN)/dfcc out/resnet18_small.mlir -p lower-to-dataflow -o out/resnet18_small.dataflow.mlir
	$(BIN)/dfcc out/resnet18_small.dataflow.mlir -t cpu --input out/x.npz -o out/y.npz
	$(BIN)/python examples/compare_with_pytorch.py examples/models/resnet.py:resnet18_small out/x.npz out/y.npz
	$(BIN)/dfcc out/resnet18_small.dataflow.mlir -p 'quantize{weight-bits=8 act-bits=8},explore{platform=zcu102}' -t estimate

test: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider --durations=10 -n auto --dist loadgroup tests
	$(BIN)/lit -q lit_tests

zoo: $(STAMP)
	$(BIN)/python -m dfcc.bench.bench_zoo
