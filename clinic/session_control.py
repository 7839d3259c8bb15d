"""'My sessions': a staff member sees where they are signed in and can end any of it."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from clinic.models import StaffSession
from clinic.staff_sessions import end_sessions


def get_staff_session_for_user(request: HttpRequest, pk: int) -> StaffSession:
    """The signed-in user's own session row; anyone else's is not found (404)."""
    row = StaffSession.objects.filter(pk=pk).first()
    if row is None or row.user_id != request.user.pk:
        raise Http404
    return row


@login_required
def my_sessions(request: HttpRequest) -> HttpResponse:
    sessions = StaffSession.objects.active_for(request.user)
    return render(
        request,
        "account/sessions.html",
        {"sessions": sessions, "current_key": request.session.session_key},
    )


@require_POST
@login_required
def end_session(request: HttpRequest, pk: int) -> HttpResponse:
    row = get_staff_session_for_user(request, pk)
    if row.session_key == request.session.session_key:
        logout(request)
        return redirect("login")
    row.end()
    messages.success(request, "That session has ended.")
    return redirect("my-sessions")


@require_POST
@login_required
def end_other_sessions(request: HttpRequest) -> HttpResponse:
    ended = end_sessions(request.user, keep_key=request.session.session_key)
    messages.success(request, f"Ended {ended} other session{'s' if ended != 1 else ''}.")
    return redirect("my-sessions")
