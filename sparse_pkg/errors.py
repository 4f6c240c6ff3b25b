"""The one exception type for bad user input.

Its message is a single line naming the file or configuration key at fault and what to do
about it; the click scripts print it without a traceback and exit with status 2.
"""


class InputError(Exception):
    """Bad input from the user (file, archive, configuration value): one line, actionable."""
