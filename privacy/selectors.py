"""Read-only queries behind the privacy officer's console (access reports and flags)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.paginator import Page, Paginator
from django.db import connection
from django.utils import timezone

from clinic import access_log
from clinic.models import AccessEvent
from privacy import sorting
from records.models import BreakGlassGrant, CareTeamMember
from scheduling.db_grants import PRIVACY_OFFICER_COLUMNS
from scheduling.models import Appointment

# Events that mean "looked at a patient's chart or record".
CHART_ACTIONS = (access_log.CHART_VIEWED, access_log.RECORD_VIEWED)
FLAG_WINDOW_DAYS = 7


def usernames(staff_ids: Iterable[int | None]) -> dict[int, str]:
    ids = {i for i in staff_ids if i is not None}
    users = get_user_model().objects.filter(pk__in=ids).values_list("pk", "username")
    return dict(users)


@dataclass
class PatientAccess:
    event: AccessEvent
    username: str
    basis: str  # why the staff member could see the record: care team, break the glass, ...


def counted_then(appointment: Appointment, event: AccessEvent) -> bool:
    """The appointment put its patient on the clinician's care team when `event` happened:
    booked before, that day (the clinic's), not yet cancelled nor a no-show."""
    at = event.occurred_at
    return (
        appointment.clinician_id == event.staff_id
        and timezone.localdate(appointment.starts_at) == timezone.localdate(at)
        and appointment.created_at <= at
        and not (appointment.cancelled_at and appointment.cancelled_at <= at)
        and not (appointment.no_show_at and appointment.no_show_at <= at)
    )


def access_basis(
    event: AccessEvent,
    grants: list[BreakGlassGrant],
    care_team: list[CareTeamMember],
    appointments: Iterable[Appointment] = (),
) -> str:
    for grant in grants:
        ended = min(grant.expires_at, grant.ended_at or grant.expires_at)
        if grant.staff_id == event.staff_id and grant.starts_at <= event.occurred_at <= ended:
            return f"break the glass: {grant.get_reason_category_display()}"
    day = timezone.localdate(event.occurred_at)
    for member in care_team:
        if (
            member.staff_id == event.staff_id
            and member.starts_on <= day
            and (member.ends_on is None or member.ends_on >= day)
        ):
            return "care team"
    if event.role == "clinic_clinician" and any(counted_then(a, event) for a in appointments):
        return "care team (appointment that day)"
    return event.role.removeprefix("clinic_").replace("_", " ") or "—"


def patient_access_rows(patient_id: uuid.UUID, events: list[AccessEvent]) -> list[PatientAccess]:
    grants = list(BreakGlassGrant.objects.filter(patient_id=patient_id))
    care_team = list(CareTeamMember.objects.filter(patient_id=patient_id))
    appointments = list(
        Appointment.objects.filter(patient_id=patient_id).only(*PRIVACY_OFFICER_COLUMNS)
    )
    names = usernames(e.staff_id for e in events)
    return [
        PatientAccess(
            e, names.get(e.staff_id or 0, "—"), access_basis(e, grants, care_team, appointments)
        )
        for e in events
    ]


def patient_page_query(patient_id: uuid.UUID | str, sort: str, size: int, offset: int = 0):
    """The rows of one page of the patient's access report. The page's ids are chosen by a
    subquery the index access_log_patient_time answers alone, in the report's order (an
    index-only scan that stops after the page); asked for whole rows directly, the planner
    fetched every event of the patient from the table and sorted them, because the role gate's
    filter is estimated to keep almost none (docs/benchmarks.md, the access log at scale)."""
    order = sorting.order_by(sort)
    ids = AccessEvent.objects.filter(patient_id=patient_id).order_by(*order)
    page_ids = ids.values_list("id", flat=True)[offset : offset + size]
    return AccessEvent.objects.filter(id__in=page_ids).order_by(*order)


def patient_events_page(patient_id: uuid.UUID, sort: str, number, size: int) -> Page:
    """One page of the patient's access report, in two statements: the count, then the page."""
    events = AccessEvent.objects.filter(patient_id=patient_id)
    page = Paginator(events.order_by(*sorting.order_by(sort)), size).get_page(number)
    offset = (page.number - 1) * size
    page.object_list = list(patient_page_query(patient_id, sort, size, offset))
    return page


@dataclass
class Flag:
    staff_id: int
    username: str
    events: int
    patients: int


# A chart opened by a clinician with neither a care-team row for that day nor an appointment
# with the patient that day (the clinic's) which counted when it was opened: booked before,
# neither cancelled nor a no-show yet (care team by appointment, scheduling/care_team.py, asks
# the same of the appointment now). The day's bounds are ranges on starts_at, so the probe uses
# the index appointments_clinician_day (clinician_id, starts_at).
OUTSIDE_CARE_TEAM_SQL = """
SELECT e.staff_id, count(*), count(DISTINCT e.patient_id)
FROM access_log e
CROSS JOIN LATERAL (SELECT (e.occurred_at AT TIME ZONE %(zone)s)::date AS day) d
WHERE e.action = ANY(%(actions)s) AND e.occurred_at >= %(since)s AND e.patient_id IS NOT NULL
  AND e.role = 'clinic_clinician'
  AND NOT EXISTS (
      SELECT 1 FROM care_team ct
      WHERE ct.staff_id = e.staff_id AND ct.patient_id = e.patient_id
        AND ct.starts_on <= d.day AND (ct.ends_on IS NULL OR ct.ends_on >= d.day))
  AND NOT EXISTS (
      SELECT 1 FROM appointments ap
      WHERE ap.clinician_id = e.staff_id AND ap.patient_id = e.patient_id
        AND ap.starts_at >= (d.day::timestamp AT TIME ZONE %(zone)s)
        AND ap.starts_at < ((d.day + 1)::timestamp AT TIME ZONE %(zone)s)
        AND ap.created_at <= e.occurred_at
        AND (ap.cancelled_at IS NULL OR ap.cancelled_at > e.occurred_at)
        AND (ap.no_show_at IS NULL OR ap.no_show_at > e.occurred_at))
GROUP BY e.staff_id
HAVING count(DISTINCT e.patient_id) >= %(threshold)s
ORDER BY count(DISTINCT e.patient_id) DESC"""

OUTSIDE_HOURS_SQL = """
SELECT e.staff_id, count(*), count(DISTINCT e.patient_id)
FROM access_log e
WHERE e.action = ANY(%s) AND e.occurred_at >= %s AND e.staff_id IS NOT NULL
  AND NOT (extract(hour FROM e.occurred_at AT TIME ZONE %s) >= %s
           AND extract(hour FROM e.occurred_at AT TIME ZONE %s) < %s)
GROUP BY e.staff_id
ORDER BY count(*) DESC"""


def clinic_hours() -> tuple[int, int]:
    opens, _, closes = settings.CLINIC_HOURS.partition("-")
    return int(opens), int(closes)


def _flags(query: str, params: list | dict) -> list[Flag]:
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        rows = cursor.fetchall()
    names = usernames(row[0] for row in rows)
    return [Flag(row[0], names.get(row[0], "—"), row[1], row[2]) for row in rows]


def charts_outside_care_team(now: datetime | None = None) -> list[Flag]:
    since = (now or timezone.now()) - timedelta(days=FLAG_WINDOW_DAYS)
    return _flags(
        OUTSIDE_CARE_TEAM_SQL,
        {
            "actions": list(CHART_ACTIONS),
            "since": since,
            "zone": settings.TIME_ZONE,
            "threshold": settings.PRIVACY_FLAG_OUTSIDE_CARE_TEAM,
        },
    )


def views_outside_clinic_hours(now: datetime | None = None) -> list[Flag]:
    since = (now or timezone.now()) - timedelta(days=FLAG_WINDOW_DAYS)
    opens, closes = clinic_hours()
    zone = settings.TIME_ZONE
    actions = [*CHART_ACTIONS, access_log.IDENTIFIER_REVEALED]
    return _flags(OUTSIDE_HOURS_SQL, [actions, since, zone, opens, zone, closes])
