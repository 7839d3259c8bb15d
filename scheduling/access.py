"""The one way views fetch an appointment (STYLE.md: one helper per model).

Roles that never see appointments get 403; an id the user may not see (another clinician's
appointment, hidden by row-level security) or that does not exist gets 404; both are logged.
The front desk's copy never carries the visit reason (it holds no right on that column).
"""

from __future__ import annotations

import uuid

from django.http import HttpRequest

from clinic import roles
from clinic.access import not_found, refuse
from clinic.refused_patient import refused_patient_id
from clinic.staff import staff_group
from scheduling.models import Appointment

READERS = frozenset({roles.FRONT_DESK, roles.CLINICIAN})
BOOKERS = frozenset({roles.FRONT_DESK})


def appointments_for(request: HttpRequest):  # type: ignore[no-untyped-def]
    """Appointments as the signed-in user's role may read them."""
    queryset = Appointment.objects.select_related("patient", "clinician", "appointment_type")
    if staff_group(request.user) == roles.CLINICIAN:
        return queryset.filter(clinician_id=request.user.pk)
    return queryset.for_front_desk()


def get_appointment_for_user(
    request: HttpRequest, appointment_id: uuid.UUID, *, write: bool = False
) -> Appointment:
    if staff_group(request.user) not in (BOOKERS if write else READERS):
        patient_id = refused_patient_id("appointment", appointment_id)
        raise refuse(request, patient_id=patient_id, object_id=appointment_id)
    try:
        return appointments_for(request).get(pk=appointment_id)
    except Appointment.DoesNotExist:
        # Another clinician's appointment is "not found" too, logged with its patient.
        patient_id = refused_patient_id("appointment", appointment_id)
        raise not_found(request, patient_id=patient_id, object_id=appointment_id) from None
