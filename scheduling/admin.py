"""The administrator sets appointment types, working hours and exceptions (no PHI: appointments
themselves are not in the admin)."""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from scheduling.models import AppointmentType, ScheduleException, WorkingHours
from scheduling.needs_new_time import administrator_count, administrator_message

HOURS_FIELDS = ("clinician", "weekday", "starts_at", "ends_at")
HISTORY_REFUSED = "working hours in force before today (they are ended, never deleted)"


class TellsBookingsLeftOutside(admin.ModelAdmin):
    """After hours or an exception are saved or deleted (one, or several from the list): how
    many of each clinician's booked appointments now need a new time (a count only,
    scheduling/needs_new_time.py). A row moved to another clinician changes both schedules:
    both are counted."""

    def tell(self, request: HttpRequest, *clinician_ids: int | None) -> None:
        distinct = sorted({int(pk) for pk in clinician_ids if pk is not None})
        names = dict(
            get_user_model().objects.filter(pk__in=distinct).values_list("pk", "username")
            if len(distinct) > 1
            else []
        )
        for clinician_id in distinct:
            count = administrator_count(clinician_id)
            level = messages.WARNING if count else messages.INFO
            who = f"clinician {names[clinician_id]}" if clinician_id in names else None
            self.message_user(request, administrator_message(count, who=who), level)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        self.tell(request, obj.clinician_id, _clinician_before(form, change))

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        super().delete_model(request, obj)
        self.tell(request, obj.clinician_id)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        clinicians = list(queryset.values_list("clinician_id", flat=True).distinct())
        super().delete_queryset(request, queryset)
        self.tell(request, *clinicians)


def _clinician_before(form: Any, change: bool) -> int | None:
    """The clinician the row named before this change (None when added or unchanged)."""
    if not change or "clinician" not in form.changed_data:
        return None
    before = form.initial.get("clinician")
    return getattr(before, "pk", before)


@admin.register(AppointmentType)
class AppointmentTypeAdmin(admin.ModelAdmin):
    list_display = ["name", "default_minutes", "active"]
    list_filter = ["active"]


def in_force_before_today(hours: WorkingHours) -> bool:
    """History: the past's availability and bookings read it (scheduling/db_hours.py)."""
    return hours.pk is not None and (
        hours.valid_from is None or hours.valid_from < timezone.localdate()
    )


class WorkingHoursForm(forms.ModelForm):
    """New hours start today or later. Hours already in force before today keep their past:
    changing their days or times takes an "Apply from" day (today or later), and the save ends
    the old row the day before and adds the new hours from that day (the database refuses
    anything else, scheduling/db_hours.py)."""

    apply_from = forms.DateField(
        required=False,
        label="Apply from",
        help_text=(
            "For hours already in force: the first day the changed hours apply (today or "
            "later). The days before keep the old hours."
        ),
    )

    class Meta:
        model = WorkingHours
        fields = [*HOURS_FIELDS, "valid_from", "valid_until", "apply_from"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        today = timezone.localdate()
        apply_from = cleaned.get("apply_from")
        if apply_from is not None and apply_from < today:
            self.add_error("apply_from", "Choose today or a later day: the past keeps its hours.")
        if not in_force_before_today(self.instance):
            if apply_from is not None:
                self.add_error(
                    "apply_from", "These hours are not in force yet: change them directly."
                )
            valid_from = cleaned.get("valid_from") or today
            if valid_from < today:
                self.add_error("valid_from", "New hours start today or later.")
            cleaned["valid_from"] = valid_from
            self.instance.valid_from = valid_from
            return cleaned
        changed = [name for name in HOURS_FIELDS if name in self.changed_data]
        if "valid_from" in self.changed_data:
            self.add_error("valid_from", "Hours already in force keep their first day.")
        if changed and apply_from is None:
            self.add_error(
                "apply_from", "These hours are already in force: say from which day they change."
            )
        until = cleaned.get("valid_until")
        if "valid_until" in self.changed_data and not changed:
            if until is None or until < today - datetime.timedelta(days=1):
                self.add_error("valid_until", "Hours in force end yesterday at the earliest.")
        return cleaned


@admin.register(WorkingHours)
class WorkingHoursAdmin(TellsBookingsLeftOutside):
    form = WorkingHoursForm
    list_display = ["clinician", "weekday", "starts_at", "ends_at", "valid_from", "valid_until"]
    list_filter = ["weekday"]
    raw_id_fields = ["clinician"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and in_force_before_today(obj):
            return False  # ended, never deleted
        return super().has_delete_permission(request, obj)

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> Any:
        """ "Delete selected" from the list: hours in force before today are refused on the
        confirmation page (Django lists them as not permitted), not by the database's error."""
        deleted, counts, not_permitted, protected = super().get_deleted_objects(objs, request)
        if any(in_force_before_today(hours) for hours in objs):
            not_permitted = {*not_permitted, HISTORY_REFUSED}
        return deleted, counts, not_permitted, protected

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        apply_from = form.cleaned_data.get("apply_from")
        changed = [name for name in HOURS_FIELDS if name in form.changed_data]
        if not (change and changed and apply_from is not None):
            super().save_model(request, obj, form, change)
            return
        self._apply_from(obj, apply_from)
        self.tell(request, obj.clinician_id, _clinician_before(form, change))

    def _apply_from(self, obj: Any, apply_from: datetime.date) -> None:
        with transaction.atomic():
            # The old row ends the day before (or earlier, if it already did); the changed hours
            # are a new row from that day.
            old = WorkingHours.objects.select_for_update().get(pk=obj.pk)
            ends = apply_from - datetime.timedelta(days=1)
            if old.valid_until is None or old.valid_until > ends:
                WorkingHours.objects.filter(pk=obj.pk).update(valid_until=ends)
            until = obj.valid_until
            obj.pk = None
            obj.valid_from = apply_from
            obj.valid_until = until if until is None or until >= apply_from else None
            obj.save(force_insert=True)


@admin.register(ScheduleException)
class ScheduleExceptionAdmin(TellsBookingsLeftOutside):
    list_display = ["clinician", "kind", "starts_at", "ends_at"]
    list_filter = ["kind"]
    raw_id_fields = ["clinician"]
    # The note is free text: shown on the change page only, never in lists or search.
    fields = ["clinician", "kind", "starts_at", "ends_at", "note"]
