"""Settings fail loudly in production and pass Django's deployment checks."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent

PRODUCTION_ENV = {
    "CLINIC_ENV": "production",
    "SECRET_KEY": secrets.token_urlsafe(64),
    "ALLOWED_HOSTS": "clinic.example.org",
    "DATABASE_URL": "postgres://clinic_web:pw@db.example.org:5432/clinic",
    "DATABASE_OWNER_URL": "postgres://clinic_owner:pw@db.example.org:5432/clinic",
    "DB_SSLROOTCERT": "/etc/ssl/certs/db-ca.pem",
    "FIELD_ENCRYPTION_KEYS": "k1:" + "A" * 43 + "=",
    "BLIND_INDEX_KEY": "B" * 43 + "=",
    "PSEUDONYM_KEY": "C" * 43 + "=",
    "STAFF_TOKEN_KEY": "D" * 43 + "=",
}


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG"}}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_settings_pass_check_deploy():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_fails_loudly_without_a_secret():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "FIELD_ENCRYPTION_KEYS"}
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEYS" in result.stderr


def test_production_refuses_debug():
    result = manage("check", env={**PRODUCTION_ENV, "DEBUG": "true"})
    assert result.returncode != 0
    assert "DEBUG must be off" in result.stderr


def test_production_database_is_verified_tls_with_server_side_binding():
    code = (
        "import django,json;django.setup();from django.conf import settings as s;"
        "print(json.dumps({a: s.DATABASES[a]['OPTIONS'] for a in s.DATABASES}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={
            "PATH": os.environ["PATH"],
            "DJANGO_SETTINGS_MODULE": "clinic.settings",
            **PRODUCTION_ENV,
        },
    )
    assert result.returncode == 0, result.stderr
    for options in __import__("json").loads(result.stdout).values():
        assert options["server_side_binding"] is True
        assert options["sslmode"] == "verify-full"


def test_development_database_uses_the_embedded_cluster_over_verified_tls():
    for alias in ("default", "owner"):
        options = settings.DATABASES[alias]["OPTIONS"]
        assert options["server_side_binding"] is True
        assert options["sslmode"] == "verify-full"
    assert settings.DATABASES["default"]["USER"] == "clinic_web"
    assert settings.DATABASES["owner"]["USER"] == "clinic_owner"


@pytest.mark.real_password_hasher  # the list as configured, not the suite's (tests/hashers.py)
def test_passwords_hash_with_encrypted_argon2_and_need_twelve_characters():
    assert settings.PASSWORD_HASHERS[:2] == [
        "accounts.passwords.EncryptedArgon2PasswordHasher",
        "accounts.hashers.ClinicArgon2PasswordHasher",
    ]
    lengths = [v.get("OPTIONS", {}).get("min_length") for v in settings.AUTH_PASSWORD_VALIDATORS]
    assert 12 in lengths


def test_clinic_hours_are_checked_at_start_up():
    for bad in ("19-07", "7-25", "seven-19", "0719"):
        result = manage("check", env={**PRODUCTION_ENV, "CLINIC_HOURS": bad})
        assert result.returncode != 0, bad
        assert "CLINIC_HOURS must be" in result.stderr
    assert manage("check", env={**PRODUCTION_ENV, "CLINIC_HOURS": "00-24"}).returncode == 0


def test_development_settings_only_read_their_secrets(tmp_path):
    """Importing the settings writes nothing: without the secrets `make db` generates, they
    stop with a hint instead of creating keys behind the developer's back."""
    empty = tmp_path / "local"
    empty.mkdir()
    result = manage("check", env={"CLINIC_LOCAL_DIR": str(empty)})
    assert result.returncode != 0
    assert "make db" in result.stderr
    assert list(empty.iterdir()) == []


HTTPS_PROBE = """
import json, django
django.setup()
from django.conf import settings as s
from django.http import HttpResponse
from django.middleware.security import SecurityMiddleware
from django.test import RequestFactory

middleware = SecurityMiddleware(lambda request: HttpResponse("ok"))
plain = middleware(RequestFactory().get("/account/sign-in/", HTTP_HOST="clinic.example.org"))
secure = middleware(
    RequestFactory().get("/account/sign-in/", HTTP_HOST="clinic.example.org", secure=True)
)
print(json.dumps({
    "settings": {name: getattr(s, name) for name in (
        "SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE",
        "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD")},
    "middleware": s.MIDDLEWARE[:2],
    "plain": [plain.status_code, plain.get("Location", "")],
    "hsts": secure.get("Strict-Transport-Security", ""),
}))
"""


def test_production_settings_redirect_to_https_and_send_hsts():
    """The production settings themselves (loaded fresh in a subprocess from the production
    environment, as a deployment would), not a test's override: plain HTTP is redirected to
    HTTPS, HTTPS responses carry a year of HSTS, cookies are Secure-only."""
    result = subprocess.run(
        [sys.executable, "-c", HTTPS_PROBE],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={
            "PATH": os.environ["PATH"],
            "DJANGO_SETTINGS_MODULE": "clinic.settings",
            **PRODUCTION_ENV,
        },
    )
    assert result.returncode == 0, result.stderr
    probe = __import__("json").loads(result.stdout)
    assert probe["settings"] == {
        "SECURE_SSL_REDIRECT": True,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": True,
    }
    # First to answer: only the route logger (clinic/request_log.py), which answers nothing,
    # runs before it.
    assert probe["middleware"] == [
        "clinic.request_log.RouteMiddleware",
        "django.middleware.security.SecurityMiddleware",
    ]
    assert probe["plain"] == [301, "https://clinic.example.org/account/sign-in/"]
    assert probe["hsts"] == "max-age=31536000; includeSubDomains; preload"
