"""Settings: defaults here, overridden by the environment (PARLEY_* and a few
conventional names such as DATABASE_URL, SECRET_KEY and REDIS_URL)."""

import os
import secrets
from pathlib import Path


class Config:
    # Rendering and paging
    THREADS_PER_PAGE = 30
    POSTS_PER_PAGE = 20
    API_MAX_PER_PAGE = 100
    SITE_NAME = "Parley"

    # Limits on what members write (characters)
    TITLE_MIN = 5
    TITLE_MAX = 200
    BODY_MAX = 50_000
    TAGS_MAX = 5

    # Rate limits (Flask-Limiter syntax)
    RATELIMIT_ENABLED = True
    RATELIMIT_HEADERS_ENABLED = True
    RATELIMIT_LOGIN = "10 per minute"
    RATELIMIT_REGISTER = "5 per hour"
    RATELIMIT_POSTING = "20 per minute"
    RATELIMIT_TOKEN = "10 per minute"  # noqa: S105 - a rate, not a secret

    # Sessions and cookies; Secure is added automatically for HTTPS requests.
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_DURATION = 60 * 60 * 24 * 30
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session

    # Outgoing mail: SMTP when SMTP_HOST is set, else .eml files in <instance>/mail/
    MAIL_FROM = "Parley <no-reply@localhost>"
    SMTP_HOST = None
    SMTP_PORT = 25
    SMTP_STARTTLS = False
    SMTP_USERNAME = None
    SMTP_PASSWORD = None
    MAIL_MAX_ATTEMPTS = 5
    # Advisory committees: invitation links expire; meetings are reminded ahead.
    ADVISORY_INVITATION_DAYS = 14
    ADVISORY_REMINDER_HOURS = 24
    ADVISORY_CHECK_SECONDS = 300

    # argon2id cost (RFC 9106 second recommended option)
    PASSWORD_HASH_TIME_COST = 3
    PASSWORD_HASH_MEMORY_KIB = 65536
    PASSWORD_HASH_PARALLELISM = 4

    # Search: a Whoosh index in <instance>/search-index (SEARCH_INDEX_DIR overrides)
    SEARCH_RESULTS_PER_PAGE = 20
    SEARCH_QUERY_MAX = 200  # characters of a query that are searched
    SEARCH_SYNC_UPDATES = True  # apply queued index updates right after each change
    SEARCH_LOCK_TIMEOUT = 2.0  # seconds a change waits for the index writer, then stays queued
    SEARCH_REBUILD_WAIT = 30.0  # seconds a query waits for a missing index to be rebuilt

    # The help flow and deflection analytics
    DEFLECTION_COST_PER_CASE = "15.00"  # what one support case costs, in CURRENCY
    CURRENCY = "USD"
    RATELIMIT_HELP = "30 per minute"  # "this solved my problem" per client address
    RATELIMIT_CASES = "10 per hour"  # support cases opened per client address

    # The CRM bridge (docs/crm.md): connectors by name, comma-separated
    CRM = "builtin"
    CRM_POLL_SECONDS = 2.0  # how soon the worker picks new outbox rows up
    CRM_PULL_SECONDS = 300  # how often attributes and case statuses are pulled
    CRM_SYNC_SECONDS = 86400  # how often every linked member's figures are re-pushed
    CRM_BATCH_SIZE = 500  # rows claimed per pass (per connector: at most 4 of its batches)
    CRM_MAX_ATTEMPTS = 8  # then the row is a dead letter
    CRM_BACKOFF_SECONDS = 5.0  # first retry; doubles each attempt, with jitter
    CRM_BACKOFF_MAX_SECONDS = 3600.0
    CRM_LEASE_SECONDS = 120  # a worker's claim on rows; a killed worker's claim expires
    CRM_WEBHOOK_URL = None
    CRM_WEBHOOK_SECRET = None
    CRM_WEBHOOK_TIMEOUT = 10.0
    CRM_INBOUND_SECRET = None  # signs POST /api/v1/crm/inbound; defaults to the webhook's
    CRM_INBOUND_TOLERANCE_SECONDS = 300

    # Background work (community/background.py): a thread of each web process runs
    # the jobs, or (false) `flask --app wsgi worker` processes do. Seconds between
    # runs of each job; 0 switches a job off.
    BACKGROUND_IN_PROCESS = True
    BACKGROUND_POLL_SECONDS = 1.0  # how often a runner looks for due jobs
    BACKGROUND_LEASE_SECONDS = 900  # a runner's hold on a job; a killed runner's expires
    MAIL_SEND_SECONDS = 10
    SEARCH_DRAIN_SECONDS = 5
    MODERATION_TRUST_SECONDS = 86400
    REPUTATION_FRAUD_CHECK_SECONDS = 3600
    ADVISORY_UPKEEP_SECONDS = 900
    ANALYTICS_SNAPSHOT_SECONDS = 86400

    # Number of proxies in front of the app (X-Forwarded-* trusted from them)
    PROXY_COUNT = 0

    # Speed (community/cache.py): visitors' pages cached until the next change (or
    # this many seconds); thread views written in batches of VIEW_FLUSH_EVERY or
    # every VIEW_FLUSH_SECONDS.
    PAGE_CACHE_ENABLED = True
    PAGE_CACHE_TIMEOUT = 300
    VIEW_FLUSH_EVERY = 1000
    VIEW_FLUSH_SECONDS = 10.0
    # The bench only: an X-Parley-Queries header with the SQL statements a request ran.
    BENCH_QUERY_HEADER = False

    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    MAX_CONTENT_LENGTH = 2 * 1024 * 1024


