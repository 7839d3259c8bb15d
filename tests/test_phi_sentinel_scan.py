"""Plant distinctive fake PHI, drive every flow, then scan everything the system wrote.

Zero hits are allowed in: Django's log output (the configured handlers, and a file handler set up
the same way), stdout/stderr, the PostgreSQL server log with its pgaudit lines, error pages, and
the plaintext of every text column of every table (sessions decoded). Encrypted columns must hold
ciphertext only, and the ORM must still read the sentinels back (so the scan is not vacuous).

To cover a new flow, write `def flow_x(ctx: Context) -> None` driving it through the client with
ctx.sentinels and append it to FLOWS.
"""

from __future__ import annotations

import io
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.db import IntegrityError, connections
from django.test import Client
from django.utils import timezone

from clinic import roles
from clinic.blind_index import blind_index
from clinic.log_filters import RedactPHIFilter
from localdb import cluster
from patients.models import PatientIdentity
from privacy.models import Disclosure
from records.models import BreakGlassGrant, ClinicalRecord, VisitAddendum
from tests.conftest import (
    PASSWORD,
    TEST_DATABASE,
    make_staff,
    server_log_since,
    server_log_size,
    sign_in_client,
)
from tests.factories import (
    BreakGlassGrantFactory,
    CareTeamMemberFactory,
    ClinicalRecordFactory,
    PatientFactory,
)

# cluster_wide: the server log (tests/cluster_share.py).
pytestmark = [pytest.mark.usefixtures("clinic_db"), pytest.mark.cluster_wide]

FIRST = "Zzsentinelfirst"
LAST = "Zzsentinelname"
SSN = "900-12-3456"
PHONE = "555-0199"
EMAIL = "zzsentinel@example.test"
NOTES = "Zzsentinelnotes suspected Zzsentineldiagnosis"
ADDRESS = "1 Zzsentinelstreet"
REASON = f"Zzsentinelreason for {LAST} {SSN} {PHONE} {EMAIL}"
RECIPIENT = "Zzsentinelrecipient Clinic"
DESCRIPTION = f"Zzsentineldescription of {LAST}"


@dataclass
class Context:
    staff: dict
    patient: PatientIdentity
    sentinels: list[str] = field(default_factory=list)
    responses: list = field(default_factory=list)

    def client(self, persona: str, **kwargs) -> Client:
        return sign_in_client(Client(**kwargs), self.staff[persona])


def flow_register_patient_and_record(ctx: Context) -> None:
    """Front-desk registration and a clinical note, through the owner ORM (pages elsewhere)."""
    CareTeamMemberFactory(staff=ctx.staff["clinician2"], patient=ctx.patient)
    ClinicalRecordFactory(patient=ctx.patient, provider=ctx.staff["clinician2"], notes=NOTES)


def flow_break_glass_wrong_password(ctx: Context) -> None:
    """A failed re-authentication: axes stores the POST data of failed attempts. Another
    clinician, so the successful break-the-glass below does not reset the attempt."""
    ctx.staff.setdefault("clinician3", make_staff("t-clinician3", roles.CLINICIAN))
    ctx.responses.append(
        ctx.client("clinician3").post(
            f"/break-glass/{ctx.patient.pk}/",
            {"password": "wrong-password-1", "reason_category": "other", "reason_text": REASON},
        )
    )


def flow_break_glass(ctx: Context) -> None:
    ctx.responses.append(
        ctx.client("clinician").post(
            f"/break-glass/{ctx.patient.pk}/",
            {"password": PASSWORD, "reason_category": "other", "reason_text": REASON},
        )
    )


def flow_privacy_officer_reviews_and_reports(ctx: Context) -> None:
    client = ctx.client("privacy")
    grant = BreakGlassGrant.objects.using("owner").get()
    ctx.responses.append(client.get(f"/privacy/break-glass/{grant.pk}/"))
    client.post(f"/privacy/break-glass/{grant.pk}/", {"comment": "Reviewed with the clinician."})
    client.post("/privacy/patients/find/", {"mode": "mrn", "mrn": ctx.patient.mrn})
    # The look-ups by typed name and date of birth, and by SSN (issue 16, item 10).
    client.post(
        "/privacy/patients/find/",
        {
            "mode": "last_name_dob",
            "last_name": ctx.patient.last_name,
            "date_of_birth": ctx.patient.date_of_birth.isoformat(),
        },
    )
    client.post("/privacy/patients/find/", {"mode": "ssn", "ssn": ctx.patient.ssn})
    client.get(f"/privacy/patients/{ctx.patient.pk}/")
    client.post("/privacy/access-log.csv", {"patient_id": str(ctx.patient.pk)})


