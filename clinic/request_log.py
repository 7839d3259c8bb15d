"""Request logs that carry no PHI by construction (issue 16, item 2).

A URL is text a person may have typed (a name in a path, a search word in a query string), so no
server log line carries one. Each request is logged by what the application resolved instead:

    GET patients:summary 200 12ms

`RouteMiddleware` (first in MIDDLEWARE) notes the resolved route name (`namespace:url_name`, a
constant of clinic/urls.py) and the time taken:

- in the WSGI environ as `clinic.route` and `clinic.ms`, which gunicorn's access_log_format
  prints (`%({clinic.route}e)s`, gunicorn.conf.py) instead of `%(r)s`, `%(U)s` or `%(q)s`;
- for the development server, in a thread-local that `ServerLogFilter` reads: the filter is on
  the `django.server` logger and rebuilds every record from the method, the route, the status
  and the time, dropping the request line. A record it cannot account for (a malformed request
  that never reached Django, a TLS handshake) becomes "request refused <status>".

`RequestLogFilter` does the same for `django.request`: a 500's "Internal Server Error: <path>"
becomes "Internal Server Error: <route> (500)".
A path that matches no route is logged as `unknown`, a static file as `static`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from http import HTTPStatus

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve

UNKNOWN = "unknown"
ROUTE_KEY = "clinic.route"
MS_KEY = "clinic.ms"
DONE = "_clinic_route_logged"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

_last = threading.local()


def route_name(request: HttpRequest) -> str:
    """The resolved route's name, never the path."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        static = settings.STATIC_URL or "/static/"
        if request.path_info.startswith(static if static.startswith("/") else f"/{static}"):
            return "static"
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return UNKNOWN
        except Exception:  # a path Django cannot even parse: nothing of it is logged
            return UNKNOWN
    return match.view_name or UNKNOWN


def method_of(request_method: str) -> str:
    return request_method if request_method in METHODS else "OTHER"


class RouteMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.monotonic()
        response = self.get_response(request)
        elapsed = round((time.monotonic() - started) * 1000)
        route = route_name(request)
        request.META[ROUTE_KEY] = route
        request.META[MS_KEY] = str(elapsed)
        _last.route, _last.ms = route, elapsed
        return response


def _take_last() -> tuple[str, int | None]:
    route, elapsed = getattr(_last, "route", None), getattr(_last, "ms", None)
    _last.route = _last.ms = None
    return route or UNKNOWN, elapsed


class ServerLogFilter(logging.Filter):
    """For `django.server` (runserver): method, route, status and time; never the request line."""

    def filter(self, record: logging.LogRecord) -> bool:
        # Configuring logging twice (django.setup() in a server and its command) adds a logger's
        # filters twice: a record is rebuilt once.
        if getattr(record, DONE, False):
            return True
        setattr(record, DONE, True)
        status = getattr(record, "status_code", None)
        args = record.args if isinstance(record.args, tuple) else ()
        first = str(args[0]) if args else ""
        method = method_of(first.split(" ", 1)[0]) if first else ""
        route, elapsed = _take_last()
        if status is None or not method or route == UNKNOWN and elapsed is None:
            record.msg = f"request refused {status or '-'}"
        else:
            took = f" {elapsed}ms" if elapsed is not None else ""
            record.msg = f"{method} {route} {status}{took}"
        record.args = ()
        if hasattr(record, "request"):
            record.request = None  # the socket; nothing of the request is kept
        return True


class RequestLogFilter(logging.Filter):
    """For `django.request`: the reason and the route, never the path."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, DONE, False):
            return True
        setattr(record, DONE, True)
        request = getattr(record, "request", None)
        status = getattr(record, "status_code", None)
        route = route_name(request) if isinstance(request, HttpRequest) else UNKNOWN
        try:
            phrase = HTTPStatus(int(status)).phrase if status is not None else "Error"
        except ValueError:
            phrase = "Error"
        # As Django words it ("Internal Server Error: ..."), with the route for the path.
        record.msg = f"{phrase}: {route} ({status or '-'})"
        record.args = ()
        return True
