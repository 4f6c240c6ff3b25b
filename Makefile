# make run   : fresh clone -> .venv + install -> the workflow on the embedded demo data
# make report: after make run, results/report.html (figures, tables, provenance)
# make test  : fresh clone -> .venv + install -> ruff + snakefmt check + the whole test suite
# make test-fast : the unit tier only (tests/unit, under a minute): run it while editing
# make test-gpu  : the GPU tier (tests/gpu) on a CUDA machine; skips elsewhere
# make test-slurm : the scaled-down demo on a throwaway loopback SLURM cluster (root on Debian)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
CORES  ?= all
# The locks: exact versions and hashes for every package, for Linux, macOS and Windows.
RUNTIME_LOCK := requirements/runtime.txt
DEV_LOCK     := requirements/dev.txt
TORCH_PAIR   := requirements/torch-pair.txt
RUN_STAMP    := $(VENV)/.installed-runtime
DEV_STAMP    := $(VENV)/.installed-dev
# uv: the dev lock's version (the report test builds a runtime-only venv with it)
UV_VERSION   := 0.13.10
# `make lock LOCK_FLAGS=--upgrade` moves every pin to the newest release the ranges allow.
LOCK_FLAGS   ?=
UV_COMPILE    = $(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 \
                --generate-hashes --quiet --custom-compile-command "make lock" $(LOCK_FLAGS) \
                -c $(TORCH_PAIR)

.PHONY: run report test test-fast test-gpu test-slurm lock bench clean-results help

help:
	@echo "make run    - run the pipeline on the embedded demo (config/config.yaml)"
	@echo "make report - results/report.html: figures, tables and provenance of the last run"
	@echo "make test   - ruff check + snakefmt check + pytest (tiers: tests/unit, tests/scripts, tests/workflow)"
	@echo "make test-fast - ruff check + the unit tier (tests/unit), under a minute"
	@echo "make test-gpu - the GPU tier (tests/gpu): CUDA training, resume, sharing; skips without CUDA"
	@echo "make test-slurm - the scaled-down demo through the SLURM profile on a loopback cluster"
	@echo "make lock   - regenerate requirements/*.txt and envs/sparse.yaml from pyproject.toml"
	@echo "make bench  - run the benchmarks in benchmarks/ (prints speed ratios)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Exact, hash-checked versions from the lock, then the project itself without touching them.
# pip refuses any package the lock lacks, so an incomplete lock fails here, not at run time.
$(RUN_STAMP): $(RUNTIME_LOCK) pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes -r $(RUNTIME_LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

# The dev lock is the runtime lock plus the test tools (pytest, ruff, librosa, scipy).
$(DEV_STAMP): $(DEV_LOCK) pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes -r $(DEV_LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

# The venv's bin comes first on PATH so the rules' `python` is the project's interpreter.
# `make run CONFIG=my.yaml` adds --configfile my.yaml, checked first: Snakemake itself reports a
# missing file as a traceback and a YAML syntax error without its file or line.
run: $(RUN_STAMP)
	$(if $(CONFIG),$(BIN)/python -m sparse_pkg.config_check $(CONFIG))
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/snakemake --cores $(CORES) \
	    $(if $(CONFIG),--configfile $(CONFIG))

# After `make run` (same CONFIG): Snakemake's self-contained HTML report of the results.
report: $(RUN_STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/snakemake --report results/report.html \
	    $(if $(CONFIG),--configfile $(CONFIG))

test: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/snakefmt --check workflow
	$(BIN)/python -m pytest

# The CUDA path (tests/gpu): skipped, with the reason, on a machine without a CUDA device.
test-gpu: $(DEV_STAMP)
	$(BIN)/python -m pytest -v -rs tests/gpu

# Pure functions and modules: no scripts run as processes, no Snakemake.
test-fast: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q tests/unit

# Regenerate the locks: keeps existing pins unless pyproject.toml or torch-pair.txt needs a
# change (or LOCK_FLAGS=--upgrade); the dev lock is resolved inside the runtime lock, so both
# install the very same versions of every shared package.
lock: | $(BIN)/python
	$(BIN)/python -m pip install --quiet uv==$(UV_VERSION)
	$(UV_COMPILE) -o $(RUNTIME_LOCK)
	$(UV_COMPILE) --extra dev -c $(RUNTIME_LOCK) -o $(DEV_LOCK)
	$(BIN)/python scripts/maintenance/conda_env_from_lock.py $(RUNTIME_LOCK) envs/sparse.yaml

# Root on Debian only (installs slurm-wlm + munge, starts daemons); prints why it skips elsewhere.
test-slurm: $(DEV_STAMP)
	bash tests/slurm/run.sh

bench: $(DEV_STAMP)
	for script in benchmarks/*.py; do $(BIN)/python $$script || exit 1; done

clean-results:
	rm -rf results/* .snakemake
	touch results/.gitkeep
