"""BENCHMARK-ONLY settings for the bare anchor (issue #23): what a plain Django project serves
on the same machine in the same run, so every page's throughput can be read as a ratio to it.

Django's `startproject` middleware and context processors, the owner connection (no role
switch, no per-request transaction), one URL (benchmarks/bare_urls.py). The clinic's apps stay
installed (the models import), but none of its middleware, templates or views is on the path.
"""

from pathlib import Path

from clinic.settings import *  # noqa: F403
from clinic.settings import DATABASES, WEB_PREPARE_THRESHOLD

ROOT_URLCONF = "benchmarks.bare_urls"
# The pages read through the owner login here, with the web connections' kept plans
# (clinic/settings.py WEB_PREPARE_THRESHOLD), so the comparison is not of driver settings.
_OWNER = {
    **DATABASES["owner"],
    "OPTIONS": {**DATABASES["owner"]["OPTIONS"], "prepare_threshold": WEB_PREPARE_THRESHOLD},
}
DATABASES = {**DATABASES, "default": _OWNER, "owner": {**_OWNER}}
# As `django-admin startproject` writes them.
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [Path(__file__).resolve().parent / "templates"],
        "APP_DIRS": False,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]
