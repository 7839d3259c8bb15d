from django.urls import path

from scheduling import views

app_name = "scheduling"
urlpatterns = [
    path("patients/<uuid:patient_id>/book/", views.book, name="book"),
    path("day/", views.day, name="day"),
    path("appointments/<uuid:appointment_id>/step/", views.step, name="step"),
    path("appointments/<uuid:appointment_id>/cancel/", views.cancel, name="cancel"),
    path("appointments/<uuid:appointment_id>/reschedule/", views.reschedule, name="reschedule"),
]
