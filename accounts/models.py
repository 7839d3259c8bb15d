"""Sign-in bookkeeping the clinic keeps next to Django's own tables (no PHI here)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone


class StaffSessionQuerySet(models.QuerySet):
    def active_for(self, user) -> StaffSessionQuerySet:
        """The user's sessions that can still be used: not idle past the limit, not expired."""
        from accounts.session_store import live_digests

        now = timezone.now()
        # last_seen_at is written at most once a minute, hence the slack.
        idle_cutoff = now - timedelta(
            seconds=settings.SESSION_IDLE_SECONDS + settings.STAFF_SESSION_TOUCH_SECONDS
        )
        recent = self.filter(user=user, last_seen_at__gt=idle_cutoff)
        live = live_digests(list(recent.values_list("session_key", flat=True)), using=self.db)
        return recent.filter(session_key__in=live).order_by("-last_seen_at")


class StaffSession(models.Model):
    """One signed-in browser session of a staff member, so sessions can be listed and ended.

    Django's database session store keeps the user id inside encoded session data; this row is
    written at sign-in, touched at most once a minute, and deleted at sign-out.
    """

    # The digest of the session's key (accounts/session_store.py), never the key itself.
    session_key = models.CharField(max_length=40, unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_sessions"
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=100, blank=True)

    objects = StaffSessionQuerySet.as_manager()

    class Meta:
        # The table and index kept their names when the model moved here from `clinic`.
        db_table = "clinic_staffsession"
        indexes = [
            models.Index(fields=["user", "last_seen_at"], name="clinic_staf_user_id_91d090_idx")
        ]

    def __str__(self) -> str:
        return f"session {self.pk} of staff {self.user_id}"

    def end(self) -> int:
        """Delete the Django session (the browser is signed out at its next request) and this;
        returns how many live sessions were ended (0 or 1)."""
        from accounts.session_store import end_by_digest

        ended = end_by_digest([self.session_key], using=self._state.db or "default")
        self.delete()
        return ended


class MfaFailures(models.Model):
    """Wrong second-factor codes per user. Unlike axes' counters, a correct password does not
    reset this, so signing in again does not buy an attacker more guesses."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="mfa_failures",
    )
    count = models.PositiveIntegerField(default=0)
    last_failure_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "clinic_mfafailures"
        verbose_name_plural = "MFA failures"

    def __str__(self) -> str:
        return f"{self.count} wrong codes for staff {self.user_id}"

    def current_count(self) -> int:
        """Failures inside the cool-off window; older ones no longer count."""
        if timezone.now() - self.last_failure_at > settings.AXES_COOLOFF_TIME:
            return 0
        return self.count
