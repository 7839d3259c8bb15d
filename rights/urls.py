"""The right of access (164.524), under /privacy/rights/ in the privacy officer's console."""

from django.urls import path

from rights import amendment_views, restriction_views, views, visit_summary_views

app_name = "rights"
P = "patients/<uuid:patient_id>/requests"
A = "patients/<uuid:patient_id>/amendments"
R = "patients/<uuid:patient_id>/restrictions"
urlpatterns = [
    path("", views.request_list, name="request-list"),
    path("find/", views.patient_find, name="patient-find"),
    path(f"{P}/new/", views.request_create, name="request-create"),
    path(f"{P}/<uuid:request_id>/", views.request_detail, name="request-detail"),
    path(f"{P}/<uuid:request_id>/extend/", views.request_extend, name="request-extend"),
    path(
        f"{P}/<uuid:request_id>/export/<str:export_format>/",
        views.request_export,
        name="request-export",
    ),
    path(f"{P}/<uuid:request_id>/hand-over/", views.request_hand_over, name="request-hand-over"),
    path(f"{P}/<uuid:request_id>/close/", views.request_close, name="request-close"),
    # Amendment, 164.526: the privacy officer's steps ...
    path("amendments/find/", amendment_views.amendment_find, name="amendment-find"),
    path(f"{A}/new/", amendment_views.amendment_create, name="amendment-create"),
    path(f"{A}/<uuid:amendment_id>/", amendment_views.amendment_detail, name="amendment-detail"),
    # A demographic field's request is the privacy officer's to decide (before the steps).
    path(
        f"{A}/<uuid:amendment_id>/decide/",
        amendment_views.amendment_decide_demographic,
        name="amendment-decide-demographic",
    ),
    path(
        f"{A}/<uuid:amendment_id>/<str:step>/",
        amendment_views.amendment_step,
        name="amendment-step",
    ),
    # ... and the decider's (a clinician: the note's author, the chart entry's recorder).
    path("routed/", amendment_views.routed_list, name="amendments-routed"),
    path("routed/<uuid:amendment_id>/", amendment_views.amendment_decide, name="amendment-decide"),
    # The visit summary a clinician prints for the patient (the visit page's button).
    path(
        "visits/<uuid:record_id>/summary/",
        visit_summary_views.visit_summary,
        name="visit-summary",
    ),
    # Restrictions, 164.522(a).
    path("restrictions/find/", restriction_views.restriction_find, name="restriction-find"),
    path(f"{R}/", restriction_views.restriction_list, name="restriction-list"),
    path(
        f"{R}/<uuid:restriction_id>/",
        restriction_views.restriction_detail,
        name="restriction-detail",
    ),
    path(
        f"{R}/<uuid:restriction_id>/end/",
        restriction_views.restriction_end,
        name="restriction-end",
    ),
    # Confidential communications, 164.522(b).
    path(
        "patients/<uuid:patient_id>/communications/",
        restriction_views.communication_create,
        name="communication-create",
    ),
    path(
        "patients/<uuid:patient_id>/communications/<uuid:communication_id>/end/",
        restriction_views.communication_end,
        name="communication-end",
    ),
]