class TestConfig(Config):
    TESTING = True
    RATELIMIT_ENABLED = False
    # Trust gates and spam rules (moderation) would refuse the many quick posts of
    # level-0 test members; moderation's tests switch them on.
    MODERATION_SCREENING = False
    WTF_CSRF_ENABLED = False
    SECRET_KEY = "test-only-not-secret"  # noqa: S105 - tests only
    PASSWORD_HASH_TIME_COST = 1
    PASSWORD_HASH_MEMORY_KIB = 1024
    PASSWORD_HASH_PARALLELISM = 1
    BACKGROUND_IN_PROCESS = False  # tests run the jobs they want themselves
    # Tests see every page rendered and every view written at once, unless they ask.
    PAGE_CACHE_ENABLED = False
    VIEW_FLUSH_EVERY = 1
    VIEW_FLUSH_SECONDS = 0


def load_environment(app):
    """Apply environment overrides; called by create_app before the test config."""
    app.config.from_prefixed_env("PARLEY")
    for name in ("DATABASE_URL", "SECRET_KEY", "REDIS_URL"):
        if os.environ.get(name):
            app.config[name] = os.environ[name]


def finish(app):
    """Fill settings that depend on others: database, rate-limit storage, secret."""
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    cfg = app.config
    if not cfg.get("SQLALCHEMY_DATABASE_URI"):
        url = cfg.get("DATABASE_URL") or f"sqlite:///{instance / 'parley.sqlite3'}"
        # Heroku-style postgres:// and plain postgresql:// both mean psycopg 3 here.
        for scheme in ("postgres://", "postgresql://"):
            if url.startswith(scheme):
                url = "postgresql+psycopg://" + url[len(scheme) :]
        cfg["SQLALCHEMY_DATABASE_URI"] = url
    if cfg["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        cfg["SQLALCHEMY_ENGINE_OPTIONS"] = {"connect_args": {"timeout": 15}}
    redis_url = cfg.get("REDIS_URL")
    cfg.setdefault("RATELIMIT_STORAGE_URI", redis_url or "memory://")
    cfg.setdefault("SEARCH_INDEX_DIR", str(instance / "search-index"))
    cfg.setdefault("UPLOAD_DIR", str(instance / "uploads"))
    if not cfg.get("SECRET_KEY"):
        cfg["SECRET_KEY"] = _instance_secret(instance / "secret_key")


def _instance_secret(path: Path) -> str:
    """A per-instance secret, generated once and kept readable by its owner only."""
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race; use its secret
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key
