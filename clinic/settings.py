"""Clinic settings: one file, every secret and knob from the environment.

CLINIC_ENV=production requires every secret to be set and fails loudly otherwise. In development
(the default) secrets are generated once into .local/secrets.env (ignored by git) and the
database is the embedded cluster that localdb/cluster.py runs under the checkout.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

CLINIC_ENV = env.str("CLINIC_ENV", default="development")
if CLINIC_ENV not in {"development", "production"}:
    raise ImproperlyConfigured("CLINIC_ENV must be 'development' or 'production'")
PRODUCTION = CLINIC_ENV == "production"

if not PRODUCTION:
    from localdb import cluster

    # Development secrets are generated once; an explicit environment variable still wins.
    for _key, _value in cluster.ensure_secrets().items():
        env.ENVIRON.setdefault(_key, _value)


def _required(name: str) -> str:
    value = env.str(name, default="")
    if not value:
        raise ImproperlyConfigured(f"Set the {name} environment variable.")
    return value


SECRET_KEY = _required("SECRET_KEY")
if PRODUCTION and len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("SECRET_KEY must be at least 50 characters in production.")
DEBUG = env.bool("DEBUG", default=False)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DEBUG must be off in production.")
ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=[] if PRODUCTION else ["127.0.0.1", "localhost", "testserver"]
)
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("Set ALLOWED_HOSTS in production.")

INSTALLED_APPS = [
    # First: its runserver (clinic/management/commands/runserver.py) must win over whitenoise's.
    "clinic",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "accounts",
    "patients",
    "records",
    "analytics",
    "privacy",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "clinic.middleware.PermissionsPolicyMiddleware",
    # Before whitenoise, so static responses carry the policy too.
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "accounts.lifetime.SessionLifetimeMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
    # Last: everything below runs inside one transaction under the user's database role.
    "clinic.db_context.DatabaseRoleMiddleware",
    "accounts.sessions.StaffSessionMiddleware",
    # Until the second factor is passed (or set up, where required) nothing else is reachable.
    "accounts.mfa.MFAGateMiddleware",
]

ROOT_URLCONF = "clinic.urls"
WSGI_APPLICATION = "clinic.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "clinic.context_processors.clinic",
                "records.context_processors.break_glass",
            ],
        },
    },
]

# --- database ----------------------------------------------------------------------------------
# The web process connects as clinic_web (no PHI rights of its own; it switches to the user's
# group role per request). Migrations and provisioning use the owner connection.
# server_side_binding: psycopg 3 otherwise inlines parameters into the SQL text, and pgaudit
# would log PHI values.
_DB_OPTIONS = {"server_side_binding": True}


def _database(url_var: str, role: str, password_var: str) -> dict:
    if env.str(url_var, default=""):
        db = env.db_url(url_var)
        options = {**_DB_OPTIONS, **db.get("OPTIONS", {})}
        if PRODUCTION:
            options.setdefault("sslmode", "verify-full")
            options.setdefault("sslrootcert", _required("DB_SSLROOTCERT"))
        db["OPTIONS"] = options
    elif PRODUCTION:
        raise ImproperlyConfigured(f"Set {url_var} in production.")
    else:
        db = {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": cluster.DATABASE_NAME,
            "USER": role,
            "PASSWORD": env.str(password_var),
            "HOST": "127.0.0.1",
            "PORT": str(cluster.cluster_port()),
            "OPTIONS": {
                **_DB_OPTIONS,
                "sslmode": "verify-full",
                "sslrootcert": str(cluster.ca_file()),
            },
        }
    db["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
    db["CONN_HEALTH_CHECKS"] = True
    return db


DATABASES = {
    "default": _database("DATABASE_URL", "clinic_web", "DB_WEB_PASSWORD"),
    "owner": _database("DATABASE_OWNER_URL", "clinic_owner", "DB_OWNER_PASSWORD"),
}
# The web connection through PgBouncer in transaction mode (make pooler). psycopg's automatic
# named prepared statements do not survive transaction pooling: switch them off there.
if env.bool("CLINIC_DB_VIA_POOLER", default=False):
    if not PRODUCTION:
        from localdb import pooler

        DATABASES["default"]["PORT"] = str(pooler.pooler_port())
    DATABASES["default"]["OPTIONS"]["prepare_threshold"] = None
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
# Analytics on a read replica: DATABASE_REPLICA_URL (a managed replica, logging in as clinic_web),
# or in development CLINIC_ANALYTICS_ON_REPLICA=1 for the embedded standby (make replica).
# Analyst dashboards and the export then read there (analytics.selectors.analytics_alias()).
if env.str("DATABASE_REPLICA_URL", default="") or (
    not PRODUCTION and env.bool("CLINIC_ANALYTICS_ON_REPLICA", default=False)
):
    DATABASES["replica"] = _database("DATABASE_REPLICA_URL", "clinic_web", "DB_WEB_PASSWORD")
    if not env.str("DATABASE_REPLICA_URL", default=""):
        from localdb import replica

        DATABASES["replica"]["PORT"] = str(replica.replica_port())
ANALYTICS_DATABASE = "replica" if "replica" in DATABASES else "default"
for _alias in DATABASES:
    DATABASES[_alias]["NAME"] = env.str("CLINIC_DB_NAME", default=DATABASES[_alias]["NAME"])
DATABASE_ROUTERS = ["clinic.db_router.OwnerMigratesRouter", "clinic.db_router.AnalyticsReadRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- authentication ----------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:sign-in"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:sign-in"

# django-axes: 5 failures per username and (separately) per client address, 30-minute cool-off.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=30))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_HTTP_RESPONSE_CODE = 429
AXES_CLIENT_IP_CALLABLE = "clinic.client_ip.client_ip"
AXES_VERBOSE = False
AXES_SENSITIVE_PARAMETERS = ["password", "otp_token"]
# axes stores the POST data of a failed attempt; forms that re-authenticate name their free-text
# fields here so a wrong password does not copy PHI into axes_accessattempt (break the glass).
AXES_SENSITIVE_PARAMETERS += ["reason_text", "reason_category", "next"]
# Axes stores a keyed fingerprint of the typed username, never the text itself (which may be a
# password typed in the wrong box): accounts/lockout.py.
AXES_USERNAME_CALLABLE = "accounts.lockout.axes_username"
AXES_SENSITIVE_PARAMETERS += ["username"]
# Client-supplied X-Forwarded-For is ignored unless this many trusted proxies stand in front.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# --- multi-factor authentication (django-otp) ----------------------------------------------
# Administrators and privacy officers always need TOTP; this makes it required for all staff.
MFA_REQUIRED_FOR_ALL = env.bool("MFA_REQUIRED_FOR_ALL", default=False)
# Wrong codes per user (not reset by a correct password) before the partial sign-in ends; the
# count is kept for AXES_COOLOFF_TIME, like password failures.
MFA_FAILURE_LIMIT = env.int("MFA_FAILURE_LIMIT", default=5)
# How long a re-authentication (password + code) stays valid for sensitive changes.
REAUTH_SECONDS = env.int("REAUTH_SECONDS", default=5 * 60)
OTP_TOTP_ISSUER = env.str("CLINIC_NAME", default="Clinic")
OTP_TOTP_THROTTLE_FACTOR = env.int("OTP_TOTP_THROTTLE_FACTOR", default=1)
RECOVERY_CODE_COUNT = 10

# --- sessions ----------------------------------------------------------------------------------
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_IDLE_SECONDS = env.int("SESSION_IDLE_SECONDS", default=15 * 60)
SESSION_ABSOLUTE_SECONDS = env.int("SESSION_ABSOLUTE_SECONDS", default=12 * 60 * 60)
SESSION_WARNING_SECONDS = env.int("SESSION_WARNING_SECONDS", default=60)
# "My sessions" last-activity is written at most this often per session.
STAFF_SESSION_TOUCH_SECONDS = 60
# django-session-timeout's names for the sliding idle limit.
SESSION_EXPIRE_SECONDS = SESSION_IDLE_SECONDS
SESSION_EXPIRE_AFTER_LAST_ACTIVITY = True
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_SECONDS
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"

# --- HTTP security -----------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"
_https = env.bool("HTTPS", default=PRODUCTION)
SECURE_SSL_REDIRECT = _https
SESSION_COOKIE_SECURE = _https
CSRF_COOKIE_SECURE = _https
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if _https else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = _https
SECURE_HSTS_PRELOAD = _https
if env.bool("BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'none'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    }
}

# --- keys --------------------------------------------------------------------------------------
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])
BLIND_INDEX_KEY = env.str("BLIND_INDEX_KEY", default="")
PSEUDONYM_KEY = env.str("PSEUDONYM_KEY", default="")
if PRODUCTION:
    for _name in ("FIELD_ENCRYPTION_KEYS", "BLIND_INDEX_KEY", "PSEUDONYM_KEY"):
        _required(_name)

# --- static, i18n ------------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = not PRODUCTION
if not PRODUCTION:
    STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns about a missing root even when unused
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="America/New_York")
USE_I18N = True
USE_TZ = True

CLINIC_NAME = env.str("CLINIC_NAME", default="Clinic")
PRIVACY_CONTACT = env.str("PRIVACY_CONTACT", default="your privacy officer")

# --- logging: PHI never reaches a log line -----------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_phi": {"()": "clinic.log_filters.RedactPHIFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["redact_phi"],
            "formatter": "plain",
        },
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Request bodies and SQL parameters must never be logged.
        "django.db.backends": {"level": "WARNING"},
        "django.request": {"level": "ERROR"},
        # axes logs the typed username of every failure (a mistyped password, say): not here.
        "axes": {"level": "ERROR"},
    },
}
LOGIN_URL_PATH = "/account/sign-in/"

# --- accountability (docs/accountability.md) ---------------------------------------------------
# Break-the-glass grants last this many hours unless ended earlier.
BREAK_GLASS_HOURS = env.int("BREAK_GLASS_HOURS", default=4)
# Opening hours "HH-HH" in TIME_ZONE; chart views outside them are flagged for the privacy officer.
CLINIC_HOURS = env.str("CLINIC_HOURS", default="07-19")
# Distinct patients outside a clinician's care team viewed in 7 days before a flag is raised.
PRIVACY_FLAG_OUTSIDE_CARE_TEAM = env.int("PRIVACY_FLAG_OUTSIDE_CARE_TEAM", default=10)