def flow_record_disclosure(ctx: Context) -> None:
    client = ctx.client("privacy")
    client.post(
        f"/privacy/patients/{ctx.patient.pk}/disclosures/new/",
        {
            "disclosed_on": "2026-01-05",
            "recipient": RECIPIENT,
            "recipient_address": ADDRESS,
            "description": DESCRIPTION,
            "purpose": REASON,
            "category": "public_health",
        },
    )
    client.get(f"/privacy/patients/{ctx.patient.pk}/disclosures/accounting/")


def flow_suspend_a_disclosure(ctx: Context) -> None:
    """A law-enforcement disclosure whose accounting is suspended: the statement carries PHI."""
    from privacy.models import Disclosure

    client = ctx.client("privacy")
    base = f"/privacy/patients/{ctx.patient.pk}/disclosures"
    client.post(
        f"{base}/new/",
        {"disclosed_on": "2026-01-06", "recipient": RECIPIENT, "description": DESCRIPTION,
         "purpose": REASON, "category": "law_enforcement"},
    )  # fmt: skip
    held = Disclosure.objects.using("owner").get(category="law_enforcement")
    today = timezone.localdate()
    form = {"suspension_kind": "oral", "suspension_stated_on": today.isoformat(),
            "suspended_until": (today + timedelta(days=45)).isoformat(),
            "suspension_statement": f"{RECIPIENT}: {REASON}"}  # fmt: skip
    ctx.responses.append(client.post(f"{base}/{held.pk}/suspend/", form))  # refused: > 30 days
    form["suspended_until"] = (today + timedelta(days=30)).isoformat()
    client.post(f"{base}/{held.pk}/suspend/", form)
    ctx.responses.append(client.get(f"{base}/"))


def flow_invalid_disclosure_is_redisplayed_not_logged(ctx: Context) -> None:
    ctx.client("privacy").post(
        f"/privacy/patients/{ctx.patient.pk}/disclosures/new/",
        {"disclosed_on": "not-a-date", "recipient": RECIPIENT, "purpose": REASON},
    )


def _server_error(ctx: Context, error: Exception) -> None:
    import records.break_glass_views

    def explode(**kwargs):
        raise error

    original = records.break_glass_views.break_glass_start
    records.break_glass_views.break_glass_start = explode
    try:
        response = ctx.client("clinician", raise_request_exception=False).post(
            f"/break-glass/{ctx.patient.pk}/",
            {"password": PASSWORD, "reason_category": "other", "reason_text": REASON},
        )
    finally:
        records.break_glass_views.break_glass_start = original
    assert response.status_code == 500
    ctx.responses.append(response)


def flow_server_error_quoting_phi(ctx: Context) -> None:
    BreakGlassGrant.objects.using("owner").update(ended_at=timezone.now())
    _server_error(ctx, RuntimeError(f"could not save {FIRST} {LAST} {SSN} {EMAIL} {PHONE}"))


def flow_database_error_quoting_phi(ctx: Context) -> None:
    _server_error(
        ctx,
        IntegrityError(
            f'duplicate key value violates unique constraint "x"\nDETAIL: Key (ssn)=({SSN}) '
            f"of {LAST} already exists."
        ),
    )


SECOND_FIRST = "Zzsentinelsecond"
SECOND_SSN = "900-12-3457"
SECOND_PHONE = "617-555-0142"
VISIT_NOTES = "Zzsentinelvisitnote about Zzsentinelname"


