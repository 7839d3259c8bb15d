from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm, SetPasswordForm


class SignInForm(AuthenticationForm):
    """Django's form with one message for every failure: no hint whether the user exists."""

    error_messages = {
        "invalid_login": "That username and password did not match an active account.",
        "inactive": "That username and password did not match an active account.",
    }

    username = forms.CharField(
        max_length=150,
        widget=forms.TextInput(
            attrs={"autofocus": True, "autocomplete": "username", "autocapitalize": "none"}
        ),
    )


def _clean_code(value: str) -> str:
    code = "".join(value.split()).lower()
    if not code.isalnum():
        raise forms.ValidationError("Enter the 6-digit code or a recovery code.")
    return code


class CodeInput(forms.TextInput):
    """Never written back into the page: a re-displayed form starts empty."""

    def format_value(self, value: object) -> None:
        return None


def _code_field() -> forms.CharField:
    return forms.CharField(
        label="Code",
        max_length=16,
        widget=CodeInput(
            attrs={
                "autocomplete": "one-time-code",
                "autocapitalize": "none",
                "spellcheck": "false",
            }
        ),
    )


class CodeForm(forms.Form):
    """A code from the authenticator app, or a recovery code. Checked by the view (it counts
    wrong codes), so the form only cleans the shape."""

    otp_token = _code_field()

    def clean_otp_token(self) -> str:
        return _clean_code(self.cleaned_data["otp_token"])


class ReauthenticateForm(forms.Form):
    """Every factor the user has, again: the password, and a code when they have a device.

    Used on its own (re-authentication before sensitive account changes) and extended by break
    the glass. The factors are checked last, only when every other field is valid, so an
    incomplete form never counts a failure nor spends a one-time code. A wrong password counts
    in axes like one at sign-in; a wrong code goes through the one wrong-code flow
    (accounts.mfa.check_code). When the wrong-code limit is reached, `locked` is set and the
    view ends the sign-in. The view holds the code checks (mfa.hold_code_checks) first.
    """

    password = forms.CharField(
        strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )
    otp_token = _code_field()

    def __init__(self, *args, request, needs_code: bool, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.request = request
        self.user = user or request.user
        self.locked = False
        if not needs_code:
            del self.fields["otp_token"]

    def clean_otp_token(self) -> str:
        return _clean_code(self.cleaned_data["otp_token"])

    def clean(self) -> dict:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        from django.contrib.auth import authenticate

        from accounts import mfa

        # Through the backends, so axes counts a wrong password here like one at sign-in.
        user = authenticate(
            self.request, username=self.user.get_username(), password=cleaned["password"]
        )
        if user is None or user.pk != self.user.pk:
            self.add_error("password", "That password is not correct.")
            return cleaned
        if "otp_token" in self.fields:
            check = mfa.check_code(self.request, self.user, cleaned["otp_token"])
            self.locked = check.locked
            if not check.accepted:
                self.add_error("otp_token", check.message)
        return cleaned


class PasswordChangeForm(SetPasswordForm):
    """The new password twice (the old one was checked by re-authentication)."""

    def save(self, commit: bool = True):
        self.user.set_password(self.cleaned_data["new_password1"])
        if commit:
            # Only this column: the web roles may update nothing else on auth_user.
            self.user.save(update_fields=["password"])
        return self.user
