"""Fleet-share reports: made on a schedule and on demand, listed, and served as HTML or JSON."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response, status
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.concurrency import run_in_threadpool

from app.api.deps import StateDep, WriteKey
from app.schemas import ReportDocument, ReportListOut, ReportOut, problem_responses

router = APIRouter(prefix="/reports", tags=["reports"])

ReportId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="Report id from GET /reports.")]
Format = Annotated[
    Literal["html", "json"] | None,
    Query(description="`html` or `json`; without it the Accept header decides (HTML by default)."),
]
REPORT_BODY = {
    200: {
        "description": "The report: an HTML page, or its figures as JSON.",
        "model": ReportDocument,
        "content": {"text/html": {"schema": {"type": "string"}, "example": "<!doctype html><html>…</html>"}},
    },
    **problem_responses(404, 422),
}


def _links(entry: dict[str, Any]) -> dict[str, Any]:
    url = f"/api/v1/reports/{entry['id']}"
    return {**entry, "html_url": url, "json_url": f"{url}?format=json"}


def wants_json(request: Request, fmt: str | None) -> bool:
    """``?format=`` first; else the Accept header's preference between HTML and JSON (HTML on a tie)."""
    if fmt:
        return fmt == "json"
    best = {"text/html": 0.0, "application/json": 0.0}
    for item in request.headers.get("accept", "").split(","):
        media, _, params = item.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        media = media.strip().lower()
        if media in best:
            best[media] = max(best[media], q)
    return best["application/json"] > best["text/html"]


def _render(request: Request, report: dict[str, Any], fmt: str | None) -> Response:
    headers = {"Vary": "Accept"}
    if wants_json(request, fmt):
        body = ReportDocument(**{k: report[k] for k in ("id", "created_at", "trigger", "figures")})
        return JSONResponse(body.model_dump(mode="json"), headers=headers)
    return HTMLResponse(report["html"], headers=headers)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ReportOut,
    summary="Make a fleet-share report now from the records in use",
    description="Builds the same report as the schedule (EVPLAN_REPORT_CRON) and keeps it in the history. "
    "Needs `X-API-Key`.",
    responses=problem_responses(401, 403, 503),
)
async def create_report(state: StateDep, _: WriteKey, response: Response) -> dict[str, Any]:
    entry = await run_in_threadpool(state.reports.generate, "on demand")
    response.headers["Location"] = f"/api/v1/reports/{entry['id']}"
    return _links(entry)


@router.get("", response_model=ReportListOut, summary="The report history, newest first, and the schedule")
def list_reports(
    state: StateDep,
    limit: Annotated[int, Query(ge=1, le=1000, description="Most entries to return.")] = 100,
) -> dict[str, Any]:
    nxt = state.reports.next_run_time()
    return {
        "reports": [_links(r) for r in state.store.list_reports(limit=limit)],
        "schedule": state.reports.cron,
        "next_scheduled_at": nxt.isoformat() if nxt else None,
    }


@router.get("/latest", summary="The newest report, as HTML (default) or JSON", responses=REPORT_BODY,
            response_class=Response)
def latest_report(request: Request, state: StateDep, format: Format = None) -> Response:  # noqa: A002
    return _render(request, state.store.latest_report(), format)


@router.get("/{report_id}", summary="One report of the history, as HTML (default) or JSON", responses=REPORT_BODY,
            response_class=Response)
def get_report(report_id: ReportId, request: Request, state: StateDep, format: Format = None) -> Response:  # noqa: A002
    return _render(request, state.store.get_report(report_id), format)
