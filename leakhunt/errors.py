"""One error family for everything a user can get wrong or a run can hit.

The CLI turns a LeakhuntError into one line on stderr and its exit code, in exactly one place.
"""

USAGE = 2
FAILED = 1


class LeakhuntError(Exception):
    """A problem the user can act on: `message` says what is wrong and what to do."""

    def __init__(self, message: str, exit_code: int = USAGE) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


class UsageError(LeakhuntError):
    """Bad input: exit code 2."""

    def __init__(self, message: str) -> None:
        super().__init__(message, USAGE)


class RunError(LeakhuntError):
    """A run or check that failed: exit code 1."""

    def __init__(self, message: str) -> None:
        super().__init__(message, FAILED)
