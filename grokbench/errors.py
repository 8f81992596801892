"""One exception type for every bad input a user can give the suite.

The CLI prints a `GrokbenchError` as one line (no traceback) and exits non-zero; anything
else is a bug and keeps its traceback in the run record.
"""


from __future__ import annotations

from typing import TypeVar

E = TypeVar("E", bound=BaseException)


class GrokbenchError(ValueError):
    """Bad user input: the message names the bad value and what is allowed."""


def require(condition: bool, message: str) -> None:
    if not condition:
        raise GrokbenchError(message)


def in_chain(error: BaseException | None, kind: type[E]) -> E | None:
    """The first exception of `kind` in an error's cause/context chain (Hydra and Lightning wrap
    errors raised in constructors), or None."""
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, kind):
            return error
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return None
