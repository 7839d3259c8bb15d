"""The privacy officer's review queue of break-the-glass grants (unreviewed first)."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import F
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.debug import sensitive_variables

from clinic.access import not_found
from privacy.access import privacy_officer_required
from privacy.selectors import usernames
from records.break_glass import break_glass_review
from records.break_glass_forms import BreakGlassReviewForm
from records.models import BreakGlassGrant

PAGE_SIZE = 50


def get_break_glass_grant_for_review(request: HttpRequest, grant_id: uuid.UUID) -> BreakGlassGrant:
    try:
        return BreakGlassGrant.objects.get(pk=grant_id)
    except BreakGlassGrant.DoesNotExist:
        raise not_found(request, object_id=grant_id) from None


@privacy_officer_required
def review_queue(request: HttpRequest) -> HttpResponse:
    grants = BreakGlassGrant.objects.order_by(
        F("reviewed_at").desc(nulls_first=True), "-starts_at"
    ).defer("reason_text")
    page = Paginator(grants, PAGE_SIZE).get_page(request.GET.get("page"))
    names = usernames(g.staff_id for g in page)
    return render(
        request,
        "privacy/break_glass_queue.html",
        {"page": page, "rows": [(g, names.get(g.staff_id, "—")) for g in page]},
    )


@sensitive_variables("form")
@privacy_officer_required
def review(request: HttpRequest, grant_id: uuid.UUID) -> HttpResponse:
    grant = get_break_glass_grant_for_review(request, grant_id)
    form = BreakGlassReviewForm(request.POST or None)
    status = 200
    if request.method == "POST" and grant.reviewed_at is not None:
        # A review is final; the database refuses a second one as well (records/db_checks.py).
        messages.error(request, "This access has already been reviewed. A review is final.")
        status = 409
    elif request.method == "POST" and form.is_valid():
        break_glass_review(
            request=request,
            grant=grant,
            reviewer=request.user,
            comment=form.cleaned_data["comment"],
        )
        messages.success(request, "Review recorded.")
        return redirect("privacy:break-glass-queue")
    names = usernames([grant.staff_id, grant.reviewed_by_id])
    return render(
        request,
        "privacy/break_glass_review.html",
        {
            "grant": grant,
            "form": form,
            "staff_name": names.get(grant.staff_id, "—"),
            "reviewer_name": names.get(grant.reviewed_by_id or 0, "—"),
        },
        status=status,
    )
