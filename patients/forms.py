"""Forms for patient search, registration, demographics and revealing one identifier.

Every value a person types reaches the database through one of these forms. Messages never
echo the value (a form error can end up in a screenshot or a support ticket).

SSN rule (documented in README): ``###-##-####`` or nine digits. Numbers the Social Security
Administration never issues are refused in its ranges -- area 000 or 666, group 00, serial
0000 -- while the 900-999 area, which is never issued as an SSN, is accepted as is: it is where
test and demo data live (``900-00-0001``), so a fake number can never belong to a real person.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from patients.models import DEMOGRAPHIC_FIELDS, SHOWN_IN_SEARCH, PatientIdentity

MAX_AGE_YEARS = 130
SEARCH_RESULT_LIMIT = 25

US_STATES = [
    ("AL", "Alabama"), ("AK", "Alaska"), ("AZ", "Arizona"), ("AR", "Arkansas"),
    ("CA", "California"), ("CO", "Colorado"), ("CT", "Connecticut"), ("DE", "Delaware"),
    ("DC", "District of Columbia"), ("FL", "Florida"), ("GA", "Georgia"), ("HI", "Hawaii"),
    ("ID", "Idaho"), ("IL", "Illinois"), ("IN", "Indiana"), ("IA", "Iowa"), ("KS", "Kansas"),
    ("KY", "Kentucky"), ("LA", "Louisiana"), ("ME", "Maine"), ("MD", "Maryland"),
    ("MA", "Massachusetts"), ("MI", "Michigan"), ("MN", "Minnesota"), ("MS", "Mississippi"),
    ("MO", "Missouri"), ("MT", "Montana"), ("NE", "Nebraska"), ("NV", "Nevada"),
    ("NH", "New Hampshire"), ("NJ", "New Jersey"), ("NM", "New Mexico"), ("NY", "New York"),
    ("NC", "North Carolina"), ("ND", "North Dakota"), ("OH", "Ohio"), ("OK", "Oklahoma"),
    ("OR", "Oregon"), ("PA", "Pennsylvania"), ("RI", "Rhode Island"), ("SC", "South Carolina"),
    ("SD", "South Dakota"), ("TN", "Tennessee"), ("TX", "Texas"), ("UT", "Utah"),
    ("VT", "Vermont"), ("VA", "Virginia"), ("WA", "Washington"), ("WV", "West Virginia"),
    ("WI", "Wisconsin"), ("WY", "Wyoming"), ("AS", "American Samoa"), ("GU", "Guam"),
    ("MP", "Northern Mariana Islands"), ("PR", "Puerto Rico"), ("VI", "U.S. Virgin Islands"),
]  # fmt: skip

_SSN_RE = re.compile(r"^(\d{3})-?(\d{2})-?(\d{4})$")
_NON_DIGITS = re.compile(r"\D")
_PHONE_CHARS = re.compile(r"^[\d\s().+-]+$")
DATE_MESSAGES = {"invalid": "Enter a real date as YYYY-MM-DD (for example 1980-04-30)."}


def clean_ssn(value: str) -> str:
    """``###-##-####`` or nine digits -> ``###-##-####``; see the module docstring."""
    match = _SSN_RE.match(value.strip())
    if not match:
        raise ValidationError("Enter the SSN as ###-##-#### or as nine digits.", code="format")
    area, group, serial = match.groups()
    if not area.startswith("9") and (area in ("000", "666") or group == "00" or serial == "0000"):
        raise ValidationError(
            "This SSN cannot be issued (area 000 or 666, group 00 or serial 0000 are never used).",
            code="never_issued",
        )
    return f"{area}-{group}-{serial}"


def clean_us_phone(value: str) -> str:
    """Ten US digits (optionally +1), any usual punctuation -> ``###-###-####``."""
    text = value.strip()
    digits = _NON_DIGITS.sub("", text)
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    if not _PHONE_CHARS.match(text) or len(digits) != 10:
        raise ValidationError("Enter a US phone number with 10 digits.", code="format")
    if digits[0] in "01" or digits[3] in "01":
        raise ValidationError(
            "That is not a valid US phone number (area code and exchange cannot start with 0 "
            "or 1).",
            code="nanp",
        )
    return f"{digits[:3]}-{digits[3:6]}-{digits[6:]}"


def clean_birth_date(value: date) -> date:
    today = timezone.localdate()
    if value > today:
        raise ValidationError("The date of birth cannot be in the future.", code="future")
    try:
        oldest = today.replace(year=today.year - MAX_AGE_YEARS)
    except ValueError:  # 29 February
        oldest = today.replace(year=today.year - MAX_AGE_YEARS, day=28)
    if value < oldest:
        raise ValidationError(
            f"The date of birth is more than {MAX_AGE_YEARS} years ago; check the year.",
            code="too_old",
        )
    return value


def clean_person_name(value: str) -> str:
    text = " ".join(value.split())
    if not any(char.isalpha() for char in text):
        raise ValidationError("A name must contain at least one letter.", code="no_letters")
    return text


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


