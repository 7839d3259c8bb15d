"""The one way views fetch a patient (STYLE.md: one helper per model).

Roles that never see identities get 403; an unknown id gets 404; both are logged as refused
access. The database enforces the same rule again (patients/db_grants.py).
"""

from __future__ import annotations

import functools
import uuid

from django.db.models import BooleanField, QuerySet
from django.db.models.expressions import RawSQL
from django.http import HttpRequest

from clinic import roles
from clinic.access import not_found, require_group
from clinic.compiled_sql import CompiledRead
from clinic.staff import staff_group
from patients.models import PatientIdentity
from rights import patient_facts

READERS = frozenset({roles.FRONT_DESK, roles.CLINICIAN})
EDITORS = frozenset({roles.FRONT_DESK})
MAY_SEE = RawSQL(  # noqa: S611 (constant SQL, no input)
    'clinic_clinician_may_see("patient_identities"."patient_id")', (), output_field=BooleanField()
)


def require_patient_role(
    request: HttpRequest, *, write: bool = False, patient_id: uuid.UUID | str | None = None
) -> None:
    """403 (logged) unless the user's role may read (or, with write, edit) patient identities."""
    require_group(request, EDITORS if write else READERS, patient_id=patient_id)


def get_patient_for_user(
    request: HttpRequest,
    patient_id: uuid.UUID | str,
    *,
    write: bool = False,
    fields: tuple[str, ...] | None = None,
    with_may_see: bool = False,
    with_facts: bool = False,
) -> PatientIdentity:
    """The patient, with only `fields` read and decrypted (patients/models.py SHOWN_IN_*); with
    `with_may_see`, also `may_see`: the database's answer to "may the signed-in clinician see
    this patient's records" (records' row-level-security condition), in the same statement;
    with `with_facts`, the page's rights facts too (`read_patient`)."""
    require_patient_role(request, write=write, patient_id=patient_id)
    annotations = {"may_see": MAY_SEE} if with_may_see else {}
    patient = read_patient(request, patient_id, fields, with_facts=with_facts, **annotations)
    if patient is None:
        raise not_found(request, patient_id=patient_id)
    return patient


def read_patient(
    request: HttpRequest,
    patient_id: uuid.UUID | str,
    fields: tuple[str, ...] | None,
    *,
    with_facts: bool = False,
    **annotations: RawSQL,
) -> PatientIdentity | None:
    """The patient's row as the caller may read it (None: no such patient), in one statement
    compiled once per process (clinic/compiled_sql.py): only `fields`, each of `annotations`
    (constant SQL, e.g. the care-team decision) and, `with_facts`, the rights facts the
    caller's group is asked (rights/patient_facts.py `exists_columns`), remembered for the
    request: the patient header's banners then send no statement of their own."""
    try:
        key = uuid.UUID(str(patient_id))
    except ValueError:
        return None
    group = (staff_group(request.user) or "") if with_facts else ""
    read = _patient_read(fields, group, tuple(sorted(annotations.items(), key=lambda a: a[0])))
    found = read(key)
    if not found:
        return None
    if group in patient_facts.ASKED:
        patient_facts.remember(request, key, group, found[0])
    return found[0]


@functools.cache
def _patient_read(
    fields: tuple[str, ...] | None, group: str, annotations: tuple[tuple[str, RawSQL], ...]
) -> CompiledRead[PatientIdentity]:
    """One compiled read per shape (fields, the group's facts, the annotations: a handful)."""

    def build(patient_id: uuid.UUID) -> QuerySet[PatientIdentity]:
        return (
            PatientIdentity.objects.shown(fields)
            .annotate(**dict(annotations), **patient_facts.exists_columns(patient_id, group))
            .filter(pk=patient_id)
        )

    return CompiledRead(build, places=1 + len(patient_facts.ASKED.get(group, ())))
