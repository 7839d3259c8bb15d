"""Home per role, health check, and error pages that reveal nothing."""

from __future__ import annotations

import sys
from collections.abc import Callable

from django.contrib.auth.decorators import login_required
from django.db import InterfaceError, OperationalError, connections
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseRedirectBase
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.module_loading import import_string
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from clinic import roles
from clinic.staff import staff_group

RETRY_AFTER_SECONDS = 30

HOME_TEMPLATES = {
    roles.FRONT_DESK: "clinic/home/front_desk.html",
    roles.CLINICIAN: "clinic/home/clinician.html",
    roles.ANALYST: "clinic/home/analyst.html",
    roles.PRIVACY_OFFICER: "clinic/home/privacy_officer.html",
    roles.ADMINISTRATOR: "clinic/home/administrator.html",
}

# Homes that are an app's own view (it reads the app's data and writes its access-log events).
HOME_VIEWS = {roles.CLINICIAN: "scheduling.flow_views.my_day"}


# What each role's home page shows, built by the app it comes from (dotted paths, imported
# when used): a function of the request returning the template's context.
HOME_CONTEXTS = {
    roles.FRONT_DESK: "scheduling.today.front_desk_today",
    roles.ANALYST: "analytics.key_figures.analyst_key_figures",
    roles.PRIVACY_OFFICER: "rights.home.privacy_officer_home",
    roles.ADMINISTRATOR: "accounts.staff_overview.administrator_overview",
}


@login_required
def home(request: HttpRequest) -> HttpResponse:
    group = staff_group(request.user) or ""
    if group in HOME_VIEWS:
        return import_string(HOME_VIEWS[group])(request)  # type: ignore[no-any-return]
    template = HOME_TEMPLATES.get(group, "clinic/home/no_group.html")
    builder = HOME_CONTEXTS.get(group)
    return render(request, template, import_string(builder)(request) if builder else {})


@require_GET
@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness and database reachability; says nothing else."""
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
        return JsonResponse({"status": "ok"})
    except Exception:  # the reason stays out of the response
        return JsonResponse({"status": "unavailable"}, status=503)


class PermanentRedirect(HttpResponseRedirectBase):
    # Django's own answers 301, after which browsers turn a POST (sign-out) into a GET.
    status_code = 308


def favicon(request: HttpRequest) -> HttpResponse:
    return PermanentRedirect(static("img/favicon.svg"))


def moved_to(pattern_name: str) -> Callable[[HttpRequest], HttpResponse]:
    """A view that sends an earlier address to its new one, keeping the method (308) and the
    query string (e.g. ?next=, a path the app produced itself)."""

    def moved(request: HttpRequest) -> HttpResponse:
        target = reverse(pattern_name)
        query = request.META.get("QUERY_STRING", "")
        return PermanentRedirect(f"{target}?{query}" if query else target)

    moved.__name__ = f"moved_to_{pattern_name.replace(':', '_').replace('-', '_')}"
    return moved


def forbidden(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "403.html", status=403)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "404.html", status=404)


def database_unavailable(error: BaseException | None) -> bool:
    """Whether `error` (or what caused it) is the database not answering: refused or dropped
    connections, full connection slots, a shutdown, a cancelled statement. Not a refused
    statement (a permission, a constraint): that is a bug or an attack, and stays a 500."""
    seen = 0
    while error is not None and seen < 10:
        if isinstance(error, OperationalError | InterfaceError):
            return True
        error = error.__cause__ or error.__context__
        seen += 1
    return False


def server_error(request: HttpRequest) -> HttpResponse:
    # No context processors: the request may be half-broken, and nothing may be echoed.
    from django.template import loader

    # Django calls this inside its handler of the request's exception.
    if database_unavailable(sys.exc_info()[1]):
        response = HttpResponse(loader.get_template("503.html").render(), status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    return HttpResponse(loader.get_template("500.html").render(), status=500)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "400.html", status=400)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: the product's own page (Django's mentions DEBUG and its inline styles
    are blocked by the CSP). The reason is not shown: it describes the request's headers."""
    return render(request, "csrf_failure.html", status=403)
