"""Careline settings: everything comes from environment variables (ARCHITECTURE §6).

`CARELINE_DATABASE_URL` (default SQLite under var/), `CARELINE_REDIS_URL` (unset → SqliteHuey),
`CARELINE_SECRET_KEY` (generated into var/ when unset), `CARELINE_DEBUG`, `CARELINE_ALLOWED_HOSTS`,
`CARELINE_EMAIL_URL`, `CARELINE_TIME_ZONE`, `CARELINE_VAR_DIR`. A `.env` file in the project root is read
when present (values already in the environment win).
"""

from __future__ import annotations

import os
import secrets
import sys
import tempfile
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent
PACKAGE_DIR = BASE_DIR / "careline"


def _load_dotenv(path: Path) -> None:
    if not path.is_file():
        return
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        os.environ.setdefault(key.strip(), value.strip().strip('"').strip("'"))


_load_dotenv(BASE_DIR / ".env")


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


# Under pytest: fast hashing, immediate tasks, in-memory email, a private var/ and the test database URL.
TESTING = env_bool("CARELINE_TESTING", "pytest" in sys.modules)
_default_var = Path(tempfile.gettempdir()) / "careline-test-var" if TESTING else BASE_DIR / "var"
VAR_DIR = Path(env("CARELINE_VAR_DIR", str(_default_var))).resolve()
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    key = env("CARELINE_SECRET_KEY")
    if key:
        return key
    key_file = VAR_DIR / "secret_key"
    if key_file.is_file():
        return key_file.read_text(encoding="utf-8").strip()
    key = secrets.token_urlsafe(50)
    key_file.write_text(key, encoding="utf-8")
    key_file.chmod(0o600)
    return key


SECRET_KEY = _secret_key()
DEBUG = env_bool("CARELINE_DEBUG", False)
ALLOWED_HOSTS = [
    h.strip() for h in env("CARELINE_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h.strip()
]
CSRF_TRUSTED_ORIGINS = [o.strip() for o in env("CARELINE_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "django_htmx",
    "simple_history",
    "huey.contrib.djhuey",
    "ninja",
    "careline.core",
    "careline.accounts",
    "careline.customers",
    "careline.imports",
    "careline.sales",
    "careline.activities",
    "careline.kpis",
    "careline.helpdesk",
    "careline.surveys",
    "careline.api",
    "careline.web",
    "careline.cli",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "careline.core.middleware.LanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "careline.core.middleware.RequestContextMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
]

ROOT_URLCONF = "careline.config.urls"
WSGI_APPLICATION = "careline.config.wsgi.application"
ASGI_APPLICATION = "careline.config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "web" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "careline.web.context_processors.navigation",
            ],
        },
    },
]

# --- database ---------------------------------------------------------------------------------------
DEFAULT_SQLITE = VAR_DIR / "careline.sqlite3"
DATABASE_URL = env("CARELINE_DATABASE_URL", f"sqlite:///{DEFAULT_SQLITE}")
if TESTING and env("CARELINE_TEST_DATABASE_URL"):
    DATABASE_URL = env("CARELINE_TEST_DATABASE_URL")
_db = dj_database_url.parse(DATABASE_URL, conn_max_age=0)
if _db["ENGINE"] == "django.db.backends.sqlite3":
    _db["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;",
    }
else:
    _db["CONN_MAX_AGE"] = int(env("CARELINE_CONN_MAX_AGE", "60"))
    _db["CONN_HEALTH_CHECKS"] = True
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- caches, sessions --------------------------------------------------------------------------------
REDIS_URL = env("CARELINE_REDIS_URL")
# Shared by the web processes and the worker (job progress, sign-in rate limits): Redis when configured,
# otherwise files under var/ (one host). Tests use process memory.
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
elif TESTING:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

# --- background jobs: django.tasks API on huey -------------------------------------------------------
if REDIS_URL:
    HUEY = {
        "huey_class": "huey.RedisHuey",
        "name": "careline",
        "url": REDIS_URL,
        "immediate": False,
        "consumer": {"workers": 2, "worker_type": "thread"},
    }
else:
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "careline",
        "filename": str(VAR_DIR / "huey.sqlite3"),
        "immediate": env_bool("CARELINE_TASKS_IMMEDIATE", False),
        "consumer": {"workers": 2, "worker_type": "thread"},
    }
