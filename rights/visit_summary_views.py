"""The visit summary for the patient (rights/visit_summary.py), from the visit page: POST only,
the visit's id in the URL (never a name), the PDF sent as the response and never stored.

Who: a clinician who may see the visit, by the visit page's own rule (records.access
`get_record_for_user`: row-level security reads the visit). Every other role gets 403 and an
`access_refused` event tied to the visit's patient; a clinician outside the care team without a
grant the 403 page pointing to break the glass, logged the same way. Producing it is a
`visit_summary_produced` event tied to the patient, with the PDF's SHA-256 as its reason.
It is not recorded as a disclosure: docs/rights.md ("Visit summary") says why.
"""

from __future__ import annotations

import hashlib
import uuid

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_POST

from clinic import access_log
from records.access import get_record_for_user, refuse_outside_care_team
from rights.views import attachment
from rights.visit_summary import summary_pdf


@require_POST
@login_required
@refuse_outside_care_team
def visit_summary(request: HttpRequest, record_id: uuid.UUID) -> HttpResponse:
    record = get_record_for_user(request, record_id)
    content = summary_pdf(record)
    access_log.record(
        request,
        access_log.VISIT_SUMMARY_PRODUCED,
        patient_id=record.patient_id,
        object_id=record.pk,
        reason=f"pdf sha256:{hashlib.sha256(content).hexdigest()}",
    )
    # The file name names the visit, never the patient.
    filename = f"visit-summary-{record.pk}-{timezone.localdate():%Y%m%d}.pdf"
    return attachment(content, "application/pdf", filename)
