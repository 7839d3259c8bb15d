"""The one refusal path: who may reach a view, and how a refusal is answered and logged.

Every refusal is a 403 (a role that may not do this) or a 404 (nothing the user may see by
that id), and every one is queued for the access log with the ids the app resolved (patient,
record, grant) and a reason, never request text. The event is written after the request's
work is rolled back (clinic/db_context.py). The database refuses the same things again.

- `group_required(*groups)`: decorator for views only some groups may open.
- `require_group(request, groups, ...)`: the same check inside a view or fetch helper, when the
  patient's id is known and should be tied to the event.
- `refuse(...)` / `not_found(...)`: the exception to raise for any other refusal.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse

from clinic import access_log
from clinic.staff import staff_group

REASON_ROLE = "role"
REASON_NOT_FOUND = "not found"


def refuse(
    request: HttpRequest, *, patient_id: Any = None, object_id: Any = "", reason: str = REASON_ROLE
) -> PermissionDenied:
    """Log a refused access and return the 403 to raise."""
    access_log.record_refusal(request, patient_id=patient_id, object_id=object_id, reason=reason)
    return PermissionDenied()


def not_found(
    request: HttpRequest,
    *,
    patient_id: Any = None,
    object_id: Any = "",
    reason: str = REASON_NOT_FOUND,
) -> Http404:
    """Log a refused access and return the 404 to raise (nothing by that id for this user)."""
    access_log.record_refusal(request, patient_id=patient_id, object_id=object_id, reason=reason)
    return Http404()


def require_group(
    request: HttpRequest, groups: Collection[str], *, patient_id: Any = None, object_id: Any = ""
) -> None:
    """403 (logged) unless the signed-in user is in one of `groups`."""
    if staff_group(request.user) not in groups:
        raise refuse(request, patient_id=patient_id, object_id=object_id)


def group_required(
    *groups: str, owner: tuple[str, str] | None = None
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Signed in (else the sign-in page) and in one of `groups` (else 403, logged with the
    patient of the URL when it names one). `owner=(name, kwarg)`: the URL names a row by id
    (e.g. ("appointment", "appointment_id")); a refusal is logged with that row's patient,
    learnt through `clinic_refused_<name>_patient` (clinic/refused_patient.py)."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @login_required
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if staff_group(request.user) not in groups:
                patient_id = kwargs.get("patient_id")
                object_id = ""
                if owner is not None:
                    from clinic.refused_patient import refused_patient_id

                    object_id = kwargs.get(owner[1], "")
                    patient_id = refused_patient_id(owner[0], object_id)
                raise refuse(request, patient_id=patient_id, object_id=object_id)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
