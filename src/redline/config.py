"""One settings object for redline: each field has a safe default and a REDLINE_* variable."""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Final

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Where a console started by `redline serve` answers, until a deployment says otherwise.
DEFAULT_PUBLIC_URL: Final = "http://127.0.0.1:8000"


class Settings(BaseSettings):
    """Configuration read from the environment (``REDLINE_*``) and an optional ``.env`` file."""

    model_config = SettingsConfigDict(env_prefix="REDLINE_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default="sqlite:///./redline.db",
        description="SQLAlchemy URL; sqlite:///path or postgresql://user@host/db.",
    )
    data_dir: Path = Field(
        default=Path("./redline-data"),
        description="Where media files, indexes and model artifacts are kept.",
    )
    media_url: str | None = Field(
        default=None,
        description="Keep media files in an S3-compatible object store, s3://bucket/prefix, so"
        " web processes and workers on several machines share them; unset, they are kept under"
        " data_dir/media.",
    )
    s3_endpoint_url: str | None = Field(
        default=None,
        description="The object store's address (http://minio:9000); unset for AWS S3 itself.",
    )
    s3_region: str | None = Field(
        default=None, description="The object store's region (AWS_DEFAULT_REGION when unset)."
    )
    s3_access_key_id: str | None = Field(
        default=None,
        description="The object store's access key; unset, boto3's usual chain"
        " (AWS_ACCESS_KEY_ID, ~/.aws/credentials, the machine's role).",
    )
    s3_secret_access_key: SecretStr | None = Field(
        default=None,
        description="The secret of s3_access_key_id (AWS_SECRET_ACCESS_KEY when unset).",
    )
    broker_url: str | None = Field(
        default=None,
        description="Celery broker (amqp:// or redis://); unset runs every task in-process.",
    )
    queue_prefix: str = Field(
        default="",
        max_length=60,
        pattern=r"^[A-Za-z0-9_.-]*$",
        description="Put before the Celery queue names (hashing, matching, text, actions), so"
        " several redline installations can share one broker.",
    )
    task_attempts: int = Field(
        default=5,
        ge=1,
        le=100,
        description="Times a worker tries a stage of an item before the item goes to the"
        " quarantine with the stage and the last error.",
    )
    task_backoff: float = Field(
        default=2.0,
        gt=0,
        description="Seconds before a failed stage is retried, doubled on each attempt (capped"
        " at 10 minutes), with random jitter so a fault does not come back as a thundering herd.",
    )
    task_batch: int = Field(
        default=500,
        ge=1,
        le=10_000,
        description="Items a worker's stage call takes at most: beside the message Celery hands"
        " it, a worker takes the messages already waiting in the same queue (100 items each from"
        " the items API) into the same call, each acknowledged only once the call has committed."
        " A call's fixed cost (its look-ups, transactions and connection) is then paid once for"
        " them all (500 items cost a fifth less CPU each than 100, about what 1,000 do; more would"
        " leave a second worker idle at the end of a backlog while one works through it). 100"
        " or less: one message a call.",
    )
    task_linger: float = Field(
        default=0.1,
        ge=0,
        le=10,
        description="Seconds a worker waits, once, for more messages when its match or text"
        " call would hold less than half of REDLINE_TASK_BATCH after it took what was waiting:"
        " workers that keep up with a stream of small POSTs otherwise pay a call's fixed cost"
        " for every 100 items (measured: about a third of a text's CPU). It adds at most this to"
        " an item's latency and is never paid on a backlog. 0: never wait.",
    )
    resend_after: float = Field(
        default=300.0,
        ge=0,
        description="Seconds after which an item stored but never sent to the workers, and"
        " touched by no stage, is sent (the process that stored it died before sending it: a"
        " web process restarted between its answer and its background task, say), by the"
        " workers' scheduler round. Items sent and waiting in a queue are never sent twice."
        " 0: never.",
    )
    resend_window: float = Field(
        default=7 * 24 * 3600.0,
        gt=0,
        description="How far back (seconds) that check looks; older never-processed items are"
        " `redline scan`'s to find.",
    )
    scheduler_interval: float = Field(
        default=60.0,
        gt=0,
        description="Seconds between scheduler rounds (removal-order alerts need minutes).",
    )
    organisation: str = Field(
        default="",
        max_length=200,
        description="This organisation's name: bank feeds published to other redline instances"
        " name it as the source of entries that name none (the only thing said of who added"
        " them).",
    )
    public_url: str = Field(
        default=DEFAULT_PUBLIC_URL,
        description="Where people outside the team reach this console: notices to content"
        " providers link to its complaint form.",
    )
    smtp_url: str | None = Field(
        default=None,
        description="Mail server for alerts: smtp://[user:password@]host[:port] (STARTTLS when"
        " the server offers it), smtps:// for TLS from the start.",
    )
    alert_email_to: str = Field(
        default="",
        description="Who gets alerts by e-mail (addresses separated by commas).",
    )
    alert_email_from: str = Field(
        default="redline@localhost", description="The From address of alert e-mails."
    )
    alert_webhook_url: str | None = Field(
        default=None,
        description='Alerts are also POSTed here as JSON ({"text": ...}, as Slack and'
        " Mattermost incoming webhooks take them).",
    )
    notice_webhook_url: str | None = Field(
        default=None,
        description="Notices to content providers are POSTed here as JSON, for the platform's"
        " messaging to deliver; unset, they wait in /api/v1/notices to be collected.",
    )
    webhook_allow_private: bool = Field(
        default=False,
        description="Webhook subscriptions may deliver to private, loopback and link-local"
        " addresses (a receiver on the platform's internal network). Off, such an endpoint is"
        " refused at every attempt, as redline refuses any fetch that could reach inside.",
    )
    max_field_bytes: int = Field(
        default=1_000_000,
        gt=0,
        description="A record with a field larger than this is quarantined, not stored.",
    )
    max_media_bytes: int = Field(
        default=2_000_000_000,
        gt=0,
        description="A media file larger than this is quarantined, not stored.",
    )
    max_quarantine_bytes: int = Field(
        default=4_000_000,
        gt=0,
        description="Raw bytes kept per quarantined record; longer raw input is cut, and says so.",
    )
    max_image_pixels: int = Field(
        default=50_000_000,
        gt=0,
        description="Largest image (width x height, read from its header before decoding) that"
        " is decoded; a larger JPEG is decoded at 1/2, 1/4 or 1/8 scale when that fits, anything"
        " else is refused. Hashing costs about 25 bytes per pixel.",
    )
    hash_concurrency: int = Field(
        default=2,
        gt=0,
        description="Uploads the web app hashes at once (HMA hash, look-up, bank content); more"
        " are answered 503 with Retry-After. Worst-case memory is about this times"
        " max_image_pixels times 25 bytes.",
    )
    video_hash_cpu_seconds: int = Field(
        default=900,
        gt=0,
        description="CPU seconds a video's vPDQ hashing may take (in a child process); past it"
        " the video is refused (quarantined by a scan) and the rest goes on.",
    )
    video_hash_memory_bytes: int = Field(
        default=2_000_000_000,
        gt=0,
        description="Address space of the child process that hashes one video (RLIMIT_AS).",
    )
    index_check_seconds: float = Field(
        default=2.0,
        ge=0,
        description="Seconds between a web or worker process's reads of the banks counter, to"
        " learn that the banks changed (0: at every look-up).",
    )
    index_reload_jitter: float = Field(
        default=10.0,
        ge=0,
        description="A web or worker process loads a change to the banks after a random delay"
        " of up to this many seconds, so N processes do not all reload at once. The process"
        " that made the change through the web loads it at once.",
    )
    index_max_stale_seconds: float = Field(
        default=120.0,
        ge=0,
        description="A process that has served an older banks version than the database's for"
        " longer than this says so: /hma/status and HMA look-ups answer 503 (0: never).",
    )
    text_model: Path | None = Field(
        default=None,
        description="The classifier's model file (one trained with `redline model train"
        " --output`); unset, the one shipped with redline. `redline scan`, the workers and the"
        " items API score texts with it.",
    )
    ingest_batch_size: int = Field(
        default=5000,
        gt=0,
        description="Records written per transaction; a killed ingest redoes at most one batch.",
    )

    four_eyes: bool = Field(
        default=True,
        description="A violating decision (which leads to removal) needs a second reviewer.",
    )
    secret_key: SecretStr | None = Field(
        default=None,
        min_length=32,
        description="A passphrase of 32 characters or more that seals webhook signing secrets and"
        " exchange tokens and passwords in the database (`redline db seal-secrets` seals those"
        " stored before it was set). Every web and worker process needs the same one. Unset,"
        " they are stored as they are.",
    )
    secret_key_previous: SecretStr | None = Field(
        default=None,
        min_length=32,
        description="The key being replaced, while REDLINE_SECRET_KEY is a new one: what it"
        " sealed still opens, and `redline db seal-secrets` seals it again with the new key.",
    )
    secure_cookies: bool = Field(
        default=False,
        description="Mark session cookies Secure; set it when serving over HTTPS behind a proxy"
        " (requests that arrive over HTTPS get Secure cookies either way).",
    )
    hma_auth: bool = Field(
        default=True,
        description="The /hma API needs a bearer token (banks:read, banks:write); false only for"
        " HMA clients that cannot send one, on a trusted network.",
    )
    max_form_bytes: int = Field(
        default=256_000,
        gt=0,
        description="Largest request body the console and API accept (413 beyond it).",
    )
    max_items_bytes: int = Field(
        default=500_000_000,
        gt=0,
        description="Largest POST /api/v1/items body: up to 1,000 records with their photos.",
    )
    max_upload_bytes: int = Field(
        default=50_000_000,
        gt=0,
        description="Largest hash list a bank import accepts through the console or API.",
    )

    trusted_proxies: str = Field(
        default="",
        description="Reverse proxies whose X-Forwarded-For header is believed: addresses or"
        " networks separated by commas (10.0.0.5, 10.1.0.0/16). Empty, the default: the"
        " connecting address is the client's, whatever the headers say.",
    )
    login_attempts_per_network: int = Field(
        default=50,
        gt=0,
        description="Sign-in attempts per client network (IPv4 /24, IPv6 /64) in 15 minutes;"
        " beyond it attempts are refused before any password is checked.",
    )
    login_attempts_per_minute: int = Field(
        default=60,
        gt=0,
        description="Sign-in attempts from everywhere per minute: bounds the CPU that password"
        " hashing (argon2id, tens of ms each) can take from everything else.",
    )
    login_failures_per_user: int = Field(
        default=5,
        gt=0,
        description="Wrong passwords for one user from one client network in 15 minutes before"
        " that user is refused from that network; sign-in from other networks goes on.",
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_networks(cls, value: str) -> str:
        for part in filter(None, (p.strip() for p in value.split(","))):
            try:
                ipaddress.ip_network(part, strict=False)
            except ValueError:
                raise ValueError(
                    f"trusted_proxies: {part!r} is not an address or network"
                ) from None
        return value

    @property
    def trusted_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        """``trusted_proxies`` as networks."""
        parts = (p.strip() for p in self.trusted_proxies.split(","))
        return tuple(ipaddress.ip_network(p, strict=False) for p in parts if p)

    @field_validator("media_url")
    @classmethod
    def _object_store_url(cls, url: str | None) -> str | None:
        if not url:
            return None
        bucket = url.removeprefix("s3://").partition("/")[0]
        if not url.startswith("s3://") or not bucket:
            raise ValueError(f"media_url: {url!r} is not s3://bucket or s3://bucket/prefix")
        return url

    @field_validator("database_url")
    @classmethod
    def _use_psycopg3(cls, url: str) -> str:
        # psycopg 3 is the driver redline ships; plain postgresql:// would ask for psycopg2.
        for prefix in ("postgresql://", "postgres://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url[len(prefix) :]
        return url


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, read once."""
    return Settings()
