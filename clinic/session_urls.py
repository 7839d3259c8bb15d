from django.urls import path

from clinic import session_views

urlpatterns = [
    path("session/status", session_views.status, name="session-status"),
    path("session/renew", session_views.renew, name="session-renew"),
]
