"""Unit tests for clinic.encryption and clinic.blind_index. No database access.

All keys and values are fake. Models are registered in a private app registry so they do not
leak into the project's migrations or the global registry.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import date

import pytest
from django import forms
from django.apps.registry import Apps
from django.core.exceptions import FieldError, ImproperlyConfigured, ValidationError
from django.db import connection, models
from django.test import override_settings

from clinic.blind_index import blind_index, last_name_dob_index, normalize
from clinic.encryption import (
    DecryptionError,
    EncryptedCharField,
    EncryptedDateField,
    EncryptedEmailField,
    EncryptedTextField,
    current_key_id,
    decrypt_value,
    encrypt_value,
    key_id_of,
    reset_keyring,
)


def _b64(seed: int, length: int = 32, urlsafe: bool = False) -> str:
    raw = bytes((seed + i) % 256 for i in range(length))
    return (base64.urlsafe_b64encode if urlsafe else base64.b64encode)(raw).decode()


KEY_A = _b64(1)
KEY_B = _b64(101, urlsafe=True)
BLIND_KEY = _b64(201, length=48)
AAD = "patient_identities.ssn"
SSN = "900-00-0001"

_test_apps = Apps([])


class FakePatient(models.Model):
    ssn = EncryptedCharField(max_length=11, null=True, blank=True)
    notes = EncryptedTextField(blank=True)
    email = EncryptedEmailField(max_length=254, blank=True)
    dob = EncryptedDateField(null=True)

    objects: models.Manager[FakePatient] = models.Manager()

    class Meta:
        app_label = "enc_unit"
        apps = _test_apps
        db_table = "patient_identities"


@pytest.fixture(autouse=True)
def keys() -> Iterator[None]:
    with override_settings(FIELD_ENCRYPTION_KEYS=[f"a:{KEY_A}"], BLIND_INDEX_KEY=BLIND_KEY):
        yield
    reset_keyring()


# --- encrypt_value / decrypt_value --------------------------------------------------------------


def test_round_trip_and_format() -> None:
    stored = encrypt_value(SSN, AAD)
    assert stored.startswith("v1:a:")
    assert SSN not in stored
    assert "=" not in stored
    assert decrypt_value(stored, AAD) == SSN
    assert key_id_of(stored) == "a" == current_key_id()


@pytest.mark.parametrize("plaintext", ["", "Testperson", "Ünïcødé ✓", "x" * 5000])
def test_round_trip_edge_values(plaintext: str) -> None:
    assert decrypt_value(encrypt_value(plaintext, AAD), AAD) == plaintext


def test_same_plaintext_encrypts_differently() -> None:
    assert encrypt_value(SSN, AAD) != encrypt_value(SSN, AAD)


def test_aad_mismatch_fails() -> None:
    stored = encrypt_value(SSN, AAD)
    with pytest.raises(DecryptionError) as exc:
        decrypt_value(stored, "patient_identities.mrn")
    assert "patient_identities.mrn" in str(exc.value)


def test_wrong_key_fails_without_leaking() -> None:
    stored = encrypt_value(SSN, AAD)
    with (
        override_settings(FIELD_ENCRYPTION_KEYS=[f"a:{KEY_B}"]),
        pytest.raises(DecryptionError, match="authentication failed") as exc,
    ):
        decrypt_value(stored, AAD)
    message = str(exc.value)
    assert AAD in message
    assert "key id 'a'" in message
    assert stored.split(":")[2] not in message
    assert SSN not in message
    assert KEY_B not in message


def test_tampered_ciphertext_fails() -> None:
    stored = encrypt_value(SSN, AAD)
    head, payload = stored.rsplit(":", 1)
    flipped = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1]
    for bad in (f"{head}:{flipped}", f"{head}:{payload[:10]}", f"{head}:!!!", "Testperson"):
        with pytest.raises(DecryptionError) as exc:
            decrypt_value(bad, AAD)
        assert payload not in str(exc.value)


def test_unknown_key_id() -> None:
    stored = encrypt_value(SSN, AAD)
    with (
        override_settings(FIELD_ENCRYPTION_KEYS=[f"b:{KEY_B}"]),
        pytest.raises(DecryptionError, match="unknown key id 'a'"),
    ):
        decrypt_value(stored, AAD)


def test_rotation() -> None:
    old = encrypt_value(SSN, AAD)
    with override_settings(FIELD_ENCRYPTION_KEYS=[f"b:{KEY_B}", f"a:{KEY_A}"]):
        assert decrypt_value(old, AAD) == SSN
        assert current_key_id() == "b"
        new = encrypt_value(SSN, AAD)
        assert key_id_of(new) == "b"
        assert key_id_of(old) == "a"
    with override_settings(FIELD_ENCRYPTION_KEYS=[f"b:{KEY_B}"]):
        assert decrypt_value(new, AAD) == SSN


def test_encrypt_rejects_non_str() -> None:
    with pytest.raises(TypeError):
        encrypt_value(900000001, AAD)  # type: ignore[arg-type]


def test_key_id_of_rejects_garbage() -> None:
    with pytest.raises(DecryptionError):
        key_id_of("not-encrypted")


SECRET = _b64(7)


@pytest.mark.parametrize(
    "config",
    [
        [],
        f"a:{SECRET}",
        [SECRET],
        [f"a:{SECRET[:-8]}"],
        [f"a:{_b64(7, length=16)}"],
        [f"a:{SECRET}!"],
        [f"a:{SECRET}", f"a:{_b64(9)}"],
        [f"bad id:{SECRET}"],
        [None],
    ],
)
def test_malformed_keys_are_improperly_configured(config: object) -> None:
    with (
        override_settings(FIELD_ENCRYPTION_KEYS=config),
        pytest.raises(ImproperlyConfigured, match="FIELD_ENCRYPTION_KEYS") as exc,
    ):
        encrypt_value(SSN, AAD)
    message = str(exc.value)
    assert SECRET not in message
    assert SECRET[:12] not in message
    assert exc.value.__cause__ is None


def test_missing_keys_setting() -> None:
    with override_settings():
        from django.conf import settings

        delattr(settings, "FIELD_ENCRYPTION_KEYS")
        reset_keyring()
        with pytest.raises(ImproperlyConfigured):
            current_key_id()


# --- model fields -----------------------------------------------------------------------------


def _field(name: str) -> models.Field:  # type: ignore[type-arg]
    return FakePatient._meta.get_field(name)  # type: ignore[return-value]


def test_field_column_type_and_aad() -> None:
    for name in ("ssn", "notes", "email", "dob"):
        field = _field(name)
        assert field.db_type(connection) == "text"
        assert field.aad == f"patient_identities.{name}"  # type: ignore[attr-defined]


def test_field_round_trip_through_db_conversion() -> None:
    ssn, dob = _field("ssn"), _field("dob")
    stored = ssn.get_db_prep_save(SSN, connection)
    assert stored.startswith("v1:a:")
    assert decrypt_value(stored, AAD) == SSN
    assert ssn.from_db_value(stored, None, connection) == SSN  # type: ignore[attr-defined]
    stored_dob = dob.get_db_prep_save(date(1970, 1, 2), connection)
    assert decrypt_value(stored_dob, "patient_identities.dob") == "1970-01-02"
    restored = dob.from_db_value(stored_dob, None, connection)  # type: ignore[attr-defined]
    assert restored == date(1970, 1, 2)


def test_field_none_and_empty() -> None:
    ssn = _field("ssn")
    assert ssn.get_db_prep_save(None, connection) is None
    assert ssn.from_db_value(None, None, connection) is None  # type: ignore[attr-defined]
    empty = ssn.get_db_prep_save("", connection)
    assert empty.startswith("v1:a:")
    assert ssn.from_db_value(empty, None, connection) == ""  # type: ignore[attr-defined]


def test_field_ciphertext_moved_to_other_column_fails() -> None:
    stored = _field("ssn").get_db_prep_save(SSN, connection)
    with pytest.raises(DecryptionError, match=r"patient_identities\.notes"):
        _field("notes").from_db_value(stored, None, connection)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "lookup", ["exact", "iexact", "contains", "icontains", "in", "gt", "lt", "startswith", "year"]
)
def test_lookups_other_than_isnull_raise(lookup: str) -> None:
    for name in ("ssn", "dob"):
        with pytest.raises(FieldError, match="use the blind index"):
            _field(name).get_lookup(lookup)


def test_isnull_lookup_allowed_and_filters_raise() -> None:
    assert _field("ssn").get_lookup("isnull") is not None
    FakePatient.objects.filter(ssn__isnull=True)  # builds without error
    for kwargs in ({"ssn": SSN}, {"ssn__in": [SSN]}, {"dob__year": 1970}, {"email__lower": "x"}):
        with pytest.raises(FieldError, match="encrypted fields cannot be filtered"):
            FakePatient.objects.filter(**kwargs)


def test_formfields_use_plaintext_types() -> None:
    ssn_form = _field("ssn").formfield()
    assert isinstance(ssn_form, forms.CharField)
    assert ssn_form.max_length == 11
    assert isinstance(_field("email").formfield(), forms.EmailField)
    assert isinstance(_field("dob").formfield(), forms.DateField)
    assert isinstance(_field("notes").formfield().widget, forms.Textarea)  # type: ignore[union-attr]


def test_max_length_validates_plaintext() -> None:
    patient = FakePatient(
        ssn="9" * 12, notes="", email="testperson@example.test", dob=date(1970, 1, 2)
    )
    with pytest.raises(ValidationError) as exc:
        patient.full_clean(exclude=["id"])
    assert set(exc.value.message_dict) == {"ssn"}


def test_deconstruct_is_stable() -> None:
    _name, path, args, kwargs = _field("ssn").deconstruct()
    assert path == "clinic.encryption.EncryptedCharField"
    assert kwargs == {"max_length": 11, "null": True, "blank": True}
    rebuilt = EncryptedCharField(*args, **kwargs)
    assert rebuilt.deconstruct()[1:] == (path, args, kwargs)
    assert _field("dob").deconstruct()[1] == "clinic.encryption.EncryptedDateField"


def test_check_rejects_unique_and_index() -> None:
    field = EncryptedCharField(max_length=11, unique=True, db_index=True)
    field.set_attributes_from_name("ssn")
    field.model = FakePatient
    ids = [error.id for error in field.check() if error.id == "clinic.E001"]
    assert len(ids) == 2
    assert not [e for e in _field("ssn").check() if e.id == "clinic.E001"]


# --- blind indexes ----------------------------------------------------------------------------


def test_blind_index_shape_and_determinism() -> None:
    value = blind_index("ssn", SSN)
    assert len(value) == 32
    assert int(value, 16) >= 0
    assert value == blind_index("ssn", "900000001")


@pytest.mark.parametrize(
    ("kind", "a", "b"),
    [
        ("last_name", "O'Brien ", "o'brien"),
        ("last_name", "  O\u2019BRIEN.", "o'brien"),
        ("last_name", "Test   Person", "test person"),
        ("phone", "+1 (555) 010-0199", "5550100199"),
        ("ssn", "900 00 0001", "900000001"),
        ("mrn", " mrn-0042 ", "MRN-0042"),
        ("dob", date(1970, 1, 2), "1970-01-02"),
        ("last_name_dob", "Testperson |1970-01-02", "testperson|1970-01-02"),
    ],
)
def test_normalisation_matches(kind: str, a: str, b: str) -> None:
    assert blind_index(kind, a) == blind_index(kind, b)


def test_last_name_dob_helper() -> None:
    expected = blind_index("last_name_dob", "testperson|1970-01-02")
    assert last_name_dob_index(" TESTPERSON ", date(1970, 1, 2)) == expected
    assert last_name_dob_index("Testperson", date(1970, 1, 3)) != expected


def test_kind_separates_indexes() -> None:
    assert blind_index("phone", "900000001") != blind_index("ssn", "900000001")


@pytest.mark.parametrize(
    ("kind", "value"),
    [("ssn", "900-00-000"), ("last_name", " .. "), ("phone", "n/a"), ("dob", "1970-13-01")],
)
def test_bad_values_raise_without_echo(kind: str, value: str) -> None:
    with pytest.raises(ValueError, match=kind) as exc:
        normalize(kind, value)
    assert value.strip() not in str(exc.value)


def test_unknown_kind() -> None:
    with pytest.raises(ValueError, match="unknown blind index kind"):
        blind_index("first_name", "Testperson")


def test_different_key_gives_different_index() -> None:
    before = blind_index("ssn", SSN)
    with override_settings(BLIND_INDEX_KEY=_b64(33, length=32)):
        assert blind_index("ssn", SSN) != before
    assert blind_index("ssn", SSN) == before


@pytest.mark.parametrize("bad", ["", _b64(1, length=31), "not base64!"])
def test_blind_index_key_validation(bad: str) -> None:
    with (
        override_settings(BLIND_INDEX_KEY=bad),
        pytest.raises(ImproperlyConfigured, match="BLIND_INDEX_KEY") as exc,
    ):
        blind_index("ssn", SSN)
    assert not bad or bad not in str(exc.value)
