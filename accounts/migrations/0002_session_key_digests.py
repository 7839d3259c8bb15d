"""Sessions are stored by the digest of their key (accounts/session_store.py): the keys already
in `django_session` and `clinic_staffsession` are replaced by their digests, so signed-in staff
stay signed in and no table holds a key any more. A digest cannot be turned back into a key, so
going back ends every session (everyone signs in again)."""

from django.db import migrations

from accounts.session_store import DIGEST_SQL

TO_DIGESTS = [
    f"UPDATE {table} SET session_key = {DIGEST_SQL.format(key='session_key')}"
    for table in ("django_session", "clinic_staffsession")
]
END_ALL = ["DELETE FROM clinic_staffsession", "DELETE FROM django_session"]


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("sessions", "0001_initial"),
    ]

    operations = [migrations.RunSQL(TO_DIGESTS, reverse_sql=END_ALL)]
