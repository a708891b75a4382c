"""Settings, read from the environment with embedded single-machine defaults.

DATABASE_URL (SQLite under var/ by default), REDIS_URL, MEDIA_ROOT or MEDIA_STORAGE=s3 with MEDIA_S3_*, SECRET_KEY, DEBUG,
ALLOWED_HOSTS, LABELER_MAX_IMAGE_PIXELS, LABELER_HTTPS. Nothing else needs configuring to start.
Production defaults are safe: DEBUG is off unless asked for, the secret key is generated once
into var/ when none is given, and the hardening (CSP, login throttling, HTTPS cookies) is on.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url
import orjson
from csp.constants import NONCE

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("LABELER_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def s3_media_backend(env) -> dict:
    """The STORAGES entry for S3-compatible media, from MEDIA_S3_* in `env` (tests build theirs here too)."""
    from botocore.config import Config

    timeout = float(env.get("MEDIA_S3_TIMEOUT_S", "5"))
    return {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {
        "bucket_name": env.get("MEDIA_S3_BUCKET", ""),
        "endpoint_url": env.get("MEDIA_S3_ENDPOINT_URL") or None,  # unset: the provider's own
        "access_key": env.get("MEDIA_S3_ACCESS_KEY_ID") or None,
        "secret_key": env.get("MEDIA_S3_SECRET_ACCESS_KEY") or None,
        "region_name": env.get("MEDIA_S3_REGION", "us-east-1"),
        "location": env.get("MEDIA_S3_PREFIX", ""),  # a folder inside the bucket
        "addressing_style": env.get("MEDIA_S3_ADDRESSING_STYLE", "path"),  # MinIO wants path style
        "signature_version": "s3v4",
        "file_overwrite": True,  # names are chosen by the app: written as given
        "default_acl": None,  # objects stay private: members read them through the media view
        "querystring_auth": True,
        "querystring_expire": int(env.get("MEDIA_S3_URL_EXPIRES_S", "300")),
        # A store that does not answer fails the job within seconds, naming it (annotations/media.py).
        "client_config": Config(connect_timeout=timeout, read_timeout=timeout * 6,
                                retries={"max_attempts": int(env.get("MEDIA_S3_ATTEMPTS", "3")), "mode": "standard"}),
    }}


def _secret_key_from_var(path: Path) -> str:
    """The secret generated once for this checkout (web, workers and commands all read it)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as out:
        out.write(secrets.token_urlsafe(50) + "\n")
    return path.read_text().strip()


# Off unless asked for: a debug page shows settings and source to anyone who causes an error.
DEBUG = _env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY", "") or _secret_key_from_var(VAR_DIR / "secret-key.txt")
ALLOWED_HOSTS = [h for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",") if h]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "axes",
    "csp",
    "annotations",
    "workers",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "annotations.api.errors.BodySizeLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last: it turns a login refused by the lockout into the 429 answer (annotations/api/errors.py).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "labeler.urls"
WSGI_APPLICATION = "labeler.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'labeler.sqlite3'}"),
        conn_max_age=60,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web server and worker write concurrently: WAL and a busy timeout avoid "database is locked";
    # our engine queues writers on a lock that wakes them (labeler/backends/sqlite3/base.py).
    DATABASES["default"]["ENGINE"] = "labeler.backends.sqlite3"
    DATABASES["default"]["OPTIONS"] = {
        "timeout": float(os.environ.get("LABELER_SQLITE_TIMEOUT_S", "30")),  # how long a writer waits for another
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
    # Connections are kept (60 s, as for PostgreSQL): opening one ran the PRAGMAs and registered
    # Django's SQL functions again on every request, ~0.6 ms of CPU of a 2-5 ms GET.
    # A file (not :memory:) so a Celery worker started by integration tests sees the test data.
    # One file per test run, so concurrent runs on one machine never share a database.
    DATABASES["default"]["TEST"] = {"NAME": os.environ.get("LABELER_TEST_DB", str(VAR_DIR / f"test-{os.getpid()}.sqlite3"))}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# The lockout backend first: a locked-out login is refused before its password is hashed.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "static"))
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
# Media (images, thumbnails, uploads, checkpoints, exports, superpixels) goes through Django's
# storage API only (annotations/media.py). MEDIA_STORAGE=local (default): a folder, MEDIA_ROOT.
# MEDIA_STORAGE=s3: an S3-compatible bucket (MinIO, Ceph, AWS...) through django-storages, so web
# and workers on other machines share it; MEDIA_ROOT is then only each machine's scratch space.
MEDIA_STORAGE = os.environ.get("MEDIA_STORAGE", "local").strip().lower()
if MEDIA_STORAGE == "local":
    # Names are chosen by the app (content-addressed images, one name per job): written as given.
    _MEDIA_BACKEND: dict = {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"allow_overwrite": True}}
