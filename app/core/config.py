"""The service's one settings object, read from ``EVPLAN_*`` environment variables."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from planner import config as planner_config


class Settings(BaseSettings):
    """Service settings; every field can be set as ``EVPLAN_<FIELD>`` (e.g. ``EVPLAN_DATA_DIR``)."""

    model_config = SettingsConfigDict(env_prefix="EVPLAN_", extra="ignore")

    data_dir: Path = Field(Path("var"), description="Where the database and generated outputs live.")
    osm_path: Path = Field(planner_config.SHANWEI_OSM, description="OSM extract the service plans on.")
    fleet_dir: Path = Field(planner_config.FLEET_DIR, description="Shipped fleet records to seed the store.")
    api_keys: SecretStr = Field(SecretStr(""), description="Comma-separated API keys allowed to write; kept only as hashes.")
    read_requires_key: bool = Field(False, description="Require X-API-Key on reads too.")
    max_upload_mb: float = Field(50.0, description="Largest accepted fleet upload, in MB.")
    cors_origins: str = Field("", description="Comma-separated origins allowed by CORS; empty = none.")
    max_concurrent_runs: int = Field(1, ge=1, description="Siting runs computed at once (one process each).")
    run_time_limit_s: float = Field(900.0, gt=0, description="A siting run is stopped after this many seconds.")
    request_timeout_s: float = Field(60.0, gt=0, description="Longest a request may take before a 504.")
    report_cron: str = Field("0 7 1 * *", description="When the fleet-share report is generated (crontab syntax, local time).")

    def api_key_hashes(self) -> frozenset[str]:
        """SHA-256 hex digests of the configured keys; the keys themselves are not kept."""
        keys = (k.strip() for k in self.api_keys.get_secret_value().split(","))
        return frozenset(hashlib.sha256(k.encode()).hexdigest() for k in keys if k)

    @property
    def database_path(self) -> Path:
        """The service's SQLite file (fleet records, runs, reports)."""
        return self.data_dir / "evplan.sqlite"


@lru_cache
def get_settings() -> Settings:
    """Settings read once per process from the environment."""
    return Settings()
