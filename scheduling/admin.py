"""The administrator sets appointment types, working hours and exceptions (no PHI: appointments
themselves are not in the admin)."""

from __future__ import annotations

from django.contrib import admin

from scheduling.models import AppointmentType, ScheduleException, WorkingHours


@admin.register(AppointmentType)
class AppointmentTypeAdmin(admin.ModelAdmin):
    list_display = ["name", "default_minutes", "active"]
    list_filter = ["active"]


@admin.register(WorkingHours)
class WorkingHoursAdmin(admin.ModelAdmin):
    list_display = ["clinician", "weekday", "starts_at", "ends_at", "valid_from", "valid_until"]
    list_filter = ["weekday"]
    raw_id_fields = ["clinician"]


@admin.register(ScheduleException)
class ScheduleExceptionAdmin(admin.ModelAdmin):
    list_display = ["clinician", "kind", "starts_at", "ends_at"]
    list_filter = ["kind"]
    raw_id_fields = ["clinician"]
    # The note is free text: shown on the change page only, never in lists or search.
    fields = ["clinician", "kind", "starts_at", "ends_at", "note"]
