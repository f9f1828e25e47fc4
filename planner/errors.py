"""One error hierarchy for evplan: every error a planner can act on is an ``EvplanError``.

The service maps these once to RFC 9457 problem details; the CLI prints them and exits non-zero.
"""

from __future__ import annotations


class EvplanError(Exception):
    """Base of every error evplan raises on purpose; the message says what to do about it."""

    status_code: int = 400


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

    status_code = 503


class InfeasibleError(EvplanError):
    """A model has no solution; ``reasons`` says which requirement cannot be met, and where."""

    status_code = 422

    def __init__(self, message: str, reasons: list[str] | None = None) -> None:
        self.reasons = list(reasons or [])
        full = message if not self.reasons else message + ":\n  - " + "\n  - ".join(self.reasons)
        super().__init__(full)


class SolverError(EvplanError, RuntimeError):
    """The solver failed or stopped without any feasible answer."""

    status_code = 500


class NotFoundError(EvplanError, LookupError):
    """An object asked for by id does not exist."""

    status_code = 404
