"""Break the glass: password re-entry, a reason, a time-boxed grant that RLS honours, a banner."""

from __future__ import annotations

import pytest
from django.test import override_settings
from django.utils import timezone

from clinic import access_log, roles
from records.models import BreakGlassGrant
from tests.conftest import PASSWORD, make_staff
from tests.factories import (
    BreakGlassGrantFactory,
    CareTeamMemberFactory,
    ClinicalRecordFactory,
    PatientFactory,
)
from tests.privacy_helpers import actions, events, records_visible_as
from tests.test_signin import sign_in

pytestmark = pytest.mark.usefixtures("clinic_db")


@pytest.fixture
def patient(staff):
    patient = PatientFactory()
    CareTeamMemberFactory(staff=staff["clinician2"], patient=patient)
    ClinicalRecordFactory(patient=patient, provider=staff["clinician2"])
    ClinicalRecordFactory(patient=patient, provider=staff["clinician2"])
    return patient


def url(patient) -> str:
    return f"/break-glass/{patient.pk}/"


def form(password=PASSWORD, category="emergency", text="", next=""):
    return {"password": password, "reason_category": category, "reason_text": text, "next": next}


def test_clinician_sees_the_break_glass_form_for_a_patient_not_on_their_team(
    client_for, staff, patient
):
    response = client_for(staff["clinician"]).get(url(patient))
    assert response.status_code == 200
    assert b"Break the glass" in response.content
    assert b"not on your care team" in response.content


def test_the_break_glass_pages_show_the_patient_and_log_it(client_for, staff, patient):
    """Both the form (an outside clinician) and the 'not needed' page (a care-team member)
    show the patient's name and MRN: each opening is an event tied to the patient."""
    for persona in ("clinician", "clinician2"):
        assert client_for(staff[persona]).get(url(patient)).status_code == 200
    shown = [e for e in events(access_log.CHART_VIEWED) if e.reason == "break_glass_form"]
    assert sorted((e.staff_id, e.patient_id) for e in shown) == sorted(
        (staff[persona].pk, patient.pk) for persona in ("clinician", "clinician2")
    )


def test_grant_opens_the_patients_records_under_row_level_security(client_for, staff, patient):
    clinician = staff["clinician"]
    assert records_visible_as("clinic_clinician", clinician.pk, patient.pk) == 0
    response = client_for(clinician).post(url(patient), form())
    assert response.status_code == 302
    assert records_visible_as("clinic_clinician", clinician.pk, patient.pk) == 2
    # Another real clinician, not on the care team and without a grant, still sees nothing
    # (and the care-team clinician sees both: the count is not zero for everyone else).
    other = make_staff("t-clinician3", roles.CLINICIAN)
    assert records_visible_as("clinic_clinician", other.pk, patient.pk) == 0
    assert records_visible_as("clinic_clinician", staff["clinician2"].pk, patient.pk) == 2


def test_grant_is_time_boxed_by_setting(client_for, staff, patient):
    with override_settings(BREAK_GLASS_HOURS=2):
        client_for(staff["clinician"]).post(url(patient), form())
    grant = BreakGlassGrant.objects.using("owner").get()
    hours = (grant.expires_at - grant.starts_at).total_seconds() / 3600
    assert hours == pytest.approx(2, abs=0.01)
    assert grant.reason_category == "emergency"


def test_expired_grant_no_longer_opens_records(staff, patient):
    grant = BreakGlassGrantFactory(staff=staff["clinician"], patient=patient)
    assert records_visible_as("clinic_clinician", staff["clinician"].pk, patient.pk) == 2
    BreakGlassGrant.objects.using("owner").filter(pk=grant.pk).update(expires_at=timezone.now())
    assert records_visible_as("clinic_clinician", staff["clinician"].pk, patient.pk) == 0


def test_start_is_logged_with_the_category_but_not_the_free_text(client_for, staff, patient):
    client_for(staff["clinician"]).post(
        url(patient), form(category="other", text="Testexplanation covering ward")
    )
    (event,) = events(action=access_log.BREAK_GLASS_STARTED)
    grant = BreakGlassGrant.objects.using("owner").get()
    assert event.staff_id == staff["clinician"].pk
    assert event.patient_id == patient.pk
    assert event.object_id == str(grant.pk)
    assert event.reason == "other"
    assert grant.reason_text == "Testexplanation covering ward"


def test_other_needs_an_explanation(client_for, staff, patient):
    response = client_for(staff["clinician"]).post(url(patient), form(category="other"))
    assert response.status_code == 200
    assert b"Explain the reason" in response.content
    assert not BreakGlassGrant.objects.using("owner").exists()


def test_wrong_password_gives_a_message_no_grant_and_counts_as_a_failed_sign_in(
    client_for, staff, patient
):
    response = client_for(staff["clinician"]).post(url(patient), form(password="not-it-123456"))
    assert response.status_code == 200
    assert b"That password is not correct" in response.content
    assert not BreakGlassGrant.objects.using("owner").exists()
    assert records_visible_as("clinic_clinician", staff["clinician"].pk, patient.pk) == 0
    assert access_log.SIGN_IN_FAILED in actions()
    from axes.models import AccessAttempt

    from accounts.lockout import username_key

    attempt = AccessAttempt.objects.using("owner").get(username=username_key("t-clinician"))
    assert attempt.failures_since_start == 1


def test_five_wrong_passwords_lock_the_account_and_end_the_session(
    client, client_for, staff, patient
):
    signed_in = client_for(staff["clinician"])
    for _ in range(4):
        assert signed_in.post(url(patient), form(password="not-it-123456")).status_code == 200
    response = signed_in.post(url(patient), form(password="not-it-123456"))
    assert response.status_code == 429
    assert access_log.LOCKOUT in actions()
    assert signed_in.get("/").status_code == 302  # signed out
    assert sign_in(client, "t-clinician", PASSWORD).status_code == 429
    assert not BreakGlassGrant.objects.using("owner").exists()


