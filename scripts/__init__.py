"""The workflow's command-line steps, one click command per rule.

A package so that rules run them as `python -P -m scripts.NAME` with this checkout on
PYTHONPATH: no rule's recorded command or params then holds the project's location.
"""