def flow_front_desk_registers_searches_reveals_and_edits(ctx: Context) -> None:
    """The front desk's whole day with one patient, through the real pages."""
    desk = ctx.client("frontdesk")
    desk.post(
        "/patients/new/",
        {
            "first_name": SECOND_FIRST,
            "last_name": LAST,
            "date_of_birth": "1971-02-03",
            "ssn": SECOND_SSN,
            "address": ADDRESS,
            "state": "MA",
            "phone": SECOND_PHONE,
            "email": EMAIL,
        },
    )
    registered = PatientIdentity.objects.using("owner").get(ssn_bidx=blind_index("ssn", SECOND_SSN))
    ctx.sentinels.append(registered.mrn)
    for search in (
        {"mode": "last_name_dob", "last_name": LAST, "date_of_birth": "1971-02-03"},
        {"mode": "ssn", "ssn": SECOND_SSN},
        {"mode": "mrn", "mrn": registered.mrn},
        {"mode": "phone", "phone": SECOND_PHONE},
    ):
        ctx.responses.append(desk.post("/patients/search/", search))
    desk.get(f"/patients/{registered.pk}/")
    desk.post(f"/patients/{registered.pk}/reveal/", {"identifier": "ssn"})
    desk.post(f"/patients/{registered.pk}/reveal/", {"identifier": "dob"})
    desk.post(
        f"/patients/{registered.pk}/edit/",
        {
            "first_name": SECOND_FIRST,
            "last_name": LAST,
            "date_of_birth": "1971-02-03",
            "ssn": SECOND_SSN,
            "address": ADDRESS,
            "state": "NH",
            "phone": SECOND_PHONE,
            "email": EMAIL,
        },
    )
    # Bad input that quotes PHI is shown back on the form only, never logged.
    desk.post(
        "/patients/new/",
        {
            "first_name": SECOND_FIRST,
            "last_name": LAST,
            "date_of_birth": "2999-01-01",
            "ssn": "not-" + SECOND_SSN,
            "phone": "x" + SECOND_PHONE,
            "email": "not an email",
        },
    )


def flow_clinician_records_and_reads_a_visit(ctx: Context) -> None:
    clinician = ctx.client("clinician2")
    clinician.post(
        f"/patients/{ctx.patient.pk}/visits/new/",
        {
            "visit_date": "2026-01-10",
            "diagnosis_code": "J06.9",
            "notes": VISIT_NOTES,
        },
    )
    clinician.get(f"/patients/{ctx.patient.pk}/visits/")
    record = ClinicalRecord.objects.using("owner").order_by("-created_at").first()
    clinician.get(f"/visits/{record.pk}/")
    clinician.get("/my-patients/")


ADDENDUM = "Zzsentineladdendum about Zzsentinelname"


def flow_clinician_signs_and_amends_a_visit(ctx: Context) -> None:
    """The visit of the flow above: its author signs it, then adds an addendum and prints the
    visit summary; the list of unsigned notes is read too."""
    clinician = ctx.client("clinician2")
    record = ClinicalRecord.objects.using("owner").order_by("-created_at").first()
    clinician.post(f"/visits/{record.pk}/sign/", {"version": str(record.version)})
    clinician.post(f"/visits/{record.pk}/addenda/", {"text": ADDENDUM})
    clinician.get(f"/visits/{record.pk}/")
    # The visit summary for the patient (a PDF that rightly holds the sentinels: not scanned as
    # a page; its log event, the server's log lines and pgaudit's are).
    summary = clinician.post(f"/privacy/rights/visits/{record.pk}/summary/")
    assert summary.status_code == 200 and summary["Content-Type"] == "application/pdf"
    clinician.get("/my-unsigned-notes/")


def flow_analyst_dashboard_and_export(ctx: Context) -> None:
    from analytics.refresh import refresh_all

    refresh_all()
    analyst = ctx.client("analyst")
    analyst.get("/analytics/")
    ctx.responses.append(analyst.post("/analytics/export/", {"start": "2020-01", "end": "2026-12"}))


def flow_names_typed_into_urls_and_the_icd10_lookup(ctx: Context) -> None:
    """Issue 16, item 2: a name in a path and a query string, and in the ICD-10 lookup."""
    client = ctx.client("clinician")
    client.get(f"/patients/{LAST}/", {"q": LAST})
    client.get(f"/{FIRST}/{LAST}")
    client.post("/icd10/lookup/", {"q": LAST})
    ctx.client("privacy").get("/privacy/access-log/", {"patient_id": LAST})


