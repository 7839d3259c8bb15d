"""Admin site: users and their one clinic group. PHI models are never registered here."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import HttpRequest
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinic import mfa
from clinic.staff_sessions import end_sessions

admin.site.site_header = "Clinic administration"
admin.site.site_title = "Clinic administration"
admin.site.index_title = "Users, roles and sign-in security"

# django-otp's device admins show TOTP secrets; devices are managed by their owners, and an
# administrator only resets them (the action below).
for model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(model):
        admin.site.unregister(model)


class ClinicUserAdmin(UserAdmin):
    actions = ["reset_mfa", "end_all_sessions", "unlock_sign_in"]

    @admin.action(description="Reset two-step sign-in (set up again at next sign-in)")
    def reset_mfa(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        for user in queryset:
            mfa.reset_mfa(target=user, by=request.user, sender=type(self))
        self.message_user(
            request, f"Two-step sign-in reset for {queryset.count()} user(s).", messages.SUCCESS
        )

    @admin.action(description="Unlock sign-in (wrong passwords and codes)")
    def unlock_sign_in(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        for user in queryset:
            mfa.unlock(user)
        self.message_user(request, f"Unlocked {queryset.count()} user(s).", messages.SUCCESS)

    @admin.action(description="End all sessions")
    def end_all_sessions(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        ended = sum(end_sessions(user) for user in queryset)
        self.message_user(request, f"Ended {ended} session(s).", messages.SUCCESS)


if admin.site.is_registered(User):
    admin.site.unregister(User)
admin.site.register(User, ClinicUserAdmin)
