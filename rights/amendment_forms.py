"""Forms of the amendment pages (164.526). Dates are the clinic's (timezone.localdate)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django import forms
from django.utils import timezone

from records import icd10
from rights.amendment_models import (
    CHART_KINDS,
    DEMOGRAPHIC,
    DEMOGRAPHIC_FIELDS,
    NOTE,
    PROBLEM,
    TARGET_KINDS,
    VITALS,
)
from rights.form_checks import DATE, TEXT, not_in_future, required_text
from rights.models import AMENDMENT_DENIAL_GROUNDS, RECEIVED_HOW


@dataclass(frozen=True)
class Target:
    """What a request is about: its kind, the item's id (a field name for a demographic field)
    and who decides (None: the privacy officer, for a demographic field)."""

    kind: str
    key: str
    routed_to: int | None


def _local(moment: datetime) -> str:
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M}"


class AmendmentRequestForm(forms.Form):
    # Named `record` since it held only visit notes; a note is still chosen by its bare id.
    record = forms.ChoiceField(
        label="Which item: a signed visit note, a chart entry or a demographic field"
    )
    received_on = forms.DateField(label="Received on", widget=DATE)
    received_how = forms.ChoiceField(label="How the request was made", choices=RECEIVED_HOW)
    requested = forms.CharField(
        label="What the patient asks to change, and why", max_length=4000, widget=TEXT
    )

    def __init__(
        self,
        *args: Any,
        visits: list[tuple[str, date, int]],
        items: list[tuple[str, str, datetime, str | None, datetime | None, int | None]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.targets: dict[str, Target] = {}
        groups: dict[str, list[tuple[str, str]]] = {}
        for record_id, day, author in visits:
            self.targets[record_id] = Target(NOTE, record_id, author)
            groups.setdefault("Signed visit notes", []).append(
                (record_id, f"Visit on {day:%Y-%m-%d}")
            )
        kinds = dict(TARGET_KINDS)
        for kind, item_id, recorded_at, detail, taken_at, decider in items:
            value = f"{kind}:{item_id}"
            self.targets[value] = Target(kind, item_id, decider)
            label = f"{kinds[kind]} recorded {_local(recorded_at)[:10]}"
            if kind == PROBLEM and detail:
                label += f", ICD-10-CM {icd10.dotted(detail)}"
            elif kind == VITALS and taken_at:
                label += f", taken {_local(taken_at)}"
            elif detail:
                label += f" ({detail.replace('_', ' ')})"
            if decider is None:
                label += " — nobody to decide it"
            groups.setdefault(f"{kinds[kind]} entries", []).append((value, label))
        for field, label in DEMOGRAPHIC_FIELDS:
            value = f"{DEMOGRAPHIC}:{field}"
            self.targets[value] = Target(DEMOGRAPHIC, field, None)
            groups.setdefault("Demographic fields (decided by the privacy officer)", []).append(
                (value, label)
            )
        self.fields["record"].choices = list(groups.items())  # type: ignore[attr-defined]
        self.fields["received_on"].initial = timezone.localdate()

    def clean_record(self) -> str:
        value: str = self.cleaned_data["record"]
        target = self.targets[value]
        if target.kind in CHART_KINDS and target.routed_to is None:
            raise forms.ValidationError(
                "Whoever recorded this entry is no longer active and the patient has no "
                "care-team clinician to decide it: assign one first."
            )
        return value

    def target(self) -> Target:
        return self.targets[self.cleaned_data["record"]]

    def clean_received_on(self) -> date:
        return not_in_future(self.cleaned_data["received_on"])

    def clean_requested(self) -> str:
        return required_text(
            self.cleaned_data.get("requested"), "Say what the patient asks to change."
        )


class TextForm(forms.Form):
    """One written text: an extension's reason, a statement of disagreement, a rebuttal."""

    text = forms.CharField(max_length=4000, widget=TEXT)

    def __init__(self, *args: Any, label: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["text"].label = label

    def clean_text(self) -> str:
        return required_text(self.cleaned_data.get("text"), "Write the text.")


ACCEPT, DENY = "accept", "deny"


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[(ACCEPT, "Accept: link the amendment to the item"), (DENY, "Deny")],
        widget=forms.RadioSelect,
    )
    amendment = forms.CharField(
        label="The amendment (linked to the item as yours, signed now; the item is not changed)",
        max_length=4000,
        required=False,
        widget=TEXT,
    )
    notify = forms.CharField(
        label="Whom to notify of the amendment (persons the patient named, others who rely on it)",
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    denial_ground = forms.ChoiceField(
        label="Ground for denial", choices=[("", "—"), *AMENDMENT_DENIAL_GROUNDS], required=False
    )
    denial_reason = forms.CharField(
        label="Written reason for the denial (sent to the patient)",
        max_length=4000,
        required=False,
        widget=TEXT,
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for name in ("amendment", "notify", "denial_reason"):
            cleaned[name] = (cleaned.get(name) or "").strip()
        if cleaned.get("decision") == ACCEPT:
            if not cleaned["amendment"]:
                self.add_error("amendment", "Write the amendment to append.")
            if cleaned.get("denial_ground") or cleaned["denial_reason"]:
                self.add_error("denial_ground", "An accepted amendment has no denial ground.")
        elif cleaned.get("decision") == DENY:
            if not cleaned.get("denial_ground"):
                self.add_error("denial_ground", "Choose the ground for denial.")
            if not cleaned["denial_reason"]:
                self.add_error("denial_reason", "Write the reason for the denial.")
            if cleaned["amendment"]:
                self.add_error("amendment", "A denied request appends nothing.")
        return cleaned
