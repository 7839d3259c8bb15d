"""`manage.py runserver` without persistent database connections.

Django's development server runs every request in a new thread, and each thread opens its own
database connection. With CONN_MAX_AGE > 0 a finished thread's connection is never reused and
stays open, so a few hundred clicks fill PostgreSQL's connection slots ("remaining connection
slots are reserved") and every page fails. Here each request closes its connection when it ends
(CONN_MAX_AGE = 0 for every alias, whatever the environment says). gunicorn keeps its threads,
so production keeps persistent connections (settings.DB_CONN_MAX_AGE).

This app is listed before whitenoise.runserver_nostatic in INSTALLED_APPS so that this command
wins; it subclasses whitenoise's, which leaves static files to WhiteNoise as in production.
"""

from __future__ import annotations

from typing import Any

from django.db import connections
from whitenoise.runserver_nostatic.management.commands.runserver import (
    Command as WhiteNoiseRunserver,
)


def close_connections_per_request() -> None:
    for alias in connections:
        connections.settings[alias]["CONN_MAX_AGE"] = 0


class Command(WhiteNoiseRunserver):
    help = WhiteNoiseRunserver.help + " Database connections close at the end of each request."

    def inner_run(self, *args: Any, **options: Any) -> None:
        close_connections_per_request()
        super().inner_run(*args, **options)
