"""Which fleet records the service uses, and ingesting an uploaded file into the store.

Policy: the shipped records (``EVPLAN_FLEET_DIR``) are used until the store in the service database
holds vehicles; from then on indicators, targets and reports read the stored vehicles (with the
activity, depots and counties of ``EVPLAN_FLEET_DIR``), as ``evplan fleet indicators --db`` does.
The two are never merged: synthetic shipped vehicles must not mix with a bureau's register, so
upload the whole register (later files add and update vehicles by ``vehicle_id``). Siting runs
plan with the same records; a run's identity includes the uploaded files' hashes, so a scenario
submitted again after an upload is planned again rather than answered from the store.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable
from operator import methodcaller
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.derived import Compute, compute_each
from app.uploads import IngestInterruptedError, IngestTimeLimitError, SavedUpload, run_within
from planner import fleet
from planner.errors import EvplanError, RecordError
from planner.fleet import FleetRecords
from planner.fleet import store as fleet_store

if TYPE_CHECKING:
    from app.api.deps import ServiceState

log = logging.getLogger("evplan.fleet_records")


class UploadRejectedError(EvplanError):
    """The uploaded file cannot be ingested (unreadable, wrong columns …); names the client's file."""

    def __init__(self, message: str, *, cause: EvplanError) -> None:
        self.cause_error = cause
        self.cause = type(cause).__name__
        super().__init__(message)


def records_in_use(fleet_dir: Path, db_path: Path) -> tuple[FleetRecords, str]:
    """The records the service answers from, and their source: ``"store"`` or ``"shipped"``."""
    if Path(db_path).exists():
        try:
            return fleet_store.load_records(db_path, fleet_dir=fleet_dir), "store"
        except RecordError:  # the store holds no vehicle yet
            pass
    return fleet.load_records(fleet_dir), "shipped"


def records_and_figures(fleet_dir: Path, db_path: Path, recipes: list[tuple[Hashable, Compute]],
                        ) -> tuple[FleetRecords, str, dict[Hashable, object]]:
    """The records in use, their source and the figures of ``recipes`` computed from them (run in a child)."""
    records, source = records_in_use(fleet_dir, db_path)
    return records, source, compute_each(records, recipes)


def reload_records(state: ServiceState, *, including: int | None = None) -> None:
    """Re-read the records in use into ``state``, their most asked figures computed before the switch.

    Reading a large store and assessing its targets take seconds of CPU: they run in a child process,
    which sends back the records and the figures (unpickling them takes a fraction of that), so that
    readers of the service are not held up by the GIL meanwhile. Under the records lock: a concurrent
    upload waits, then finds its ingest already included (``including``: the count of committed ingests
    it needs) and reads nothing again, so a burst of uploads shares one re-read. Readers go on being
    answered from the previous records until the switch.
    """
    settings = state.settings
    with state.records_lock:
        if including is not None and state.ingests_in_use >= including:
            return
        with state.ingest_count_lock:
            committed = state.ingests_committed  # every one of these is in the store before it is read
        recipes = state.derived.recipes_to_prepare()
        try:
            records, source, figures = run_within(settings.ingest_time_limit_s, records_and_figures,
                                                  settings.fleet_dir, settings.database_path, recipes)
        except (IngestInterruptedError, IngestTimeLimitError) as exc:  # e.g. no memory for a second copy
            log.warning("re-reading the fleet records in a child process failed (%s); reading them here", exc)
            records, source = records_in_use(settings.fleet_dir, settings.database_path)
            figures = compute_each(records, recipes)
        state.derived.adopt(records, figures)
        state.fleet, state.fleet_source = records, source
        state.ingests_in_use = committed


def _ingest_committed(state: ServiceState) -> int:
    """Count one more committed ingest; returns the count that includes it."""
    with state.ingest_count_lock:
        state.ingests_committed += 1
        return state.ingests_committed


#: Row issues listed in an upload's answer; ``issues_not_listed`` counts the rest (all are stored).
MAX_ISSUES_LISTED = 1000


def _rename_file(value: Any, server_path: str, shown: str) -> Any:
    """Replace the server-side temporary path with the client's file name in a JSON-ready object."""
    if isinstance(value, str):
        return value.replace(server_path, shown)
    if isinstance(value, dict):
        return {k: _rename_file(v, server_path, shown) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_rename_file(v, server_path, shown) for v in value]
    return value


def ingest_upload(state: ServiceState, saved: SavedUpload) -> dict[str, Any]:
    """Ingest an uploaded file into the store, switch the service to the stored records, drop the file.

    The report names the file as the client called it, never by its path on the server.
    """
    settings = state.settings
    try:
        # In a child process with a wall-clock budget: past it the ingest is killed and the store is untouched.
        report = run_within(settings.ingest_time_limit_s, fleet_store.ingest_file, settings.database_path, saved.path,
                            source_name=saved.display_name, fleet_dir=settings.fleet_dir,
                            max_decompressed_bytes=settings.max_decompressed_bytes,
                            then=methodcaller("to_dict", max_issues=MAX_ISSUES_LISTED))
    except EvplanError as exc:
        message = (str(exc).replace(str(saved.path), saved.display_name).replace(saved.path.name, saved.display_name)
                   .replace(str(settings.database_path), "the service database"))
        raise UploadRejectedError(message, cause=exc) from exc
    finally:
        saved.path.unlink(missing_ok=True)
    report.pop("db", None)  # a server path
    report = _rename_file(report, str(saved.path), saved.display_name)
    if not report.get("already_ingested"):
        reload_records(state, including=_ingest_committed(state))
    return {**report, "file": saved.display_name, "size_bytes": saved.size_bytes, "records_source": state.fleet_source}