TASKS = {
    "default": {
        "BACKEND": "huey.contrib.djhuey.tasks_backend.HueyBackend",
        "OPTIONS": {"enqueue_on_commit": True},
    }
}

# --- auth --------------------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "web:home"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_SIGNUP_OPEN = False  # staff accounts are created by an admin, never by self sign-up
ACCOUNT_ADAPTER = "careline.accounts.adapters.AccountAdapter"
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_PASSWORD_RESET_BY_CODE_ENABLED = False
ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS = False  # never mail addresses that have no account (no spam relay)
ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip,5/300s/key"}
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 60 * 60 * 12
SESSION_COOKIE_SECURE = env_bool("CARELINE_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

from django.utils.csp import CSP  # noqa: E402

SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}

# --- i18n / l10n -------------------------------------------------------------------------------------
LANGUAGE_CODE = "vi"
LANGUAGES = [("vi", _("Vietnamese")), ("en", _("English"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
FORMAT_MODULE_PATH = ["careline.formats"]
TIME_ZONE = env("CARELINE_TIME_ZONE", "Asia/Ho_Chi_Minh")
# The address customers reach Careline at: links in emails (survey invitations, web forms) are built on it.
CARELINE_PUBLIC_URL = env("CARELINE_PUBLIC_URL", "http://localhost:8000").rstrip("/")
USE_I18N = True
USE_TZ = True
LANGUAGE_COOKIE_NAME = "careline_language"

# --- static ------------------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MEDIA_ROOT = VAR_DIR / "media"
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG or TESTING  # no start-up scan of every static file in tests/dev

# --- email -------------------------------------------------------------------------------------------


def _mailers(url: str) -> dict[str, dict[str, object]]:
    """`CARELINE_EMAIL_URL`: `smtp://user:pass@host:port?tls=1&from=...`, `smtps://…`, `console://`, `locmem://`."""
    parsed = urlparse(url) if url else None
    if parsed is None or parsed.scheme == "console":
        return {"default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}
    if parsed.scheme == "locmem":
        return {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    query = {k: v[0] for k, v in parse_qs(parsed.query).items()}
    options: dict[str, object] = {
        "host": parsed.hostname or "127.0.0.1",
        "port": parsed.port or (465 if parsed.scheme == "smtps" else 25),
        "use_ssl": parsed.scheme == "smtps",
        "use_tls": query.get("tls", "") in {"1", "true"},
        "timeout": 10,
    }
    if parsed.username:
        options["username"] = unquote(parsed.username)
        options["password"] = unquote(parsed.password or "")
    return {"default": {"BACKEND": "django.core.mail.backends.smtp.EmailBackend", "OPTIONS": options}}


_email_url = env("CARELINE_EMAIL_URL")
MAILERS = _mailers(_email_url)
DEFAULT_FROM_EMAIL = (
    parse_qs(urlparse(_email_url).query).get("from", ["Careline <no-reply@careline.local>"])[0]
    if _email_url
    else "Careline <no-reply@careline.local>"
)
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- logging -----------------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("CARELINE_LOG_LEVEL", "INFO")},
    # The worker's periodic tasks run every minute: log only what goes wrong. A handler on "huey" also stops
    # run_huey from adding its own (which printed every line twice).
    "loggers": {
        "huey": {"handlers": ["console"], "level": "WARNING", "propagate": False},
        "django.tasks": {"level": "WARNING"},
    },
}

# --- Careline ----------------------------------------------------------------------------------------
NINJA_PAGINATION_MAX_LIMIT = 100
SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True
CARELINE_DEMO_PASSWORD = env("CARELINE_DEMO_PASSWORD", "careline-demo")
CARELINE_IMPORT_MAX_MB = int(env("CARELINE_IMPORT_MAX_MB", "100"))
CARELINE_IMPORT_MAX_ROWS = int(env("CARELINE_IMPORT_MAX_ROWS", "2000000"))
CARELINE_EXPORT_SYNC_ROWS = int(env("CARELINE_EXPORT_SYNC_ROWS", "5000"))  # larger exports run as jobs
JOBS_DIR = VAR_DIR / "jobs"

if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    HUEY["immediate"] = True
