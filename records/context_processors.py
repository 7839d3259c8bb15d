"""The break-the-glass banner: a clinician's active grants, on every page while they last."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from clinic import roles
from clinic.db_context import BANNER_GRANTS
from clinic.staff import staff_group


def break_glass(request: HttpRequest) -> dict[str, object]:
    if staff_group(getattr(request, "user", None)) != roles.CLINICIAN:
        return {}
    user = request.user

    def grants() -> list:
        from records.break_glass import banner_grants, banner_grants_from

        # Read by the request's role switch (records/db_banner.py); asked here otherwise.
        read = getattr(request, BANNER_GRANTS, None)
        return banner_grants(user) if read is None else banner_grants_from(read)

    # Evaluated only by pages that render the banner (not by JSON or redirects).
    return {"break_glass_grants": SimpleLazyObject(grants)}
