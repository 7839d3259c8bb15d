"""Key rotation of the chart's history: the ciphertext inside `chart_history.row` moves to the
new key with the items, old versions stay readable once the old key is removed, and the
rotation adds no version. The history trigger's maintenance marker counts for the owner's own
re-encryption only, never for a request.

Keys are generated per test run and used nowhere else; all data is fake.
"""

from __future__ import annotations

import base64
import json
import os
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connections, transaction
from django.test import override_settings
from django.urls import reverse

from chart.models import Allergy, ChartHistory
from clinic.encryption import (
    DecryptionError,
    check_encrypted_columns,
    decrypt_value,
    encrypt_value,
    json_columns,
)
from patients.management.commands import rotate_field_keys
from tests.db_helpers import request_cursor
from tests.factories import CareTeamMemberFactory, MedicationFactory, PatientFactory

pytestmark = pytest.mark.usefixtures("clinic_db")
OWNER = "owner"


def new_key(key_id: str) -> str:
    return f"{key_id}:{base64.b64encode(os.urandom(32)).decode()}"


OLD, NEW = new_key("histold"), new_key("histnew")
# The configured keys stay listed while the old one encrypts, so the fixtures' staff (passwords
# under the configured key) rotate too; after the rotation only the new key is left.
CONFIGURED = list(settings.FIELD_ENCRYPTION_KEYS)
OLD_FIRST = override_settings(FIELD_ENCRYPTION_KEYS=[OLD, *CONFIGURED])
BOTH = override_settings(FIELD_ENCRYPTION_KEYS=[NEW, OLD, *CONFIGURED])
NEW_ONLY = override_settings(FIELD_ENCRYPTION_KEYS=[NEW])
ALLERGY_AAD = "chart_allergies.reaction"


def rotate(**options) -> str:
    out = StringIO()
    call_command("rotate_field_keys", stdout=out, **options)
    return out.getvalue()


def history_values() -> list[tuple[int, str, str, str]]:
    """(history id, aad, key id, stored value) of every encrypted value copied into the history,
    read as stored (nothing decrypted)."""
    (column,) = json_columns()
    encrypted = dict(column.keys)
    found = []
    with connections[OWNER].cursor() as cursor:
        cursor.execute("SELECT history_id, item_table, row::text FROM chart_history")
        for history_id, table, text in cursor.fetchall():
            row = json.loads(text)
            for name in encrypted.get(table, ()):
                if row.get(name) is not None:
                    value = row[name]
                    found.append((history_id, f"{table}.{name}", value.split(":")[1], value))
    return found


def history_key_ids() -> set[str]:
    return {key for _id, _aad, key, _value in history_values()}


@pytest.fixture
def charted(staff, client_for):
    """A patient of the clinician, an allergy recorded and changed through the pages and a
    medication recorded and changed by the owner, everything under the old key."""
    with OLD_FIRST:
        patient = PatientFactory()
        CareTeamMemberFactory(staff=staff["clinician"], patient=patient)
        client = client_for(staff["clinician"])
        form = {"substance": "Fakeazole", "reaction": "Fake hives", "severity": "mild"}
        client.post(reverse("chart:allergies", kwargs={"patient_id": patient.pk}), form)
        allergy = Allergy.objects.using(OWNER).get(patient=patient)
        edit = reverse("chart:allergy-edit", kwargs={"allergy_id": allergy.pk})
        form = {**form, "reaction": "Fake wheeze", "severity": "severe", "status": "active"}
        assert client.post(edit, form).status_code == 302
        medication = MedicationFactory(patient=patient, recorded_by=staff["clinician"])
        medication.dose = "2 fake tablets"
        medication.save(using=OWNER)
    return {"client": client, "edit": edit, "allergy": allergy, "patient": patient}


def test_the_history_is_registered_for_rotation():
    (column,) = json_columns()
    assert (column.table, column.pk_column, column.column) == ("chart_history", "history_id", "row")
    assert dict(column.keys) == {
        "chart_allergies": ("substance", "reaction"),
        "chart_medications": ("name", "dose", "frequency"),
        "chart_problems": ("note",),
    }


def test_old_versions_stay_readable_once_the_old_key_is_gone(charted, staff, client_for):
    versions_before = ChartHistory.objects.using(OWNER).count()
    assert versions_before == 4
    assert history_key_ids() == {"histold"}
    with BOTH:
        output = rotate(batch_size=1)
    assert "chart_history (row: copies of chart_allergies, chart_medications, chart_problems)" in (
        output
    )
    assert ": 4 row(s) on an old key" in output
    assert "chart_history: 4/4 rows" in output
    # Every copy is on the new key, and the rotation itself is no new version.
    assert history_key_ids() == {"histnew"}
    assert ChartHistory.objects.using(OWNER).count() == versions_before
    with NEW_ONLY:
        for _id, aad, _key, value in history_values():
            decrypt_value(value, aad)
        # Signed in again: the password hash was re-encrypted, which ends earlier sessions.
        clinician = type(staff["clinician"]).objects.using(OWNER).get(pk=staff["clinician"].pk)
        page = client_for(clinician).get(charted["edit"])
        assert page.status_code == 200
        # The first version's reaction lives only in the history.
        assert "Fake hives" in page.text and "Fake wheeze" in page.text
        assert page.text.count("Changed") == 1


