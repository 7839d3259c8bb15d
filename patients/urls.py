from django.urls import path

from patients import views

app_name = "patients"
urlpatterns = [
    path("search/", views.search, name="search"),
    path("new/", views.register, name="register"),
    path("<uuid:patient_id>/", views.detail, name="detail"),
    path("<uuid:patient_id>/reveal/", views.reveal, name="reveal"),
    path("<uuid:patient_id>/edit/", views.edit, name="edit"),
]