FLOWS: list[Callable[[Context], None]] = [
    flow_register_patient_and_record,
    flow_front_desk_registers_searches_reveals_and_edits,
    flow_clinician_records_and_reads_a_visit,
    flow_clinician_signs_and_amends_a_visit,
    flow_analyst_dashboard_and_export,
    flow_break_glass_wrong_password,
    flow_break_glass,
    flow_privacy_officer_reviews_and_reports,
    flow_record_disclosure,
    flow_suspend_a_disclosure,
    flow_invalid_disclosure_is_redisplayed_not_logged,
    flow_server_error_quoting_phi,
    flow_database_error_quoting_phi,
    flow_names_typed_into_urls_and_the_icd10_lookup,
]


# --- capture --------------------------------------------------------------------------------


class DjangoLogCapture:
    """Point the configured (redacting) handlers at buffers and add a file handler like them."""

    def __init__(self, path) -> None:
        self.path = path
        self.buffer = io.StringIO()
        self.swapped: list[tuple[logging.StreamHandler, object]] = []
        self.file_handler: logging.FileHandler | None = None

    def __enter__(self) -> DjangoLogCapture:
        root = logging.getLogger()
        configured = [
            h
            for h in root.handlers
            if isinstance(h, logging.StreamHandler)
            and any(isinstance(f, RedactPHIFilter) for f in h.filters)
        ]
        assert configured, "settings.LOGGING's console handler is not on the root logger"
        for handler in configured:
            self.swapped.append((handler, handler.setStream(self.buffer)))
        template = configured[0]
        self.file_handler = logging.FileHandler(self.path, encoding="utf-8")
        self.file_handler.setFormatter(template.formatter)
        for log_filter in template.filters:
            self.file_handler.addFilter(log_filter)
        root.addHandler(self.file_handler)
        return self

    def __exit__(self, *exc) -> None:
        root = logging.getLogger()
        for handler, stream in self.swapped:
            handler.setStream(stream)  # type: ignore[arg-type]
        if self.file_handler is not None:
            root.removeHandler(self.file_handler)
            self.file_handler.close()

    def text(self) -> str:
        return self.buffer.getvalue() + "\n" + self.path.read_text(encoding="utf-8")


def flush_server_log(offset: int) -> str:
    """Everything the server logged since `offset`, once a marker statement has been logged."""
    marker = f"zz_flush_marker_{uuid.uuid4().hex}"
    with cluster.superuser_connect(TEST_DATABASE) as conn:
        conn.execute(f"SELECT 1 AS {marker}")
    deadline = time.monotonic() + 10
    while True:
        log = server_log_since(offset)
        if marker in log or time.monotonic() > deadline:
            return log
        time.sleep(0.05)


def variants(sentinels: list[str]) -> set[str]:
    """Each sentinel, plus SSN/phone digits without punctuation, case-insensitively."""
    found = set()
    for value in sentinels:
        found.add(value.lower())
        digits = "".join(c for c in value if c.isdigit())
        if len(digits) >= 7 and len(digits) >= len(value) - 3:
            found.add(digits)
    return found


def hits(text: str, sentinels: list[str]) -> list[str]:
    lowered = text.lower()
    return sorted(v for v in variants(sentinels) if v in lowered)


def plaintext_hits_in_tables(sentinels: list[str]) -> list[str]:
    """Every text-like column of every table, as the superuser, searched for every sentinel."""
    found = []
    with cluster.superuser_connect(TEST_DATABASE) as conn:
        columns = conn.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND data_type IN "
            "('text', 'character varying', 'character', 'json', 'jsonb')"
        ).fetchall()
        for table, column in columns:
            for value in variants(sentinels):
                row = conn.execute(
                    f'SELECT count(*) FROM "{table}" WHERE "{column}"::text ILIKE %s',
                    [f"%{value}%"],
                ).fetchone()
                if row[0]:
                    found.append(f"{table}.{column}: {value}")
        for (data,) in conn.execute("SELECT session_data FROM django_session").fetchall():
            decoded = str(SessionStore().decode(data))
            found += [f"django_session (decoded): {v}" for v in hits(decoded, sentinels)]
    return found


# --- the scan -------------------------------------------------------------------------------