elif MEDIA_STORAGE == "s3":
    _MEDIA_BACKEND = s3_media_backend(os.environ)
else:
    raise ValueError(f"MEDIA_STORAGE must be 'local' or 's3', not {MEDIA_STORAGE!r}")
STORAGES = {
    "default": _MEDIA_BACKEND,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Workers keep the images they read from remote storage in a small local cache (training reads
# them every epoch; the decode-ahead threads read a few ahead): at most this many bytes.
LABELER_MEDIA_CACHE_BYTES = int(os.environ.get("LABELER_MEDIA_CACHE_MB", "512")) * 1024 * 1024
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

# Uploads: images stream to disk past 4 MB; a single request may carry up to 2 GB of zip.
FILE_UPLOAD_MAX_MEMORY_SIZE = 4 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024 * 1024
LABELER_MAX_IMAGE_PIXELS = int(os.environ.get("LABELER_MAX_IMAGE_PIXELS", str(100_000_000)))
LABELER_MAX_UPLOAD_BYTES = int(os.environ.get("LABELER_MAX_UPLOAD_BYTES", str(2 * 1024**3)))
LABELER_THUMBNAIL_SIZE = 256
# Published weights that users place by hand (training starts from them; nothing downloads).
LABELER_WEIGHTS_DIR = Path(os.environ.get("LABELER_WEIGHTS_DIR", VAR_DIR / "weights"))

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "annotations.api.authentication.TokenAuthentication",
        "rest_framework.authentication.BasicAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # Adds the one error shape to every operation and pages plain APIViews' lists (annotations/api/schema.py).
    "DEFAULT_SCHEMA_CLASS": "annotations.api.schema.LabelerAutoSchema",
    "EXCEPTION_HANDLER": "annotations.api.errors.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    # JSON in and out through orjson: a 1,000-mask document is 0.5-1 MB each way, and the standard
    # library's encoder and decoder were ~5 ms of its save (bench/editor/run.py --api-only).
    # orjson refuses what DRF's strict parser refused (NaN, Infinity, lone surrogates); an integer
    # beyond 64 bits arrives as a float, which the integer fields refuse as not an integer.
    "DEFAULT_RENDERER_CLASSES": [
        "drf_orjson_renderer.renderers.ORJSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": [
        "drf_orjson_renderer.parsers.ORJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    # as the standard library writes them: datetimes that reach the renderer as objects in UTC with
    # a Z (DRF's way), and integer keys (a list's errors by index) as strings
    "ORJSON_RENDERER_OPTIONS": (orjson.OPT_UTC_Z, orjson.OPT_NON_STR_KEYS),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "labeler API",
    "DESCRIPTION": "Segmentation labeling: projects, images, annotation documents, jobs.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Choice sets that share a field name (status, kind) get names of their own, not hashes.
    "ENUM_NAME_OVERRIDES": {
        "ImageStatusEnum": "annotations.models.Image.Status",
        "JobStatusEnum": "annotations.models.Job.Status",
        "JobKindEnum": "annotations.models.Job.Kind",
        "LabelClassKindEnum": "annotations.models.LabelClass.Kind",
    },
}

# Celery: JSON only, late acks so a task whose worker dies is redelivered (tasks are idempotent).
# `make up` starts a Redis of this checkout's own and records its URL under var/ (labeler/stack.py),
# so two checkouts on one machine never share a broker; commands and workers read the same file.
_CHECKOUT_REDIS = VAR_DIR / "redis" / "url"
REDIS_URL = os.environ.get("REDIS_URL") or (
    _CHECKOUT_REDIS.read_text().strip() if _CHECKOUT_REDIS.exists() else "redis://127.0.0.1:6390/0"
)
CELERY_BROKER_URL = REDIS_URL
# Results are kept only for tasks that a request waits on (the box-to-mask assist).
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_EXPIRES = 600
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
# How the web side sends a Job's task (annotations/jobs.py): Celery here; tests run tasks in-process.
LABELER_TASK_RUNNER = os.environ.get("LABELER_TASK_RUNNER", "annotations.jobs.CeleryRunner")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# How long a task taken by a worker that died stays invisible before Redis hands it out again.
# Kombu scans for such tasks on every 10th restore tick, so the tick sets how soon they return.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": int(os.environ.get("LABELER_VISIBILITY_TIMEOUT", str(6 * 3600))),
    "unacked_restore_interval": float(os.environ.get("LABELER_UNACKED_RESTORE_INTERVAL", "10")),
    # A paused or unreachable Redis must not hang a request: every broker call gives up after
    # this long and the request answers 503 (annotations/jobs.py). Workers reconnect by themselves.
    "socket_timeout": float(os.environ.get("LABELER_BROKER_TIMEOUT_S", "3")),
    "socket_connect_timeout": float(os.environ.get("LABELER_BROKER_TIMEOUT_S", "3")),
}
CELERY_REDIS_SOCKET_TIMEOUT = float(os.environ.get("LABELER_BROKER_TIMEOUT_S", "3"))
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = float(os.environ.get("LABELER_BROKER_TIMEOUT_S", "3"))
# The result backend (the assist's answer) would otherwise retry a lost Redis 20 times.
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"retry_policy": {"max_retries": 1, "interval_start": 0, "interval_step": 0.5, "interval_max": 0.5}}
# A task killed with its worker comes back (acks_late) at most this many times; then its Job
# fails with "the worker died N times while running this job" (workers/tasks.py).
LABELER_MAX_DELIVERIES = int(os.environ.get("LABELER_MAX_DELIVERIES", "3"))
# A pre-label job over more images than this is split into chunks of this many, which any gpu
# worker takes (workers/prelabel_job.py); the bound on deliveries above is per chunk.
LABELER_PRELABEL_CHUNK = int(os.environ.get("LABELER_PRELABEL_CHUNK", "256"))
# An export over more images than this is split into chunks of this many, which any default worker
# renders into a part; the last one assembles the zip (annotations/export_chunks.py, bench/scale.py).
LABELER_EXPORT_CHUNK = int(os.environ.get("LABELER_EXPORT_CHUNK", "2000"))
# Temporary files (upload staging, unfinished export .part files) untouched for this long belong
# to a task that died; workers remove them when they start and when a Job gives up.
LABELER_STALE_TEMP_S = float(os.environ.get("LABELER_STALE_TEMP_S", str(3600)))
LABELER_MAX_CHECKPOINT_BYTES = int(os.environ.get("LABELER_MAX_CHECKPOINT_BYTES", str(1024**3)))

# Login throttling (django-axes): after LABELER_LOGIN_FAILURES wrong passwords for one user name
# from one address, the login form, the token endpoint and basic auth answer 429 for the cool-off,
# without hashing the password. Failures are counted in the database, shared by every process.
AXES_FAILURE_LIMIT = int(os.environ.get("LABELER_LOGIN_FAILURES", "5"))
AXES_COOLOFF_TIME = float(os.environ.get("LABELER_LOGIN_COOLOFF_MINUTES", "15")) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "annotations.api.errors.lockout_response"
AXES_IPWARE_PROXY_COUNT = int(os.environ.get("LABELER_PROXY_COUNT", "0")) or None
AXES_VERBOSE = False
AXES_DISABLE_ACCESS_LOG = True  # successful logins are not recorded row by row

# Content-Security-Policy without 'unsafe-inline': scripts and styles come from our own files;
# the one server-rendered style (class colours on the project page) carries the request's nonce.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", NONCE],
        "img-src": ["'self'", "data:", "blob:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
# LABELER_HTTPS=1 when the site is served over HTTPS (directly or behind a proxy that sets
# X-Forwarded-Proto): HSTS, the redirect to https and cookies that are only sent over it.
LABELER_HTTPS = _env_bool("LABELER_HTTPS", False)
if LABELER_HTTPS:
    SECURE_SSL_REDIRECT = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = int(os.environ.get("LABELER_HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["upgrade-insecure-requests"] = True
else:
    # `check --deploy` names these; they only make sense over HTTPS (set LABELER_HTTPS=1).
    SILENCED_SYSTEM_CHECKS = ["security.W004", "security.W008", "security.W012", "security.W016"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"axes": {"level": "WARNING"}},  # a line per failed login otherwise
}
