"""Fleet-share reports: built by ``planner.fleet.report`` on a cron schedule and on demand, kept in the store.

The schedule runs in-process (APScheduler 3 ``BackgroundScheduler``), so the service must run as one
process for each scheduled report to be made once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
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


class ReportService:
    """Builds reports from the records in use and keeps them; owns the report schedule."""

    def __init__(self, store: Store, records: Callable[[], FleetRecords | None], *, cron: str, timezone: str,
                 fleet_dir: Path | None = None) -> None:
        self.store = store
        self._records = records
        self.fleet_dir = fleet_dir  # whose targets.toml the report assesses (default: the shipped one)
        self.cron = cron or None
        self.timezone = timezone
        self._scheduler: BackgroundScheduler | None = None
        # One report at a time: a scheduled one and an on-demand one do not race for the CPU.
        self._lock = threading.Lock()

    def generate(self, trigger: str) -> dict[str, Any]:
        """Build a report now from the records in use and store it; returns its history entry."""
        from planner import config
        from planner.fleet.report import build_report
        from planner.fleet.targets import load_target_set, targets_for

        records = self._records()
        if records is None:
            raise RecordsNotLoadedError("the fleet records are still loading; retry in a few seconds")
        with self._lock:
            targets = (targets_for(self.fleet_dir, default=config.TARGETS_FILE) if self.fleet_dir is not None
                       else load_target_set(config.TARGETS_FILE))
            report = build_report(records, targets=targets)
            report_id = self.store.add_report(trigger, report.html, report.figures)
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
