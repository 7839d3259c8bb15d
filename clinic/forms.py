from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm


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
