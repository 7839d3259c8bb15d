"""BENCHMARK-ONLY. The scheduling pages with the security layers off (issue 17's comparison):
the day view (a page of clinicians, or all of them on one page), the booking page's free-slot
search and the booking itself, run
with the owner as the default connection (scheduling_bench.owner_as_default, as
benchmarks/baseline_settings.py does for gunicorn): no role switch, no row-level-security
filtering (the owner's policy is USING (true)), no write-check trigger (the owner is excepted),
no access-log event, patients' names from the plaintext `bench_plain_patients` (no decryption).
The exclusion constraints still check every booking, and the visit reason is still encrypted
on the way in (the column accepts only ciphertext). Same forms, same free-time and slot code,
same templates. Never imported by the application.
"""

from __future__ import annotations

import datetime
import uuid

from django.contrib.auth.decorators import login_required
from django.db import connections
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from benchmarks.baseline_views import ALIAS, COLUMNS, PlainPatient, _patients
from scheduling.day_pages import clinicians_of_day, page_of
from scheduling.day_rows import day_columns
from scheduling.forms import BookingForm, DayForm, SlotSearchForm
from scheduling.free_time import calendar_columns
from scheduling.models import Appointment
from scheduling.placing import day_url
from scheduling.services import _queue_for_time
from scheduling.slots import day_bounds


def _plain(ids: set) -> dict[uuid.UUID, PlainPatient]:
    with connections[ALIAS].cursor() as cursor:
        cursor.execute(
            f"SELECT {COLUMNS} FROM bench_plain_patients WHERE patient_id = ANY(%s)",  # noqa: S608
            [list(ids)],
        )
        return {row[0]: PlainPatient(*row) for row in cursor.fetchall()}


@login_required
def day(request: HttpRequest) -> HttpResponse:
    """The front desk's page of clinicians, read as the secure view reads it."""
    form = DayForm(request.GET or None)
    chosen = form.day()
    start, end = day_bounds(chosen)
    page = page_of(clinicians_of_day(chosen), form.page_number())
    appointments = list(
        Appointment.objects.select_related("appointment_type")  # as the secure page
        .defer("visit_reason")
        .filter(clinician_id__in=[c.pk for c in page])
        .between(start, end)
        .order_by("starts_at")
    )
    plain = _plain({appointment.patient_id for appointment in appointments})
    for appointment in appointments:
        appointment._state.fields_cache["patient"] = plain[appointment.patient_id]
    return render(
        request,
        "scheduling/day.html",
        {
            "day": chosen,
            "previous_day": chosen - datetime.timedelta(days=1),
            "next_day": chosen + datetime.timedelta(days=1),
            "paged": True,
            "page": page,
            "everyone": page.paginator.object_list,
            "columns": day_columns(
                calendar_columns(appointments, chosen, clinicians=list(page)),
                steps=[("arrived", "Arrived"), ("no_show", "No-show")],
                may_cancel=True,
                shows_reason=False,
            ),
            "may_cancel": True,
            "shows_reason": False,
        },
    )


@login_required
def book(request: HttpRequest, patient_id: uuid.UUID) -> HttpResponse:
    [patient] = _patients("patient_id = %s", [patient_id])
    search = SlotSearchForm(request.POST if request.method == "POST" else request.GET or None)
    now = timezone.now()
    slots = search.slots(patient_id=patient_id, now=now) if search.is_valid() else []
    form = BookingForm(request.POST if request.method == "POST" else None, slots=slots)
    if request.method == "POST" and search.is_valid() and form.is_valid():
        data = search.cleaned_data
        starts_at = form.cleaned_data["starts_at"]
        minutes = data["appointment_type"].default_minutes
        _queue_for_time(data["clinician"].pk, patient_id)
        appointment = Appointment.objects.create(
            patient_id=patient_id,
            clinician=data["clinician"],
            appointment_type=data["appointment_type"],
            starts_at=starts_at,
            ends_at=starts_at + datetime.timedelta(minutes=minutes),
            visit_reason=form.cleaned_data["visit_reason"],
            booked_by_id=request.user.pk,
        )
        return redirect(day_url(timezone.localtime(appointment.starts_at).date()))
    return render(
        request,
        "scheduling/book.html",
        {"patient": patient, "search": search, "form": form, "searched": search.is_bound,
         "refusal": "", "calendar_day": None},
    )  # fmt: skip
