"""Errors as RFC 9457 problem details: one mapping for the whole service."""

from __future__ import annotations

import logging
import re
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Mount

from app.reports import RecordsNotLoadedError, ReportTimeLimitError
from app.store import RunNotFinishedError
from app.uploads import (
    IngestInterruptedError,
    UnsupportedUploadError,
    UploadError,
    UploadTimeLimitError,
    UploadTooLargeError,
)
from planner.errors import (
    EvplanError,
    InfeasibleError,
    InputFileError,
    NetworkError,
    NoPlanInTimeError,
    NotFoundError,
    RecordError,
    ScenarioError,
    SolverError,
    StorageError,
)
from planner.fleet.reading import DecompressedTooLargeError

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("evplan.app")


#: The HTTP status of each error class: the one place where library errors meet HTTP. A class not listed
#: takes the status of its nearest listed base class (``EvplanError``: 400).
STATUS_BY_ERROR: dict[type[EvplanError], int] = {
    EvplanError: 400,
    InputFileError: 400,
    NetworkError: 400,
    RecordError: 400,
    UploadError: 400,
    UploadTimeLimitError: 408,
    ScenarioError: 422,
    InfeasibleError: 422,
    NoPlanInTimeError: 422,
    NotFoundError: 404,
    RunNotFinishedError: 409,
    UploadTooLargeError: 413,
    DecompressedTooLargeError: 413,
    UnsupportedUploadError: 415,
    SolverError: 500,
    StorageError: 503,
    IngestInterruptedError: 503,
    RecordsNotLoadedError: 503,
    ReportTimeLimitError: 503,
}


def status_of(exc: EvplanError) -> int:
    """The HTTP status for an evplan error: its own class's entry, else its nearest base class's.

    An error that wraps another (``cause_error``, e.g. a rejected upload) answers with the status of
    the error it wraps.
    """
    wrapped = getattr(exc, "cause_error", None)
    if isinstance(wrapped, EvplanError):
        return status_of(wrapped)
    for cls in type(exc).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]  # type: ignore[index]
    return 400


def title_for(status: int) -> str:
    """The HTTP reason phrase, used as the problem title when nothing more specific applies."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def title_of_error(exc: BaseException) -> str:
    """A readable title from an error class: ``RunNotFinishedError`` -> ``Run not finished``."""
    words = re.findall(r"[A-Z][a-z0-9]*|[a-z0-9]+", type(exc).__name__.removesuffix("Error"))
    if words in ([], ["Evplan"]):
        return "Error"
    return " ".join([words[0]] + [w.lower() for w in words[1:]])


def problem(status: int, title: str, detail: str, *, instance: str | None = None,
            headers: dict[str, str] | None = None, **extra: object) -> JSONResponse:
    """A problem+json response with the standard members and any extension members."""
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    if instance:
        body["instance"] = instance
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def field_errors(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Pydantic errors as ``{field, pointer, message}``: where the field is and what was expected."""
    out = []
    for e in errors:
        loc = [str(p) for p in e.get("loc", ())]
        pointer = "#/" + "/".join(loc[1:]) if loc and loc[0] == "body" else None
        out.append({"field": ".".join(loc), "pointer": pointer, "message": e.get("msg", "")})
    return out


#: Methods the service's routes may serve; a 405 lists those that some route serves at its path.
HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> list[str]:
    """Every method a route serves at this path (Starlette's 405 names only the first matching route's)."""
    routes = [r for r in request.app.router.routes if not isinstance(r, Mount)]
    return [m for m in HTTP_METHODS
            if any(r.matches({**request.scope, "method": m})[0] == Match.FULL for r in routes)]


def install(app: FastAPI) -> None:
    """Map evplan errors, validation errors, HTTP errors and crashes to problem details."""

    @app.exception_handler(EvplanError)
    async def _evplan(request: Request, exc: EvplanError) -> JSONResponse:
        extra: dict[str, Any] = {}
        if isinstance(exc, InfeasibleError):
            extra["reasons"] = exc.reasons
        if isinstance(getattr(exc, "cause", None), str):
            extra["cause"] = exc.cause  # type: ignore[attr-defined]
        if getattr(exc, "run_status", None):
            extra["run_status"] = exc.run_status  # type: ignore[attr-defined]
        # No server path in an answer, whichever layer wrote the message (e.g. the fleet store's own path).
        settings = getattr(getattr(request.app.state, "evplan", None), "settings", None)
        detail = settings.public_text(str(exc)) if settings is not None else str(exc)
        return problem(status_of(exc), title_of_error(exc), detail, instance=request.url.path,
                       headers=getattr(exc, "headers", None), error=type(exc).__name__, **extra)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return problem(422, "Invalid request", "One or more fields are invalid.", instance=request.url.path,
                       errors=field_errors(list(exc.errors())))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405 and (methods := allowed_methods(request)):
            headers["Allow"] = ", ".join(methods)  # RFC 9110: all methods of the resource
        return problem(exc.status_code, title_for(exc.status_code), str(exc.detail), instance=request.url.path,
                       headers=headers or None)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return problem(500, "Internal Server Error", "the service failed on this request; the error is logged",
                       instance=request.url.path)
