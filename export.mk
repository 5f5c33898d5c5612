# TF-Hub export: the compatibility environment of the classic TF-Hub
# BigGAN notebook (hub.Module needs tensorflow_hub <= 0.15, which needs
# TensorFlow <= 2.15 and Python <= 3.11). Included from the Makefile.
#   make compat-env    creates $(COMPAT_VENV) (Python 3.11, tensorflow 2.15,
#                      tensorflow_hub 0.15)
#   make test-compat   runs the tests marked `compat` (tests/test_export_compat.py)

COMPAT_PYTHON ?= python3.11
COMPAT_VENV ?= .venv-compat
# tensorflow-cpu is the smaller wheel; use COMPAT_TF="tensorflow==2.15.*" where
# tensorflow-cpu has no wheel (e.g. macOS arm64).
COMPAT_TF ?= tensorflow-cpu==2.15.*
COMPAT_STAMP := $(COMPAT_VENV)/.installed-stamp

.PHONY: compat-env test-compat

$(COMPAT_STAMP): export.mk
	@$(COMPAT_PYTHON) -c 'import sys; v = sys.version_info[:2]; sys.exit(0 if v == (3, 11) else "compat-env needs Python 3.11, $(COMPAT_PYTHON) is %d.%d; set COMPAT_PYTHON=/path/to/python3.11" % v)'
	@test -x $(COMPAT_VENV)/bin/python || $(COMPAT_PYTHON) -m venv $(COMPAT_VENV)
	$(COMPAT_VENV)/bin/python -m pip install -q --upgrade pip
	$(COMPAT_VENV)/bin/python -m pip install -q "$(COMPAT_TF)" "tensorflow-hub==0.15.*" "numpy<2"
	$(COMPAT_VENV)/bin/python -c "import tensorflow as tf, tensorflow_hub as hub; print('compat env:', tf.__version__, hub.__version__); hub.Module"
	@touch $@

## Python 3.11 + tensorflow 2.15 + tensorflow_hub 0.15 in $(COMPAT_VENV).
compat-env: $(COMPAT_STAMP)

## The compatibility tests (classic hub.Module notebook flow on exported modules).
test-compat: $(STAMP) $(COMPAT_STAMP)
	COMPARE_GAN2_COMPAT_PYTHON=$(abspath $(COMPAT_VENV))/bin/python \
	    $(PY) -m pytest -q -m compat $(PYTEST_ARGS)
