"""Key rotation still works on signed notes and addenda: the owner's re-encryption is the one
change the database lets through (records/db_signing.py), and it changes only the ciphertext.

Keys are generated per test run (tests/test_rotate_field_keys.py); all data is fake."""

from __future__ import annotations

import pytest
from django.db import connections

from records.models import ClinicalRecord, VisitAddendum
from tests.factories import CareTeamMemberFactory, ClinicalRecordFactory, VisitAddendumFactory
from tests.test_rotate_field_keys import BOTH, NEW_ONLY, OLD_ONLY, rotate
from tests.test_rotate_field_keys import staff as staff  # noqa: F401 (passwords on the old key)

pytestmark = pytest.mark.usefixtures("clinic_db")

NOTE = "Fake signed note for a rotation test."
ADDENDUM = "Fake addendum for a rotation test."


def raw(table: str, column: str, pk_column: str) -> dict:
    with connections["owner"].cursor() as cursor:
        cursor.execute(f'SELECT "{pk_column}", "{column}" FROM "{table}"')  # noqa: S608
        return dict(cursor.fetchall())


def signatures() -> list[tuple]:
    return list(
        ClinicalRecord.objects.using("owner")
        .order_by("record_id")
        .values_list("record_id", "signed_at", "signed_by_id", "version", "updated_at")
    ) + list(
        VisitAddendum.objects.using("owner")
        .order_by("addendum_id")
        .values_list("addendum_id", "record_id", "author_id", "created_at")
    )


def test_rotation_re_encrypts_signed_notes_and_addenda_and_nothing_else(staff):
    with OLD_ONLY:
        signed = ClinicalRecordFactory(provider=staff["clinician"], notes=NOTE, signed=True)
        CareTeamMemberFactory(staff=staff["clinician"], patient=signed.patient)
        VisitAddendumFactory(record=signed, text=ADDENDUM)
        VisitAddendumFactory(record=signed, author=staff["clinician2"], text=ADDENDUM)
        ClinicalRecordFactory(provider=staff["clinician"], notes=NOTE)  # unsigned
    before = signatures()
    notes_before = raw("clinical_records", "notes", "record_id")
    assert {value.split(":")[1] for value in notes_before.values()} == {"old"}

    with BOTH:
        output = rotate(batch_size=1)

    assert "clinical_records (notes): 2 row(s) on an old key" in output
    assert "visit_addenda (text): 2 row(s) on an old key" in output
    notes_after = raw("clinical_records", "notes", "record_id")
    texts_after = raw("visit_addenda", "text", "addendum_id")
    assert {value.split(":")[1] for value in notes_after.values()} == {"new"}
    assert {value.split(":")[1] for value in texts_after.values()} == {"new"}
    assert notes_after != notes_before
    # The signatures, versions and times are exactly as they were.
    assert signatures() == before
    with NEW_ONLY:
        assert {r.notes for r in ClinicalRecord.objects.using("owner")} == {NOTE}
        assert {a.text for a in VisitAddendum.objects.using("owner")} == {ADDENDUM}
