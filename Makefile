# Quick start: `make demo` and `make test` each set up .venv when it is absent.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_OUT ?= demo-out

.PHONY: setup demo test fuzz lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# torch first, pinned: a CPU wheel is on local disk; an unpinned torch pulls a multi-GB CUDA build
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/radiofm demo --out $(DEMO_OUT)

# two pytest workers share the cores (CI has two), one OpenMP thread each: two workers of two threads oversubscribe
# two cores (docs/RESULTS.md, "The test suite on two workers"); tests of threaded code set their threads themselves.
# Each test file runs whole on one worker, in its own order, as in a one-process run. TEST_WORKERS=0: one process
TEST_WORKERS ?= 2
test: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile

# >= 10 000 mutated inputs per reader (tests/fuzz_support.py); prints the outcome counts per reader
fuzz: $(STAMP)
	$(BIN)/python -m pytest -m fuzz -q -p no:cacheprovider -o addopts="" tests/data/test_fuzz_readers.py tests/models/test_fuzz_checkpoint.py

lint: $(STAMP)
	$(BIN)/ruff check radiofm tests benchmarks
	$(BIN)/ruff format --check radiofm tests benchmarks

bench: $(STAMP)
	$(BIN)/python -m pip install -q transformers
	$(BIN)/python benchmarks/spectrogram.py
	$(BIN)/python benchmarks/pretrain_throughput.py

clean:
	rm -rf $(VENV) $(DEMO_OUT) .pytest_cache build *.egg-info
