# make run   : fresh clone -> .venv + install -> the workflow on the embedded demo data
# make test  : fresh clone -> .venv + install -> ruff + the whole test suite
# make test-slurm : the scaled-down demo on a throwaway loopback SLURM cluster (root on Debian)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
CORES  ?= all
STAMP  := $(VENV)/.installed

.PHONY: run test test-slurm lint bench clean-results help

help:
	@echo "make run    - run the pipeline on the embedded demo (config/config.yaml)"
	@echo "make test   - ruff check + pytest"
	@echo "make test-slurm - the scaled-down demo through the SLURM profile on a loopback cluster"
	@echo "make bench  - run the benchmarks in benchmarks/ (prints speed ratios)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall when the package metadata changes.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The venv's bin comes first on PATH so the rules' `python` is the project's interpreter.
run: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/snakemake --cores $(CORES)

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

# Root on Debian only (installs slurm-wlm + munge, starts daemons); prints why it skips elsewhere.
test-slurm: $(STAMP)
	bash tests/slurm/run.sh

bench: $(STAMP)
	for script in benchmarks/*.py; do $(BIN)/python $$script || exit 1; done

clean-results:
	rm -rf results/* .snakemake
	touch results/.gitkeep
