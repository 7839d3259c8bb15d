"""Signals other apps listen to (the access log records them)."""

from django.dispatch import Signal

# Sent with request= and reason= ('idle' or 'absolute') just before the session is flushed.
session_expired = Signal()
