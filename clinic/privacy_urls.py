from django.urls import path

from clinic import break_glass_review_views, disclosure_views, lockout_views, privacy_views

app_name = "privacy"
urlpatterns = [
    path("", privacy_views.console, name="console"),
    path("access-log/", privacy_views.access_log_search, name="access_log"),
    path("access-log.csv", privacy_views.access_log_csv, name="access_log_csv"),
    path("patients/find/", privacy_views.patient_find, name="patient_find"),
    path("patients/<uuid:patient_id>/", privacy_views.patient_report, name="patient_report"),
    path(
        "patients/<uuid:patient_id>/disclosures/",
        disclosure_views.disclosure_list,
        name="disclosure_list",
    ),
    path(
        "patients/<uuid:patient_id>/disclosures/new/",
        disclosure_views.disclosure_create,
        name="disclosure_create",
    ),
    path(
        "patients/<uuid:patient_id>/disclosures/<uuid:disclosure_id>/suspend/",
        disclosure_views.disclosure_suspend,
        name="disclosure_suspend",
    ),
    path(
        "patients/<uuid:patient_id>/disclosures/accounting/",
        disclosure_views.disclosure_accounting,
        name="disclosure_accounting",
    ),
    path("break-glass/", break_glass_review_views.review_queue, name="break_glass_queue"),
    path(
        "break-glass/<uuid:grant_id>/",
        break_glass_review_views.review,
        name="break_glass_review",
    ),
    path("lockouts/", lockout_views.lockouts, name="lockouts"),
    path("lockouts/unlock/", lockout_views.unlock, name="unlock"),
    path("flags/", privacy_views.flags, name="flags"),
]