def test_a_rerun_and_a_dry_run_leave_the_history_as_it_is(charted):
    with BOTH:
        assert "4 row(s) on an old key" in rotate(dry_run=True)
        assert history_key_ids() == {"histold"}
        rotate()
        before = history_values()
        output = rotate()
    assert "chart_history (row: copies of" in output and ": 0 row(s) on an old key" in output
    assert history_values() == before


def test_an_interrupted_history_rotation_leaves_every_version_readable_and_resumes(
    charted, monkeypatch
):
    real = rotate_field_keys.reencrypt_copy
    calls = {"n": 0}

    def interrupt_in_second_batch(*args):
        calls["n"] += 1
        if calls["n"] > 1:
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(rotate_field_keys, "reencrypt_copy", interrupt_in_second_batch)
    with BOTH, pytest.raises(KeyboardInterrupt):
        rotate(batch_size=1)
    per_row: dict[int, set[str]] = {}
    for history_id, _aad, key, _value in history_values():
        per_row.setdefault(history_id, set()).add(key)
    # Each version entirely on one key: its batch committed or rolled back.
    assert sorted("".join(keys) for keys in per_row.values()) == [
        "histnew",
        "histold",
        "histold",
        "histold",
    ]
    with BOTH:
        for _id, aad, _key, value in history_values():
            decrypt_value(value, aad)
        monkeypatch.setattr(rotate_field_keys, "reencrypt_copy", real)
        rotate()
    assert history_key_ids() == {"histnew"}


def test_a_request_setting_the_maintenance_marker_still_leaves_its_trace(staff, charted):
    allergy = charted["allergy"]
    with request_cursor(staff["clinician"]) as cursor:
        cursor.execute("SELECT set_config('clinic.maintenance', 'key_rotation', true)")
        cursor.execute(
            "UPDATE chart_allergies SET reaction = %s, updated_at = now() WHERE allergy_id = %s",
            [encrypt_value("Fake other rash", ALLERGY_AAD), str(allergy.pk)],
        )
        cursor.execute(
            "SELECT count(*), max(changed_by_id) FROM chart_history"
            " WHERE item_id = %s AND operation = 'UPDATE'",
            [str(allergy.pk)],
        )
        assert cursor.fetchone() == (2, staff["clinician"].pk)


def test_the_owners_marker_skips_only_a_change_of_ciphertext(charted):
    allergy = charted["allergy"]

    def versions() -> int:
        return ChartHistory.objects.using(OWNER).filter(item_id=str(allergy.pk)).count()

    before = versions()
    with transaction.atomic(using=OWNER), connections[OWNER].cursor() as cursor:
        cursor.execute(rotate_field_keys.MAINTENANCE_SQL)
        cursor.execute(
            "UPDATE chart_allergies SET status = 'resolved' WHERE allergy_id = %s",
            [str(allergy.pk)],
        )
    assert versions() == before + 1
    with transaction.atomic(using=OWNER), connections[OWNER].cursor() as cursor:
        cursor.execute(rotate_field_keys.MAINTENANCE_SQL)
        cursor.execute(
            "UPDATE chart_allergies SET reaction = %s WHERE allergy_id = %s",
            [encrypt_value("Fake hives", ALLERGY_AAD), str(allergy.pk)],
        )
    assert versions() == before + 1
    # Without the marker the owner's change of ciphertext is a version like any other.
    with connections[OWNER].cursor() as cursor:
        cursor.execute(
            "UPDATE chart_allergies SET reaction = %s WHERE allergy_id = %s",
            [encrypt_value("Fake hives", ALLERGY_AAD), str(allergy.pk)],
        )
    assert versions() == before + 2


def test_the_restore_check_decrypts_the_history_too(charted):
    with BOTH:
        rotate()
    with NEW_ONLY:
        report = check_encrypted_columns()
    assert report.values >= len(history_values())
    # A copied value bound to another column (as a tampered or mixed-up backup would hold).
    with connections[OWNER].cursor() as cursor:
        cursor.execute(
            "UPDATE chart_history"
            ' SET "row" = jsonb_set("row", \'{reaction}\', to_jsonb(%s::text))'
            " WHERE history_id = (SELECT min(history_id) FROM chart_history"
            " WHERE item_table = 'chart_allergies')",
            [encrypt_value("Fake rash", "chart_allergies.substance")],
        )
    with NEW_ONLY, pytest.raises(DecryptionError):
        check_encrypted_columns()
