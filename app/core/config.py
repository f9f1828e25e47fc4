"""The service's one settings object, read from ``EVPLAN_*`` environment variables."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, PrivateAttr, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from planner import config as planner_config


def hash_api_key(key: str) -> str:
    """SHA-256 hex digest of an API key: what the service keeps and compares instead of the key."""
    return hashlib.sha256(key.encode()).hexdigest()


class Settings(BaseSettings):
    """Service settings; every field can be set as ``EVPLAN_<FIELD>`` (e.g. ``EVPLAN_DATA_DIR``).

    The raw API keys are hashed when the settings are read and then dropped: only
    ``api_key_hashes()`` remains, so no key can leak through a repr, a log line or a crash dump.
    """

    model_config = SettingsConfigDict(env_prefix="EVPLAN_", extra="ignore")

    data_dir: Path = Field(Path("var"), description="Where the database, uploads and generated outputs live.")
    osm_path: Path = Field(planner_config.SHANWEI_OSM, description="OSM extract the service plans on.")
    boundaries_path: Path = Field(planner_config.SHANWEI_BOUNDARIES,
                                  description="Admin boundaries (GeoJSON) drawn under the map; optional.")
    fleet_dir: Path = Field(planner_config.FLEET_DIR,
                            description="Shipped fleet records: used until records are uploaded, and by siting runs.")
    api_keys: SecretStr = Field(SecretStr(""), description="Comma-separated API keys allowed to write; kept only as hashes.")
    read_requires_key: bool = Field(False, description="Require X-API-Key on reads too (the map page then cannot load).")
    max_upload_mb: float = Field(50.0, gt=0, description="Largest accepted fleet upload, in MB (10^6 bytes).")
    max_decompressed_mb: float | None = Field(
        None, gt=0, description="Largest a compressed upload (.csv.gz, Parquet) may expand to, in MB; "
                                "default 10 x max_upload_mb. A gzip upload is refused with 413 while it "
                                "streams in, as soon as its expansion passes this.")
    max_json_body_mb: float = Field(1.0, gt=0, description="Largest request body outside file uploads (JSON), "
                                                           "in MB; larger bodies are refused with 413 while they "
                                                           "stream in, before they are parsed.")
    ingest_time_limit_s: float = Field(300.0, gt=0, description="An upload's ingest (validating and storing its "
                                                                "rows) is stopped after this many seconds; the "
                                                                "store is left as it was.")
    upload_receive_time_limit_s: float = Field(300.0, gt=0, description="An upload's body must arrive within this "
                                                                        "many seconds (50 MB at 170 kB/s); a slower "
                                                                        "or stalled client is refused with 408.")
    cors_origins: str = Field("", description="Comma-separated origins allowed by CORS (`*` for any); empty = none.")
    max_concurrent_runs: int = Field(1, ge=1, description="Siting runs computed at once (one process each).")
    run_time_limit_s: float = Field(900.0, gt=0, description="A siting run is stopped after this many seconds.")
    max_sweep_points: int = Field(64, ge=1, le=4096, description="Most points (scenarios) one siting sweep may have.")
    sweep_workers: int = Field(0, ge=0, description="Dask worker processes of a sweep's local cluster; 0 = one per core.")
    dask_scheduler: str = Field("", description="Run sweep points on this Dask scheduler (tcp://host:port) instead "
                                                "of a local cluster; its workers need evplan and the data paths.")
    sweep_time_limit_s: float = Field(3600.0, gt=0, description="A siting sweep is stopped after this many seconds.")
    request_timeout_s: float = Field(60.0, gt=0, description="Longest a request may take before a 504.")
    report_cron: str = Field("0 7 1 * *",
                             description="When the fleet-share report is generated (crontab: min hour day month weekday); "
                                         "empty = never on a schedule.")
    report_timezone: str = Field("Asia/Shanghai", description="Time zone of report_cron (IANA name).")
    report_time_limit_s: float = Field(25.0, gt=0, description="Building one fleet-share report is stopped after this "
                                                               "many seconds (503, nothing stored); a request waits "
                                                               "for at most two builds, within the request timeout.")

    _key_hashes: frozenset[str] = PrivateAttr(default=frozenset())

    @field_validator("report_cron")
    @classmethod
    def _valid_cron(cls, v: str) -> str:
        from apscheduler.triggers.cron import CronTrigger

        v = " ".join(v.split())
        if v:
            try:
                CronTrigger.from_crontab(v)
            except ValueError as exc:
                raise ValueError(f"expected a crontab expression such as '0 7 1 * *' ({exc})") from None
        return v

    @field_validator("report_timezone")
    @classmethod
    def _valid_zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"expected an IANA time zone such as 'Asia/Shanghai', got {v!r}") from None
        return v

    def model_post_init(self, context: Any, /) -> None:
        keys = (k.strip() for k in self.api_keys.get_secret_value().split(","))
        self._key_hashes = frozenset(hash_api_key(k) for k in keys if k)
        object.__setattr__(self, "api_keys", SecretStr(""))

    def api_key_hashes(self) -> frozenset[str]:
        """SHA-256 hex digests of the configured keys; the keys themselves are not kept."""
        return self._key_hashes

    @property
    def database_path(self) -> Path:
        """The service's SQLite file (fleet records, runs, reports)."""
        return self.data_dir / "evplan.sqlite"

    @property
    def upload_dir(self) -> Path:
        """Where uploads are streamed to before they are ingested (files are removed afterwards)."""
        return self.data_dir / "uploads"

    @property
    def max_upload_bytes(self) -> int:
        """``max_upload_mb`` in bytes."""
        return int(self.max_upload_mb * 1_000_000)

    @property
    def max_decompressed_bytes(self) -> int:
        """``max_decompressed_mb`` in bytes (default: 10 x the upload limit)."""
        mb = self.max_decompressed_mb if self.max_decompressed_mb is not None else 10 * self.max_upload_mb
        return int(mb * 1_000_000)

    @property
    def max_json_body_bytes(self) -> int:
        """``max_json_body_mb`` in bytes."""
        return int(self.max_json_body_mb * 1_000_000)

    def public_text(self, text: str) -> str:
        """``text`` with the data directory's paths (database, uploads) replaced by what they are: fit for a client."""
        labels = ((self.database_path, "the service database"), (self.upload_dir, "the upload directory"),
                  (self.data_dir, "the data directory"))
        spelled = []
        for path, label in labels:
            for form in {str(path), str(Path(path).resolve()), str(Path(path).absolute())}:
                if "/" in form and form != "/":  # a bare relative name such as "var" could be any word
                    spelled.append((form, label))
        for form, label in sorted(spelled, key=lambda item: -len(item[0])):  # longest first: files before dirs
            text = text.replace(form, label)
        return text

    @property
    def cors_origin_list(self) -> list[str]:
        """``cors_origins`` split into a list."""
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]


@lru_cache
def get_settings() -> Settings:
    """Settings read once per process from the environment."""
    return Settings()
