#!/usr/bin/env bash
# Run by Snakemake once, right after it creates the conda env of envs/sparse.yaml: installs this
# workflow's own sparse_pkg, whose commands the rules run. The Snakefile exports where the
# workflow's source is as SPARSE_PKG_SOURCE: its local folder, or git+https://HOST/REPO@TAG for a
# module deployed from a git host. Dependencies come from the env file's exact pins (--no-deps).
set -euo pipefail
: "${SPARSE_PKG_SOURCE:?is set by the workflow's Snakefile; run this through snakemake}"
python -m pip install --no-deps "$SPARSE_PKG_SOURCE"
