"""BENCHMARK-ONLY URLconf: the application's URLs plus the baseline pages under /baseline/."""

from django.urls import include, path

from benchmarks import baseline_chart, baseline_scheduling, baseline_views

urlpatterns = [
    path("baseline/patients/search/", baseline_views.search),
    path("baseline/patients/<uuid:patient_id>/", baseline_views.detail),
    path("baseline/patients/<uuid:patient_id>/visits/", baseline_views.visit_list),
    path("baseline/chart/patients/<uuid:patient_id>/", baseline_chart.summary),
    path("baseline/scheduling/day/", baseline_scheduling.day),
    path("baseline/scheduling/patients/<uuid:patient_id>/book/", baseline_scheduling.book),
    path("", include("clinic.urls")),
]