def test_banner_shows_on_every_page_while_the_grant_lasts(client_for, staff, patient):
    client = client_for(staff["clinician"])
    client.post(url(patient), form())
    home = client.get("/")
    assert b"break-glass-banner" in home.content
    assert b"End emergency access now" in home.content
    other_page = client.get("/break-glass/" + str(patient.pk) + "/")
    assert b"break-glass-banner" in other_page.content


def test_no_banner_without_an_active_grant(client_for, staff, patient):
    BreakGlassGrantFactory(staff=staff["clinician"], patient=patient, ended_at=timezone.now())
    assert b"break-glass-banner" not in client_for(staff["clinician"]).get("/").content


def test_the_banners_query_agrees_with_active_grants(staff, patient):
    from records.break_glass import active_grants, banner_grants
    from tests.db_helpers import as_role
    from tests.records_support import banner_grant_set

    clinician = staff["clinician"]
    soon, later = banner_grant_set(clinician, staff["clinician2"], patient)
    with as_role("clinic_clinician", clinician.pk):
        shown = [(g.grant_id, g.reason_category, g.expires_at) for g in banner_grants(clinician)]
        expected = [(g.grant_id, g.reason_category, g.expires_at) for g in active_grants(clinician)]
    assert shown == expected
    assert [row[0] for row in shown] == [soon.pk, later.pk]


def test_ending_early_closes_access_and_is_logged(client_for, staff, patient):
    client = client_for(staff["clinician"])
    client.post(url(patient), form())
    grant = BreakGlassGrant.objects.using("owner").get()
    assert client.get(f"/break-glass/grants/{grant.pk}/end/").status_code == 200
    response = client.post(f"/break-glass/grants/{grant.pk}/end/")
    assert response.status_code == 302
    assert records_visible_as("clinic_clinician", staff["clinician"].pk, patient.pk) == 0
    (event,) = events(action=access_log.BREAK_GLASS_ENDED)
    assert event.object_id == str(grant.pk)
    assert b"break-glass-banner" not in client.get("/").content


def test_clinician_cannot_end_someone_elses_grant(client_for, staff, patient):
    grant = BreakGlassGrantFactory(staff=staff["clinician2"], patient=patient)
    response = client_for(staff["clinician"]).post(f"/break-glass/grants/{grant.pk}/end/")
    assert response.status_code == 404
    assert BreakGlassGrant.objects.using("owner").get().ended_at is None
    assert access_log.ACCESS_REFUSED in actions()


def test_care_team_member_needs_no_emergency_access(client_for, staff, patient):
    response = client_for(staff["clinician2"]).post(url(patient), form())
    assert response.status_code == 200
    assert b"No emergency access needed" in response.content
    assert not BreakGlassGrant.objects.using("owner").exists()


def test_second_request_while_active_reuses_the_grant(client_for, staff, patient):
    client = client_for(staff["clinician"])
    client.post(url(patient), form())
    response = client.post(url(patient), form())
    assert response.status_code == 200
    assert BreakGlassGrant.objects.using("owner").count() == 1


def test_next_path_is_followed_but_not_an_external_url(client_for, staff, patient):
    client = client_for(staff["clinician"])
    local = f"/patients/{patient.pk}/"
    assert client.post(url(patient), form(next=local))["Location"] == local
    BreakGlassGrant.objects.using("owner").update(ended_at=timezone.now())
    response = client.post(url(patient), form(next="https://evil.example.test/"))
    assert response["Location"] == "/"


@pytest.mark.parametrize("persona", ["frontdesk", "analyst", "privacy", "admin", "outsider"])
def test_other_roles_are_refused_and_logged(client_for, staff, patient, persona):
    response = client_for(staff[persona]).post(url(patient), form())
    assert response.status_code == 403
    assert not BreakGlassGrant.objects.using("owner").exists()
    (event,) = events(action=access_log.ACCESS_REFUSED)
    assert event.patient_id == patient.pk
    assert event.outcome == "403"


def test_anonymous_visitor_is_sent_to_sign_in(client, patient):
    response = client.get(url(patient))
    assert response.status_code == 302
    assert "/account/sign-in/" in response["Location"]


def test_unknown_patient_is_not_found(client_for, staff):
    unknown = "00000000-0000-4000-8000-000000000000"
    response = client_for(staff["clinician"]).get(f"/break-glass/{unknown}/")
    assert response.status_code == 404


@override_settings(OTP_TOTP_THROTTLE_FACTOR=0)  # django-otp's own back-off after a wrong code
def test_a_clinician_with_mfa_also_gives_a_code(client_for, staff, patient):
    from django_otp import DEVICE_ID_SESSION_KEY

    from tests.conftest import current_code, give_totp

    device = give_totp(staff["clinician"])
    client = client_for(staff["clinician"])
    session = client.session  # signed in with the code, as the code step would leave it
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    page = client.get(url(patient))
    assert b'name="otp_token"' in page.content
    refused = client.post(url(patient), {**form(), "otp_token": "000000"})
    assert refused.status_code == 200
    assert b"That code did not match" in refused.content
    assert not BreakGlassGrant.objects.using("owner").exists()
    accepted = client.post(url(patient), {**form(), "otp_token": current_code(device)})
    assert accepted.status_code == 302
    assert BreakGlassGrant.objects.using("owner").count() == 1


def test_a_clinician_without_mfa_is_not_asked_for_a_code(client_for, staff, patient):
    assert b'name="otp_token"' not in client_for(staff["clinician"]).get(url(patient)).content
