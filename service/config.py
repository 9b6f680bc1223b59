"""All tunables of the service, read once from HOTLINE_* environment variables."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# A list of positive whole seconds, set in the environment as "1,5,15" (or a JSON list).
Seconds = Annotated[tuple[int, ...], NoDecode]


class Settings(BaseSettings):
    """One settings class; every field can be set as HOTLINE_<FIELD>."""

    model_config = SettingsConfigDict(env_prefix="HOTLINE_", extra="ignore")

    # Servers: unset means "run the embedded PostgreSQL / Redis under data_dir".
    database_url: str | None = None
    redis_url: str | None = None
    data_dir: Path = Path(".hotline")
    # At least the API's thread pool (40), so requests do not open and close connections under load.
    db_pool_size: int = 40
    db_max_overflow: int = 10
    # The event loop's own connections (intake runs on the loop). No overflow: a connection opened for a burst
    # and closed after it costs the database more than waiting a moment for a pooled one.
    db_async_pool_size: int = 20
    db_async_max_overflow: int = 0
    db_pool_timeout_seconds: float = 5.0
    redis_timeout_seconds: float = 1.0
    # After a Redis timeout, requests skip Redis this long (their jobs are sent by the sweep) instead of each
    # waiting out the timeout again.
    redis_breaker_seconds: float = 5.0

    # Queues: the prefix lets several deployments (or test runs) share one Redis.
    queue_prefix: str = "hotline"
    job_retries: int = 5
    # Waits between a failed job's retries; the last repeats for any further retry.
    job_retry_intervals: Seconds = (1, 5, 15, 60, 300)
    # Fork a work horse per job (isolation) or run jobs in the worker process (lower latency).
    worker_fork: bool = False
    # How often a worker checks its scheduler process (also its longest blocking wait for a job), and how long
    # the scheduler waits after losing Redis before trying again.
    worker_scheduler_check_seconds: int = Field(5, ge=1)
    worker_scheduler_retry_seconds: float = Field(1.0, gt=0)

    # HTTP
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    api_workers: int = 1
    max_body_bytes: int = 64 * 1024
    page_size_default: int = 50
    page_size_max: int = 200

    # Auth. No secret has a default: api/worker/scheduler refuse to start without them (see service/credentials.py).
    secret_key: str | None = None
    token_ttl_minutes: int = 12 * 60
    # A token older than this (by its `iat`), or claiming a longer life, is refused whatever its `exp` says.
    token_max_lifetime_minutes: int = Field(24 * 60, ge=1)
    # Development only: start without explicit secrets (taken from data_dir/secrets.json), with a warning.
    dev_mode: bool = False
    # Failed logins: after this many per username, or per client address, within login_lockout_seconds, logins
    # from it answer 429 until login_lockout_seconds after the last counted failure (counted in Redis).
    login_max_failures_per_account: int = Field(5, ge=1)
    login_max_failures_per_address: int = Field(30, ge=1)
    login_lockout_seconds: float = Field(900.0, gt=0)
    bcrypt_rounds: int = Field(12, ge=4, le=16)
    # The user behind a token is re-read at most this often (so a deactivation takes effect within it).
    user_cache_seconds: float = 30.0
    # Units' webhook addresses are re-read at most this often by each process.
    unit_cache_seconds: float = 10.0

    # 帮企云 push: shared secret and how old a signed timestamp may be.
    bangqiyun_secret: str | None = None
    bangqiyun_max_skew_seconds: int = 300

    # A ticket's received_at (API and spreadsheet import) may lie at most this many days in the past.
    received_at_max_age_days: int = Field(366, ge=1, le=36500)

    # 回访 calls that go unanswered before a resolved ticket may be archived without one.
    feedback_max_attempts: int = Field(3, ge=1, le=20)

    # Duplicate detection at intake.
    dedupe_days: int = 30
    dedupe_min_similarity: float = Field(0.35, ge=0, le=1)
    dedupe_max_tokens: int = Field(256, ge=1, le=100_000)
    dedupe_candidates: int = Field(50, ge=1, le=1000)
    dedupe_shown: int = Field(5, ge=0, le=100)
    search_max_tokens: int = Field(2000, ge=1, le=100_000)

    # Routing rules: None means the rule files shipped in routing_rules/rules; the files are looked at for
    # changes at most this often.
    rules_dir: Path | None = None
    rules_recheck_seconds: float = Field(2.0, ge=0)
    # A routing job reads the `new` tickets route_batch_size at a time and routes at most route_max_per_job of
    # them (then the next job goes on).
    route_batch_size: int = Field(100, ge=1)
    route_max_per_job: int = Field(5000, ge=1)
    # The flag "a routing job is wanted" lives this long; a flag whose job is not in the queue yet is taken to be
    # enqueued by the intake that set it for route_wanted_sending_ms, then replaced.
    route_wanted_seconds: int = Field(60, ge=1)
    route_wanted_sending_ms: int = Field(2000, ge=1)
    # The suggestion model (service/pipeline/suggest.py): a rule decision is flagged when the model's top unit kind
    # differs with at least this confidence; retrained once a day at the first scheduler tick after
    # routing_retrain_hour (local time), on at most routing_train_max_events dispatcher labels (the newest), each
    # weighing routing_event_weight corpus cases; after a retrain, at most routing_suggest_waiting_max tickets
    # waiting for dispatch get a fresh suggestion.
    routing_disagree_confidence: float = Field(0.8, ge=0, le=1)
    routing_retrain_hour: int = Field(2, ge=0, le=23)
    routing_train_max_events: int = Field(50_000, ge=0)
    routing_event_weight: float = Field(2.0, gt=0, le=100)
    routing_suggest_waiting_max: int = Field(2000, ge=0)

    # Scheduler: how often the sweep runs, and how old a `new` ticket must be
    # before the sweep re-enqueues it (so it does not race the normal enqueue).
    sweep_interval_seconds: int = 60
    unrouted_grace_seconds: int = 30
    # Statistics: a refresh job starts at most this often (a change made sooner is refreshed then, not dropped);
    # the scheduler checks the rollups against a direct count once a day, at the first tick after this hour.
    stats_refresh_interval_seconds: float = Field(2.0, ge=0)
    stats_verify_hour: int = Field(3, ge=0, le=23)
    # A wanted refresh whose job was lost is asked for again by the first change after this long; one refresh job
    # applies at most stats_refresh_max_batches batches; the daily verification may run this long.
    stats_wanted_seconds: int = Field(10, ge=1)
    stats_refresh_max_batches: int = Field(500, ge=1)
    stats_verify_timeout_seconds: int = Field(3600, ge=1)

    timezone: str = "Asia/Shanghai"
    # The open/overdue gauges query the database; scrapes within this many seconds reuse the answer.
    metrics_state_ttl_seconds: float = 15.0
    # Bearer token Prometheus must send to scrape /metrics; unset, /metrics answers 401 to everyone.
    metrics_token: str | None = None

    # Working time: office hours on working days of the official calendar (with 调休).
    office_hours: str = "08:30-12:00,13:30-17:30"
    # Does the 办结 limit count the day of receipt ("same_day") or start the next working day?
    deadline_count_from: Literal["same_day", "next_day"] = "next_day"
    # The SLA table (limits by request type and urgency), kept beside the routing rules.
    sla_file: Path | None = None
    # Clocks: whether time waiting for a 退单 review or an extension decision is paused.
    pause_refuse_review: bool = True
    pause_extension_request: bool = False

    # Outbound webhooks: units' URLs are set per unit; 帮企云 receives status changes of its tickets.
    webhook_secret: str | None = None
    webhook_timeout_seconds: float = 5.0
    webhook_max_attempts: int = 8
    # Wait before each further attempt (the n-th failure waits the n-th; the last repeats).
    webhook_backoff_seconds: Seconds = (10, 30, 120, 600, 1800, 3600, 7200, 14400)
    # A delivery job sends webhook_batch_size due notifications per transaction, at most webhook_max_batches times.
    webhook_batch_size: int = Field(50, ge=1)
    webhook_max_batches: int = Field(20, ge=1)
    bangqiyun_callback_url: str | None = None
    # Receivers on a private network that webhooks may reach anyway: comma-separated host names, IPs or CIDRs.
    webhook_allow_hosts: str = ""

    # Spreadsheets: a ticket export over export_sync_max_rows rows is built by a job (export_job_timeout_seconds
    # at most); an export unfinished after export_stale_minutes is enqueued again (its worker died, or Redis lost
    # the job); a finished export's file is kept export_retention_days days, then deleted by the scheduled sweep.
    # Imports may upload max_import_bytes (that path only) holding at most import_max_rows rows; uploads of more
    # than import_sync_max_rows rows are imported by a job (whose stale, timeout and retention are the exports').
    export_sync_max_rows: int = 5000
    export_retention_days: int = Field(7, ge=1)
    export_stale_minutes: int = 30
    export_job_timeout_seconds: int = 1800
    max_import_bytes: int = 10 * 1024 * 1024
    import_max_rows: int = Field(5000, ge=1)
    import_sync_max_rows: int = Field(500, ge=0)
    # An enterprise roster (e.g. the city's 6,547 规上 enterprises) is imported in one request or command.
    roster_max_rows: int = Field(20000, ge=1)
    # What an imported workbook may unpack to, checked before it is read: any one XML part (zip entry), all shared
    # strings together (each string counts 40 characters more, its overhead), one string, the last valued column.
    import_max_xml_bytes: int = Field(16 * 1024 * 1024, ge=1024)
    import_max_string_chars: int = Field(16_000_000, ge=1)
    import_max_cell_chars: int = Field(32767, ge=1)  # Excel's own limit for a cell
    import_max_columns: int = Field(256, ge=1, le=16384)

    @field_validator("job_retry_intervals", "webhook_backoff_seconds", mode="before")
    @classmethod
    def _seconds(cls, value):
        """Comma-separated ("1,5,15") in the environment; at least one wait, each a positive whole number of seconds."""
        if isinstance(value, str):
            text = value.strip()
            value = json.loads(text) if text.startswith("[") else [v for v in text.split(",") if v.strip()]
        waits = tuple(int(v) for v in value)
        if not waits or min(waits) < 1:
            raise ValueError("expected positive whole seconds, comma-separated, e.g. 1,5,15")
        return waits


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (cached; tests clear the cache)."""
    return Settings()
