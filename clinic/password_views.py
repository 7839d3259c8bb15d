"""Changing one's own password (behind re-authentication); other sessions end."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from clinic.forms import PasswordChangeForm
from clinic.models import StaffSession
from clinic.reauth import reauthentication_required
from clinic.staff_sessions import end_sessions


@reauthentication_required
def change_password(request: HttpRequest) -> HttpResponse:
    form = PasswordChangeForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        old_key = request.session.session_key
        update_session_auth_hash(request, user)  # this session stays, under a new key
        StaffSession.objects.filter(session_key=old_key).update(
            session_key=request.session.session_key
        )
        ended = end_sessions(user, keep_key=request.session.session_key)
        messages.success(
            request,
            "Your password has changed."
            + (f" {ended} other session(s) were signed out." if ended else ""),
        )
        return redirect("my-sessions")
    return render(request, "account/password_change.html", {"form": form})
