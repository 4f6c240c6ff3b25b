"""The errors a user fixes: bad input, and an output that cannot be written.

Both derive from :class:`UserError`, whose message is a single line naming the file or
configuration key at fault and what to do about it; the click scripts print it without a
traceback and exit with status 2 (:func:`sparse_pkg.cli.handle_errors`).
"""

from __future__ import annotations

import os


class UserError(Exception):
    """An error the user fixes, reported as one actionable line (exit status 2)."""


class InputError(UserError):
    """Bad input from the user (file, archive, configuration value): one line, actionable."""


class OutputWriteError(UserError):
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
