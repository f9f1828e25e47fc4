"""Fleet-share reports: built by ``planner.fleet.report`` on a cron schedule and on demand, kept in the store.

The schedule runs in-process (APScheduler 3 ``BackgroundScheduler``), so the service must run as one
process for each scheduled report to be made once. Each report is built in a child process with a
time limit (seconds of CPU that would otherwise hold the service's GIL), one at a time; requests that
arrive while one is being built share the next build, so none waits for more than two.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future
from datetime import datetime
from pathlib import Path
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

from app.store import Store
from planner.errors import EvplanError
from planner.fleet import FleetRecords

log = logging.getLogger("evplan.reports")
JOB_ID = "fleet-share-report"


class RecordsNotLoadedError(EvplanError):
    """The fleet records are not loaded yet, so no report can be built."""


class ReportTimeLimitError(EvplanError):
    """Building a report took longer than its time limit; it was stopped and nothing was stored."""

    headers = {"Retry-After": "60"}


def build_report_parts(records: FleetRecords, targets: Any) -> tuple[str, dict[str, Any]]:
    """The report's HTML and figures (run in a child process)."""
    from planner.fleet.report import build_report

    report = build_report(records, targets=targets)
    return report.html, report.figures


class ReportService:
    """Builds reports from the records in use and keeps them; owns the report schedule."""

    def __init__(self, store: Store, records: Callable[[], FleetRecords | None], *, cron: str, timezone: str,
                 fleet_dir: Path | None = None, time_limit_s: float = 25.0) -> None:
        self.store = store
        self._records = records
        self.fleet_dir = fleet_dir  # whose targets.toml the report assesses (default: the shipped one)
        self.cron = cron or None
        self.timezone = timezone
        self.time_limit_s = time_limit_s
        self._scheduler: BackgroundScheduler | None = None
        # One report at a time: a scheduled one and an on-demand one do not race for the CPU.
        self._lock = threading.Lock()
        # The build not started yet, per trigger: requests arriving meanwhile share it.
        self._next: dict[str, Future[dict[str, Any]]] = {}
        self._next_lock = threading.Lock()

    def generate(self, trigger: str) -> dict[str, Any]:
        """A report built from the records in use after this call began, stored; returns its history entry.

        A request that arrives while another one waits for its build to start shares that build, so
        each waits for at most the build under way and its own.
        """
        if self._records() is None:
            raise RecordsNotLoadedError("the fleet records are still loading; retry in a few seconds")
        with self._next_lock:
            shared = self._next.get(trigger)
            if shared is None:
                mine = self._next[trigger] = Future()
        if shared is not None:
            return shared.result()
        with self._lock:
            with self._next_lock:
                del self._next[trigger]  # later requests wait for a build that starts after them
            try:
                entry = self._build(trigger)
            except BaseException as exc:
                mine.set_exception(exc)
                raise
        mine.set_result(entry)
        return entry

    def _build(self, trigger: str) -> dict[str, Any]:
        from planner import config
        from planner.fleet.targets import load_target_set, targets_for

        from app.uploads import IngestInterruptedError, IngestTimeLimitError, run_within

        records = self._records()
        if records is None:
            raise RecordsNotLoadedError("the fleet records are still loading; retry in a few seconds")
        targets = (targets_for(self.fleet_dir, default=config.TARGETS_FILE) if self.fleet_dir is not None
                   else load_target_set(config.TARGETS_FILE))
        try:
            html, figures = run_within(self.time_limit_s, build_report_parts, records, targets)
        except IngestTimeLimitError:
            raise ReportTimeLimitError(f"the report took longer than {self.time_limit_s:g} s to build "
                                       "(EVPLAN_REPORT_TIME_LIMIT_S) and was stopped; nothing was stored - retry "
                                       "when the service is less busy") from None
        except IngestInterruptedError:
            raise ReportTimeLimitError("the process building the report stopped without an answer (out of "
                                       "memory?); nothing was stored - retry later") from None
        report_id = self.store.add_report(trigger, html, figures)
        entry = next(r for r in self.store.list_reports(limit=5) if r["id"] == report_id)
        log.info("fleet-share report %s built (%s)", report_id, trigger)
        return entry

    def _scheduled(self) -> None:
        try:
            self.generate("schedule")
        except Exception:  # noqa: BLE001 - a failed scheduled report must not stop the scheduler
            log.exception("scheduled fleet-share report failed")

    def start(self) -> None:
        """Start the schedule (nothing to do when no cron expression is set)."""
        if not self.cron:
            return
        self._scheduler = BackgroundScheduler(timezone=self.timezone)
        self._scheduler.add_job(
            self._scheduled,
            CronTrigger.from_crontab(self.cron, timezone=self.timezone),
            id=JOB_ID,
            name="fleet-share report",
            coalesce=True,  # after downtime, one catch-up report rather than one per missed slot
            max_instances=1,
            misfire_grace_time=3600,
        )
        self._scheduler.start()

    def stop(self) -> None:
        """Stop the schedule without waiting for a report being built."""
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        self._scheduler = None

    @property
    def scheduler(self) -> BackgroundScheduler | None:
        """The running scheduler (None without a schedule)."""
        return self._scheduler

    def next_run_time(self) -> datetime | None:
        """When the next scheduled report is due (None without a schedule)."""
        job = self._scheduler.get_job(JOB_ID) if self._scheduler is not None else None
        return job.next_run_time if job is not None else None
