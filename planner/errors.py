"""One error hierarchy for evplan: every error a planner can act on is an ``EvplanError``.

The classes say what went wrong, never how an edge reports it: the service maps them to HTTP statuses
in one table (``app/problems.py``), the CLI prints them and exits with code 2.
"""

from __future__ import annotations


class EvplanError(Exception):
    """Base of every error evplan raises on purpose; the message says what to do about it."""


class InputFileError(EvplanError, ValueError):
    """A file is missing, unreadable, truncated or not in the expected format.

    The message names the file and what was expected.
    """

    def __init__(self, path: object, expected: str, *, detail: str | None = None) -> None:
        self.path = str(path)
        self.expected = expected
        self.detail = detail
        msg = f"{self.path}: expected {expected}"
        if detail:
            msg += f" ({detail})"
        super().__init__(msg)


class NetworkError(EvplanError, ValueError):
    """The road network cannot serve the request (empty clip, no motorway, bad boundary …)."""


class RecordError(EvplanError, ValueError):
    """Fleet records cannot be read or stored as asked."""


class StorageError(EvplanError):
    """A database or data directory cannot be written (read-only, disk full, locked): retry once fixed."""


class InfeasibleError(EvplanError):
    """A model has no solution; ``reasons`` says which requirement cannot be met, and where."""

    def __init__(self, message: str, reasons: list[str] | None = None) -> None:
        self.reasons = list(reasons or [])
        full = message if not self.reasons else message + ":\n  - " + "\n  - ".join(self.reasons)
        super().__init__(full)


class SolverError(EvplanError, RuntimeError):
    """The solver program failed (crashed, missing, unreadable answer): not the user's doing."""


class NoPlanInTimeError(SolverError):
    """The solver stopped at its time limit before finding any feasible plan: raise the time limit."""


class NotFoundError(EvplanError, LookupError):
    """An object asked for by id does not exist."""


class ScenarioError(EvplanError, ValueError):
    """A scenario option is out of range or inconsistent; ``option`` names it as the user spelled it."""

    def __init__(self, message: str, *, option: str | None = None, in_file: bool = False) -> None:
        self.option = option
        #: The message names a scenario file's keys (TOML spelling): the command line leaves it as it is.
        self.in_file = in_file
        super().__init__(message)
