from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from clinic.staff import staff_group


def clinic(request: HttpRequest) -> dict[str, object]:
    return {
        "clinic_name": settings.CLINIC_NAME,
        "staff_group": staff_group(request.user) if hasattr(request, "user") else None,
        "session_idle_seconds": settings.SESSION_IDLE_SECONDS,
        "session_warning_seconds": settings.SESSION_WARNING_SECONDS,
        "lockout_minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60),
        "privacy_contact": settings.PRIVACY_CONTACT,
    }
