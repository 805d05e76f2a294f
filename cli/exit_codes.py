"""Exit codes of every astrepo command."""

from enum import IntEnum


class ExitCode(IntEnum):
    """0 ok, 1 user error, 2 usage error (Click's default), 3 internal error, 4 a check failed."""

    OK = 0
    USER_ERROR = 1
    USAGE = 2
    INTERNAL = 3
    CHECK_FAILED = 4
    INTERRUPTED = 130
