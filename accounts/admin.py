"""Admin site: users, their one clinic group, lockouts and MFA devices. No PHI model is
registered here, and the admin's database role has no grant on any PHI table either."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import UserChangeForm, UserCreationForm
from django.contrib.auth.models import Group, User
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.html import format_html_join
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import mfa
from accounts.sessions import end_sessions
from clinic import access_log, roles
from clinic.provisioning import declared_grants, discover_steps

admin.site.site_header = "Clinic administration"
admin.site.site_title = "Clinic administration"
admin.site.index_title = "Users, roles and sign-in security"

# django-otp's device admins show TOTP secrets; devices are managed by their owners, and an
# administrator only resets them (the action below).
for model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(model):
        admin.site.unregister(model)


def _check_one_clinic_group(form: forms.ModelForm) -> None:
    groups = form.cleaned_data.get("groups")
    if groups is None:
        return
    mapped = [g.name for g in groups if g.name in roles.GROUP_ROLES]
    if len(mapped) != 1:
        form.add_error(
            "groups",
            "Choose exactly one clinic role (Front desk, Clinician, Analyst, Privacy officer or "
            "Administrator). A staff member with none, or several, sees no patient data.",
        )


class StaffChangeForm(UserChangeForm):
    class Meta(UserChangeForm.Meta):
        # Shown read-only here and changed on its own page: the stored form (encrypted,
        # accounts/passwords.py) is longer than the 128 characters Django's model validates.
        exclude = ("password",)
        # One clinic role from a short list: labelled checkboxes, as on the add form.
        widgets = {"groups": forms.CheckboxSelectMultiple}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.initial["password"] = self.instance.password  # for its summary (excluded above)

    def clean(self):
        cleaned = super().clean()
        _check_one_clinic_group(self)
        return cleaned


class StaffCreationForm(UserCreationForm):
    groups = forms.ModelMultipleChoiceField(
        queryset=Group.objects.all(), required=True, widget=forms.CheckboxSelectMultiple
    )

    class Meta(UserCreationForm.Meta):
        fields = ("username",)

    def clean(self):
        cleaned = super().clean()
        _check_one_clinic_group(self)
        return cleaned

    def save(self, commit: bool = True):
        user = super().save(commit=commit)
        if commit:
            user.groups.set(self.cleaned_data["groups"])
        return user


admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class StaffAdmin(BaseUserAdmin):
    form = StaffChangeForm
    add_form = StaffCreationForm
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "password1", "password2", "groups")}),
    )
    list_display = ("username", "first_name", "last_name", "clinic_role", "is_active", "last_login")
    list_filter = ("groups", "is_active")
    actions = ["reset_mfa", "end_all_sessions", "unlock_sign_in"]
    # Plain labelled controls instead of Django's two-pane filter (its generated icons carry
    # ARIA that axe-core refuses); the dates are the system's record, never typed.
    filter_horizontal = ()
    readonly_fields = ("last_login", "date_joined")

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
            access_log.record(
                request, access_log.UNLOCK, object_id=f"staff:{user.pk}", reason="account"
            )
        self.message_user(request, f"Unlocked {queryset.count()} user(s).", messages.SUCCESS)

    @admin.action(description="End all sessions")
    def end_all_sessions(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        ended = sum(
            end_sessions(user, reason="ended_by_admin", by=request.user) for user in queryset
        )
        self.message_user(request, f"Ended {ended} session(s).", messages.SUCCESS)

    def user_change_password(
        self, request: HttpRequest, id: str, form_url: str = ""
    ) -> HttpResponse:
        """Django's page, then: a password an administrator set for someone else signs that
        person out everywhere, logged (`session_ended`, password_changed). Django would only
        drop those sessions silently at their next request (the session hash no longer
        matches). The `password_changed` event itself comes from accounts/security_events.py."""
        users = User.objects.filter(pk=unquote(id))
        before = users.values_list("password", flat=True).first()
        response = super().user_change_password(request, id, form_url)
        target = users.first()
        if (
            request.method == "POST"
            and target is not None
            and target.pk != request.user.pk
            and target.password != before
        ):
            end_sessions(target, reason="password_changed", by=request.user)
        return response

    @admin.display(description="Clinic role")
    def clinic_role(self, user: User) -> str:
        names = [g.name for g in user.groups.all() if g.name in roles.GROUP_ROLES]
        return names[0] if len(names) == 1 else ("none" if not names else "several (no access)")


@admin.register(Group)
class ClinicGroupAdmin(BaseGroupAdmin):
    readonly_fields = ("database_role", "database_rights")
    filter_horizontal = ()  # a plain labelled list (the two-pane filter's icons fail axe-core)
    fields = ("name", "database_role", "database_rights", "permissions")

    @admin.display(description="PostgreSQL role")
    def database_role(self, group: Group) -> str:
        return roles.GROUP_ROLES.get(group.name, "none: members of this group get no PHI")

    @admin.display(description="Database rights (from clinic/roles.py)")
    def database_rights(self, group: Group) -> str:
        role = roles.GROUP_ROLES.get(group.name)
        if not role:
            return "—"
        discover_steps()  # the apps' declared grants
        grants = declared_grants().get(role, [])
        rows = sorted(
            (", ".join(g.privileges), g.table, ", ".join(g.columns) or "all columns")
            for g in grants
        )
        return format_html_join("\n", "<div>{} on {} ({})</div>", rows) or "—"
