"""ICD-10-CM lookup for the visit form: a diagnosis search word, not patient data.

GET with `q`: the term names no patient and the URL carries no patient id. Answers JSON (for
static/js/icd10-lookup.js); the visit form validates the code on the server without it.
"""

from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from clinic import roles
from clinic.access import group_required
from records import icd10

MAX_RESULTS = 15


class LookupForm(forms.Form):
    q = forms.CharField(min_length=2, max_length=60)


@require_GET
@group_required(roles.CLINICIAN)
def icd10_lookup(request: HttpRequest) -> HttpResponse:
    form = LookupForm(request.GET)
    if not form.is_valid():
        return JsonResponse({"results": []})
    results = icd10.search(form.cleaned_data["q"], limit=MAX_RESULTS)
    return JsonResponse(
        {"results": [{"code": code, "description": text} for code, text in results]}
    )
