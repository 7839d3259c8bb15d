"""Locked-out accounts and addresses (django-axes) and unlocking them.

Axes keeps fingerprints of usernames, not the typed text (accounts/lockout.py): a
fingerprint that belongs to an account is shown with its username, any other as "no such
account". Unlocking posts the fingerprint back.
"""

from __future__ import annotations

from axes.utils import reset
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.lockout import accounts_for, locked_out
from clinic import access_log
from privacy.access import privacy_officer_required
from privacy.forms import UnlockForm


@privacy_officer_required
def lockouts(request: HttpRequest) -> HttpResponse:
    accounts = locked_out("username")
    names = accounts_for(row["value"] for row in accounts)
    for row in accounts:
        row["account"] = names.get(row["value"], "")
    return render(
        request,
        "privacy/lockouts.html",
        {"accounts": accounts, "addresses": locked_out("ip_address")},
    )


@require_POST
@privacy_officer_required
def unlock(request: HttpRequest) -> HttpResponse:
    form = UnlockForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose an account or an address to unlock.")
        return redirect("privacy:lockouts")
    username, address = form.cleaned_data["username"], form.cleaned_data["ip_address"]
    if username:
        # `username` is the fingerprint axes stores (the lockouts page posts it back).
        removed = reset(username=username)
        # The typed text is not logged (it may be a mistyped name or a password); the account is.
        account = accounts_for([username]).get(username)
        user_id = (
            get_user_model().objects.filter(username=account).values_list("pk", flat=True).first()
            if account
            else None
        )
        object_id, reason = (f"user:{user_id}" if user_id else "user:unknown"), "account"
    else:
        removed = reset(ip=address)
        object_id, reason = f"ip:{address}", "address"
    access_log.record(
        request, access_log.UNLOCK, object_id=object_id, reason=reason, outcome=f"{removed} reset"
    )
    messages.success(request, "Unlocked." if removed else "Nothing was locked.")
    return redirect("privacy:lockouts")
