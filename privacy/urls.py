"""The privacy officer's console, under /privacy/."""

from django.urls import path

from privacy.views import break_glass, disclosures, lockouts, reports

app_name = "privacy"
urlpatterns = [
    path("", reports.console, name="console"),
    path("access-log/", reports.access_log_search, name="access-log"),
    path("access-log.csv", reports.access_log_csv, name="access-log-csv"),
    path("patients/find/", reports.patient_find, name="patient-find"),
    path("patients/<uuid:patient_id>/", reports.patient_report, name="patient-report"),
    path(
        "patients/<uuid:patient_id>/disclosures/",
        disclosures.disclosure_list,
        name="disclosure-list",
    ),
    path(
        "patients/<uuid:patient_id>/disclosures/new/",
        disclosures.disclosure_create,
        name="disclosure-create",
    ),
    path(
        "patients/<uuid:patient_id>/disclosures/<uuid:disclosure_id>/suspend/",
        disclosures.disclosure_suspend,
        name="disclosure-suspend",
    ),
    path(
        "patients/<uuid:patient_id>/disclosures/accounting/",
        disclosures.disclosure_accounting,
        name="disclosure-accounting",
    ),
    path("break-glass/", break_glass.review_queue, name="break-glass-queue"),
    path(
        "break-glass/<uuid:grant_id>/",
        break_glass.review,
        name="break-glass-review",
    ),
    path("lockouts/", lockouts.lockouts, name="lockouts"),
    path("lockouts/unlock/", lockouts.unlock, name="unlock"),
    path("flags/", reports.flags, name="flags"),
]
