# The two set-up commands of the README are `make quickstart` and `make test`; each creates or
# reuses .venv and installs what the project needs.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: setup quickstart lint test test-quick bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[test,pretrained]'
	touch $(STAMP)

setup: $(STAMP)

quickstart: setup
	$(PY) pipeline/run.py --config configs/quickstart.yaml

lint: setup
	$(PY) -m ruff check .

test: setup
	$(PY) -m pytest tests -q $(PYTEST_ARGS)

test-quick: setup
	$(PY) -m pytest tests -q -m "not slow" $(PYTEST_ARGS)

# The real-photo benchmark times PP-OCRv4 (rapidocr) beside the project's models: a peer, not a dependency.
# Installed without its opencv-python requirement (the project's headless OpenCV provides cv2).
bench: setup
	$(PY) -m pip install -q --no-deps rapidocr-onnxruntime==1.4.4
	$(PY) -m pip install -q onnxruntime six
	@mkdir -p bench-results
	@for f in tests/benchmarks/bench_*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

clean:
	rm -rf artifacts mlruns.db mlartifacts bench-results ray_results sweeps logs .scenetext
