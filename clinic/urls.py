from django.contrib import admin
from django.urls import include, path

from clinic import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    # Browsers ask for /favicon.ico on their own: answered, so no page view logs a refusal.
    path("favicon.ico", views.favicon),
    path("admin/", admin.site.urls),
    path("account/", include("accounts.urls")),
    path("patients/", include("patients.urls")),
    path("", include("records.urls")),
    path("break-glass/", include("records.break_glass_urls")),
    path("analytics/", include("analytics.urls")),
    path("privacy/rights/", include("rights.urls")),
    path("privacy/", include("privacy.urls")),
    path("scheduling/", include("scheduling.urls")),
    path("chart/", include("chart.urls")),
    # Earlier addresses (bookmarks, open tabs, scripts) keep working: 308 keeps the method.
    path("accounts/login/", views.moved_to("accounts:sign-in")),
    path("accounts/logout/", views.moved_to("accounts:sign-out")),
    path("session/status", views.moved_to("accounts:session-status")),
    path("session/renew", views.moved_to("accounts:session-renew")),
]

handler400 = "clinic.views.bad_request"
handler403 = "clinic.views.forbidden"
handler404 = "clinic.views.not_found"
handler500 = "clinic.views.server_error"
