"""Helpers shared by the accountability tests: what a role sees, and the access log as stored.

Their patients, records and grants come from tests.factories.
"""

from __future__ import annotations

import re

from django.db import connections, transaction

from clinic import access_log
from clinic.db_context import apply_context
from clinic.models import AccessEvent
from clinic.staff_identity import set_token


def records_visible_as(role: str, staff_id: int, patient_id) -> int:
    """Count clinical_records rows for a patient through the web connection under `role`."""
    with transaction.atomic(using="default"):
        apply_context(role, staff_id)
        with connections["default"].cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM clinical_records WHERE patient_id = %s", [str(patient_id)]
            )
            return int(cursor.fetchone()[0])


def append(staff_id, action, patient_id=None, role="clinic_clinician"):
    """An event by `staff_id` acting as `role`, named to the database as a request would."""
    with transaction.atomic(using="owner"), connections["owner"].cursor() as cursor:
        set_token("owner", staff_id, role)
        cursor.execute(
            access_log.APPEND_SQL,
            [action, str(patient_id) if patient_id else None, "", None, "ok", ""],
        )


def events(action: str | None = None, **filters) -> list[AccessEvent]:
    """Access-log events in the order they were written, of one action if given."""
    if action:
        filters["action"] = action
    return list(AccessEvent.objects.using("owner").filter(**filters).order_by("id"))


def actions() -> list[str]:
    return list(AccessEvent.objects.using("owner").order_by("id").values_list("action", flat=True))


_CSRF_TOKEN = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]*"')


def without_tokens(content: bytes) -> bytes:
    """A page without its CSRF tokens: 64 random letters and digits each, which hold a short
    code such as "I10" by chance about once in a thousand pages (a test that checked the code
    was not shown failed that way once in CI)."""
    return _CSRF_TOKEN.sub(b'name="csrfmiddlewaretoken" value=""', content)
