from django.urls import path

from records import care_team_views, draft_views, icd10_views, signing_views, visit_views

app_name = "records"
urlpatterns = [
    path("patients/<uuid:patient_id>/visits/", visit_views.visit_list, name="visit-list"),
    path("patients/<uuid:patient_id>/visits/new/", visit_views.visit_new, name="visit-new"),
    path("visits/<uuid:record_id>/", visit_views.visit_detail, name="visit-detail"),
    path("visits/<uuid:record_id>/edit/", visit_views.visit_edit, name="visit-edit"),
    path("visits/<uuid:record_id>/sign/", signing_views.visit_sign, name="visit-sign"),
    path("visits/<uuid:record_id>/addenda/", signing_views.addendum_new, name="addendum-new"),
    path("my-unsigned-notes/", signing_views.unsigned_notes_list, name="unsigned-notes"),
    path("visit-note-drafts/save", draft_views.save, name="visit-note-draft-save"),
    path("patients/<uuid:patient_id>/care-team/", care_team_views.care_team, name="care-team"),
    path(
        "patients/<uuid:patient_id>/care-team/end/",
        care_team_views.care_team_end_view,
        name="care-team-end",
    ),
    path("my-patients/", care_team_views.my_patients, name="my-patients"),
    path("icd10/lookup/", icd10_views.icd10_lookup, name="icd10-lookup"),
]
