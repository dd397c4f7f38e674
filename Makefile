# mlplab: `make report` builds the report, `make test` runs the tests.
# Both create the pinned virtual environment first if it is missing or out of date.
# Targets are real files, so make redoes only what changed; the runner's content-hash
# cache then re-executes only the runs whose inputs changed.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Runs executed at once: one per core unless JOBS says otherwise.
JOBS ?= $(shell getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
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
# The package files the speed bench imports (read from its imports), and a stamp of when the
# measurement in report/bench.json was last known to be of them.
BENCH_SOURCES := $(shell $(PYTHON) src/mlplab/sources.py lab/bench.py)
BENCH_CURRENT := report/.bench-sources
NOTEBOOKS := notebooks/mlp_lab.ipynb notebooks/summary.ipynb

.PHONY: env report test test-quick lint lab data bench clean help handout grade mutate \
  mutate-survivors wheelhouse
# A build interrupted at its very end must not make `make` delete a finished index.
.PRECIOUS: $(REPORT_DIR)/index.html

help:
	@echo "make report   build report/index.html and one page per run (one run per core; JOBS=1 for one at a time)"
	@echo "make test     lint and run the tests (the full suite, as CI runs it)"
	@echo "make test-quick  lint and the fast tests: no notebook runs, no browser"
	@echo "make mutate   mutation testing of the modules where a silent bug costs most (~1 h here)"
	@echo "make mutate-survivors  run again only the mutants the last make mutate left alive"
	@echo "make lab      open the notebooks in JupyterLab"
	@echo "make data     download full MNIST into data/ (checksum verified)"
	@echo "make bench    compare Keras' default training loop with ours"
	@echo "make handout  classroom kit in report/handout/: student notebook, key, slides, PDF"
	@echo "make wheelhouse  after make handout: install/wheels/ for installing the kit offline (2.5 GB)"
	@echo "make grade SUBMISSIONS=DIR  grade DIR/*.ipynb, each in a sandbox -> DIR/scores.csv, feedback/, canvas.csv"
	@echo "make clean    delete generated reports"

# uv (pinned, kept apart in $(VENV)/.uv so the pins stay the environment's whole content)
# installs the locked set in seconds where pip takes about 100 (it hard-links from its
# cache where it can); where uv cannot be had or fails, pip installs the same pins.
UV_VERSION := 0.13.8
UV := $(VENV)/.uv/bin/uv
PIP := $(BIN)/python -m pip --quiet --disable-pip-version-check
# The venv is made without pip (`python -m venv` spends ~10 s installing it); uv installs the
# pip that this Python's ensurepip would have (make handout builds the students' wheel with
# it). uv itself comes from the system Python's pip; without that, pip does everything.
PIP_VERSION := 23.2.1

# Python compiles each module to bytecode when first imported and keeps it, unless
# PYTHONDONTWRITEBYTECODE says not to: then every kernel compiles TensorFlow again (twice the
# import's CPU). So make lets Python keep what it compiles, and compiles what a build
# imports (a third of the installed modules, two processes at once) once after installing,
# rather than everything installed (uv's --compile-bytecode: 13,000 files, ~50 CPU-s).
export PYTHONDONTWRITEBYTECODE :=
PRECOMPILE := 'import tensorflow, keras' \
  'import numpy, pandas, matplotlib.pyplot, scipy.stats, sklearn.metrics, \
   sklearn.model_selection, IPython, ipykernel.kernelapp, papermill, nbconvert, nbclient, \
   jupyter_client, dask.distributed, yaml, psutil'

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv --without-pip $(VENV)
	{ test -x $(UV) || $(PYTHON) -m pip --quiet --disable-pip-version-check install \
	    --target $(VENV)/.uv uv==$(UV_VERSION); } && \
	  $(UV) pip install --quiet --python $(BIN)/python -r requirements.lock pip==$(PIP_VERSION) \
	  && $(UV) pip install --quiet --no-deps --python $(BIN)/python -e . \
	  || { $(BIN)/python -m ensurepip --upgrade >/dev/null && $(PIP) install -r requirements.lock \
	       && $(PIP) install --no-deps -e .; }
	pids=; for imports in $(PRECOMPILE); do \
	  { out=$$($(BIN)/python -c "$$imports" 2>&1) || { echo "$$out" >&2; exit 1; }; } & \
	  pids="$$pids $$!"; done; for pid in $$pids; do wait $$pid || exit 1; done
	touch $@

env: $(STAMP)

# On failure the index is marked out of date so the next `make report` retries.
# The index shows the speed benchmark, so a report needs one (measured once per checkout):
# --bench measures it when report/bench.json is missing, on one worker while the others
# take the runs (a minute saved on a first build; `make bench` measures it alone).
$(REPORT_DIR)/index.html: $(STAMP) $(SOURCES) $(NOTEBOOKS) $(EXPERIMENTS) $(wildcard data/*) \
  $(BENCH_CURRENT)
	$(BIN)/mlplab report --experiments $(EXPERIMENTS) --report-dir $(REPORT_DIR) \
	  --jobs $(JOBS) --bench $(REPORT_ARGS) || { touch -c -d @0 $@; exit 1; }

report: $(REPORT_DIR)/index.html

lint: $(STAMP)
	$(BIN)/ruff check src tests notebooks
	$(BIN)/mlplab params --check

# Tests run on one pytest-xdist worker per core (TEST_JOBS=0: all in one process); the
# tests that share an expensive fixture stay on one worker (tests/conftest.py).
TEST_JOBS ?= $(JOBS)
PYTEST := $(BIN)/python -m pytest -q -n $(TEST_JOBS)

test: lint
	$(PYTEST)

# The author's inner loop: everything but the tests marked slow (notebook executions,
# builds, training) or browser.
test-quick: lint
	$(PYTEST) -m "not slow and not browser"

# Mutation testing (docs/testing.md): mutmut changes these functions one small edit at a
# time and runs the fast tests that reach each one; a change no test notices survives.
# setup.cfg names the modules and test files. The tool comes from its own lock file, so
# `make test` and `make report` never need it.
MUTATE_TARGETS ?= \
  'mlplab.summary.stats.x_compare__*' 'mlplab.summary.stats.x_holm__*' \
  'mlplab.summary.stats.x_verdict__*' 'mlplab.summary.stats.x__p__*' \
  'mlplab.summary.stats.x__per_seed__*' 'mlplab.summary.stats.x*Comparison*' \
  'mlplab.summary.stats.x*Family*' \
  'mlplab.outcomes.*' \
  'mlplab.pipeline.cache.x_hash_bytes__*' 'mlplab.pipeline.cache.x_package_hash__*' \
  'mlplab.pipeline.cache.x__package_files__*' 'mlplab.pipeline.cache.x__code_cells__*' \
  'mlplab.pipeline.cache.x*Hasher*' \
  'mlplab.params.x*Param*validate__*' 'mlplab.params.x_validate__*' \
  'mlplab.lab.data.x__data_lines__*' 'mlplab.lab.data.x__check_*' \
  'mlplab.lab.data.x__is_number__*' 'mlplab.lab.data.x__non_numeric__*' \
  'mlplab.lab.multiseed.x*_Stopper*update__*' 'mlplab.lab.multiseed.x_keras_best_epoch__*' \
  'mlplab.pipeline.landing.x_land__*' 'mlplab.pipeline.landing.x_replace_together__*' \
  'mlplab.pipeline.landing.x_report_lock__*' 'mlplab.pipeline.landing.x__remove_stale_*' \
  'mlplab.results.x_write_bytes_atomic__*' 'mlplab.results.x_write_json_atomic__*' \
  'mlplab.pipeline.handout_templates.handout_grading.x_close__*' \
  'mlplab.pipeline.handout_templates.handout_grading.x_t95__*' \
  'mlplab.pipeline.handout_templates.handout_grading.x_mean_interval__*' \
  'mlplab.pipeline.handout_templates.handout_grading.x_paired__*' \
  'mlplab.pipeline.handout_templates.handout_grading.x_welch__*' \
  'mlplab.pipeline.handout_templates.handout_grading.x_verdict__*' \
  'mlplab.pipeline.handout_templates.handout_grading.x_diagnosis__*' \
  'mlplab.pipeline.handout.x_natural_order__*'
MUTATE_JOBS ?= 2
MUTATE_STAMP := $(VENV)/.mutate-installed

$(MUTATE_STAMP): $(STAMP) requirements-mutate.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-mutate.lock
	touch $@

mutate: $(MUTATE_STAMP)
	rm -rf mutants
	nice $(BIN)/mutmut run --max-children $(MUTATE_JOBS) $(MUTATE_TARGETS) > $(VENV)/mutmut.log 2>&1 \
	  || { tail -c 3000 $(VENV)/mutmut.log; exit 1; }
	$(BIN)/python tests/mutation_score.py --min 90 $(MUTATE_TARGETS)

# After adding tests: run again only what the last `make mutate` left alive or did not
# reach, against the tests as they are now (mutmut measures the new tests first), and score.
mutate-survivors: $(MUTATE_STAMP)
	names=$$($(BIN)/python tests/mutation_score.py --list $(MUTATE_TARGETS)) && \
	  nice $(BIN)/mutmut run --max-children $(MUTATE_JOBS) $$names > $(VENV)/mutmut.log 2>&1 \
	  || { tail -c 3000 $(VENV)/mutmut.log; exit 1; }
	$(BIN)/python tests/mutation_score.py --min 90 $(MUTATE_TARGETS)

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

data/mnist.npz: | $(STAMP)
	$(BIN)/mlplab data fetch mnist

data: data/mnist.npz

# The benchmark is re-measured only when the environment or the code the bench imports
# changes: then `make report` removes the old measurement (and measures it beside the runs).
$(BENCH_CURRENT): $(STAMP) $(BENCH_SOURCES)
	rm -f report/bench.json
	mkdir -p report && touch $@

report/bench.json: $(STAMP) $(BENCH_SOURCES)
	$(BIN)/mlplab bench
	touch $(BENCH_CURRENT)

bench: report/bench.json

# The classroom kit (docs/teaching.md). The build replaces report/handout/ whole
# only when everything succeeded, so a failed build leaves the old kit and its times alone.
HANDOUT_DIR := report/handout
$(HANDOUT_DIR)/handout.ipynb: $(STAMP) $(SOURCES) notebooks/handout.ipynb notebooks/mlp_lab.ipynb \
  $(wildcard src/mlplab/pipeline/handout_templates/*)
	$(BIN)/python -m mlplab.pipeline.handout build --out $(HANDOUT_DIR)

handout: $(HANDOUT_DIR)/handout.ipynb

# Offline install (docs/teaching.md): every pinned package's wheel, repacked from .venv.
# Rebuilding the kit replaces report/handout/ whole, so run this again after `make handout`.
wheelhouse: $(HANDOUT_DIR)/handout.ipynb
	$(BIN)/python -m mlplab.pipeline.wheelhouse $(HANDOUT_DIR)/install/wheels \
	  --requirements $(HANDOUT_DIR)/install/requirements.txt

grade: $(HANDOUT_DIR)/handout.ipynb
	$(BIN)/python -m mlplab.pipeline.handout grade \
	  $(or $(SUBMISSIONS),$(error set SUBMISSIONS=a folder of submitted notebooks)) \
	  --autograder $(HANDOUT_DIR)/autograder.zip --jobs $(JOBS)

clean:
	find report -mindepth 1 -not -name README.md -delete
