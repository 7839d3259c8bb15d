"""The application access log: append-only, hash-chained, written only through a function.

Rows are appended by the SECURITY DEFINER functions `append_access_event` and, for a request's
events in one call, `append_access_events` (clinic/access_log/database.py), which serialise
writers with an advisory lock, chain each row to the previous one with SHA-256 and are the only
write path the application roles have: they hold EXECUTE on them and no INSERT, UPDATE, DELETE
or TRUNCATE on the table. No names, search
terms or notes are ever stored here.
"""

from __future__ import annotations

from django.db import models


class AccessEvent(models.Model):
    id = models.BigAutoField(primary_key=True)
    occurred_at = models.DateTimeField()
    staff_id = models.IntegerField(null=True)
    role = models.CharField(max_length=40)
    action = models.CharField(max_length=40, db_index=True)
    # Indexed by `access_log_patient_time` (patient_id, occurred_at, id), made by the bootstrap
    # (clinic/access_log/checkpoint.py); the one-column index Django made is dropped there.
    patient_id = models.UUIDField(null=True)
    object_id = models.CharField(max_length=64, blank=True)
    client_ip = models.GenericIPAddressField(null=True)
    outcome = models.CharField(max_length=20)
    reason = models.CharField(max_length=200, blank=True)
    prev_hash = models.CharField(max_length=64)
    # Not unique in the database: the hash covers the row's id, and the chain's walk catches a
    # copied row (clinic/access_log/checkpoint.py, REDUNDANT_CONSTRAINTS_SQL; issue 20).
    hash = models.CharField(max_length=64)

    class Meta:
        db_table = "access_log"
        indexes = [
            models.Index(fields=["staff_id", "occurred_at"], name="access_log_staff_time"),
            models.Index(fields=["occurred_at"], name="access_log_time"),
        ]

    def __str__(self) -> str:
        return f"access event {self.pk}"