class PatientDemographicsForm(forms.ModelForm):
    """Registration and demographics edit: same fields, same rules."""

    state = forms.ChoiceField(
        choices=[("", "— not given —"), *US_STATES], required=False, label="State"
    )

    class Meta:
        model = PatientIdentity
        fields = list(DEMOGRAPHIC_FIELDS)
        labels = {
            "date_of_birth": "Date of birth",
            "ssn": "SSN (optional)",
            "administrative_sex": "Sex (administrative)",
            "gender_identity": "Gender identity (optional)",
        }
        help_texts = {
            "administrative_sex": "As on insurance and ID documents; Unknown if not given.",
            "ssn": "###-##-#### or nine digits.",
            "phone": "10-digit US number.",
        }
        widgets = {
            "date_of_birth": DateInput(),
            "address": forms.Textarea(attrs={"rows": 3}),
            "ssn": forms.TextInput(attrs={"autocomplete": "off", "inputmode": "numeric"}),
        }
        error_messages = {"date_of_birth": DATE_MESSAGES}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("first_name", "last_name", "date_of_birth", "phone", "email", "address"):
            self.fields[name].widget.attrs.setdefault("autocomplete", "off")
        # Not given is a value of its own in US Core ("unknown"), not a missing field.
        self.fields["administrative_sex"].required = False

    def clean_administrative_sex(self) -> str:
        return self.cleaned_data["administrative_sex"] or "unknown"

    def clean_first_name(self) -> str:
        return clean_person_name(self.cleaned_data["first_name"])

    def clean_last_name(self) -> str:
        return clean_person_name(self.cleaned_data["last_name"])

    def clean_date_of_birth(self) -> date:
        return clean_birth_date(self.cleaned_data["date_of_birth"])

    def clean_ssn(self) -> str:
        value = self.cleaned_data["ssn"]
        return clean_ssn(value) if value else ""

    def clean_phone(self) -> str:
        value = self.cleaned_data["phone"]
        return clean_us_phone(value) if value else ""

    def clean_address(self) -> str:
        return self.cleaned_data["address"].strip()


class PatientSearchForm(forms.Form):
    """One form, four modes; each mode is its own small form on the page (a hidden `mode`)."""

    LAST_NAME_DOB = "last_name_dob"
    SSN = "ssn"
    MRN = "mrn"
    PHONE = "phone"
    MODES = [
        (LAST_NAME_DOB, "Last name and date of birth"),
        (SSN, "SSN"),
        (MRN, "Medical record number"),
        (PHONE, "Phone"),
    ]
    REQUIRED = {
        LAST_NAME_DOB: ("last_name", "date_of_birth"),
        SSN: ("ssn",),
        MRN: ("mrn",),
        PHONE: ("phone",),
    }

    mode = forms.ChoiceField(choices=MODES, widget=forms.HiddenInput)
    last_name = forms.CharField(max_length=100, required=False)
    date_of_birth = forms.DateField(
        required=False, widget=DateInput(), error_messages=DATE_MESSAGES, label="Date of birth"
    )
    ssn = forms.CharField(max_length=11, required=False, label="SSN")
    mrn = forms.CharField(max_length=20, required=False, label="MRN")
    phone = forms.CharField(max_length=30, required=False)

    def clean_last_name(self) -> str:
        value = self.cleaned_data["last_name"]
        return clean_person_name(value) if value.strip() else ""

    def clean_ssn(self) -> str:
        value = self.cleaned_data["ssn"].strip()
        if value and not _SSN_RE.match(value):
            raise ValidationError("Enter the SSN as ###-##-#### or as nine digits.")
        return value

    def clean_mrn(self) -> str:
        value = self.cleaned_data["mrn"].strip()
        if value and not value.isalnum():
            raise ValidationError("An MRN has letters and digits only.")
        return value

    def clean_phone(self) -> str:
        value = self.cleaned_data["phone"]
        return clean_us_phone(value) if value.strip() else ""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for name in self.REQUIRED.get(cleaned.get("mode") or "", ()):
            if not cleaned.get(name) and name not in self.errors:
                self.add_error(name, "This field is required for this search.")
        return cleaned

    def search(self) -> list[PatientIdentity]:
        """Matching patients (blind-index lookups only), at most SEARCH_RESULT_LIMIT."""
        data = self.cleaned_data
        # Only what a result row shows is read and decrypted.
        patients = PatientIdentity.objects.shown(SHOWN_IN_SEARCH)
        mode = data["mode"]
        if mode == self.LAST_NAME_DOB:
            patients = patients.by_last_name_and_dob(data["last_name"], data["date_of_birth"])
        elif mode == self.SSN:
            patients = patients.by_ssn(data["ssn"])
        elif mode == self.MRN:
            patients = patients.by_mrn(data["mrn"])
        else:
            patients = patients.by_phone(data["phone"])
        found = list(patients.order_by("created_at", "pk")[:SEARCH_RESULT_LIMIT])
        return sorted(found, key=lambda p: (p.last_name.casefold(), p.first_name.casefold()))


class RevealIdentifierForm(forms.Form):
    SSN = "ssn"
    DATE_OF_BIRTH = "dob"
    identifier = forms.ChoiceField(choices=[(SSN, "SSN"), (DATE_OF_BIRTH, "Date of birth")])
