from django.urls import path

from records import break_glass_views

app_name = "break_glass"
urlpatterns = [
    path("<uuid:patient_id>/", break_glass_views.start, name="start"),
    path("grants/<uuid:grant_id>/end/", break_glass_views.end, name="end"),
]
