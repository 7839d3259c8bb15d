"""Everything a staff member does to their own account lives under /account/."""

from django.urls import path

from clinic import mfa_views, password_views, reauth, session_control

urlpatterns = [
    path("mfa/", mfa_views.overview, name="mfa-overview"),
    path("mfa/verify/", mfa_views.verify, name="mfa-verify"),
    path("mfa/setup/", mfa_views.setup, name="mfa-setup"),
    path("mfa/recovery-codes/", mfa_views.recovery_codes, name="mfa-recovery-codes"),
    path("mfa/remove/", mfa_views.remove, name="mfa-remove"),
    path("reauthenticate/", reauth.reauthenticate, name="reauthenticate"),
    path("sessions/", session_control.my_sessions, name="my-sessions"),
    path("sessions/<int:pk>/end/", session_control.end_session, name="end-session"),
    path("sessions/end-others/", session_control.end_other_sessions, name="end-other-sessions"),
    path("password/", password_views.change_password, name="password-change"),
]
