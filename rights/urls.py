"""The right of access (164.524), under /privacy/rights/ in the privacy officer's console."""

from django.urls import path

from rights import views

app_name = "rights"
P = "patients/<uuid:patient_id>/requests"
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
]
