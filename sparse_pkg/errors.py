"""The one exception type for bad user input, and its subclass for failed output writes.

Its message is a single line naming the file or configuration key at fault and what to do
about it; the click scripts print it without a traceback and exit with status 2.
"""

from __future__ import annotations

import os


class InputError(Exception):
    """Bad input from the user (file, archive, configuration value): one line, actionable."""


class OutputWriteError(InputError):
    """An output could not be written (full disk, permissions, file size limit).

    Raised by the atomic writers with the target path and the operating system's reason, so a
    script reports it like bad input: one line, exit status 2, nothing partial left behind.
    """

    def __init__(self, path: str | os.PathLike, error: OSError) -> None:
        self.path = os.fspath(path)
        self.error = error
        reason = error.strerror or " ".join(str(error).split()) or type(error).__name__
        super().__init__(
            f"cannot write {self.path}: {reason}; free disk space or check permissions, "
            "then rerun"
        )
