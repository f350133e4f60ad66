"""The one exception type dfcc raises for user-facing problems.

The CLI prints these as `dfcc: error: ...` (with the source location when known) and exits 1,
so every module reports bad input by raising `DfccError`, never by printing or exiting itself.
"""


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
