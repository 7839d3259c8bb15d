"""Everything a staff member does to their own account lives under /account/."""

from django.urls import path

from accounts import reauth, views

urlpatterns = [
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
