"""Signals other apps listen to (the access log records them)."""

from django.dispatch import Signal

# Sent with request= and reason= ('idle' or 'absolute') just before the session is flushed.
session_expired = Signal()

# Sent when an administrator resets a staff member's MFA: sender is the acting view or admin,
# with staff_id= (who did it) and target_id= (whose devices were removed). Ids only, no PHI.
mfa_reset = Signal()
