# mlplab: `make report` builds the report, `make test` runs the tests.
# Both create the pinned virtual environment first if it is missing or out of date.
# Targets are real files, so make redoes only what changed; the runner's content-hash
# cache then re-executes only the runs whose inputs changed.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
JOBS ?= 1
EXPERIMENTS ?= notebooks/experiments.yaml
REPORT_ARGS ?=
# DATASET=fashion-mnist (or mnist, or a CSV path) runs the same suite on that dataset,
# into its own folder: report/fashion-mnist/index.html.
DATASET ?=
ifeq ($(DATASET),)
REPORT_DIR := report
else
REPORT_DIR := report/$(notdir $(basename $(DATASET)))
REPORT_ARGS += --set dataset=$(DATASET)
endif

SOURCES := $(shell find src/mlplab -type f -not -path '*/__pycache__/*' 2>/dev/null)
NOTEBOOKS := notebooks/mlp_lab.ipynb notebooks/summary.ipynb

.PHONY: env report test test-quick lint lab data bench clean help handout grade
# A build interrupted at its very end must not make `make` delete a finished index.
.PRECIOUS: $(REPORT_DIR)/index.html

help:
	@echo "make report   build report/index.html and one page per run (JOBS=2 for 2 at once)"
	@echo "make test     lint and run the tests (the full suite, as CI runs it)"
	@echo "make test-quick  lint and the fast tests: no notebook runs, no browser"
	@echo "make lab      open the notebooks in JupyterLab"
	@echo "make data     download full MNIST into data/ (checksum verified)"
	@echo "make bench    compare Keras' default training loop with ours"
	@echo "make handout  classroom kit in report/handout/: student notebook, key, slides, PDF"
	@echo "make grade SUBMISSIONS=DIR  grade DIR/*.ipynb, each in a sandbox -> DIR/scores.csv, feedback/, canvas.csv"
	@echo "make clean    delete generated reports"

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

env: $(STAMP)

# On failure the index is marked out of date so the next `make report` retries.
# The index shows the speed benchmark, so a report needs one (measured once per checkout).
$(REPORT_DIR)/index.html: $(STAMP) $(SOURCES) $(NOTEBOOKS) $(EXPERIMENTS) $(wildcard data/*) \
  report/bench.json
	$(BIN)/mlplab report --experiments $(EXPERIMENTS) --report-dir $(REPORT_DIR) \
	  --jobs $(JOBS) $(REPORT_ARGS) || { touch -c -d @0 $@; exit 1; }

report: $(REPORT_DIR)/index.html

lint: $(STAMP)
	$(BIN)/ruff check src tests notebooks
	$(BIN)/mlplab params --check

test: lint
	$(BIN)/python -m pytest -q

# The author's inner loop: everything but the tests marked slow (notebook executions,
# builds, training) or browser.
test-quick: lint
	$(BIN)/python -m pytest -q -m "not slow and not browser"

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

data/mnist.npz: | $(STAMP)
	$(BIN)/mlplab data fetch mnist

data: data/mnist.npz

# Re-measured only when the training code changes.
BENCH_SOURCES := $(wildcard src/mlplab/lab/bench.py src/mlplab/lab/train.py \
  src/mlplab/lab/models.py src/mlplab/lab/multiseed.py)
report/bench.json: $(STAMP) $(BENCH_SOURCES)
	$(BIN)/mlplab bench

bench: report/bench.json

# The classroom kit (docs/teaching.md). The build replaces report/handout/ whole
# only when everything succeeded, so a failed build leaves the old kit and its times alone.
HANDOUT_DIR := report/handout
$(HANDOUT_DIR)/handout.ipynb: $(STAMP) $(SOURCES) notebooks/handout.ipynb notebooks/mlp_lab.ipynb \
  $(wildcard src/mlplab/pipeline/handout_templates/*)
	$(BIN)/python -m mlplab.pipeline.handout build --out $(HANDOUT_DIR)

handout: $(HANDOUT_DIR)/handout.ipynb

grade: $(HANDOUT_DIR)/handout.ipynb
	$(BIN)/python -m mlplab.pipeline.handout grade \
	  $(or $(SUBMISSIONS),$(error set SUBMISSIONS=a folder of submitted notebooks)) \
	  --autograder $(HANDOUT_DIR)/autograder.zip --jobs $(JOBS)

clean:
	find report -mindepth 1 -not -name README.md -delete
