"""Everything a staff member does to their own account lives under /account/."""

from django.contrib.auth import views as auth_views
from django.urls import path

from accounts import reauth, views
from accounts.forms import SignInForm

app_name = "accounts"
urlpatterns = [
    path(
        "sign-in/",
        auth_views.LoginView.as_view(
            template_name="accounts/sign_in.html",
            authentication_form=SignInForm,
            redirect_authenticated_user=True,
        ),
        name="sign-in",
    ),
    path("sign-out/", auth_views.LogoutView.as_view(), name="sign-out"),
    # The idle-logout dialog's polling (never renews the session) and "Stay signed in".
    path("session/status", views.session_status, name="session-status"),
    path("session/renew", views.session_renew, name="session-renew"),
    path("mfa/", views.overview, name="mfa-overview"),
    path("mfa/verify/", views.verify, name="mfa-verify"),
    path("mfa/setup/", views.setup, name="mfa-setup"),
    path("mfa/recovery-codes/", views.recovery_codes, name="mfa-recovery-codes"),
    path("mfa/remove/", views.remove, name="mfa-remove"),
    path("reauthenticate/", reauth.reauthenticate, name="reauthenticate"),
    path("sessions/", views.my_sessions, name="my-sessions"),
    path("sessions/<int:pk>/end/", views.end_session, name="end-session"),
    path("sessions/end-others/", views.end_other_sessions, name="end-other-sessions"),
    path("password/", views.change_password, name="password-change"),
]
