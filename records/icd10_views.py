"""ICD-10-CM lookup for the visit form: a diagnosis search word, not patient data.

POST with `q` (and the form's CSRF token): the typed word stays out of the URL and so out of
every server and proxy log (issue 16, item 2), though it names no patient. Answers JSON (for
static/js/icd10-lookup.js); the visit form validates the code on the server without it.
"""

from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from clinic import roles
from clinic.access import group_required
from records import icd10

MAX_RESULTS = 15


class LookupForm(forms.Form):
    q = forms.CharField(min_length=2, max_length=60)


@sensitive_post_parameters("q")
@require_POST
@group_required(roles.CLINICIAN)
def icd10_lookup(request: HttpRequest) -> HttpResponse:
    form = LookupForm(request.POST)
    if not form.is_valid():
        return JsonResponse({"results": []})
    results = icd10.search(form.cleaned_data["q"], limit=MAX_RESULTS)
    return JsonResponse(
        {"results": [{"code": code, "description": text} for code, text in results]}
    )
