"""The workflow's steps as click commands, one module per rule, part of the installed package.

The rules run them as `python -P -m sparse_pkg.commands.NAME`, so a workflow deployed as a
Snakemake module, or run with --directory elsewhere, needs only `sparse_pkg` installed (no
checkout on PYTHONPATH); `-P` keeps the working folder off sys.path. `scripts/NAME.py` in the
repository are thin entry points to the same commands.
"""
