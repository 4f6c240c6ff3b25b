"""Reproduction library for "How Can We Be So Dense?" (Ahmad & Scheinkman, 2019).

Knows nothing of Snakemake: the workflow's scripts call into these modules.
"""

__version__ = "0.2.0"
