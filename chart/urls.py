from django.urls import path

from chart import problem_views, views, vitals_views

app_name = "chart"
urlpatterns = [
    path("patients/<uuid:patient_id>/", views.summary, name="summary"),
    path("patients/<uuid:patient_id>/allergies/", views.allergies, name="allergies"),
    path(
        "patients/<uuid:patient_id>/allergies/none/",
        views.no_known_allergies,
        name="no-known-allergies",
    ),
    path("allergies/<uuid:allergy_id>/", views.allergy_edit, name="allergy-edit"),
    path("patients/<uuid:patient_id>/problems/", problem_views.problems, name="problems"),
    path("problems/<uuid:problem_id>/", problem_views.problem_edit, name="problem-edit"),
    path("problems/<uuid:problem_id>/status/", problem_views.problem_status, name="problem-status"),
    path("patients/<uuid:patient_id>/vitals/", vitals_views.vital_signs, name="vitals"),
    path(
        "patients/<uuid:patient_id>/vitals/<slug:measure>/",
        vitals_views.vital_signs_trend,
        name="vitals-trend",
    ),
    path("vitals/<uuid:vitals_id>/", vitals_views.vital_signs_in_error, name="vitals-in-error"),
    path("patients/<uuid:patient_id>/medications/", views.medications, name="medications"),
    path("medications/<uuid:medication_id>/", views.medication_edit, name="medication-edit"),
]
