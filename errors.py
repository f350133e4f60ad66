"""dfcc's diagnostics: the one exception type it raises for user-facing problems, and remarks.

The CLI prints errors as `dfcc: error: ...` (with the source location when known) and exits 1,
so every module reports bad input by raising `DfccError`, never by printing or exiting itself.
Remarks (what a pass chose or assumed) go to stderr as `dfcc: remark: ...`, never to stdout.
"""

import sys


class DfccError(Exception):
    """A problem in the user's input or request, with an optional source location."""

    def __init__(self, message: str, location: str | None = None):
        super().__init__(message)
        self.message = message
        self.location = location

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message


class InternalError(Exception):
    """A bug in dfcc (e.g. one of its own passes produced invalid IR): reported as such, exit code 3."""


def remark(message: str, origin: str | None = None) -> None:
    """Tell the user on stderr what `origin` (a pass or target) decided or assumed."""
    print(f"dfcc: remark: {origin}: {message}" if origin else f"dfcc: remark: {message}", file=sys.stderr)
