# compare_gan2: `make demo`, `make test` and `make lint` each set everything up on a
# fresh machine (a .venv with the package and its test and lint extras) and then run.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
DEMO_DIR ?= runs/demo_polygons32
DEMO_INTRAOP_THREADS ?= 1
PYTEST_WORKERS ?= 2

.PHONY: setup demo test test-slow test-variants lint clean-demo

$(STAMP): setup.py
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[test,lint]"
	@touch $(STAMP)

setup: $(STAMP)

## Train the conditional BigGAN demo on the embedded polygons_32 dataset (2 CPU cores).
## Its model is small: one thread per op, ops run two at a time (TensorFlow's inter-op
## pool), trains about 20% faster on 2 cores than TensorFlow's default of two threads per op.
demo: $(STAMP)
	TF_NUM_INTRAOP_THREADS=$(DEMO_INTRAOP_THREADS) $(PY) -m compare_gan2.main --model_dir=$(DEMO_DIR) \
	    --gin_config=gin_configs/biggan_polygons32.gin $(DEMO_ARGS)
	@echo "Samples: $(DEMO_DIR)/samples/ (rows = classes 3..8 vertices); TensorBoard: $(DEMO_DIR)"

## The default test suite (excludes tests marked slow or compat).
test: $(STAMP)
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadfile -q --durations=25 $(PYTEST_ARGS)

## The default suite under other CPU numerics: oneDNN off, one intra-op thread, and
## oneDNN limited to AVX2 kernels (what an AVX2-only machine runs).
test-variants: $(STAMP)
	TF_ENABLE_ONEDNN_OPTS=0 $(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadfile -q $(PYTEST_ARGS)
	TF_NUM_INTRAOP_THREADS=1 $(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadfile -q $(PYTEST_ARGS)
	ONEDNN_MAX_CPU_ISA=AVX2 $(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadfile -q $(PYTEST_ARGS)

## The linter (ruff.toml) and the type checker (mypy.ini) on the package.
lint: $(STAMP)
	$(PY) -m ruff check compare_gan2
	$(PY) -m mypy

## Only the slow tests.
test-slow: $(STAMP)
	$(PY) -m pytest -n $(PYTEST_WORKERS) -q -m slow $(PYTEST_ARGS)

clean-demo:
	rm -rf $(DEMO_DIR)

# compat-env / test-compat: the classic TF 2.15 + tensorflow_hub 0.15 notebook check.
include export.mk