def test_no_phi_sentinel_in_any_log_error_page_or_plaintext_column(staff, tmp_path, capsys):
    offset = server_log_size()
    patient = PatientFactory(
        first_name=FIRST, last_name=LAST, ssn=SSN, phone=PHONE, email=EMAIL, address=ADDRESS
    )
    sentinels = [FIRST, LAST, SSN, PHONE, EMAIL, ADDRESS, NOTES, REASON, RECIPIENT, DESCRIPTION]
    sentinels += [SECOND_FIRST, SECOND_SSN, SECOND_PHONE, VISIT_NOTES, "Zzsentinelvisitnote"]
    sentinels += [ADDENDUM, "Zzsentineladdendum"]
    sentinels += ["Zzsentinelnotes", "Zzsentineldiagnosis", "Zzsentinelreason", patient.mrn]
    ctx = Context(staff=staff, patient=patient, sentinels=sentinels)

    with DjangoLogCapture(tmp_path / "django.log") as django_log:
        for flow in FLOWS:
            flow(ctx)
    captured = capsys.readouterr()
    server_log = flush_server_log(offset)

    # The flows did what they claim (the scan is not vacuous).
    assert "Internal Server Error" in django_log.text()
    assert "WRITE,INSERT" in server_log and "break_glass_grants" in server_log
    grant = BreakGlassGrant.objects.using("owner").get()
    assert grant.reason_text == REASON
    searches = [r for r in ctx.responses if r.get("Content-Type", "").startswith("text/html")]
    assert sum(b"***-**-3457" in r.content for r in searches) == 4  # every search mode found it
    assert any(r.get("Content-Type", "").startswith("text/csv") for r in ctx.responses)
    notes = set(ClinicalRecord.objects.using("owner").values_list("notes", flat=True))
    assert notes == {NOTES, VISIT_NOTES}
    # The addendum was written, signed, and reads back (so its scan is not vacuous).
    assert [a.text for a in VisitAddendum.objects.using("owner")] == [ADDENDUM]
    assert ClinicalRecord.objects.using("owner").filter(signed_at__isnull=False).count() == 1
    assert PatientIdentity.objects.using("owner").filter(state="NH").count() == 1  # edited
    assert {d.recipient for d in Disclosure.objects.using("owner").all()} == {RECIPIENT}
    assert {p.ssn for p in PatientIdentity.objects.using("owner").all()} == {SSN, SECOND_SSN}

    assert hits(django_log.text(), sentinels) == [], "Django log output"
    assert hits(captured.out + captured.err, sentinels) == [], "stdout/stderr"
    assert hits(server_log, sentinels) == [], "PostgreSQL server log / pgaudit"
    for response in ctx.responses:
        if response.status_code >= 500:
            body = response.content.decode()
            assert hits(body, sentinels) == [], "error page"
            assert "IntegrityError" not in body and "Traceback" not in body
    assert plaintext_hits_in_tables(sentinels) == [], "plaintext in stored tables"


def test_scan_finds_a_planted_plaintext_leak_control(staff):
    """Control: a sentinel written in plaintext, past the encrypted field, is found. The database
    refuses text that is not shaped like ciphertext (clinic/db_checks.py), so the leak is
    planted in that shape: the form check cannot tell, the scan does."""
    patient = PatientFactory()
    grant = BreakGlassGrantFactory(
        staff=staff["clinician"], patient=patient, review_comment="Reviewed."
    )
    with connections["owner"].cursor() as cursor:
        cursor.execute(
            "UPDATE break_glass_grants SET review_comment = %s WHERE grant_id = %s",
            [f"v1:k1:mentions-{LAST}-" + "x" * 38, grant.pk],
        )
    found = plaintext_hits_in_tables([LAST])
    assert found == [f"break_glass_grants.review_comment: {LAST.lower()}"]


def test_review_comments_are_encrypted(staff):
    grant = BreakGlassGrantFactory(
        staff=staff["clinician"], patient=PatientFactory(), review_comment=f"mentions {LAST}"
    )
    assert plaintext_hits_in_tables([LAST]) == []
    with connections["owner"].cursor() as cursor:
        cursor.execute(
            "SELECT review_comment FROM break_glass_grants WHERE grant_id = %s", [grant.pk]
        )
        assert cursor.fetchone()[0].startswith("v1:")
    stored = type(grant).objects.using("owner").get(pk=grant.pk)
    assert stored.review_comment == f"mentions {LAST}"
