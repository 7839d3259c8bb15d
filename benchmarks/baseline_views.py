"""BENCHMARK-ONLY. The patient search, summary and visit list with the security layers off:
plaintext `bench_plain_patients` (a scratch-database table) instead of encrypted identities and
blind indexes, the owner connection instead of a role switch, no row-level-security filtering
(the owner's policy is USING (true)), no access-log event. Same forms, same templates, same
HTTP middleware otherwise. Never imported by the application; the scratch database is the only
place the plaintext table exists.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from django.contrib.auth.decorators import login_required
from django.db import connections
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from patients.forms import PatientSearchForm
from patients.models import mask_phone, mask_ssn
from records import icd10
from records.models import ClinicalRecord

ALIAS = "owner"
COLUMNS = "patient_id, first_name, last_name, date_of_birth, ssn, phone, mrn, birth_year, state"


@dataclass
class PlainPatient:
    patient_id: uuid.UUID
    first_name: str
    last_name: str
    date_of_birth: date
    ssn: str
    phone: str
    mrn: str
    birth_year: int
    state: str

    @property
    def pk(self) -> uuid.UUID:
        return self.patient_id

    # Not in the plaintext table; shown as the generated patients have them.
    gender_identity = ""

    def get_administrative_sex_display(self) -> str:
        return "Unknown"

    @property
    def masked_ssn(self) -> str:
        return mask_ssn(self.ssn)

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)


def _patients(where: str, params: list) -> list[PlainPatient]:
    with connections[ALIAS].cursor() as cursor:
        cursor.execute(f"SELECT {COLUMNS} FROM bench_plain_patients WHERE {where} LIMIT 20", params)
        return [PlainPatient(*row) for row in cursor.fetchall()]


def _patient(patient_id: uuid.UUID) -> PlainPatient:
    found = _patients("patient_id = %s", [patient_id])
    if not found:
        raise Http404
    return found[0]


@login_required
def search(request: HttpRequest) -> HttpResponse:
    results = None
    form = PatientSearchForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        results = _patients(
            "last_name = %s AND date_of_birth = %s", [data["last_name"], data["date_of_birth"]]
        )
        form = PatientSearchForm()
    return render(
        request,
        "patients/search.html",
        {"form": form, "modes": PatientSearchForm.MODES, "results": results, "may_register": True},
    )


@login_required
def detail(request: HttpRequest, patient_id: uuid.UUID) -> HttpResponse:
    patient = _patient(patient_id)
    return render(
        request,
        "patients/detail.html",
        {"patient": patient, "show_ssn": False, "show_dob": False, "may_edit": False},
    )


@login_required
def visit_list(request: HttpRequest, patient_id: uuid.UUID) -> HttpResponse:
    patient = _patient(patient_id)
    visits = (
        ClinicalRecord.objects.using(ALIAS)
        .filter(patient_id=patient_id)
        .select_related("provider")
        .defer("notes")  # there is no plaintext copy of notes; the list never shows them
        .order_by("-visit_date", "-created_at")
    )
    rows = [{"visit": v, "description": icd10.description(v.diagnosis_code)} for v in visits]
    return render(
        request, "records/visit_list.html", {"patient": patient, "clinical": True, "rows": rows}
    )
