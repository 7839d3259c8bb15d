from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from accounts import views as account_views
from accounts.forms import SignInForm
from clinic import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(
            authentication_form=SignInForm, redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("session/status", account_views.session_status, name="session-status"),
    path("session/renew", account_views.session_renew, name="session-renew"),
    path("patients/", include("patients.urls")),
    path("", include("records.urls")),
    path("break-glass/", include("records.break_glass_urls")),
    path("analytics/", include("analytics.urls")),
    path("privacy/", include("privacy.urls")),
    path("account/", include("accounts.urls")),
]

handler400 = "clinic.views.bad_request"
handler403 = "clinic.views.forbidden"
handler404 = "clinic.views.not_found"
handler500 = "clinic.views.server_error"
