"""One exception type for every bad input a user can give the suite.

The CLI prints a `GrokbenchError` as one line (no traceback) and exits non-zero; anything
else is a bug and keeps its traceback in the run record.
"""


class GrokbenchError(ValueError):
    """Bad user input: the message names the bad value and what is allowed."""


def require(condition: bool, message: str) -> None:
    if not condition:
        raise GrokbenchError(message)
